import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { runChangeWorkflow, runDueWorkflows } from "../../worker/services/workflows";
import { diesAt } from "../crash";
import { client, env, errorOf, ok, type Session } from "../helpers";
import { addContactsSetup, makeList, makeTeam, waitForJob } from "../fixtures";

type Api = ReturnType<typeof client>["api"];
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
  const api = client(x.s).api;
  const { workflow: wf } = await ok(
    api.workflows.$post({
      json: {
        name: "Qualified → outreach",
        sequence_id: x.sequenceId,
        trigger: { kind: "change", on: ["stage"], filters: { stage_ids: [qualified] } },
      },
    }),
    201,
  );
  return { ...x, api, qualified, wf };
}

const newContact = async (x: { s: Session }, email: string) =>
  (await ok(client(x.s).api.contacts.$post({ json: { first_name: "Ada", last_name: "Lovelace", email, email_status: "verified" } }), 201))
    .contact;
const setStage = (api: Api, contactId: string, stage_id: string) =>
  ok(api.contacts.stage.$post({ json: { contact_ids: [contactId], stage_id } }));
const edit = (api: Api, id: string, json: Parameters<Api["contacts"][":id"]["$patch"]>[0]["json"]) =>
  ok(api.contacts[":id"].$patch({ param: { id }, json }));
const runsOf = async (api: Api, id: string) => (await ok(api.workflows[":id"].runs.$get({ param: { id }, query: {} }))).runs;

