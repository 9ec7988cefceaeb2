import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { resetClock, setClock } from "../../worker/lib/clock";
import { startDueJobs } from "../../worker/services/add-contacts/jobs";
import { CHANGE_RUN_ATTEMPTS, runDueWorkflows, runWorkflowNow } from "../../worker/services/workflows";
import type { Env } from "../../worker/env";
import { diesAt } from "../crash";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

// A workflow run whose tick keeps dying is tried again with growing waits, then given up saying so; a job a dead tick
// committed is started by the retry, or cancelled (its hold returned) when nothing will try the run again; and a
// Run now whose tick died is tried again as a slot's run is.

const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

beforeEach(async () => {
  resetClock();
  // Each test's cron ticks see its own workflow alone: one left on by an earlier test would take the ticks' writes.
  await env.DB.prepare("UPDATE workflows SET active = 0").run();
});

const CREDITS = 10_000;
const MIN = 60_000;

/** An active schedule workflow of a day's interval (one slot in these tests), four people a run. */
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
  const caller = { teamId: x.teamId, userId: x.userId, role: "admin" as const, via: "api_key" as const };
  return { ...x, api, wf, caller, slot: wf.next_run_at! };
}

type Run = { id: string; status: string; job_id: string | null; reason: string | null; attempts: number; change_kind: string | null };
const runsOf = async (workflowId: string) =>
  (
    await env.DB.prepare(
      "SELECT id, status, job_id, reason, attempts, change_kind FROM workflow_runs WHERE workflow_id = ? ORDER BY started_at",
    )
      .bind(workflowId)
      .all<Run>()
  ).results;

