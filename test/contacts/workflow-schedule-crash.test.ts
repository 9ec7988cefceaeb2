import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { resetClock, setClock } from "../../worker/lib/clock";
import { startDueJobs } from "../../worker/services/add-contacts/jobs";
import { runDueWorkflows, runWorkflowNow } from "../../worker/services/workflows";
import type { Env } from "../../worker/env";
import { diesAt } from "../crash";
import { client, env, ok } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

// A schedule workflow's tick killed at any write after its slot's claim: the slot still ends as one run with one job
// that adds its people, each once and charged once, as a change run's does (workflow-change-batches).

const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

beforeEach(() => resetClock());

const CREDITS = 10_000;

async function scheduled() {
  const x = await addContactsSetup({ credits: CREDITS });
  const api = client(x.s).api;
  const { workflow: wf } = await ok(
    api.workflows.$post({
      json: {
        name: "Directors",
        sequence_id: x.sequenceId,
        filters: { seniorities: ["director"], email_statuses: ["verified"] },
        interval_minutes: 60,
        max_per_run: 4,
        active: true,
      },
    }),
    201,
  );
  return { ...x, wf, slot: wf.next_run_at! };
}

describe("a schedule workflow's tick killed after its slot's claim", () => {
  it("at any write: the cron's next ticks make the slot's one job, which adds every person it found once, charged once", async () => {
    // Writes of the tick: 0 the lease sweep, 1 the claim; from 2 on, each try dies at a later write (writing the job,
    // starting it, recording the run), until one where the tick gets through.
    for (let n = 2; ; n++) {
      const x = await scheduled();
      setClock(x.slot + 1000);
      const died = await runDueWorkflows(diesAt(env, n)).then(
        () => false,
        () => true,
      );
      if (died) {
        // As the cron goes, a minute at a time until past the claim's lease and a job's quiet time, still before the
        // next slot: due jobs first (a job still preparing is failed once quiet for 10 minutes), then the workflows.
        for (let m = 1; m <= 20; m++) {
          setClock(x.slot + 1000 + m * 60_000);
          await startDueJobs(env, db(env.DB));
          await runDueWorkflows(env);
        }
      }
      const runs = (
        await env.DB.prepare("SELECT slot, status, job_id, found, reason FROM workflow_runs WHERE workflow_id = ?")
          .bind(x.wf.id)
          .all<{ slot: number; status: string; job_id: string | null; found: number; reason: string | null }>()
      ).results;
      expect(runs, `died at write ${n}`).toHaveLength(1);
      expect(runs[0], `died at write ${n}`).toMatchObject({ slot: x.slot, status: "completed", found: 4, reason: null });
      const jobs = (await env.DB.prepare("SELECT id FROM jobs WHERE team_id = ?").bind(x.teamId).all<{ id: string }>()).results;
      expect(jobs, `died at write ${n}`).toEqual([{ id: runs[0]!.job_id }]);
      const job = await waitForJob(runs[0]!.job_id!);
      expect(job, `died at write ${n}`).toMatchObject({ status: "completed", total: 4, enrolled: 4, credits_used: 4 });
      // Every person the run found is a contact, enrolled once.
      expect(await one("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId), `died at write ${n}`).toBe(4);
      expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId), `died at write ${n}`).toBe(4);
      expect(await one("SELECT count(DISTINCT contact_id) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
      // Charged once: one hold, the balance down by the four people, as the ledger says.
      expect(await one("SELECT count(*) n FROM credit_ledger WHERE team_id = ? AND kind = 'hold'", x.teamId), `died at write ${n}`).toBe(1);
      const balance = await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId);
      expect(balance, `died at write ${n}`).toBe(CREDITS - 4);
      expect(await one("SELECT coalesce(sum(amount), 0) n FROM credit_ledger WHERE team_id = ?", x.teamId)).toBe(-4);
      if (!died) break;
      resetClock();
      if (n > 40) throw new Error("the tick never got through");
    }
  });
});

/**
 * An env whose D1 holds its `nth` look for another run at work (previousRunBusy's) until `release`: two calls each
 * held at theirs look only once both have claimed their run. `arrived` settles when it is held.
 */
function holdingBusyCheck(base: Env, nth: number) {
  let seen = 0;
  let arrive!: () => void;
  let release!: () => void;
  const arrived = new Promise<void>((r) => (arrive = r));
  const gate = new Promise<void>((r) => (release = r));
  const wrap = (stmt: D1PreparedStatement, q: string): D1PreparedStatement => {
    const s = stmt as unknown as Record<"first" | "run" | "all" | "raw" | "bind", (...a: unknown[]) => unknown>;
    for (const m of ["first", "run", "all", "raw"] as const) {
      const orig = s[m].bind(stmt);
      s[m] = async (...a: unknown[]) => {
        if (/ORDER BY slot DESC LIMIT 10/.test(q) && ++seen === nth) {
          arrive();
          await gate;
        }
        return orig(...a);
      };
    }
    const bind = s.bind.bind(stmt);
    s.bind = (...a: unknown[]) => wrap(bind(...a) as D1PreparedStatement, q);
    return stmt;
  };
  const DB = new Proxy(base.DB, {
    get(t, k) {
      if (k === "prepare") return (q: string) => wrap(t.prepare(q), q);
      const v: unknown = Reflect.get(t, k);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  return { env: { ...base, DB } as Env, arrived, release };
}

describe("a schedule's slot run tried again while a Run now is at work", () => {
  it("of the two claimed at once, exactly one adds: the earlier claim runs, the retry (claimed later) gives way", async () => {
    const x = await scheduled();
    // The slot's tick dies before its job is written (write 2: the job's hold and insert): the run is left running.
    setClock(x.slot + 1000);
    await expect(runDueWorkflows(diesAt(env, 2))).rejects.toThrow();
    expect(await one("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(0);
    // Past its lease, a Run now claims its run (its own look, before the claim, finds the old run's lease out)…
    const T = x.slot + 1000 + 6 * 60_000;
    setClock(T);
    const manual = holdingBusyCheck(env, 2);
    const caller = { teamId: x.teamId, userId: x.userId, role: "admin" as const, via: "api_key" as const };
    const runNow = runWorkflowNow(manual.env, db(manual.env.DB), caller, x.wf.id);
    await manual.arrived;
    // … and a second later the cron calls the slot's run interrupted and reclaims it for another try. Both look for
    // another run at work once both have claimed: the reclaimed run started at the slot, before the Run now.
    setClock(T + 1000);
    const tick = holdingBusyCheck(env, 1);
    const cron = runDueWorkflows(tick.env, db(tick.env.DB));
    await tick.arrived;
    manual.release();
    tick.release();
    await Promise.all([runNow, cron]);
    const runs = (
      await env.DB.prepare("SELECT slot, change_kind, status, job_id, reason FROM workflow_runs WHERE workflow_id = ? ORDER BY started_at")
        .bind(x.wf.id)
        .all<{ slot: number; change_kind: string | null; status: string; job_id: string | null; reason: string | null }>()
    ).results;
    expect(runs).toMatchObject([
      { slot: x.slot, change_kind: null, status: "completed", job_id: null, reason: "previous_run_in_progress" },
      { change_kind: "manual", status: "completed", reason: null },
    ]);
    const jobs = (await env.DB.prepare("SELECT id FROM jobs WHERE team_id = ?").bind(x.teamId).all<{ id: string }>()).results;
    expect(jobs).toEqual([{ id: runs[1]!.job_id }]);
    expect(await waitForJob(runs[1]!.job_id!)).toMatchObject({ status: "completed", enrolled: 4 });
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
  });
});