describe("workflows triggered by a contact change", () => {
  it("start off, and log no change until turned on", async () => {
    const x = await setup();
    expect(x.wf).toMatchObject({ active: false, trigger: { kind: "change", on: ["stage"] }, next_run_at: null });
    const c = await newContact(x, "ada.off@example.test");
    await setStage(x.api, c.id, x.qualified);
    await runDueWorkflows(env);
    expect(await count("SELECT count(*) n FROM contact_changes WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", x.wf.id)).toBe(0);
  });

  it("runs once per matching change: a stage change into the filter adds the contact; other changes and other stages don't", async () => {
    const x = await setup();
    expect((await x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: true } })).status).toBe(200);
    const hit = await newContact(x, "ada.hit@example.test");
    const miss = await newContact(x, "ada.miss@example.test");
    // A created contact and a field change are not what this workflow triggers on; the other stage doesn't match.
    await edit(x.api, miss.id, { title: "CTO" });
    await setStage(x.api, miss.id, `${x.teamId}-dnc`);
    await setStage(x.api, hit.id, x.qualified);
    // Two overlapping ticks, then a third: one run for the one matching change.
    await Promise.all([runDueWorkflows(env), runDueWorkflows(env)]);
    await runDueWorkflows(env);
    const runs = await runsOf(x.api, x.wf.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      status: "completed",
      found: 1,
      trigger: { kind: "change", change: "stage", contact_id: hit.id, contact_name: "Ada Lovelace" },
    });
    const job = await waitForJob(runs[0]!.job_id!);
    expect(job).toMatchObject({ enrolled: 1 });
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, hit.id)).toBe(1);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, miss.id)).toBe(0);
  });

  it("a change delivered twice adds once: two ticks holding one read claim it once, and once more after the cursor is wound back", async () => {
    const x = await setup();
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: true } }));
    const c = await newContact(x, "ada.twice@example.test");
    await setStage(x.api, c.id, x.qualified);
    const d = db(env.DB);
    const wf = await workflowRow(x.wf.id);
    const [first, second] = await Promise.all([runChangeWorkflow(env, d, wf), runChangeWorkflow(env, d, wf)]);
    expect(first + second).toBe(1);
    // Redelivery through the tick: the cursor is wound back, the change is seen again, nothing more runs.
    await env.DB.prepare("UPDATE workflows SET change_cursor = 0 WHERE id = ?").bind(x.wf.id).run();
    expect(await runChangeWorkflow(env, d, await workflowRow(x.wf.id))).toBe(0);
    const run = (await env.DB.prepare("SELECT job_id FROM workflow_runs WHERE workflow_id = ?").bind(x.wf.id).first<{ job_id: string }>())!;
    await waitForJob(run.job_id);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", x.wf.id)).toBe(1);
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(1);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, c.id)).toBe(1);
  });

  it("triggers on creation and on the chosen fields only, and the run log says which change", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const api = client(x.s).api;
    const { workflow: wf } = await ok(
      api.workflows.$post({
        json: {
          name: "New CTOs",
          sequence_id: x.sequenceId,
          active: true,
          trigger: { kind: "change", on: ["created", "field"], fields: ["title"], filters: { titles: ["cto"] } },
        },
      }),
      201,
    );
    expect(wf.active).toBe(true);
    const { contact: created } = await ok(
      api.contacts.$post({
        json: { first_name: "Grace", last_name: "Hopper", email: "grace@example.test", email_status: "verified", title: "CTO" },
      }),
      201,
    );
    const later = await newContact(x, "ada.later@example.test");
    // The filters are checked when the change is acted on (the next tick): Ada is no CTO yet.
    await runDueWorkflows(env);
    await edit(api, later.id, { city: "London" });
    await runDueWorkflows(env);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", wf.id)).toBe(1);
    await edit(api, later.id, { title: "Interim CTO" });
    await runDueWorkflows(env);
    const runs = await runsOf(api, wf.id);
    expect(runs.map((r) => [r.trigger!.change, r.trigger!.contact_id])).toEqual([
      ["field", later.id],
      ["created", created.id],
    ]);
    for (const r of runs) await waitForJob(r.job_id!);
  });

  it("refuses a change trigger without kinds (422 naming the field) and Run now on a change workflow (409)", async () => {
    const x = await setup();
    const bad = await errorOf(
      await x.api.workflows.$post({ json: { name: "x", sequence_id: x.sequenceId, trigger: { kind: "change", on: [] } } }),
    );
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.details)).toContain("trigger");
    expect((await errorOf(await x.api.workflows[":id"].run.$post({ param: { id: x.wf.id } }))).status).toBe(409);
  });

  it("a misspelt key in a change trigger or its filters is refused (422 naming it), not dropped to match every contact", async () => {
    const x = await setup();
    const before = await count("SELECT count(*) n FROM workflows WHERE team_id = ?", x.teamId);
    const misspelt = await errorOf(
      await x.api.workflows.$post({
        json: {
          name: "Misspelt",
          sequence_id: x.sequenceId,
          trigger: { kind: "change", on: ["stage"], filters: { stage_id: [x.qualified] } },
        } as never,
      }),
    );
    expect(misspelt.status).toBe(422);
    expect(JSON.stringify(misspelt)).toContain("stage_id");
    const field = await errorOf(
      await x.api.workflows.$post({
        json: { name: "Misspelt", sequence_id: x.sequenceId, trigger: { kind: "change", on: ["field"], field: ["title"] } } as never,
      }),
    );
    expect(field.status).toBe(422);
    expect(JSON.stringify(field)).toContain("field");
    const top = await errorOf(
      await x.api.workflows.$post({ json: { name: "Misspelt", sequence_id: x.sequenceId, max_per_runs: 5 } as never }),
    );
    expect(top.status).toBe(422);
    expect(JSON.stringify(top)).toContain("max_per_runs");
    expect(await count("SELECT count(*) n FROM workflows WHERE team_id = ?", x.teamId)).toBe(before);
    // And on an edit: the stored trigger keeps its filter.
    const edited = await errorOf(
      await x.api.workflows[":id"].$patch({
        param: { id: x.wf.id },
        json: { trigger: { kind: "change", on: ["stage"], filters: { stage_id: [x.qualified] } } } as never,
      }),
    );
    expect(edited.status).toBe(422);
    expect(JSON.stringify(edited)).toContain("stage_id");
    expect((await workflowRow(x.wf.id)).trigger).toMatchObject({ filters: { stage_ids: [x.qualified] } });
  });

  it("a change run that died between its claim and its job's commit is tried again once its lease runs out: the contact is added once", async () => {
    const x = await setup();
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: true } }));
    const c = await newContact(x, "ada.crash@example.test");
    await setStage(x.api, c.id, x.qualified);
    // Writes: 0 the lease sweep, 1 the claim; the tick dies at the next write, before the job is committed.
    await runDueWorkflows(diesAt(env, 2)).catch(() => undefined);
    const run = () =>
      env.DB.prepare("SELECT status, job_id, reason, attempts FROM workflow_runs WHERE workflow_id = ?").bind(x.wf.id).first();
    expect(await run()).toMatchObject({ status: "running", job_id: null });
    setClock(now() + 11 * 60_000);
    await runDueWorkflows(env);
    await runDueWorkflows(env);
    expect(await run()).toMatchObject({ status: "completed", reason: null, attempts: 2 });
    const runs = await runsOf(x.api, x.wf.id);
    expect(runs).toHaveLength(1);
    await waitForJob(runs[0]!.job_id!);
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(1);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, c.id)).toBe(1);
  });

  it("a change run that failed for a passing cause (its sequence off) is tried again after a wait, and adds the contact once the cause is gone", async () => {
    const x = await setup();
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: true } }));
    const c = await newContact(x, "ada.retry@example.test");
    await setStage(x.api, c.id, x.qualified);
    await env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(x.sequenceId).run();
    await runDueWorkflows(env);
    expect((await runsOf(x.api, x.wf.id))[0]).toMatchObject({
      status: "failed",
      reason: "sequence_inactive",
      attempts: 1,
      will_retry: true,
    });
    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(x.sequenceId).run();
    // Not at once: the next try waits 10 minutes.
    await runDueWorkflows(env);
    expect((await runsOf(x.api, x.wf.id))[0]).toMatchObject({ status: "failed", attempts: 1 });
    setClock(now() + 11 * 60_000);
    await runDueWorkflows(env);
    const runs = await runsOf(x.api, x.wf.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "completed", reason: null, attempts: 2, will_retry: false });
    await waitForJob(runs[0]!.job_id!);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, c.id)).toBe(1);
  });

  it("a failed change run is judged again by the trigger as it is now: narrowed to other kinds of change, the retry adds nobody; turned off, no retry is promised", async () => {
    const x = await setup();
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: true } }));
    const c = await newContact(x, "ada.narrowed@example.test");
    await setStage(x.api, c.id, x.qualified);
    await env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(x.sequenceId).run();
    await runDueWorkflows(env);
    expect((await runsOf(x.api, x.wf.id))[0]).toMatchObject({ status: "failed", will_retry: true });
    // Turned off: the run log no longer promises a retry (only an active workflow's tick retries).
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: false } }));
    expect((await runsOf(x.api, x.wf.id))[0]).toMatchObject({ status: "failed", will_retry: false });
    // On again, but for new contacts only: the stage change that failed no longer triggers it.
    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(x.sequenceId).run();
    await ok(
      x.api.workflows[":id"].$patch({
        param: { id: x.wf.id },
        json: { active: true, trigger: { kind: "change", on: ["created"], filters: { stage_ids: [x.qualified] } } },
      }),
    );
    setClock(now() + 11 * 60_000);
    await runDueWorkflows(env);
    expect((await runsOf(x.api, x.wf.id))[0]).toMatchObject({ status: "failed", reason: "no_longer_matches" });
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(0);
  });

  it("a change run that keeps failing is given up after 8 tries within a day, and says it won't be tried again", async () => {
    const x = await setup();
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: true } }));
    const c = await newContact(x, "ada.giveup@example.test");
    await setStage(x.api, c.id, x.qualified);
    await env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(x.sequenceId).run();
    await runDueWorkflows(env);
    // Each try waits twice as long as the one before: 10, 20, 40 … 640 minutes.
    for (let i = 0; i < 7; i++) {
      setClock(now() + 10 * 60_000 * 2 ** i + 1000);
      await runDueWorkflows(env);
    }
    expect((await runsOf(x.api, x.wf.id))[0]).toMatchObject({
      status: "failed",
      reason: "sequence_inactive",
      attempts: 8,
      will_retry: false,
    });
    setClock(now() + 2 * 3_600_000);
    await runDueWorkflows(env);
    const runs = await runsOf(x.api, x.wf.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "failed", attempts: 8 });
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(0);
  });

  it("a tick holding a workflow read before it was turned off or deleted adds nobody", async () => {
    const x = await setup();
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: true } }));
    const c = await newContact(x, "ada.stale@example.test");
    await setStage(x.api, c.id, x.qualified);
    const d = db(env.DB);
    // Read by the tick, then turned off: neither the tick nor a claim made with the row it holds acts.
    const stale = await workflowRow(x.wf.id);
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: false } }));
    expect(await runChangeWorkflow(env, d, stale)).toBe(0);
    // Deleted.
    await env.DB.prepare("UPDATE workflows SET active = 1, sequence_id = ? WHERE id = ?").bind(x.sequenceId, x.wf.id).run();
    const beforeDelete = await workflowRow(x.wf.id);
    expect((await x.api.workflows[":id"].$delete({ param: { id: x.wf.id } })).status).toBe(200);
    expect(await runChangeWorkflow(env, d, beforeDelete)).toBe(0);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", x.wf.id)).toBe(0);
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await count("SELECT count(*) n FROM enrollments WHERE contact_id = ?", c.id)).toBe(0);
  });

  it("a title filter matches whole words: CTO finds 'CTO' and 'Co-founder & CTO', not 'Director of Sales'; COO not 'Coordinator'", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const api = client(x.s).api;
    const { workflow: wf } = await ok(
      api.workflows.$post({
        json: {
          name: "Chiefs",
          sequence_id: x.sequenceId,
          active: true,
          trigger: { kind: "change", on: ["created"], filters: { titles: ["CTO", "COO"] } },
        },
      }),
      201,
    );
    const made: Record<string, string> = {};
    for (const [i, title] of ["CTO", "Co-founder & CTO", "Director of Sales", "Marketing Coordinator", "coo"].entries()) {
      const { contact } = await ok(
        api.contacts.$post({ json: { first_name: "T", last_name: `N${i}`, email: `t${i}@titles.test`, email_status: "verified", title } }),
        201,
      );
      made[title] = contact.id;
    }
    await runDueWorkflows(env);
    // The three created in one tick's changes: one run, one job.
    const runs = await runsOf(api, wf.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ found: 3, trigger: { kind: "change", change: "created", contact_id: null } });
    await waitForJob(runs[0]!.job_id!);
    const enrolled = await env.DB.prepare("SELECT contact_id FROM enrollments WHERE sequence_id = ? ORDER BY contact_id")
      .bind(x.sequenceId)
      .all<{ contact_id: string }>();
    expect(enrolled.results.map((r) => r.contact_id)).toEqual([made["CTO"], made["Co-founder & CTO"], made["coo"]].sort());
  });

  it("more change workflows than one tick takes: each one with changes to act on gets its turn", async () => {
    const x = await setup();
    expect((await x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { active: true } })).status).toBe(200);
    // Fifty more change workflows of the team, ahead of this one by id, on a stage nobody enters.
    const row = (await env.DB.prepare("SELECT * FROM workflows WHERE id = ?").bind(x.wf.id).first<Record<string, unknown>>())!;
    const cols = Object.keys(row);
    const other = JSON.stringify({ kind: "change", on: ["stage"], filters: { stage_ids: [`${x.teamId}-nobody`] } });
    await env.DB.batch(
      Array.from({ length: 50 }, (_, i) => {
        const copy = { ...row, id: `000000${String(i).padStart(2, "0")}${x.wf.id.slice(8)}`, name: `Other ${i}`, trigger: other };
        return env.DB.prepare(`INSERT INTO workflows (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`).bind(
          ...cols.map((c) => copy[c as keyof typeof copy] ?? null),
        );
      }),
    );
    const c = await newContact(x, "ada.turn@example.test");
    await setStage(x.api, c.id, x.qualified);
    // Ticks that come more than a week later (the retention of logged changes): still acted on.
    setClock(now() + 8 * 86_400_000);
    await runDueWorkflows(env);
    await runDueWorkflows(env);
    const runs = await runsOf(x.api, x.wf.id);
    expect(runs.map((r) => r.trigger)).toMatchObject([{ kind: "change", change: "stage", contact_id: c.id }]);
  });

  it("a trigger naming another team's list, stage or user is refused (404 naming each); the team's own are taken", async () => {
    const x = await setup();
    const rival = await makeTeam();
    const theirList = await makeList(rival.teamId, rival.userId, []);
    const ourList = await makeList(x.teamId, x.userId, []);
    const create = (filters: Record<string, string[]>) =>
      x.api.workflows.$post({
        json: { name: "Filtered", sequence_id: x.sequenceId, trigger: { kind: "change", on: ["stage"], filters } },
      });
    const refused = await errorOf(
      await create({ list_ids: [ourList, theirList], stage_ids: [`${rival.teamId}-qualified`, x.qualified], owner_ids: [rival.userId] }),
    );
    expect(refused.status).toBe(404);
    expect(refused.details).toMatchObject({
      list_ids: [theirList],
      stage_ids: [`${rival.teamId}-qualified`],
      owner_ids: [rival.userId],
    });
    expect(await count("SELECT count(*) n FROM workflows WHERE team_id = ? AND name = 'Filtered'", x.teamId)).toBe(0);
    await ok(create({ list_ids: [ourList], stage_ids: [x.qualified], owner_ids: [x.userId] }), 201);
    // And on a change of trigger.
    const moved = await errorOf(
      await x.api.workflows[":id"].$patch({
        param: { id: x.wf.id },
        json: { trigger: { kind: "change", on: ["stage"], filters: { list_ids: [theirList] } } },
      }),
    );
    expect(moved.status).toBe(404);
  });

  it("a list in a workflow's trigger can't be deleted (409 naming the workflow) until the workflow no longer names it", async () => {
    const x = await setup();
    const list = await makeList(x.teamId, x.userId, []);
    const trigger = (list_ids: string[]) => ({ kind: "change" as const, on: ["stage" as const], filters: { list_ids } });
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { trigger: trigger([list]) } }));
    const refused = await errorOf(await x.api.lists[":id"].$delete({ param: { id: list } }));
    expect(refused.status).toBe(409);
    expect(refused.message).toContain("Qualified → outreach");
    expect(refused.details).toMatchObject({ workflows: [{ id: x.wf.id, name: "Qualified → outreach" }] });
    expect(await count("SELECT count(*) n FROM lists WHERE id = ?", list)).toBe(1);
    await ok(x.api.workflows[":id"].$patch({ param: { id: x.wf.id }, json: { trigger: trigger([]) } }));
    expect((await x.api.lists[":id"].$delete({ param: { id: list } })).status).toBeLessThan(300);
    expect(await count("SELECT count(*) n FROM lists WHERE id = ?", list)).toBe(0);
  });
});