/** The cron's minute: due jobs first (a job preparing for 10 quiet minutes is failed), over `jobsEnv`, then the workflows, over `e`. */
async function cronMinute(e: Env, jobsEnv: Env = env) {
  await startDueJobs(jobsEnv, db(jobsEnv.DB)).catch(() => undefined);
  await runDueWorkflows(e).catch(() => undefined);
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

describe("a schedule slot's run whose tick dies every time", () => {
  it("is tried again after growing waits, then given up saying so, with nothing added or held", async () => {
    const x = await scheduled();
    const start = x.slot + 1000;
    // Every tick dies at its third write: the slot's claim (or a retry's reclaim) is written, the job never is.
    const tries: number[] = [];
    let attempts = 0;
    for (let m = 0; m <= 8 * 60; m++) {
      setClock(start + m * MIN);
      await cronMinute(diesAt(env, 2));
      const [run] = await runsOf(x.wf.id);
      if (run && run.attempts !== attempts) {
        attempts = run.attempts;
        tries.push(m);
      }
      // Given up: a few more minutes show it is not tried again.
      if (run?.reason === "gave_up" && m > tries.at(-1)! + 30) break;
    }
    expect(tries).toHaveLength(CHANGE_RUN_ATTEMPTS);
    // Each wait longer than the one before (the lease, then 1, 2, 4 … minutes more): not every few minutes alike.
    const waits = tries.slice(1).map((m, i) => m - tries[i]!);
    for (let i = 1; i < waits.length; i++) expect(waits[i], `waits ${waits.join(", ")}`).toBeGreaterThan(waits[i - 1]!);
    const runs = await runsOf(x.wf.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "failed", job_id: null, reason: "gave_up", attempts: CHANGE_RUN_ATTEMPTS });
    // The run log says it was given up: not tried again.
    const log = await ok(x.api.workflows[":id"].runs.$get({ param: { id: x.wf.id }, query: {} }));
    expect(log.runs[0]).toMatchObject({ reason: "gave_up", will_retry: false, attempts: CHANGE_RUN_ATTEMPTS });
    expect(await one("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(0);
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(CREDITS);
  });

  it("given up with the job a dead try committed, the whole cron dying too: that job is cancelled saying so, its hold returned", async () => {
    const n = await writeAfterCommit();
    const x = await scheduled();
    const start = x.slot + 1000;
    // The first tick commits the job and dies before starting it; every later cron dies too: at its first write for
    // the jobs' step (so the quiet job is not failed there), at its reclaim's next write for the workflows.
    setClock(start);
    await runDueWorkflows(diesAt(env, n)).catch(() => undefined);
    const [claimed] = await runsOf(x.wf.id);
    expect(await one("SELECT credits_held n FROM jobs WHERE id = ?", claimed!.id)).toBeGreaterThan(0);
    for (let m = 1; m <= 8 * 60; m++) {
      setClock(start + m * MIN);
      await cronMinute(diesAt(env, 2), diesAt(env, 0));
    }
    const [run] = await runsOf(x.wf.id);
    expect(run).toMatchObject({ status: "failed", reason: "gave_up", attempts: CHANGE_RUN_ATTEMPTS });
    const jobs = (
      await env.DB.prepare("SELECT id, status, error FROM jobs WHERE team_id = ?")
        .bind(x.teamId)
        .all<{ id: string; status: string; error: string }>()
    ).results;
    // One job in all (the run's), never started: cancelled as the run was given up, its hold returned.
    expect(jobs).toMatchObject([{ id: run!.id, status: "cancelled" }]);
    expect(jobs[0]!.error).toMatch(new RegExp(`interrupted ${CHANGE_RUN_ATTEMPTS} times and given up`));
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(0);
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(CREDITS);
  });
});

describe("a change run whose tick dies every time", () => {
  it("is tried again after growing waits, then given up saying so, adding nobody", async () => {
    const x = await addContactsSetup({ credits: CREDITS });
    const qualified = `${x.teamId}-qualified`;
    await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Qualified', 'in_progress', 2)")
      .bind(qualified, x.teamId)
      .run();
    const api = client(x.s).api;
    const { workflow: wf } = await ok(
      api.workflows.$post({
        json: {
          name: "Qualified → outreach",
          sequence_id: x.sequenceId,
          active: true,
          trigger: { kind: "change", on: ["stage"], filters: { stage_ids: [qualified] } },
        },
      }),
      201,
    );
    const ids = await makeContacts(x.teamId, 3);
    await env.DB.prepare("UPDATE contacts SET company = 'Co ' || id, email = 'p@' || id || '.test' WHERE team_id = ?").bind(x.teamId).run();
    await ok(api.contacts.stage.$post({ json: { contact_ids: ids, stage_id: qualified } }));
    const start = Date.now();
    const tries: number[] = [];
    let attempts = 0;
    for (let m = 0; m <= 8 * 60; m++) {
      setClock(start + m * MIN);
      // Write 0 the lease sweep, 1 the claim (or a retry's reclaim); the tick dies at the next.
      await cronMinute(diesAt(env, 2));
      const [run] = await runsOf(wf.id);
      if (run && run.attempts !== attempts) {
        attempts = run.attempts;
        tries.push(m);
      }
      // Given up: a few more minutes show it is not tried again.
      if (run?.reason === "gave_up" && m > tries.at(-1)! + 30) break;
    }
    expect(tries).toHaveLength(CHANGE_RUN_ATTEMPTS);
    const waits = tries.slice(1).map((m, i) => m - tries[i]!);
    for (let i = 1; i < waits.length; i++) expect(waits[i], `waits ${waits.join(", ")}`).toBeGreaterThan(waits[i - 1]!);
    const runs = await runsOf(wf.id);
    expect(runs).toMatchObject([{ status: "failed", job_id: null, reason: "gave_up", attempts: CHANGE_RUN_ATTEMPTS }]);
    const log = await ok(api.workflows[":id"].runs.$get({ param: { id: wf.id }, query: {} }));
    expect(log.runs[0]).toMatchObject({ reason: "gave_up", will_retry: false });
    expect(await one("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(0);
  });
});

describe("a workflow turned off between its run's commit and the run's retry", () => {
  it("the committed job is cancelled saying the workflow is off (not failed as interrupted), its hold returned, the run linked to it", async () => {
    const n = await writeAfterCommit();
    const x = await scheduled();
    setClock(x.slot + 1000);
    await runDueWorkflows(diesAt(env, n)).catch(() => undefined);
    const [claimed] = await runsOf(x.wf.id);
    const job0 = await env.DB.prepare("SELECT id, status, credits_held FROM jobs WHERE id = ?")
      .bind(claimed!.id)
      .first<{ id: string; status: string; credits_held: number }>();
    expect(job0).toMatchObject({ status: "preparing" });
    expect(job0!.credits_held).toBeGreaterThan(0);
    // Its owner turns it off before the retry.
    setClock(x.slot + 1000 + MIN);
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: false } }));
    for (let m = 2; m <= 20; m++) {
      setClock(x.slot + 1000 + m * MIN);
      await startDueJobs(env, db(env.DB));
      await runDueWorkflows(env);
    }
    const job = await env.DB.prepare("SELECT status, error FROM jobs WHERE id = ?")
      .bind(claimed!.id)
      .first<{ status: string; error: string }>();
    expect(job).toMatchObject({ status: "cancelled" });
    expect(job!.error).toMatch(/workflow is off/);
    const [run] = await runsOf(x.wf.id);
    expect(run).toMatchObject({ status: "failed", job_id: claimed!.id, reason: "workflow_off" });
    const log = await ok(x.api.workflows[":id"].runs.$get({ param: { id: x.wf.id }, query: {} }));
    expect(log.runs[0]).toMatchObject({ reason: "workflow_off", job_status: "cancelled", will_retry: false });
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(0);
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(CREDITS);
    expect(await one("SELECT coalesce(sum(amount), 0) n FROM credit_ledger WHERE team_id = ?", x.teamId)).toBe(0);
  });
});

