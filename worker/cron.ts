import type { Env } from "./env";
import { startDueJobs } from "./services/add-contacts/jobs";
import { runDueWorkflows } from "./services/workflows";

/** Every minute (UTC): start due scheduled jobs and due workflows. */
export async function runCron(_controller: ScheduledController, env: Env): Promise<void> {
  await startDueJobs(env);
  await runDueWorkflows(env);
}
