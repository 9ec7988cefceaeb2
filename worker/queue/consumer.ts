import { db, type Db } from "../db/client";
import type { Env } from "../env";
import type { QueueMessage } from "./messages";
import { failChunk, failJob, processChunk } from "../services/add-contacts/jobs";
import { planQueuedPage } from "../services/add-contacts/plan-pages";
import { failImport, savePart } from "../services/imports/process";
import { failActionJob, runActionPage } from "../services/enrollment-jobs";
import { AT_ONCE, deliverDue, DELIVERIES_PER_INVOCATION, deliverSubscription } from "../services/webhooks-out";

/**
 * How many messages of a batch are handled at once. Each is a unit of work of its own (a chunk, a plan
 * page, a CSV part, a page of enrollment actions), safe beside any other as it already is beside another
 * consumer invocation. One's D1 round trips then overlap another's work (add-contacts bench, before/after
 * in the README). Three chunks of 2,000 candidates stay far below Workers' 128 MB.
 */
export const MESSAGES_AT_ONCE = 3;

/**
 * Seconds before each retry of a failed message, by the attempt that failed (1st, 2nd, …; msg.attempts
 * starts at 1): 5 s, 15 s, 30 s, 1 minute, 90 s, then 2 minutes: 560 s (over 9 minutes) over the
 * QUEUE_MAX_RETRIES retries. A D1 or Durable Object outage of a minute or more outlasted the 2+4+8+16+32 s
 * (62 s) before it, so its chunks were dead-lettered and their contacts marked "not processed" for good.
 * Kept under the 10 quiet minutes after which the cron resends a job's, an import's or an action job's
 * work as lost. Queues allows a delay of up to 24 hours and up to 100 retries
 * (developers.cloudflare.com/queues/platform/limits/).
 */
export const RETRY_DELAYS_S = [5, 15, 30, 60, 90, 120, 120, 120] as const;
/** Retries before a message goes to the dead-letter queue: max_retries of both consumers in wrangler.toml. */
export const QUEUE_MAX_RETRIES = RETRY_DELAYS_S.length;

export const retryDelaySeconds = (attempts: number) => RETRY_DELAYS_S[Math.min(Math.max(attempts, 1), RETRY_DELAYS_S.length) - 1]!;

/** Acks messages one by one so one bad message never redelivers its whole batch. */
export async function consumeQueue(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  // One drizzle handle for the batch, passed down (as a request's c.var.db).
  const d = db(env.DB);
  // When the invocation began: outgoing webhook messages start no new round past their budget from here.
  const startedAt = Date.now();
  const waiting = [...batch.messages];
  const take = async () => {
    for (let msg = waiting.shift(); msg; msg = waiting.shift()) {
      try {
        await handle(msg.body, env, batch.queue.endsWith("-dlq"), d, { startedAt, share: batch.messages.length });
        msg.ack();
      } catch (err) {
        console.error("queue message failed", msg.id, err);
        msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MESSAGES_AT_ONCE, waiting.length) }, take));
}

export async function handle(
  body: QueueMessage,
  env: Env,
  deadLetter: boolean,
  d: Db = db(env.DB),
  invocation: { startedAt: number; share: number } = { startedAt: Date.now(), share: 1 },
): Promise<void> {
  if (deadLetter) {
    // A message that failed every retry. A chunk's contacts are marked "not processed" and the job goes on
    // (other chunks may be running); a plan page fails its job, whose unused hold is returned.
    console.error("dead-lettered message", JSON.stringify(body));
    if (body.kind === "add_contacts_chunk")
      await failChunk(env, body.jobId, body.from, body.to, `Contacts ${body.from + 1}–${body.to} failed after retries`, d);
    if (body.kind === "add_contacts_plan") await failJob(env, body.jobId, `Planning candidates from ${body.from} failed after retries`, d);
    if (body.kind === "import_part") await failImport(env, body.importId, body.part, d);
    if (body.kind === "enrollment_action_page")
      await failActionJob(env, body.jobId, `Enrollments from ${body.from} failed after retries`, d, body.from);
    return;
  }
  switch (body.kind) {
    case "add_contacts_chunk":
      return processChunk(env, body.jobId, body.from, body.to, d);
    case "add_contacts_plan":
      return planQueuedPage(env, body, d);
    case "import_part":
      return savePart(env, body, d);
    case "enrollment_action_page":
      return runActionPage(env, body.jobId, body.from, d);
    case "webhook_delivery":
      // Its outcome (and any retry's time) is the delivery's own: the message is done either way.
      await deliverDue(env, d, { ids: [body.deliveryId] });
      return;
    case "webhook_deliveries":
      // Rows are claimed as they are sent: a redelivered message sends nothing twice, and the cron redispatches what is left.
      await deliverSubscription(env, d, body.subscriptionId, {
        startedAt: invocation.startedAt,
        // This message's share of the invocation's subrequests (the batch's other messages have theirs).
        limit: Math.max(AT_ONCE, Math.floor(DELIVERIES_PER_INVOCATION / invocation.share)),
      });
      return;
  }
}
