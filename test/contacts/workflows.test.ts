import { beforeEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../worker/lib/clock";
import { runDueWorkflows, runWorkflow } from "../../worker/services/workflows";
import { as, env, errorOf, login } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

const json = async (r: Response) => (await r.json()) as any;
const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;
const filters = { seniorities: ["director"], email_statuses: ["verified"] };

beforeEach(() => resetClock());

describe("workflows", () => {
  it("on its schedule, adds only net-new people matching the filters, once per slot", async () => {
    const x = await addContactsSetup({ credits: 10_000 });
    const res = await as(x.s, "POST", "/api/workflows", {
      name: "Directors",
      sequence_id: x.sequenceId,
      filters,
      interval_minutes: 60,
      max_per_run: 5,
      active: true,
    });
    expect(res.status).toBe(201);
    const wf = (await json(res)).workflow;
    expect(wf).toMatchObject({ active: true, interval_minutes: 60, max_per_run: 5, last_run: null });

    // Two overlapping ticks at the slot: one run.
    setClock(wf.next_run_at + 1000);
    await Promise.all([runDueWorkflows(env), runDueWorkflows(env)]);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", wf.id)).toBe(1);
    const run = await env.DB.prepare("SELECT * FROM workflow_runs WHERE workflow_id = ?").bind(wf.id).first<any>();
    expect(run).toMatchObject({ status: "completed", found: 5, slot: wf.next_run_at });
    resetClock();
    const job = await waitForJob(run.job_id);
    expect(job).toMatchObject({ enrolled: 5, credits_used: 5 });
    // Labelled as a workflow run (job page, Credits chart), not as people picked.
    expect(JSON.parse(job.source).kind).toBe("workflow");
    const next = await env.DB.prepare("SELECT next_run_at FROM workflows WHERE id = ?").bind(wf.id).first<any>();
    expect(next.next_run_at).toBe(wf.next_run_at + 3_600_000);

    // The next run skips the five already saved (Net New Check) and adds five others.
    await runWorkflow(env, wf.id, next.next_run_at);
    const second = await env.DB.prepare("SELECT * FROM workflow_runs WHERE workflow_id = ? AND slot = ?")
      .bind(wf.id, next.next_run_at)
      .first<any>();
    await waitForJob(second.job_id);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(10);
    expect(await count("SELECT count(DISTINCT contact_id) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(10);
    const log = await json(await as(x.s, "GET", `/api/workflows/${wf.id}/runs`));
    expect(log.runs).toHaveLength(2);
    expect(log.runs[0]).toMatchObject({ status: "completed", found: 5, added: 5 });
  });

  it("a run that adds nobody says why", async () => {
    const x = await addContactsSetup();
    const none = (
      await json(await as(x.s, "POST", "/api/workflows", { name: "Nobody", sequence_id: x.sequenceId, filters: { q: "zzzzqqqq" } }))
    ).workflow;
    const r1 = (await json(await as(x.s, "POST", `/api/workflows/${none.id}/run`))).run;
    expect(r1).toMatchObject({ status: "completed", found: 0, reason: "no_new_people" });
    // The sequence is turned off after the workflow was set up (turning one on for a sequence that is off is refused).
    const off = (await json(await as(x.s, "POST", "/api/workflows", { name: "Off", sequence_id: x.sequenceId, filters }))).workflow;
    await env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(x.sequenceId).run();
    const r2 = (await json(await as(x.s, "POST", `/api/workflows/${off.id}/run`))).run;
    expect(r2).toMatchObject({ status: "failed", reason: "sequence_inactive" });
    const listed = (await json(await as(x.s, "GET", "/api/workflows"))).workflows.find((w: any) => w.id === off.id);
    expect(listed.last_run.reason).toBe("sequence_inactive");
    const single = (await json(await as(x.s, "GET", `/api/workflows/${off.id}`))).workflow;
    expect(single).toEqual(listed);
  });

  it("turned off, it doesn't run; only those who may add to the sequence can create one; other teams get 404", async () => {
    const x = await addContactsSetup();
    const wf = (await json(await as(x.s, "POST", "/api/workflows", { name: "W", sequence_id: x.sequenceId, filters, active: false })))
      .workflow;
    setClock(Date.now() + 7 * 86_400_000);
    await runDueWorkflows(env);
    resetClock();
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", wf.id)).toBe(0);
    const viewer = await login("rep2@demo.test");
    const seq1 = (await env.DB.prepare("SELECT id FROM sequences WHERE name = 'Enterprise outbound — Q4'").first<any>()).id;
    expect((await errorOf(await as(viewer, "POST", "/api/workflows", { name: "x", sequence_id: seq1, filters }))).status).toBe(403);
    const rival = await login("admin@rival.test");
    expect((await as(rival, "POST", `/api/workflows/${wf.id}/run`)).status).toBe(404);
    expect((await as(rival, "DELETE", `/api/workflows/${wf.id}`)).status).toBe(404);
    expect(await count("SELECT count(*) n FROM workflows WHERE id = ?", wf.id)).toBe(1);
  });
});
