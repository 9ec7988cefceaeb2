import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { countingD1 } from "../../worker/middleware/d1-count";
import { newId } from "../../worker/lib/ids";
import { resetClock, setClock } from "../../worker/lib/clock";
import { runDueWorkflows } from "../../worker/services/workflows";
import { BASE, client, env, ok, type Session } from "../helpers";
import { addContactsSetup, makeSequence, makeUser, sessionFor } from "../fixtures";

const counted = countingD1(env.DB, { rowsOfRaw: true });
const countedEnv = { ...env, DB: counted.db };

/** GET /api/workflows through a counting D1: its answer and its round trips. */
async function listCounted(s: Session) {
  const get = async () => {
    const ctx = createExecutionContext();
    const res = await app.request(`${BASE}/api/workflows`, { headers: { cookie: s.cookie, "x-csrf-token": s.csrf } }, countedEnv, ctx);
    const text = await res.text();
    await waitOnExecutionContext(ctx);
    return { res, text };
  };
  // Warm, as under load: a session this isolate has seen rides with the request's first read.
  await get();
  counted.reset();
  const { res, text } = await get();
  expect(res.status, text.slice(0, 300)).toBe(200);
  const c = structuredClone(counted.count);
  return { roundTrips: c.roundTrips, statements: c.statements, workflows: (JSON.parse(text) as { workflows: { id: string }[] }).workflows };
}

beforeEach(() => resetClock());

describe("the workflow list", () => {
  it("reads every workflow's sequence and last run in one round trip (with the caller), each as its own page shows it", async () => {
    const x = await addContactsSetup({ credits: 10_000 });
    const api = client(x.s).api;
    const filters = { seniorities: ["director"], email_statuses: ["verified" as const] };
    const make = async (name: string, sequence_id: string, active = false) =>
      (await ok(api.workflows.$post({ json: { name, sequence_id, filters, interval_minutes: 60, max_per_run: 3, active } }), 201)).workflow;
    // A second sequence the rep has no share of: its workflow is not theirs to see.
    const { sequenceId: other } = await makeSequence(x.teamId, x.userId, [{ wait: 0 }], null);
    const running = await make("A running", x.sequenceId, true);
    const withRuns = await make("B with runs", x.sequenceId);
    const none = await make("C never ran", x.sequenceId);
    const hidden = await make("D elsewhere", other);
    // The running workflow's run committed a job still adding (its job_status is the job's, its status the run's).
    setClock(running.next_run_at! + 1000);
    await runDueWorkflows(env);
    resetClock();
    // Older and newer runs of B: its last run is the newest (by start, then id).
    const insertRun = (wf: string, slot: number, started: number, status: string, reason: string | null) =>
      env.DB.prepare(
        "INSERT INTO workflow_runs (id, team_id, workflow_id, slot, status, found, reason, lease_until, started_at, finished_at) VALUES (?, ?, ?, ?, ?, 0, ?, 0, ?, ?)",
      )
        .bind(newId(), x.teamId, wf, slot, status, reason, started, started)
        .run();
    await insertRun(withRuns.id, 1, 1_000, "completed", "no_new_people");
    await insertRun(withRuns.id, 2, 3_000, "failed", "sequence_inactive");
    await insertRun(withRuns.id, 3, 2_000, "completed", "no_new_people");
    await insertRun(hidden.id, 1, 5_000, "completed", "no_new_people");

    const rep = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    for (const [s, expected] of [
      [x.s, [running.id, withRuns.id, none.id, hidden.id]],
      [await sessionFor(x.teamId, rep), [running.id, withRuns.id, none.id]],
    ] as const) {
      const m = await listCounted(s);
      // Before: the workflows, then each one's sequence and last run on their own (1 + 2N round trips).
      expect(m.roundTrips, m.statements.join("\n")).toBe(1);
      expect(m.workflows.map((w) => w.id)).toEqual(expected);
      // Each as its own page reads it alone.
      const sApi = client(s).api;
      for (const w of m.workflows) expect(w).toEqual((await ok(sApi.workflows[":id"].$get({ param: { id: w.id } }))).workflow);
    }
    const listed = (await listCounted(x.s)).workflows as unknown as {
      id: string;
      sequence_name: string | null;
      last_run: { status: string; job_status: string | null; reason: string | null; added: number | null } | null;
    }[];
    const byId = new Map(listed.map((w) => [w.id, w]));
    expect(byId.get(running.id)!.last_run).toMatchObject({ status: "completed", added: null });
    expect(["preparing", "scheduled", "queued", "running"]).toContain(byId.get(running.id)!.last_run!.job_status);
    expect(byId.get(withRuns.id)!.last_run).toMatchObject({ status: "failed", reason: "sequence_inactive", job_status: null });
    expect(byId.get(none.id)!.last_run).toBeNull();
    expect(byId.get(hidden.id)!.sequence_name).toBe(`Seq ${other}`);
  });
});
