// Every minute's tick reads, for each active change workflow, its runs due another try, and sweeps the
// runs whose lease ran out: through partial indexes, never a walk over every run a workflow ever had
// (runs are kept, one per change).
import { describe, expect, it } from "vitest";
import { runDueWorkflows } from "../../worker/services/workflows";
import { env } from "../helpers";

type Stmt = { statement: string; params?: unknown[] };

/** The statements a call makes that touch workflow_runs, with their bound values. */
async function statementsOf(run: () => Promise<unknown>): Promise<Stmt[]> {
  const seen: Stmt[] = [];
  const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const dbProto = Object.getPrototypeOf(env.DB) as { batch: (s: Stmt[]) => Promise<unknown> };
  const originals = { raw: stmtProto.raw!, all: stmtProto.all!, first: stmtProto.first!, run: stmtProto.run! };
  const batch = dbProto.batch;
  for (const [name, fn] of Object.entries(originals))
    stmtProto[name] = function (this: Stmt, ...a: unknown[]) {
      if (/workflow_runs/.test(this.statement)) seen.push({ statement: this.statement, params: this.params });
      return fn.apply(this, a);
    };
  dbProto.batch = function (this: unknown, stmts: Stmt[]) {
    for (const s of stmts) if (/workflow_runs/.test(s.statement)) seen.push({ statement: s.statement, params: s.params });
    return batch.call(this, stmts);
  };
  try {
    await run();
  } finally {
    Object.assign(stmtProto, originals);
    dbProto.batch = batch;
  }
  return seen;
}

describe("the workflow tick's reads of runs", () => {
  it("finds runs due another try and runs past their lease through indexes, never scanning workflow_runs", async () => {
    // A change workflow that is on, so the tick looks at its runs.
    const team = "wtp0000000000000000000t1";
    await env.DB.batch([
      env.DB.prepare("INSERT INTO teams (id, name, credit_balance, created_at) VALUES (?, 'Plans', 0, 0)").bind(team),
      env.DB.prepare(
        `INSERT INTO workflows (id, team_id, owner_id, name, sequence_id, filters, trigger_kind, trigger, interval_minutes, max_per_run, active, options, change_cursor, created_at)
         VALUES ('wtp0000000000000000000w1', ?, 'u', 'W', 's', '{}', 'change', '{"kind":"change","on":["stage"],"filters":{}}', 60, 10, 1, '{}', 0, 0)`,
      ).bind(team),
    ]);
    const stmts = await statementsOf(() => runDueWorkflows(env));
    expect(stmts.length).toBeGreaterThan(0);
    const plans: string[] = [];
    for (const s of stmts) {
      const plan = (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${s.statement}`)
          .bind(...(s.params ?? []))
          .all<{ detail: string }>()
      ).results.map((r) => r.detail);
      plans.push(...plan);
    }
    expect(plans.filter((d) => /SCAN workflow_runs\b/.test(d))).toEqual([]);
    expect(plans.join("\n")).toMatch(/workflow_runs_retry_idx/);
    expect(plans.join("\n")).toMatch(/workflow_runs_running_idx/);
  });
});

describe("the workflow tick's reads of runs due another try", () => {
  it("read workflow_runs_retry_idx between two finish times (the retry window and now), not over every failed run ever", async () => {
    // A schedule workflow and a change workflow that are on, each with an old failed run without a job: the tick
    // looks for runs due another try of both, every minute. A workflow failing each slot (short on credits) keeps
    // such runs for good; without a lower bound on finished_at each look ranged over all of them.
    const team = "wtp0000000000000000000t2";
    const old = 1_000;
    await env.DB.batch([
      env.DB.prepare("INSERT INTO teams (id, name, credit_balance, created_at) VALUES (?, 'Plans', 0, 0)").bind(team),
      env.DB.prepare(
        `INSERT INTO workflows (id, team_id, owner_id, name, sequence_id, filters, trigger_kind, trigger, interval_minutes, max_per_run, active, options, change_cursor, next_run_at, created_at)
         VALUES ('wtp0000000000000000000w2', ?, 'u', 'S', 's', '{}', 'schedule', '{"kind":"schedule"}', 60, 10, 1, '{}', 0, ?, 0),
                ('wtp0000000000000000000w3', ?, 'u', 'C', 's', '{}', 'change', '{"kind":"change","on":["stage"],"filters":{}}', 60, 10, 1, '{}', 0, NULL, 0)`,
      ).bind(team, Date.now() + 86_400_000, team),
      env.DB.prepare(
        `INSERT INTO workflow_runs (id, team_id, workflow_id, slot, status, lease_until, started_at, finished_at, reason)
         VALUES ('wtp00000000000000000r2', ?, 'wtp0000000000000000000w2', 0, 'failed', ?, ?, ?, 'insufficient_credits')`,
      ).bind(team, old, old, old),
      env.DB.prepare(
        `INSERT INTO workflow_runs (id, team_id, workflow_id, slot, change_id, status, lease_until, started_at, finished_at, reason)
         VALUES ('wtp00000000000000000r3', ?, 'wtp0000000000000000000w3', -1, 1, 'failed', ?, ?, ?, 'insufficient_credits')`,
      ).bind(team, old, old, old),
      env.DB.prepare("INSERT INTO contact_changes (team_id, contact_id, kind, at) VALUES (?, 'wtpc', 'stage', ?)").bind(team, Date.now()),
    ]);
    const stmts = await statementsOf(() => runDueWorkflows(env));
    const retryReads: string[] = [];
    for (const s of stmts) {
      const plan = (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${s.statement}`)
          .bind(...(s.params ?? []))
          .all<{ detail: string }>()
      ).results.map((r) => r.detail);
      retryReads.push(...plan.filter((d) => /workflow_runs_retry_idx/.test(d)));
    }
    // The schedule retries, the change workflows' list and the change workflow's own retries.
    expect(retryReads.length).toBeGreaterThanOrEqual(3);
    for (const d of retryReads) expect(d).toMatch(/workflow_id=\? AND finished_at>\? AND finished_at<\?/);
  });
});