describe("a Run now whose tick died", () => {
  it("before its job was written: tried again by the cron, adding its people once", async () => {
    const x = await scheduled();
    const T = x.slot - 30 * MIN;
    setClock(T);
    // Write 0 is the run's claim: the request dies at the next one, before any job.
    await expect(runWorkflowNow(diesAt(env, 1), db(diesAt(env, 1).DB), x.caller, x.wf.id)).rejects.toThrow();
    for (let m = 1; m <= 15; m++) {
      setClock(T + m * MIN);
      await startDueJobs(env, db(env.DB));
      await runDueWorkflows(env);
    }
    const runs = await runsOf(x.wf.id);
    const manual = runs.filter((r) => r.change_kind === "manual");
    expect(manual).toHaveLength(1);
    expect(manual[0]).toMatchObject({ status: "completed", job_id: manual[0]!.id, reason: null, attempts: 2 });
    expect(await waitForJob(manual[0]!.job_id!)).toMatchObject({ status: "completed", enrolled: 4 });
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
    expect(await one("SELECT count(DISTINCT contact_id) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
    expect(await one("SELECT coalesce(sum(amount), 0) n FROM credit_ledger WHERE team_id = ?", x.teamId)).toBe(-4);
  });

  it("after its job was written: the retry starts that job (not failed as quiet), its people added once", async () => {
    const x = await scheduled();
    const T = x.slot - 30 * MIN;
    // The write at which Run now dies with its job written, still preparing.
    let died = -1;
    for (let n = 1; n < 20 && died < 0; n++) {
      const y = n === 1 ? x : await scheduled();
      setClock(T);
      await runWorkflowNow(diesAt(env, n), db(diesAt(env, n).DB), y.caller, y.wf.id).catch(() => undefined);
      const st = await env.DB.prepare("SELECT status FROM jobs WHERE team_id = ?").bind(y.teamId).first<{ status: string }>();
      if (st?.status === "preparing") {
        died = n;
        Object.assign(x, y);
      }
    }
    expect(died).toBeGreaterThan(0);
    for (let m = 1; m <= 15; m++) {
      setClock(T + m * MIN);
      await startDueJobs(env, db(env.DB));
      await runDueWorkflows(env);
    }
    const manual = (await runsOf(x.wf.id)).filter((r) => r.change_kind === "manual");
    expect(manual).toHaveLength(1);
    expect(manual[0]).toMatchObject({ status: "completed", job_id: manual[0]!.id, reason: null });
    expect(await waitForJob(manual[0]!.job_id!)).toMatchObject({ status: "completed", enrolled: 4 });
    expect(await one("SELECT count(DISTINCT contact_id) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
  });
});
