import { describe, expect, it } from "vitest";
import { consumeQueue, MESSAGES_AT_ONCE } from "../../worker/queue/consumer";
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
});
