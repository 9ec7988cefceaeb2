// A page of a move job (a filter matching more than 1,000 enrollments) commits an add-contacts job on the
// target, finishes the contacts it takes here, then records their outcomes. The queue delivers a page
// again when a try fails anywhere in between. Before: a page that failed after its commit committed a
// second job for the same contacts on redelivery, and a page that failed after moving them reported
// them "not active" on redelivery, with the job they went to forgotten.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import type { QueueMessage } from "../../worker/queue/messages";
import { prepareAction } from "../../worker/services/enrollments";
import { runActionPage, startActionJob } from "../../worker/services/enrollment-jobs";
import { env } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, startSimulation, withQueue } from "../fixtures";

async function setup(n: number) {
  const { teamId, userId } = await makeTeam();
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
  const { sequenceId: target } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
  const mb = await makeMailbox(teamId, userId);
  await enroll(teamId, sequenceId, await makeContacts(teamId, n), [mb]);
  const caller: Caller = { teamId, userId, role: "admin", via: "session" };
  // The test delivers the pages itself; the job queue keeps what is sent, or refuses it while `down.left` > 0.
  const sent: QueueMessage[] = [];
  const down = { left: 0 };
  const e = withQueue(sent, down);
  const d = db(env.DB);
  const p = { to_sequence_id: target, mailbox_ids: [mb] };
  const prep = await prepareAction(d, caller, sequenceId, "move", p);
  const job = await startActionJob(e, d, caller, prep, "move", { status: "active" }, p);
  return { teamId, sequenceId, target, job, sent, down, e, d };
}

const rows = async (q: string, ...b: unknown[]) =>
  (
    await env.DB.prepare(q)
      .bind(...b)
      .all<Record<string, unknown>>()
  ).results;

async function outcomes(jobId: string) {
  return Object.fromEntries(
    (await rows("SELECT outcome, count(*) AS n FROM enrollment_action_outcomes WHERE job_id = ? GROUP BY outcome", jobId)).map((r) => [
      r.outcome,
      r.n,
    ]),
  );
}

describe("a redelivered page of a move job", () => {
  beforeEach(() => startSimulation());

  it("after a try that failed once the target's job was committed, commits no second job and moves the contacts once", async () => {
    const x = await setup(1_100);
    // The first try commits the target's job, then fails to queue its chunks (before moving anyone here).
    x.down.left = 1;
    await expect(runActionPage(x.e, x.job.id, 0, x.d)).rejects.toThrow("queue unavailable");
    const first = await rows("SELECT id, total FROM jobs WHERE sequence_id = ?", x.target);
    expect(first).toHaveLength(1);
    expect(await outcomes(x.job.id)).toEqual({ pending: 1_100 });
    // Delivered again: the same job, its chunks queued now, and the contacts leave this sequence once.
    await runActionPage(x.e, x.job.id, 0, x.d);
    const jobs = await rows("SELECT id, total, status FROM jobs WHERE sequence_id = ?", x.target);
    expect(jobs.map((j) => j.id)).toEqual([first[0]!.id]);
    expect(jobs[0]).toMatchObject({ total: 1_000, status: "queued" });
    expect(await outcomes(x.job.id)).toEqual({ moved: 1_000, pending: 100 });
    const action = (await rows("SELECT target_jobs FROM enrollment_action_jobs WHERE id = ?", x.job.id))[0]!;
    expect(JSON.parse(action.target_jobs as string)).toEqual([first[0]!.id]);
    expect(x.sent.filter((m) => m.kind === "add_contacts_chunk").length).toBeGreaterThan(0);
  });

  it("after a try that failed once the target's job was committed, completes even if the target was turned off meanwhile", async () => {
    const x = await setup(1_100);
    x.down.left = 1;
    await expect(runActionPage(x.e, x.job.id, 0, x.d)).rejects.toThrow("queue unavailable");
    // Turned off between the tries: a new add is refused ("This sequence is inactive"), but the job the
    // first try committed stands, and its contacts leave here as it says (they wait there, held).
    await env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(x.target).run();
    await runActionPage(x.e, x.job.id, 0, x.d);
    expect(await rows("SELECT id FROM jobs WHERE sequence_id = ?", x.target)).toHaveLength(1);
    expect(await outcomes(x.job.id)).toEqual({ moved: 1_000, pending: 100 });
  });

  it("after a try that failed once the contacts had left, reports them moved (to the job they went to), not 'not active'", async () => {
    const x = await setup(1_100);
    // The first try commits the job and moves the contacts; then it dies before the page's outcomes are
    // written (one D1 batch: the counts, the outcomes and the target job, all or nothing). The state it
    // leaves is the page's end less that batch.
    await runActionPage(x.e, x.job.id, 0, x.d);
    await env.DB.batch([
      env.DB.prepare(
        "UPDATE enrollment_action_outcomes SET outcome = 'pending', changed = 0, reason = NULL, new_id = NULL WHERE job_id = ?",
      ).bind(x.job.id),
      env.DB.prepare(
        "UPDATE enrollment_action_jobs SET processed = 0, changed = 0, outcome_counts = json_object('pending', total), target_jobs = '[]' WHERE id = ?",
      ).bind(x.job.id),
    ]);
    const [moved] = await rows("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND reason = 'moved'", x.sequenceId);
    expect(moved!.n).toBe(1_000);
    const jobsBefore = await rows("SELECT id FROM jobs WHERE sequence_id = ?", x.target);
    await runActionPage(x.e, x.job.id, 0, x.d);
    const jobs = await rows("SELECT id FROM jobs WHERE sequence_id = ?", x.target);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.id).toBe(jobsBefore[0]!.id);
    expect(await outcomes(x.job.id)).toEqual({ moved: 1_000, pending: 100 });
    const action = (await rows("SELECT target_jobs, changed FROM enrollment_action_jobs WHERE id = ?", x.job.id))[0]!;
    expect(JSON.parse(action.target_jobs as string)).toEqual([jobs[0]!.id]);
    expect(action.changed).toBe(1_000);
    // Each contact's timeline says it moved once, though both tries reported it.
    const [audited] = await rows(
      "SELECT count(*) AS n, count(DISTINCT target_id) AS d FROM audit_log WHERE team_id = ? AND action = 'enrollment.move'",
      x.teamId,
    );
    expect(audited).toEqual({ n: 1_000, d: 1_000 });
  });
});
