import { describe, expect, it } from "vitest";
import { consumeQueue, MESSAGES_AT_ONCE, QUEUE_MAX_RETRIES } from "../../worker/queue/consumer";
import wranglerToml from "../../wrangler.toml?raw";
import { QUIET_MS } from "../../worker/services/add-contacts/jobs";
import { ACTION_JOB_QUIET_MS } from "../../worker/services/enrollment-jobs";
import { SAVING_QUIET_MS } from "../../worker/services/imports/imports";
import type { QueueMessage } from "../../worker/queue/messages";
import type { Env } from "../../worker/env";
import { env } from "../helpers";

/** A batch of chunk messages for the given job ids, recording which were acked and which retried. */
function batchOf(jobIds: string[]) {
  const acked: string[] = [];
  const retried: string[] = [];
  const messages = jobIds.map((jobId) => ({
    id: jobId,
    attempts: 1,
    body: { kind: "add_contacts_chunk", jobId, from: 0, to: 10 } satisfies QueueMessage,
    ack: () => acked.push(jobId),
    retry: () => retried.push(jobId),
  }));
  return { batch: { queue: "seqflare-jobs", messages } as unknown as MessageBatch<QueueMessage>, acked, retried };
}

describe("queue consumer", () => {
  it(`handles up to ${MESSAGES_AT_ONCE} messages of a batch at once, each acked or retried on its own`, async () => {
    // D1 as the consumer sees it: each batch call waits a little, counted while in flight; the one naming
    // the job "boom" fails.
    let inFlight = 0;
    let most = 0;
    const DB = new Proxy(env.DB, {
      get(target, key) {
        if (key === "batch")
          return async (statements: D1PreparedStatement[]) => {
            inFlight++;
            most = Math.max(most, inFlight);
            try {
              await new Promise((r) => setTimeout(r, 20));
              if (JSON.stringify(statements.map((s) => (s as unknown as { params: unknown[] }).params)).includes("boom"))
                throw new Error("D1 refused the batch");
              return await target.batch(statements);
            } finally {
              inFlight--;
            }
          };
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { batch, acked, retried } = batchOf(["j1", "j2", "boom", "j4", "j5", "j6", "j7"]);
    await consumeQueue(batch, { ...env, DB } as Env);
    expect(most).toBe(MESSAGES_AT_ONCE);
    expect(retried).toEqual(["boom"]);
    expect(acked.sort()).toEqual(["j1", "j2", "j4", "j5", "j6", "j7"]);
  });

  it("retries a failing message for over 9 minutes (less than the cron's quiet period) before dead-lettering it, within Queues' limits, both consumers alike", async () => {
    // D1 down for the whole time: every attempt of a chunk fails.
    const DB = new Proxy(env.DB, {
      get(target, key) {
        if (key === "prepare" || key === "batch")
          return () => {
            throw new Error("D1 unavailable");
          };
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const delays: number[] = [];
    // The attempts Queues makes before the dead-letter queue: the first and max_retries retries.
    for (let attempts = 1; attempts <= QUEUE_MAX_RETRIES; attempts++) {
      const message = {
        id: "m",
        attempts,
        body: { kind: "add_contacts_chunk", jobId: "j", from: 0, to: 10 } satisfies QueueMessage,
        ack: () => {
          throw new Error("acked a failed message");
        },
        retry: (o?: { delaySeconds?: number }) => delays.push(o?.delaySeconds ?? 0),
      };
      await consumeQueue({ queue: "seqflare-jobs", messages: [message] } as unknown as MessageBatch<QueueMessage>, { ...env, DB } as Env);
    }
    expect(delays).toHaveLength(QUEUE_MAX_RETRIES);
    // A 70–90 s blip of D1 used to dead-letter chunks (2+4+8+16+32 s = 62 s of retries); the retries end
    // before the cron takes a quiet job, import or action job for lost and sends its work again.
    const total = delays.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(9 * 60);
    expect(total * 1000).toBeLessThan(Math.min(QUIET_MS, SAVING_QUIET_MS, ACTION_JOB_QUIET_MS));
    // Queues: delaySeconds at most 24 hours, at most 100 retries.
    expect(Math.max(...delays)).toBeLessThanOrEqual(86_400);
    expect(QUEUE_MAX_RETRIES).toBeLessThanOrEqual(100);
    // Both consumers (the jobs queue and its dead-letter queue) retry as many times as the schedule has delays.
    const consumers = wranglerToml.split("[[queues.consumers]]").slice(1);
    expect(consumers).toHaveLength(2);
    for (const c of consumers) expect(c.match(/^max_retries\s*=\s*(\d+)/m)?.[1]).toBe(String(QUEUE_MAX_RETRIES));
  });
});
