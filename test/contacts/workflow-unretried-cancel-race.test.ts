import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { resetClock, setClock } from "../../worker/lib/clock";
import { startDueJobs } from "../../worker/services/add-contacts/jobs";
import { runDueWorkflows } from "../../worker/services/workflows";
import type { Env } from "../../worker/env";
import { diesAt } from "../crash";
import { client, env, ok } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

// The sweep cancels the job a dead tick committed for a run nothing will retry (its workflow off). If the workflow is
// turned on between the sweep's read and its cancel, and an overlapping tick reclaims the run, the cancel must not
// land behind that tick's back: it found the job cancelled and completed the run with it, adding nobody for good.

const MIN = 60_000;
const CREDITS = 10_000;

const one = async (q: string, ...b: unknown[]) =>
  (await env.DB.prepare(q)
    .bind(...b)
    .first<{ n: number }>())!.n;

beforeEach(async () => {
  resetClock();
  await env.DB.prepare("UPDATE workflows SET active = 0").run();
});

async function scheduled() {
  const x = await addContactsSetup({ credits: CREDITS });
  const api = client(x.s).api;
  const { workflow: wf } = await ok(
    api.workflows.$post({
      json: {
        name: "Directors",
        sequence_id: x.sequenceId,
        filters: { seniorities: ["director"], email_statuses: ["verified"] },
        interval_minutes: 1440,
        max_per_run: 4,
        active: true,
      },
    }),
    201,
  );
  return { ...x, api, wf, slot: wf.next_run_at! };
}

/** The first write `n` at which a slot's tick dies with the slot's job written and not started (still preparing). */
async function writeAfterCommit(): Promise<number> {
  for (let n = 2; n < 20; n++) {
    const x = await scheduled();
    setClock(x.slot + 1000);
    await runDueWorkflows(diesAt(env, n)).catch(() => undefined);
    const status = await env.DB.prepare("SELECT status FROM jobs WHERE team_id = ?").bind(x.teamId).first<{ status: string }>();
    resetClock();
    if (status?.status === "preparing") return n;
  }
  throw new Error("no write leaves the slot's job preparing");
}

/**
 * An env whose D1 calls `hook` once, before the first write whose SQL matches `at` (a statement or a batch), or just
 * after it (`after`), the write waiting for the hook: another tick's step slotted in at that point.
 */
