// Every outcome of an action job, however many, one page at a time (the Contacts tab's result panel
// showed the first 200 with no way to the rest): GET /sequences/{id}/enrollment-jobs/{job_id}/outcomes
// with `limit` and the `next_cursor` of the page before.
import { beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { client, env, errorOf, ok, type Session } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor, startSimulation } from "../fixtures";

const outcomesOf = (s: Session, seq: string, jobId: string, query: { limit?: number; cursor?: string } = {}) =>
  client(s).api.sequences[":id"]["enrollment-jobs"][":job_id"].outcomes.$get({ param: { id: seq, job_id: jobId }, query });

/** Pauses every active enrollment of `seq` (more than 1,000: a job) and waits for the job to end. */
async function pauseAll(s: Session, seq: string) {
  const api = client(s).api.sequences[":id"];
  const { job } = await ok(
    api.enrollments[":action"].$post({ param: { id: seq, action: "pause" }, json: { filter: { status: "active" } } }),
    202,
  );
  const until = Date.now() + 240_000;
  for (;;) {
    const view = await ok(api["enrollment-jobs"][":job_id"].$get({ param: { id: seq, job_id: job.id }, query: { per_page: 1 } }));
    if (view.job.status !== "running") return view.job;
    if (Date.now() > until) throw new Error(`action job still running: ${JSON.stringify(view.job)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("an action job's outcomes, page by page", () => {
  beforeEach(() => startSimulation());

  it("pages through all 1,001 outcomes of a job with a cursor: each enrollment once, in order, with its contact", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const mb = await makeMailbox(teamId, userId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1001), [mb]);
    const job = await pauseAll(s, sequenceId);
    expect(job).toMatchObject({ status: "completed", total: 1001, changed: 1001 });

    const seen: { id: string; outcome: string; name: string | undefined }[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const page = await ok(outcomesOf(s, sequenceId, job.id, { limit: 400, ...(cursor ? { cursor } : {}) }));
      expect(page.total).toBe(1001);
      sizes.push(page.outcomes.length);
      seen.push(...page.outcomes.map((o) => ({ id: o.id, outcome: o.outcome, name: o.contact?.name })));
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    expect(sizes).toEqual([400, 400, 201]);
    // Every enrollment of the sequence exactly once, in the job's order (its snapshot is ordered by id).
    const ids = (
      await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ? ORDER BY id").bind(sequenceId).all<{ id: string }>()
    ).results.map((r) => r.id);
    expect(seen.map((o) => o.id)).toEqual(ids);
    expect(new Set(seen.map((o) => o.outcome))).toEqual(new Set(["paused"]));
    expect(seen.every((o) => !!o.name)).toBe(true);

    // The default page and a cursor past the end.
    const first = await ok(outcomesOf(s, sequenceId, job.id));
    expect(first.outcomes).toHaveLength(100);
    expect(first.outcomes[0]!.id).toBe(ids[0]);
    const past = await ok(outcomesOf(s, sequenceId, job.id, { cursor: "5000" }));
    expect(past).toMatchObject({ outcomes: [], next_cursor: null, total: 1001 });
  }, 300_000);

  it("refuses a limit over 500 and a cursor that is not one, naming the field", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const big = await errorOf(await outcomesOf(s, sequenceId, "any", { limit: 501 }));
    expect(big.status).toBe(422);
    expect(JSON.stringify(big.details)).toContain("limit");
    const bad = await errorOf(await outcomesOf(s, sequenceId, "any", { cursor: "x'; --" }));
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.details)).toContain("cursor");
  });

  it("another team's job, and a job of a sequence a member can't see, answer 404", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const mb = await makeMailbox(teamId, userId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1001), [mb]);
    const job = await pauseAll(s, sequenceId);

    const other = await makeTeam();
    const outsider = await errorOf(await outcomesOf(await sessionFor(other.teamId, other.userId), sequenceId, job.id));
    expect(outsider).toMatchObject({ status: 404, code: "not_found" });

    const memberId = newId();
    await env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Rep', 'member', 'x', 0)",
    )
      .bind(memberId, teamId, `${memberId}@sim.test`)
      .run();
    const member = await errorOf(await outcomesOf(await sessionFor(teamId, memberId), sequenceId, job.id));
    expect(member).toMatchObject({ status: 404, code: "not_found" });
    // A job id of another sequence the caller sees is not found under this one either.
    const { sequenceId: second } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    expect((await outcomesOf(s, second, job.id)).status).toBe(404);
  }, 300_000);
});
