import { db } from "./db/client";
import type { Env } from "./env";
import { settleEndedJobs, startDueJobs } from "./services/add-contacts/jobs";
import { resumeQuietActionJobs } from "./services/enrollment-jobs";
import { resumeQuietImports, sweepOrphanImportFiles } from "./services/imports/imports";
import { applyAutoWinners } from "./services/reports/ab";
import { runDueWorkflows } from "./services/workflows";
import { expireIdempotencyRecords } from "./middleware/idempotency";
import { pollReplies } from "./services/reply-polling";
import { applyUnapplied } from "./services/replies";
import { repairSequenceEngines } from "./services/sequences";
import { dispatchDue } from "./services/webhooks-out";

/**
 * Every minute (UTC): start due scheduled jobs and due workflows; settle any ended job's unsettled hold;
 * resume what went quiet (jobs, imports, bulk actions); remove uploaded files no import points to; poll replies and act on inbound emails left unapplied; pick A/B winners; send outgoing webhooks; tell
 * sequences turned on or archived what their engine call missed; forget Idempotency-Keys older than a day. Each step runs
 * whatever the others did: one failing (a Queues error while resuming a job, a provider down) skipped
 * every step after it for that tick. A failed step is logged, the rest run, and the tick still fails at
 * the end, naming the steps, so the failure is seen.
 */
export async function runCron(_controller: ScheduledController, env: Env): Promise<void> {
  // One drizzle handle for the whole tick, passed down (as a request's c.var.db).
  const d = db(env.DB);
  const steps: [string, () => Promise<unknown>][] = [
    ["start due jobs", () => startDueJobs(env, d)],
    ["settle ended jobs", () => settleEndedJobs(env, d)],
    // Saving imports whose part message was lost go on from their next part.
    ["resume quiet imports", () => resumeQuietImports(env, d)],
    // Uploaded files no import points to (a crash between an import's D1 write and its R2 write), a day old, a few pages a tick.
    ["sweep orphan import files", () => sweepOrphanImportFiles(env, d)],
    // Bulk enrollment actions (pause, move… on a filter) whose page message was lost go on from their first pending row.
    ["resume quiet enrollment action jobs", () => resumeQuietActionJobs(env, d)],
    ["run due workflows", () => runDueWorkflows(env, d)],
    // Gmail / Microsoft 365 mailboxes: replies and bounces found through their APIs (the same inbound classification).
    ["poll replies", () => pollReplies(env, d)],
    // Inbound emails stored but never acted on (applying them failed after the insert): Email Routing may never redeliver them.
    ["act on unapplied inbound emails", () => applyUnapplied(env, d)],
    ["apply A/B winners", () => applyAutoWinners(d)],
    // Sequences turned on or archived whose SequenceDO wasn't told (the call failed after D1 was written).
    ["repair sequences turned on or archived", () => repairSequenceEngines(env, d)],
    // Idempotency-Key records are kept 24 hours: their answers hold contacts' details, and the table must not grow forever.
    ["expire idempotency records", () => expireIdempotencyRecords(d)],
    // Outgoing webhooks: a queue message per subscription with events (recorded by triggers, beside their facts),
    // retries or lapsed claims due; the messages send them. Last: should the queue refuse, the tick sends up to
    // DELIVERIES_PER_TICK (36) itself.
    ["deliver outgoing webhooks", () => dispatchDue(env, d)],
  ];
  const failed: { step: string; err: unknown }[] = [];
  for (const [step, run] of steps) {
    try {
      await run();
    } catch (err) {
      console.error(`cron step "${step}" failed`, err);
      failed.push({ step, err });
    }
  }
  if (failed.length)
    throw new AggregateError(
      failed.map((f) => f.err),
      `cron: ${failed.length} step(s) failed (${failed.map((f) => f.step).join(", ")}); the others ran`,
    );
}
