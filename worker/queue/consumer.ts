import { db, type Db } from "../db/client";
import type { Env } from "../env";
import type { QueueMessage } from "./messages";
import { failChunk, failJob, processChunk } from "../services/add-contacts/jobs";
import { planQueuedPage } from "../services/add-contacts/plan-pages";
import { failImport, savePart } from "../services/imports/process";
import { failActionJob, runActionPage } from "../services/enrollment-jobs";

/**
 * How many messages of a batch are handled at once. Each is a unit of work of its own (a chunk, a plan
 * page, a CSV part, a page of enrollment actions), safe beside any other as it already is beside another
 * consumer invocation. One's D1 round trips then overlap another's work (add-contacts bench, before/after
 * in the README). Three chunks of 2,000 candidates stay far below Workers' 128 MB.
 */
export const MESSAGES_AT_ONCE = 3;

/** Acks messages one by one so one bad message never redelivers its whole batch. */
export async function consumeQueue(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  // One drizzle handle for the batch, passed down (as a request's c.var.db).
  const d = db(env.DB);
  const waiting = [...batch.messages];
  const take = async () => {
    for (let msg = waiting.shift(); msg; msg = waiting.shift()) {
      try {
        await handle(msg.body, env, batch.queue.endsWith("-dlq"), d);
        msg.ack();
      } catch (err) {
        console.error("queue message failed", msg.id, err);
        msg.retry({ delaySeconds: Math.min(300, 2 ** msg.attempts) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MESSAGES_AT_ONCE, waiting.length) }, take));
}

export async function handle(body: QueueMessage, env: Env, deadLetter: boolean, d: Db = db(env.DB)): Promise<void> {
  if (deadLetter) {
    // A message that failed every retry. A chunk's contacts are marked "not processed" and the job goes on
    // (other chunks may be running); a plan page fails its job, whose unused hold is returned.
    console.error("dead-lettered message", JSON.stringify(body));
    if (body.kind === "add_contacts_chunk")
      await failChunk(env, body.jobId, body.from, body.to, `Contacts ${body.from + 1}–${body.to} failed after retries`, d);
    if (body.kind === "add_contacts_plan") await failJob(env, body.jobId, `Planning candidates from ${body.from} failed after retries`, d);
    if (body.kind === "import_part") await failImport(env, body.importId, body.part, d);
    if (body.kind === "enrollment_action_page")
      await failActionJob(env, body.jobId, `Enrollments from ${body.from} failed after retries`, d);
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
  }
}