function pausesAt(base: Env, at: RegExp, hook: () => Promise<void>, when: "before" | "after"): Env {
  let fired = false;
  const sqlOf = new WeakMap<object, string>();
  const around = async <T>(sqls: string[], run: () => Promise<T>): Promise<T> => {
    if (fired || !sqls.some((s) => at.test(s))) return run();
    fired = true;
    if (when === "before") await hook();
    const r = await run();
    if (when === "after") await hook();
    return r;
  };
  const wrap = (stmt: D1PreparedStatement, q: string): D1PreparedStatement => {
    sqlOf.set(stmt, q);
    const s = stmt as unknown as Record<"first" | "run" | "all" | "raw" | "bind", (...a: unknown[]) => unknown>;
    for (const m of ["first", "run", "all", "raw"] as const) {
      const orig = s[m].bind(stmt);
      s[m] = (...a: unknown[]) => around([q], () => orig(...a) as Promise<unknown>);
    }
    const bind = s.bind.bind(stmt);
    s.bind = (...a: unknown[]) => wrap(bind(...a) as D1PreparedStatement, q);
    return stmt;
  };
  const DB = new Proxy(base.DB, {
    get(t, k) {
      if (k === "prepare") return (q: string) => wrap(t.prepare(q), q);
      if (k === "batch")
        return (stmts: D1PreparedStatement[]) =>
          around(
            stmts.map((s) => sqlOf.get(s) ?? ""),
            () => t.batch(stmts),
          );
      const v: unknown = Reflect.get(t, k);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  return { ...base, DB } as Env;
}

describe("a workflow turned on again while the sweep cancels its run's stranded job", () => {
  it("the tick that reclaimed the run starts the job and adds its people; the job is not cancelled behind it", async () => {
    const n = await writeAfterCommit();
    const x = await scheduled();
    const start = x.slot + 1000;
    setClock(start);
    await runDueWorkflows(diesAt(env, n)).catch(() => undefined);
    const runId = (await env.DB.prepare("SELECT id FROM workflow_runs WHERE workflow_id = ?").bind(x.wf.id).first<{ id: string }>())!.id;
    expect(await env.DB.prepare("SELECT status FROM jobs WHERE id = ?").bind(runId).first()).toMatchObject({ status: "preparing" });
    // Turned off before the retry would come.
    setClock(start + MIN);
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: false } }));

    // The runs writeAfterCommit's workflows left (leased, their jobs preparing) are put out of the way: the pauses
    // below are for this run's reclaim and this job's cancel, not theirs.
    await env.DB.prepare("UPDATE workflows SET active = 0 WHERE id <> ?").bind(x.wf.id).run();
    await env.DB.prepare("UPDATE workflow_runs SET status = 'completed' WHERE workflow_id <> ? AND status <> 'completed'")
      .bind(x.wf.id)
      .run();
    await env.DB.prepare("UPDATE jobs SET status = 'failed' WHERE team_id <> ? AND status = 'preparing'").bind(x.teamId).run();
    // Past the lease and the first retry's wait: tick A's sweep calls the run interrupted and reads its job as
    // stranded (the workflow off). Just before A cancels it, the workflow is turned on and tick B reclaims the run;
    // A's cancel lands after B's reclaim, before B looks at the job.
    setClock(start + 7 * MIN);
    let bReclaimed!: () => void;
    const reclaimed = new Promise<void>((r) => (bReclaimed = r));
    let aCancelled!: () => void;
    const cancelled = new Promise<void>((r) => (aCancelled = r));
    let tickB: Promise<unknown> = Promise.resolve();
    const envB = pausesAt(
      env,
      /update\s+"?workflow_runs"?[\s\S]*attempts"?\s*\+\s*1/i,
      async () => {
        bReclaimed();
        await cancelled;
      },
      "after",
    );
    const envA = pausesAt(
      env,
      /^\s*update\s+"?jobs"?\s/i,
      async () => {
        await env.DB.prepare("UPDATE workflows SET active = 1 WHERE id = ?").bind(x.wf.id).run();
        tickB = runDueWorkflows(envB);
        await reclaimed;
      },
      "before",
    );
    await runDueWorkflows(envA);
    aCancelled();
    await tickB;

    const run = await env.DB.prepare("SELECT status, job_id, reason, attempts FROM workflow_runs WHERE id = ?")
      .bind(runId)
      .first<{ status: string; job_id: string | null; reason: string | null; attempts: number }>();
    expect(run).toMatchObject({ status: "completed", job_id: runId, reason: null, attempts: 2 });
    for (let m = 8; m <= 12; m++) {
      setClock(start + m * MIN);
      await startDueJobs(env, db(env.DB));
    }
    expect(await waitForJob(runId)).toMatchObject({ status: "completed", enrolled: 4 });
    expect(await one("SELECT count(DISTINCT contact_id) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
    expect(await one("SELECT coalesce(sum(amount), 0) n FROM credit_ledger WHERE team_id = ?", x.teamId)).toBe(-4);
  });
});

describe("a run tried again after the cron failed the job its dead try committed", () => {
  it("fails naming the ended job (job_ended), not completed with a job that added nobody", async () => {
    const n = await writeAfterCommit();
    const x = await scheduled();
    const start = x.slot + 1000;
    setClock(start);
    await runDueWorkflows(diesAt(env, n)).catch(() => undefined);
    const runId = (await env.DB.prepare("SELECT id FROM workflow_runs WHERE workflow_id = ?").bind(x.wf.id).first<{ id: string }>())!.id;
    await env.DB.prepare("UPDATE workflows SET active = 0 WHERE id <> ?").bind(x.wf.id).run();
    // A tick past the lease calls the run interrupted (its job still preparing), before its retry is due.
    setClock(start + 5 * MIN + 30_000);
    await runDueWorkflows(env);
    expect(await env.DB.prepare("SELECT status, reason FROM workflow_runs WHERE id = ?").bind(runId).first()).toMatchObject({
      status: "failed",
      reason: "interrupted",
    });
    // The cron is down past the quiet time: its next minute fails the job as quiet first, then retries the run.
    setClock(start + 12 * MIN);
    await startDueJobs(env, db(env.DB));
    expect(await env.DB.prepare("SELECT status FROM jobs WHERE id = ?").bind(runId).first()).toMatchObject({ status: "failed" });
    await runDueWorkflows(env);
    const run = await env.DB.prepare("SELECT status, job_id, reason, attempts FROM workflow_runs WHERE id = ?").bind(runId).first();
    expect(run).toMatchObject({ status: "failed", job_id: runId, reason: "job_ended", attempts: 2 });
    const log = await ok(x.api.workflows[":id"].runs.$get({ param: { id: x.wf.id }, query: {} }));
    expect(log.runs[0]).toMatchObject({ status: "failed", reason: "job_ended", job_status: "failed", will_retry: false });
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(0);
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(CREDITS);
  });
});
