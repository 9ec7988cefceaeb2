import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { startDueJobs } from "../../worker/services/add-contacts/jobs";
import { runDueWorkflows } from "../../worker/services/workflows";
import { diesAt } from "../crash";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

// A change workflow claims the changes one tick finds as one run with one job, not a run and a job per change.

const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

beforeEach(() => resetClock());

/** An active change workflow adding contacts that enter "Qualified", and `n` contacts (each its own company) to move there. */
async function setup(n: number, maxPerRun: number) {
  const x = await addContactsSetup({ credits: 1000 });
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
        max_per_run: maxPerRun,
        trigger: { kind: "change", on: ["stage"], filters: { stage_ids: [qualified] } },
      },
    }),
    201,
  );
  const ids = await makeContacts(x.teamId, n);
  // Apart from each other: the add's same-company rule must not be what leaves anyone out.
  await env.DB.prepare("UPDATE contacts SET company = 'Co ' || id, email = 'p@' || id || '.test' WHERE team_id = ?").bind(x.teamId).run();
  const qualify = () => ok(api.contacts.stage.$post({ json: { contact_ids: ids, stage_id: qualified } }));
  const runs = async () =>
    (
      await env.DB.prepare(
        "SELECT id, status, job_id, found, contact_ids, attempts FROM workflow_runs WHERE workflow_id = ? ORDER BY change_id",
      )
        .bind(wf.id)
        .all<{ id: string; status: string; job_id: string | null; found: number; contact_ids: string; attempts: number }>()
    ).results;
  const enrolledOnce = async () => {
    const rows = (
      await env.DB.prepare("SELECT contact_id, count(*) n FROM enrollments WHERE sequence_id = ? GROUP BY contact_id")
        .bind(x.sequenceId)
        .all<{ contact_id: string; n: number }>()
    ).results;
    expect(rows.map((r) => r.contact_id).sort()).toEqual([...ids].sort());
    expect(rows.every((r) => r.n === 1)).toBe(true);
  };
  return { ...x, api, wf, ids, qualify, runs, enrolledOnce };
}

