import { beforeEach, describe, expect, it } from "vitest";
import { client, env, ok, type Session } from "../helpers";
import {
  enroll,
  enrollmentsOf,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  sessionFor,
  startSimulation,
  waitForJob,
} from "../fixtures";

type ActArgs = Parameters<ReturnType<typeof client>["api"]["sequences"][":id"]["enrollments"][":action"]["$post"]>[0];
type Action = ActArgs["param"]["action"];

const act = (s: Session, seq: string, action: Action, json: ActArgs["json"]) =>
  client(s).api.sequences[":id"].enrollments[":action"].$post({ param: { id: seq, action }, json });
const jobOf = (s: Session, seq: string, jobId: string, page = 1) =>
  client(s).api.sequences[":id"]["enrollment-jobs"][":job_id"].$get({ param: { id: seq, job_id: jobId }, query: { per_page: 1000, page } });

/** Starts an action on a filter and waits for its job (the queue runs it page by page). */
async function actOnFilter(s: Session, seq: string, action: Action, json: ActArgs["json"]) {
  const { job } = await ok(act(s, seq, action, json), 202);
  const until = Date.now() + 240_000;
  for (;;) {
    const view = await ok(jobOf(s, seq, job.id));
    if (view.job.status !== "running") return view;
    if (Date.now() > until) throw new Error(`action job still running: ${JSON.stringify(view.job)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const statusCounts = async (seq: string) =>
  Object.fromEntries(
    (
      await env.DB.prepare(
        "SELECT status || ':' || coalesce(reason, '') AS k, count(*) AS n FROM enrollments WHERE sequence_id = ? GROUP BY k",
      )
        .bind(seq)
        .all<{ k: string; n: number }>()
    ).results.map((r) => [r.k, r.n]),
  );

describe("actions on every enrollment matching a filter, however many (a job on the queue)", () => {
  beforeEach(() => startSimulation());

  it("a filter of 5,000 enrollments: pause, resume, change mailbox, restart, move, remove and finish each reach all 5,000, with each one's outcome", async () => {
    const { teamId, userId } = await makeTeam();
    await env.DB.prepare("UPDATE teams SET credit_balance = 1000 WHERE id = ?").bind(teamId).run();
    const s = await sessionFor(teamId, userId);
    // A long first wait: nothing is sent while the actions run.
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const { sequenceId: target } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const mb1 = await makeMailbox(teamId, userId);
    const mb2 = await makeMailbox(teamId, userId);
    const cs = await makeContacts(teamId, 5000);
    await enroll(teamId, sequenceId, cs, [mb1]);

    const paused = await actOnFilter(s, sequenceId, "pause", { filter: { status: "active" } });
    expect(paused.job).toMatchObject({ status: "completed", total: 5000, processed: 5000, changed: 5000, outcomes: { paused: 5000 } });
    expect(paused.results).toHaveLength(1000);
    expect(paused.results.every((r) => r.outcome === "paused" && r.changed)).toBe(true);
    expect(await statusCounts(sequenceId)).toEqual({ "paused:paused_by_user": 5000 });

    const resumed = await actOnFilter(s, sequenceId, "resume", { filter: { status: "paused" } });
    expect(resumed.job.outcomes).toEqual({ resumed: 5000 });
    expect(await statusCounts(sequenceId)).toEqual({ "active:waiting_for_step": 5000 });

    const moved = await actOnFilter(s, sequenceId, "change-mailbox", { filter: { status: "active" }, mailbox_id: mb2 });
    expect(moved.job.outcomes).toEqual({ changed: 5000 });
    const byMailbox = await env.DB.prepare("SELECT mailbox_id, count(*) AS n FROM enrollments WHERE sequence_id = ? GROUP BY mailbox_id")
      .bind(sequenceId)
      .all<{ mailbox_id: string; n: number }>();
    expect(byMailbox.results).toEqual([{ mailbox_id: mb2, n: 5000 }]);
    const audit = await env.DB.prepare(
      "SELECT details FROM audit_log WHERE team_id = ? AND action = 'enrollment.change-mailbox' AND target_type = 'sequence'",
    )
      .bind(teamId)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ count: 5000, mailbox_id: mb2, job_id: moved.job.id });

    const restarted = await actOnFilter(s, sequenceId, "restart", { filter: { status: "active" } });
    expect(restarted.job.outcomes).toEqual({ restarted: 5000 });
    expect(restarted.results.every((r) => !!r.new_id)).toBe(true);
    expect(await statusCounts(sequenceId)).toEqual({ "finished:restarted": 5000, "active:waiting_for_step": 5000 });

    const move = await actOnFilter(s, sequenceId, "move", { filter: { status: "active" }, to_sequence_id: target, mailbox_ids: [mb1] });
    expect(move.job.outcomes).toEqual({ moved: 5000 });
    expect(await statusCounts(sequenceId)).toEqual({ "finished:restarted": 5000, "finished:moved": 5000 });
    // The contacts arrive in the target through add-contacts jobs (one per page).
    const jobs = (await env.DB.prepare("SELECT id FROM jobs WHERE sequence_id = ?").bind(target).all<{ id: string }>()).results;
    expect(jobs.length).toBeGreaterThan(0);
    for (const j of jobs) expect((await waitForJob(j.id, 240_000)).status).toBe("completed");
    const arrived = await enrollmentsOf(target);
    expect(new Set(arrived.map((e: { contact_id: string }) => e.contact_id)).size).toBe(5000);

    const removed = await actOnFilter(s, target, "remove", { filter: { status: "active" } });
    expect(removed.job.outcomes).toEqual({ removed: 5000 });
    expect(await statusCounts(target)).toEqual({ "removed:removed_by_user": 5000 });

    // Back in the first sequence: the moved ones restarted (anyway: they were moved), then finished by hand.
    await actOnFilter(s, sequenceId, "restart", { filter: { status: "finished", reason: "moved" }, restart_anyway: true });
    const finished = await actOnFilter(s, sequenceId, "finish", { filter: { status: "active" }, reason: "marked_finished" });
    expect(finished.job.outcomes).toEqual({ finished: 5000 });
    expect((await statusCounts(sequenceId))["finished:marked_finished"]).toBe(5000);
  }, 600_000);

  it("up to 1,000 matches act in the request; an enrollment that finished after the job started is reported as such", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const mb = await makeMailbox(teamId, userId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1000), [mb]);
    const inline = await ok(act(s, sequenceId, "pause", { filter: { status: "active" } }));
    expect(inline.outcomes).toEqual({ paused: 1000 });

    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mb]);
    const job = await actOnFilter(s, sequenceId, "resume", { filter: { status: "all" } });
    expect(job.job.total).toBe(1001);
    expect(job.job.outcomes).toEqual({ resumed: 1000, unchanged: 1 });
    // The outcomes come 1,000 a page, in enrollment id order: the one added last is on page 2.
    const page2 = await ok(jobOf(s, sequenceId, job.job.id, 2));
    const results = [...job.results, ...page2.results];
    expect(results).toHaveLength(1001);
    expect(results.find((r) => r.outcome === "unchanged")!.reason).toMatch(/not paused/i);
  }, 300_000);

  it("another team's or a hidden job answers 404", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const other = await makeTeam();
    const so = await sessionFor(other.teamId, other.userId);
    expect((await jobOf(so, sequenceId, "nope")).status).toBe(404);
    expect((await jobOf(s, sequenceId, "nope")).status).toBe(404);
  });
});
