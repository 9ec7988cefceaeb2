import type { Env } from "./env";

/** Every minute (UTC): start due scheduled jobs and due workflows. */
export async function runCron(_controller: ScheduledController, _env: Env): Promise<void> {
  // Scheduled add-contacts jobs and workflows hook in here as they are built.
}
