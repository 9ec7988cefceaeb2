// An action job's page cost the whole job: its view (GET /sequences/{id}/enrollment-jobs/{job_id})
// counted every outcome by kind and walked an OFFSET to its page, and each queued page of the job
// recounted processed and changed over all its outcomes (O(n²) to run a job). The counts now live on
// the job, moved by the statement that writes a page's outcomes; a view reads its page by key.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { countingD1 } from "../../worker/middleware/d1-count";
import { actionJobFor, actionJobOutcomes, JOB_PAGE, runActionPage } from "../../worker/services/enrollment-jobs";
import { client, env, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor, startSimulation } from "../fixtures";

beforeEach(() => startSimulation());

const N = 2 * JOB_PAGE + 1;

/** The job's counts as its outcome rows say (the truth the kept counts must equal). */
async function recount(jobId: string) {
  const rows = (
    await env.DB.prepare(
      "SELECT outcome, count(*) AS n, sum(changed) AS c FROM enrollment_action_outcomes WHERE job_id = ? GROUP BY outcome",
    )
      .bind(jobId)
      .all<{ outcome: string; n: number; c: number }>()
  ).results;
  return {
    outcome_counts: Object.fromEntries(rows.map((r) => [r.outcome, r.n])),
    processed: rows.filter((r) => r.outcome !== "pending").reduce((a, r) => a + r.n, 0),
    changed: rows.reduce((a, r) => a + r.c, 0),
  };
}

async function kept(jobId: string) {
  const r = (await env.DB.prepare("SELECT outcome_counts, processed, changed FROM enrollment_action_jobs WHERE id = ?")
    .bind(jobId)
    .first<{ outcome_counts: string; processed: number; changed: number }>())!;
  return { ...r, outcome_counts: JSON.parse(r.outcome_counts) as Record<string, number> };
}

describe("action jobs: a page costs the page", () => {
  it("keeps the counts where the outcomes are written; a view and a redelivered page read O(page) rows", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const mb = await makeMailbox(teamId, userId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, N), [mb]);
    const api = client(s).api.sequences[":id"];
    const { job } = await ok(
      api.enrollments[":action"].$post({ param: { id: sequenceId, action: "pause" }, json: { filter: { status: "active" } } }),
      202,
    );
    expect(job.outcomes).toEqual({ pending: N });
    expect(await kept(job.id)).toEqual({ outcome_counts: { pending: N }, processed: 0, changed: 0 });
    for (let i = 0; ; i++) {
      const view = await ok(api["enrollment-jobs"][":job_id"].$get({ param: { id: sequenceId, job_id: job.id }, query: { per_page: 1 } }));
      if (view.job.status !== "running") break;
      if (i > 3_000) throw new Error("the job did not end");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await kept(job.id)).toEqual({ outcome_counts: { paused: N }, processed: N, changed: N });
    expect(await kept(job.id)).toEqual(await recount(job.id));

    // A deep page of the view: its rows by key, the counts from the job.
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const view = await actionJobFor(db(counted.db), caller, sequenceId, job.id, 150, 10);
    expect(view.job).toMatchObject({ status: "completed", total: N, processed: N, changed: N, outcomes: { paused: N } });
    const expected = (
      await env.DB.prepare(
        "SELECT enrollment_id FROM enrollment_action_outcomes WHERE job_id = ? AND idx >= 1490 AND idx < 1500 ORDER BY idx",
      )
        .bind(job.id)
        .all<{ enrollment_id: string }>()
    ).results.map((r) => r.enrollment_id);
    expect(view.results.map((r) => r.id)).toEqual(expected);
    expect(view.results.every((r) => r.outcome === "paused" && !!r.contact)).toBe(true);
    expect(counted.count.rowsRead, counted.count.statements.join("\n")).toBeLessThan(150);

    // The cursor page reads its page too.
    counted.reset();
    const page = await actionJobOutcomes(db(counted.db), caller, sequenceId, job.id, 10, "1490");
    expect(page.outcomes.map((o) => o.id)).toEqual(expected);
    expect(counted.count.rowsRead, counted.count.statements.join("\n")).toBeLessThan(150);

    // The last page delivered again after its row went back to pending (as if the first try's write
    // had not happened): the counts move by that row alone, and the page reads O(page) rows.
    await env.DB.batch([
      env.DB.prepare("UPDATE enrollment_action_outcomes SET outcome = 'pending', changed = 0 WHERE job_id = ? AND idx >= ?").bind(
        job.id,
        2 * JOB_PAGE,
      ),
      env.DB.prepare(
        `UPDATE enrollment_action_jobs SET status = 'running', processed = processed - 1, changed = changed - 1,
                outcome_counts = json_object('paused', ${N - 1}, 'pending', 1) WHERE id = ?`,
      ).bind(job.id),
    ]);
    expect(await kept(job.id)).toEqual(await recount(job.id));
    counted.reset();
    await runActionPage({ ...env, DB: counted.db }, job.id, 2 * JOB_PAGE, db(counted.db));
    expect(counted.count.rowsRead, counted.count.statements.join("\n")).toBeLessThan(600);
    // The counts' statement goes from each written row to its outcome row by key (not from the job's
    // pending rows against the whole page: a first page read 1,000 × every pending row of the job).
    const delta = counted.count.queries.find((q) => /UPDATE enrollment_action_jobs SET\s+processed = processed \+/.test(q.sql));
    expect(delta, counted.count.statements.join("\n")).toBeDefined();
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${delta!.sql}`)
        .bind(...delta!.params)
        .all<{ detail: string }>()
    ).results
      .map((r) => r.detail)
      .join("; ");
    expect(plan, plan).toMatch(/SEARCH x USING [A-Z ]*INDEX \w+ \(job_id=\? AND idx=\?\)/);
    const after = await kept(job.id);
    expect(after).toEqual(await recount(job.id));
    expect(after.processed).toBe(N);
    expect(after.outcome_counts.pending).toBeUndefined();
    // Once more (a redelivery of a page already written): nothing moves.
    await env.DB.prepare("UPDATE enrollment_action_jobs SET status = 'running' WHERE id = ?").bind(job.id).run();
    await runActionPage(env, job.id, 2 * JOB_PAGE);
    expect(await kept(job.id)).toEqual(after);
  }, 300_000);
});