describe("change workflows batch a tick's changes into one run and one job", () => {
  it("250 contacts qualified at once, 100 a tick: three runs and three jobs (100, 100, 50), each contact enrolled once", async () => {
    const x = await setup(250, 100);
    await x.qualify();
    for (let i = 0; i < 4; i++) await runDueWorkflows(env);
    const runs = await x.runs();
    expect(runs.map((r) => r.found)).toEqual([100, 100, 50]);
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(3);
    for (const r of runs) {
      // The job's id is the run's, taken with the claim; it takes the contacts the run claimed.
      expect(r.job_id).toBe(r.id);
      const job = await waitForJob(r.job_id!);
      expect(job).toMatchObject({ total: r.found, enrolled: r.found });
      const candidates = await env.DB.prepare("SELECT contact_id FROM job_candidates WHERE job_id = ? ORDER BY contact_id")
        .bind(r.job_id)
        .all<{ contact_id: string }>();
      expect(candidates.results.map((c) => c.contact_id)).toEqual((JSON.parse(r.contact_ids) as string[]).sort());
    }
    await x.enrolledOnce();
    // The run log: one line a batch, counting what its job added and skipped.
    const log = (await ok(x.api.workflows[":id"].runs.$get({ param: { id: x.wf.id }, query: {} }))).runs;
    expect(log).toHaveLength(3);
    for (const r of log)
      expect(r).toMatchObject({
        status: "completed",
        added: r.found,
        skipped: 0,
        held_back: 0,
        trigger: { kind: "change", change: "stage", contact_id: null },
      });
  });

  it("one tick with room for all of them (max_per_run 500): one run, one job of 250", async () => {
    const x = await setup(250, 500);
    await x.qualify();
    await runDueWorkflows(env);
    await runDueWorkflows(env);
    const runs = await x.runs();
    expect(runs.map((r) => r.found)).toEqual([250]);
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(1);
    await waitForJob(runs[0]!.job_id!);
    await x.enrolledOnce();
  });

  it("a tick killed at any write after its claim: the next tick after the lease makes exactly one job with every claimed contact", async () => {
    // Writes of the tick: 0 the lease sweep, 1 the claim; from 2 on, each try dies at a later write (before the
    // job, while writing it, after it), until one where the tick gets through.
    for (let n = 2; ; n++) {
      const x = await setup(30, 100);
      await x.qualify();
      const died = await runDueWorkflows(diesAt(env, n)).then(
        () => false,
        () => true,
      );
      const [claimed] = await x.runs();
      expect(claimed).toMatchObject({ found: 30 });
      expect((JSON.parse(claimed!.contact_ids) as string[]).sort()).toEqual([...x.ids].sort());
      if (died) {
        // Nothing more until the claim's lease has run out: the changes are the run's, not claimed again.
        await runDueWorkflows(env);
        expect(await x.runs()).toHaveLength(1);
        // Past the claim's lease, as the cron goes: due jobs first (a job still preparing is failed only once quiet
        // for 10 minutes), then the workflows.
        setClock(now() + 6 * 60_000);
        await startDueJobs(env, db(env.DB));
        await runDueWorkflows(env);
        await runDueWorkflows(env);
      }
      const runs = await x.runs();
      expect(runs, `died at write ${n}`).toHaveLength(1);
      expect(runs[0]).toMatchObject({ status: "completed", job_id: claimed!.id });
      const jobs = (
        await env.DB.prepare("SELECT id, total FROM jobs WHERE team_id = ?").bind(x.teamId).all<{ id: string; total: number }>()
      ).results;
      expect(jobs, `died at write ${n}`).toEqual([{ id: claimed!.id, total: 30 }]);
      await waitForJob(claimed!.id);
      await x.enrolledOnce();
      if (!died) break;
      resetClock();
      if (n > 40) throw new Error("the tick never got through");
    }
  });
});

describe("a change run whose job was committed before its tick died", () => {
  it("is retried with that job, which adds every contact it took, though they no longer match (moved out of the stage)", async () => {
    // Writes of the tick: 0 the lease sweep, 1 the claim; from 2 on, each try dies at a later write. The tries that
    // matter are those that leave the run's job committed and still preparing (its tick died before starting it).
    let committedUnstarted = 0;
    for (let n = 2; ; n++) {
      const x = await setup(30, 100);
      await x.qualify();
      const died = await runDueWorkflows(diesAt(env, n)).then(
        () => false,
        () => true,
      );
      if (!died) break;
      const [claimed] = await x.runs();
      const job = await env.DB.prepare("SELECT status FROM jobs WHERE id = ?").bind(claimed!.id).first<{ status: string }>();
      if (job?.status === "preparing") {
        committedUnstarted++;
        // Before the retry, the contacts leave the stage the workflow triggers on: the job still stands with them.
        const lost = `${x.teamId}-lost`;
        await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Lost', 'open', 3)")
          .bind(lost, x.teamId)
          .run();
        await ok(x.api.contacts.stage.$post({ json: { contact_ids: x.ids, stage_id: lost } }));
        setClock(now() + 6 * 60_000);
        await startDueJobs(env, db(env.DB));
        await runDueWorkflows(env);
        await runDueWorkflows(env);
        const runs = await x.runs();
        expect(runs, `died at write ${n}`).toHaveLength(1);
        expect(runs[0], `died at write ${n}`).toMatchObject({ status: "completed", job_id: claimed!.id, found: 30 });
        const done = await waitForJob(claimed!.id);
        expect(done, `died at write ${n}`).toMatchObject({ status: "completed", total: 30, enrolled: 30 });
        await x.enrolledOnce();
      }
      resetClock();
      if (n > 40) throw new Error("the tick never got through");
    }
    expect(committedUnstarted).toBeGreaterThan(0);
  });
});
