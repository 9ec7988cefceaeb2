// A page of an action job records each enrollment's outcome in one statement. It must reach each
// outcome row by its key (job_id, idx): matched by enrollment id inside the page's range instead,
// SQLite compared every row of the page with every outcome (a million comparisons per page of 1,000).
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { countingD1 } from "../../worker/middleware/d1-count";
import { runActionPage } from "../../worker/services/enrollment-jobs";
import { client, env, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor, startSimulation } from "../fixtures";

beforeEach(() => startSimulation());

describe("action jobs: recording a page's outcomes", () => {
  it("writes each outcome through the (job_id, idx) key, and a page run again records the same outcomes", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const mb = await makeMailbox(teamId, userId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1_001), [mb]);
    const api = client(s).api.sequences[":id"];
    const { job } = await ok(
      api.enrollments[":action"].$post({ param: { id: sequenceId, action: "pause" }, json: { filter: { status: "active" } } }),
      202,
    );
    for (let i = 0; ; i++) {
      const view = await ok(api["enrollment-jobs"][":job_id"].$get({ param: { id: sequenceId, job_id: job.id }, query: {} }));
      if (view.job.status !== "running") break;
      if (i > 2_000) throw new Error("the job did not end");
      await new Promise((r) => setTimeout(r, 100));
    }
    const outcomes = async () =>
      (
        await env.DB.prepare("SELECT idx, enrollment_id, outcome, changed FROM enrollment_action_outcomes WHERE job_id = ? ORDER BY idx")
          .bind(job.id)
          .all<{ idx: number; enrollment_id: string; outcome: string; changed: number }>()
      ).results;
    const first = await outcomes();
    expect(first).toHaveLength(1_001);
    expect(first.every((o) => o.outcome === "paused" && o.changed === 1)).toBe(true);

    // Run the first page again (a redelivery), through a D1 that records each statement.
    await env.DB.prepare("UPDATE enrollment_action_outcomes SET outcome = 'pending' WHERE job_id = ? AND idx < 1000").bind(job.id).run();
    await env.DB.prepare("UPDATE enrollment_action_jobs SET status = 'running' WHERE id = ?").bind(job.id).run();
    const counted = countingD1(env.DB);
    await runActionPage({ ...env, DB: counted.db }, job.id, 0, db(counted.db));
    const write = counted.count.queries.find(
      (q) => /^\s*(UPDATE|INSERT INTO) enrollment_action_outcomes/i.test(q.sql) && /json_each/.test(q.sql),
    );
    expect(write, counted.count.statements.join("\n")).toBeDefined();
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${write!.sql}`)
        .bind(...write!.params)
        .all<{ detail: string }>()
    ).results
      .map((r) => r.detail)
      .join("; ");
    expect(plan, plan).toMatch(/\(job_id=\? AND idx=\?\)/);
    // Already paused now: each of the page's rows says so, none is left pending.
    const again = await outcomes();
    expect(again.filter((o) => o.outcome === "pending")).toEqual([]);
    expect(again.slice(0, 1000).every((o) => o.outcome !== "paused" || o.changed === 0)).toBe(true);
    expect(again.map((o) => o.enrollment_id)).toEqual(first.map((o) => o.enrollment_id));
  });
});
