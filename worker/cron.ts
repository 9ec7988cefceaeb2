import { db } from "./db/client";
import type { Env } from "./env";
import { settleEndedJobs, startDueJobs } from "./services/add-contacts/jobs";
import { resumeQuietActionJobs } from "./services/enrollment-jobs";
import { resumeQuietImports } from "./services/imports/imports";
import { applyAutoWinners } from "./services/reports/ab";
import { runDueWorkflows } from "./services/workflows";
import { pollReplies } from "./services/reply-polling";

/** Every minute (UTC): start due scheduled jobs and due workflows; settle any ended job's unsettled hold. */
export async function runCron(_controller: ScheduledController, env: Env): Promise<void> {
  // One drizzle handle for the whole tick, passed down (as a request's c.var.db).
  const d = db(env.DB);
  await startDueJobs(env, d);
  await settleEndedJobs(env, d);
  // Saving imports whose part message was lost go on from their next part.
  await resumeQuietImports(env, d);
  // Bulk enrollment actions (pause, move… on a filter) whose page message was lost go on from their first pending row.
  await resumeQuietActionJobs(env, d);
  await runDueWorkflows(env, d);
  // Gmail / Microsoft 365 mailboxes: replies and bounces found through their APIs (the same inbound classification).
  await pollReplies(env, d);
  await applyAutoWinners(d);
}
