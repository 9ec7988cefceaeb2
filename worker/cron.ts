import type { Env } from "./env";
import { settleEndedJobs, startDueJobs } from "./services/add-contacts/jobs";
import { runDueWorkflows } from "./services/workflows";

/** Every minute (UTC): start due scheduled jobs and due workflows; settle any ended job's unsettled hold. */
export async function runCron(_controller: ScheduledController, env: Env): Promise<void> {
  await startDueJobs(env);
  await settleEndedJobs(env);
  await runDueWorkflows(env);
}
