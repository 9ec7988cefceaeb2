// One cron step failing doesn't skip the others (a Queues error while resuming jobs skipped the
// workflows, reply polling and A/B winners of that tick), and one quiet job whose resume fails doesn't
// leave the jobs after it marked as resumed but not sent for another quiet period.
import { afterEach, describe, expect, it } from "vitest";
import { client, env, ok } from "../helpers";
import { crashAt } from "../crash";
import { runCron } from "../../worker/cron";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { resetClock, setClock } from "../../worker/lib/clock";
import type { QueueMessage } from "../../worker/queue/messages";
import { commitAddContacts } from "../../worker/services/add-contacts/jobs";
import type { AddContactsRequest } from "../../worker/services/add-contacts/request";
import { addContactsSetup, MIN, withQueue } from "../fixtures";

afterEach(() => resetClock());

const tick = { scheduledTime: 0, cron: "* * * * *", noRetry() {} } as ScheduledController;

/** An add-contacts job whose chunks never reached the queue (queued, nothing sent). */
async function lostJob(x: Awaited<ReturnType<typeof addContactsSetup>>, offset: number, key: string) {
  const { results } = await env.DB.prepare(
    "SELECT id FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 2 OFFSET ?",
  )
    .bind(offset)
    .all<{ id: string }>();
  const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
  const req: AddContactsRequest = { source: { people_ids: results.map((r) => r.id) }, skip_validation: false, enrich: false };
  await expect(commitAddContacts(withQueue([], { left: Infinity }), db(env.DB), caller, x.sequenceId, req, key, "session")).rejects.toThrow(
    /queue unavailable/,
  );
  return (await env.DB.prepare("SELECT id FROM jobs WHERE idempotency_key = ? AND team_id = ?")
    .bind(key, x.teamId)
    .first<{ id: string }>())!.id;
}

/** A team with a scheduled workflow (2 verified directors an hour), due at `next_run_at`. */
async function withWorkflow() {
  const x = await addContactsSetup({ credits: 10_000 });
  const { workflow: wf } = await ok(
    client(x.s).api.workflows.$post({
      json: {
        name: "Directors",
        sequence_id: x.sequenceId,
        filters: { seniorities: ["director"], email_statuses: ["verified"] },
        interval_minutes: 60,
        max_per_run: 2,
        active: true,
      },
    }),
    201,
  );
  return { x, wf };
}

const workflowRun = (workflowId: string) =>
  env.DB.prepare("SELECT status, found FROM workflow_runs WHERE workflow_id = ?").bind(workflowId).first();

describe("cron: each step on its own", () => {
  it("a step that fails (D1 refusing the jobs step's write) doesn't skip the due workflow, and the tick still fails naming it", async () => {
    const { x, wf } = await withWorkflow();
    const lost = await lostJob(x, 400, "lost-0");
    setClock(Math.max(wf.next_run_at!, Date.now() + 11 * MIN) + 1000);
    // The tick's first write is the jobs step's resume of the quiet job.
    await expect(runCron(tick, crashAt(withQueue([]), 0))).rejects.toThrow(/start due jobs/);
    expect(await workflowRun(wf.id), "the workflow ran though the jobs step failed").toMatchObject({ status: "completed", found: 2 });
    // Out of the next test's way (its tick would resume this job too).
    await env.DB.prepare("UPDATE jobs SET status = 'cancelled' WHERE id = ?").bind(lost).run();
  });

  it("a Queues error while resuming one job still resumes the others and runs the due workflow; the failed one goes on the next tick", async () => {
    const { x, wf } = await withWorkflow();
    const jobA = await lostJob(x, 420, "lost-a");
    const jobB = await lostJob(x, 440, "lost-b");

    // Both jobs quiet and the workflow due; the first sendBatch of the tick (resuming a job) fails.
    const at = Math.max(wf.next_run_at!, Date.now() + 11 * MIN) + 1000;
    setClock(at);
    const sent: QueueMessage[] = [];
    await runCron(tick, withQueue(sent, { left: 1 }));
    expect(await workflowRun(wf.id), "the workflow ran though resuming a job failed").toMatchObject({ status: "completed", found: 2 });
    const resent = () => new Set(sent.flatMap((m) => (m.kind === "add_contacts_chunk" && [jobA, jobB].includes(m.jobId) ? [m.jobId] : [])));
    expect(resent().size, "the other quiet job was sent in the same tick").toBe(1);

    // The job whose send failed goes out on the next tick, not a quiet period later.
    setClock(at + MIN);
    await runCron(tick, withQueue(sent));
    expect([...resent()].sort()).toEqual([jobA, jobB].sort());
  });
});
