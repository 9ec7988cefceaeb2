import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { resetClock } from "../../worker/lib/clock";
import { runChangeWorkflow, runDueWorkflows, runForChange } from "../../worker/services/workflows";
import { as, env, errorOf } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

const json = async (r: Response) => (await r.json()) as any;
const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;
const workflowRow = async (id: string) => (await db(env.DB).query.workflows.findFirst({ where: (w, { eq }) => eq(w.id, id) }))!;

beforeEach(() => resetClock());

/** A team with an active sequence, a "Qualified" stage, and a change workflow that adds contacts entering it. */
async function setup() {
  const x = await addContactsSetup({ credits: 100 });
  const qualified = `${x.teamId}-qualified`;
  await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Qualified', 'in_progress', 2)")
    .bind(qualified, x.teamId)
    .run();
  const res = await as(x.s, "POST", "/api/workflows", {
    name: "Qualified → outreach",
    sequence_id: x.sequenceId,
    trigger: { kind: "change", on: ["stage"], filters: { stage_ids: [qualified] } },
  });
  expect(res.status).toBe(201);
  const wf = (await json(res)).workflow;
  return { ...x, qualified, wf };
}

const newContact = async (x: { s: any }, email: string) =>
  (await json(await as(x.s, "POST", "/api/contacts", { first_name: "Ada", last_name: "Lovelace", email, email_status: "verified" })))
    .contact;

describe("workflows triggered by a contact change", () => {
  it("start off, and log no change until turned on", async () => {
    const x = await setup();
    expect(x.wf).toMatchObject({ active: false, trigger: { kind: "change", on: ["stage"] }, next_run_at: null });
    const c = await newContact(x, "ada.off@example.test");
    await as(x.s, "POST", "/api/contacts/stage", { contact_ids: [c.id], stage_id: x.qualified });
    await runDueWorkflows(env);
    expect(await count("SELECT count(*) n FROM contact_changes WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", x.wf.id)).toBe(0);
  });

  it("runs once per matching change: a stage change into the filter adds the contact; other changes and other stages don't", async () => {
    const x = await setup();
    expect((await as(x.s, "PATCH", `/api/workflows/${x.wf.id}`, { active: true })).status).toBe(200);
    const hit = await newContact(x, "ada.hit@example.test");
    const miss = await newContact(x, "ada.miss@example.test");
    // A created contact and a field change are not what this workflow triggers on; the other stage doesn't match.
    await as(x.s, "PATCH", `/api/contacts/${miss.id}`, { title: "CTO" });
    await as(x.s, "POST", "/api/contacts/stage", { contact_ids: [miss.id], stage_id: `${x.teamId}-dnc` });
    await as(x.s, "POST", "/api/contacts/stage", { contact_ids: [hit.id], stage_id: x.qualified });
    // Two overlapping ticks, then a third: one run for the one matching change.
    await Promise.all([runDueWorkflows(env), runDueWorkflows(env)]);
    await runDueWorkflows(env);
    const runs = (await json(await as(x.s, "GET", `/api/workflows/${x.wf.id}/runs`))).runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      status: "completed",
      found: 1,
      trigger: { kind: "change", change: "stage", contact_id: hit.id, contact_name: "Ada Lovelace" },
    });
    const job = await waitForJob(runs[0].job_id);
    expect(job).toMatchObject({ enrolled: 1 });
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, hit.id)).toBe(1);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, miss.id)).toBe(0);
  });

  it("a change delivered twice adds once: the (workflow, change) run is claimed once, even after the cursor is wound back", async () => {
    const x = await setup();
    await as(x.s, "PATCH", `/api/workflows/${x.wf.id}`, { active: true });
    const c = await newContact(x, "ada.twice@example.test");
    await as(x.s, "POST", "/api/contacts/stage", { contact_ids: [c.id], stage_id: x.qualified });
    const change = (await env.DB.prepare(
      "SELECT id, contact_id AS contactId, kind FROM contact_changes WHERE team_id = ? AND kind = 'stage'",
    )
      .bind(x.teamId)
      .first<any>())!;
    const d = db(env.DB);
    const wf = await workflowRow(x.wf.id);
    const [first, second] = await Promise.all([runForChange(env, d, wf, change), runForChange(env, d, wf, change)]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    // Redelivery through the tick: the cursor is wound back, the change is seen again, nothing more runs.
    await env.DB.prepare("UPDATE workflows SET change_cursor = 0 WHERE id = ?").bind(x.wf.id).run();
    expect(await runChangeWorkflow(env, d, await workflowRow(x.wf.id))).toBe(0);
    const run = (await env.DB.prepare("SELECT job_id FROM workflow_runs WHERE workflow_id = ?").bind(x.wf.id).first<any>())!;
    await waitForJob(run.job_id);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", x.wf.id)).toBe(1);
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(1);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, c.id)).toBe(1);
  });

  it("triggers on creation and on the chosen fields only, and the run log says which change", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const wf = (
      await json(
        await as(x.s, "POST", "/api/workflows", {
          name: "New CTOs",
          sequence_id: x.sequenceId,
          active: true,
          trigger: { kind: "change", on: ["created", "field"], fields: ["title"], filters: { titles: ["cto"] } },
        }),
      )
    ).workflow;
    expect(wf.active).toBe(true);
    const created = (
      await json(
        await as(x.s, "POST", "/api/contacts", {
          first_name: "Grace",
          last_name: "Hopper",
          email: "grace@example.test",
          email_status: "verified",
          title: "CTO",
        }),
      )
    ).contact;
    const later = await newContact(x, "ada.later@example.test");
    // The filters are checked when the change is acted on (the next tick): Ada is no CTO yet.
    await runDueWorkflows(env);
    await as(x.s, "PATCH", `/api/contacts/${later.id}`, { city: "London" });
    await runDueWorkflows(env);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", wf.id)).toBe(1);
    await as(x.s, "PATCH", `/api/contacts/${later.id}`, { title: "Interim CTO" });
    await runDueWorkflows(env);
    const runs = (await json(await as(x.s, "GET", `/api/workflows/${wf.id}/runs`))).runs;
    expect(runs.map((r: any) => [r.trigger.change, r.trigger.contact_id])).toEqual([
      ["field", later.id],
      ["created", created.id],
    ]);
    for (const r of runs) await waitForJob(r.job_id);
  });

  it("refuses a change trigger without kinds (422 naming the field) and Run now on a change workflow (409)", async () => {
    const x = await setup();
    const bad = await errorOf(
      await as(x.s, "POST", "/api/workflows", { name: "x", sequence_id: x.sequenceId, trigger: { kind: "change", on: [] } }),
    );
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.details)).toContain("trigger");
    expect((await errorOf(await as(x.s, "POST", `/api/workflows/${x.wf.id}/run`))).status).toBe(409);
  });
});
