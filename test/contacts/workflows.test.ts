import { beforeEach, describe, expect, it } from "vitest";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { runDueWorkflows, runWorkflow } from "../../worker/services/workflows";
import { crashAt } from "../crash";
import { client, env, errorOf, login, ok } from "../helpers";
import { addContactsSetup, makeUser, sessionFor, waitForJob } from "../fixtures";

const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;
const filters = { seniorities: ["director"], email_statuses: ["verified" as const] };

/** A team with credits and an active schedule workflow of directors, `max_per_run` at a time. */
async function scheduled(interval_minutes: number, max_per_run: number) {
  const x = await addContactsSetup({ credits: 10_000 });
  const api = client(x.s).api;
  const { workflow: wf } = await ok(
    api.workflows.$post({ json: { name: "Directors", sequence_id: x.sequenceId, filters, interval_minutes, max_per_run, active: true } }),
    201,
  );
  return { x, api, wf };
}

beforeEach(() => resetClock());

describe("workflows", () => {
  it("on its schedule, adds only net-new people matching the filters, once per slot", async () => {
    const { x, api, wf } = await scheduled(60, 5);
    expect(wf).toMatchObject({ active: true, interval_minutes: 60, max_per_run: 5, last_run: null });

    // Two overlapping ticks at the slot: one run.
    setClock(wf.next_run_at! + 1000);
    await Promise.all([runDueWorkflows(env), runDueWorkflows(env)]);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", wf.id)).toBe(1);
    const run = await env.DB.prepare("SELECT * FROM workflow_runs WHERE workflow_id = ?").bind(wf.id).first<{ job_id: string }>();
    expect(run).toMatchObject({ status: "completed", found: 5, slot: wf.next_run_at! });
    resetClock();
    const job = await waitForJob(run!.job_id);
    expect(job).toMatchObject({ enrolled: 5, credits_used: 5 });
    // Labelled as a workflow run (job page, Credits chart), not as people picked.
    expect(JSON.parse(job.source).kind).toBe("workflow");
    const next = await env.DB.prepare("SELECT next_run_at FROM workflows WHERE id = ?").bind(wf.id).first<{ next_run_at: number }>();
    expect(next!.next_run_at).toBe(wf.next_run_at! + 3_600_000);

    // The next run skips the five already saved (Net New Check) and adds five others.
    await runWorkflow(env, wf.id, next!.next_run_at);
    const second = await env.DB.prepare("SELECT * FROM workflow_runs WHERE workflow_id = ? AND slot = ?")
      .bind(wf.id, next!.next_run_at)
      .first<{ job_id: string }>();
    await waitForJob(second!.job_id);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(10);
    expect(await count("SELECT count(DISTINCT contact_id) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(10);
    const log = await ok(api.workflows[":id"].runs.$get({ param: { id: wf.id }, query: {} }));
    expect(log.runs).toHaveLength(2);
    expect(log.runs[0]).toMatchObject({ status: "completed", found: 5, added: 5 });
  });

  it("a crash right after a slot is claimed doesn't stop the schedule: the next slot runs", async () => {
    const { wf } = await scheduled(60, 2);
    setClock(wf.next_run_at! + 1000);
    // Write 0 is the lease sweep, write 1 the claim; the tick dies at the write after it.
    await runDueWorkflows(crashAt(env, 2)).catch(() => undefined);
    const nextRunAt = async () =>
      (await env.DB.prepare("SELECT next_run_at FROM workflows WHERE id = ?").bind(wf.id).first<{ next_run_at: number }>())!.next_run_at;
    expect(await nextRunAt()).toBe(wf.next_run_at! + 3_600_000);
    setClock(wf.next_run_at! + 3_600_000 + 1000);
    await runDueWorkflows(env);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ? AND slot = ?", wf.id, wf.next_run_at! + 3_600_000)).toBe(
      1,
    );
    expect(await nextRunAt()).toBe(wf.next_run_at! + 2 * 3_600_000);
  });

  it("a run whose tick died after committing its job is completed with that job, not left 'interrupted' or 'failed'", async () => {
    const { wf } = await scheduled(60, 2);
    setClock(wf.next_run_at! + 1000);
    // Writes: 0 the lease sweep, 1 the claim, 2 the job's commit, 3 its start; the tick dies recording the run (4).
    await runDueWorkflows(crashAt(env, 4)).catch(() => undefined);
    const job = await env.DB.prepare("SELECT id FROM jobs WHERE idempotency_key = ?")
      .bind(`workflow:${wf.id}:${wf.next_run_at}`)
      .first<{ id: string }>();
    expect(job).not.toBeNull();
    const run = () => env.DB.prepare("SELECT status, job_id, found, reason FROM workflow_runs WHERE workflow_id = ?").bind(wf.id).first();
    expect(await run()).toMatchObject({ status: "running", job_id: null });
    // The lease runs out; the next tick's sweep finds the job by its key.
    setClock(wf.next_run_at! + 11 * 60_000);
    await runDueWorkflows(env);
    expect(await run()).toMatchObject({ status: "completed", job_id: job!.id, found: 2, reason: null });
  });

  it("while the last run's job is still adding its people, Run now is refused (409) and the next slot passes saying why", async () => {
    const { x, api, wf } = await scheduled(60, 2);
    setClock(wf.next_run_at! + 1000);
    await runDueWorkflows(env);
    const first = (await env.DB.prepare("SELECT job_id FROM workflow_runs WHERE workflow_id = ?").bind(wf.id).first<{ job_id: string }>())!;
    await waitForJob(first.job_id);
    // As if its job were still at work (a large run takes minutes): its people are not contacts yet.
    await env.DB.prepare("UPDATE jobs SET status = 'running' WHERE id = ?").bind(first.job_id).run();
    const refused = await errorOf(await api.workflows[":id"].run.$post({ param: { id: wf.id } }));
    expect(refused.status).toBe(409);
    expect(refused.message).toMatch(/still adding/);
    setClock(wf.next_run_at! + 3_600_000 + 1000);
    await runDueWorkflows(env);
    const second = await env.DB.prepare("SELECT status, reason, job_id FROM workflow_runs WHERE workflow_id = ? AND slot = ?")
      .bind(wf.id, wf.next_run_at! + 3_600_000)
      .first();
    expect(second).toMatchObject({ status: "completed", reason: "previous_run_in_progress", job_id: null });
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(1);
    // Once it is done, Run now runs.
    await env.DB.prepare("UPDATE jobs SET status = 'completed' WHERE id = ?").bind(first.job_id).run();
    const ran = await ok(api.workflows[":id"].run.$post({ param: { id: wf.id } }));
    expect(ran.run).toMatchObject({ status: "completed" });
  });

  it("a long first job holds back every later slot, however many, and a Run now that got past the check", async () => {
    const { x, wf } = await scheduled(15, 2);
    const slot = wf.next_run_at!;
    setClock(slot + 1000);
    await runDueWorkflows(env);
    const first = (await env.DB.prepare("SELECT job_id FROM workflow_runs WHERE workflow_id = ?").bind(wf.id).first<{ job_id: string }>())!;
    resetClock();
    await waitForJob(first.job_id);
    // As if slot 1's job were still adding its people (a large run takes longer than three slots).
    await env.DB.prepare("UPDATE jobs SET status = 'running' WHERE id = ?").bind(first.job_id).run();
    for (const k of [1, 2, 3]) {
      setClock(slot + k * 15 * 60_000 + 1000);
      await runDueWorkflows(env);
    }
    const runs = await env.DB.prepare("SELECT slot, status, reason, job_id FROM workflow_runs WHERE workflow_id = ? ORDER BY slot")
      .bind(wf.id)
      .all<{ slot: number; status: string; reason: string | null; job_id: string | null }>();
    expect(runs.results).toHaveLength(4);
    expect(runs.results[3]).toMatchObject({
      slot: slot + 45 * 60_000,
      status: "completed",
      reason: "previous_run_in_progress",
      job_id: null,
    });
    // A Run now that raced past the route's check: the run itself checks after its claim.
    const manual = await runWorkflow(env, wf.id, now(), true);
    expect(await env.DB.prepare("SELECT reason, job_id FROM workflow_runs WHERE id = ?").bind(manual).first()).toMatchObject({
      reason: "previous_run_in_progress",
      job_id: null,
    });
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(1);
  });

  it("a schedule that fell behind runs once and resumes on its grid; a shorter interval or a switch to a schedule starts soon", async () => {
    const { api, wf } = await scheduled(15, 1);
    const slot = wf.next_run_at!;
    // Six hours late (the cron was down): one run, then the next slot on the grid still ahead.
    setClock(slot + 6 * 3_600_000 + 5 * 60_000);
    await runDueWorkflows(env);
    setClock(slot + 6 * 3_600_000 + 6 * 60_000);
    await runDueWorkflows(env);
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", wf.id)).toBe(1);
    const row = async () =>
      (await env.DB.prepare("SELECT next_run_at, last_run_at FROM workflows WHERE id = ?").bind(wf.id).first<{
        next_run_at: number;
        last_run_at: number;
      }>())!;
    expect((await row()).next_run_at).toBe(slot + 6 * 3_600_000 + 15 * 60_000);

    // Every 30 days, then back to every 15 minutes: the next run is 15 minutes after the last, not a month on.
    await ok(api.workflows[":id"].$patch({ param: { id: wf.id }, json: { interval_minutes: 43_200 } }));
    expect((await row()).next_run_at).toBe((await row()).last_run_at + 43_200 * 60_000);
    await ok(api.workflows[":id"].$patch({ param: { id: wf.id }, json: { interval_minutes: 15 } }));
    expect((await row()).next_run_at).toBe((await row()).last_run_at + 15 * 60_000);

    // A change workflow for a month (its next_run_at left as it was), then a schedule again: it starts a minute on.
    await ok(api.workflows[":id"].$patch({ param: { id: wf.id }, json: { trigger: { kind: "change", on: ["stage"], filters: {} } } }));
    setClock(now() + 30 * 86_400_000);
    await ok(api.workflows[":id"].$patch({ param: { id: wf.id }, json: { trigger: { kind: "schedule" } } }));
    expect((await row()).next_run_at).toBe(now() + 60_000);
  });

  it("a run that adds nobody says why", async () => {
    const x = await addContactsSetup();
    const api = client(x.s).api;
    const create = (json: Parameters<typeof api.workflows.$post>[0]["json"]) => ok(api.workflows.$post({ json }), 201);
    const runNow = (id: string) => ok(api.workflows[":id"].run.$post({ param: { id } }));
    const none = (await create({ name: "Nobody", sequence_id: x.sequenceId, filters: { q: "zzzzqqqq" } })).workflow;
    const r1 = (await runNow(none.id)).run;
    expect(r1).toMatchObject({ status: "completed", found: 0, reason: "no_new_people" });
    // The sequence is turned off after the workflow was set up (turning one on for a sequence that is off is refused).
    const off = (await create({ name: "Off", sequence_id: x.sequenceId, filters })).workflow;
    await env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(x.sequenceId).run();
    const r2 = (await runNow(off.id)).run;
    expect(r2).toMatchObject({ status: "failed", reason: "sequence_inactive" });
    const listed = (await ok(api.workflows.$get())).workflows.find((w) => w.id === off.id);
    expect(listed!.last_run!.reason).toBe("sequence_inactive");
    const single = (await ok(api.workflows[":id"].$get({ param: { id: off.id } }))).workflow;
    expect(single).toEqual(listed);
    // A score range stored empty (saved before the API refused it) fails with its reason, not "no new people".
    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(x.sequenceId).run();
    const empty = (await create({ name: "Empty range", sequence_id: x.sequenceId, filters })).workflow;
    await env.DB.prepare("UPDATE workflows SET filters = ? WHERE id = ?")
      .bind(JSON.stringify({ ...filters, score_min: 80, score_max: 20 }), empty.id)
      .run();
    const r3 = (await runNow(empty.id)).run;
    expect(r3).toMatchObject({ status: "failed", found: 0, reason: "empty_score_range" });
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ? AND source LIKE '%workflow%'", x.teamId)).toBe(0);
  });

  it("a run whose people were all held back says why, and the next run reaches the next people instead of the same ones (those a failure left unprocessed aside)", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const api = client(x.s).api;
    // Ten people of one company: the five scored highest have unverified emails (held back), the next five verified.
    const company = `Heldback ${x.teamId}`;
    await env.DB.batch(
      Array.from({ length: 10 }, (_, i) =>
        env.DB.prepare(
          `INSERT INTO people (id, first_name, last_name, title, seniority, department, company, domain, industry, employees, city, country,
                               time_zone, email, email_status, score, linkedin_url, job_changed_at)
           VALUES (?, 'P', ?, 'Director of Sales', 'director', 'sales', ?, ?, 'Software', 100, 'Austin', 'United States',
                   'America/Chicago', ?, ?, ?, NULL, NULL)`,
        ).bind(
          `${x.teamId.slice(0, 16)}p${i}`,
          `N${i}`,
          company,
          `${x.teamId}.test`,
          `p${i}@${x.teamId}.test`,
          i < 5 ? "unverified" : "verified",
          99 - i,
        ),
      ),
    );
    const { workflow: wf } = await ok(
      api.workflows.$post({
        json: {
          name: "Held back",
          sequence_id: x.sequenceId,
          filters: { companies: [company] },
          interval_minutes: 60,
          max_per_run: 5,
          active: true,
        },
      }),
      201,
    );
    const runAt = async (slot: number) => {
      setClock(slot + 1000);
      await runDueWorkflows(env);
      resetClock();
      const run = (await env.DB.prepare("SELECT id, job_id FROM workflow_runs WHERE workflow_id = ? AND slot = ?")
        .bind(wf.id, slot)
        .first<{ id: string; job_id: string }>())!;
      await waitForJob(run.job_id);
      return (await ok(api.workflows[":id"].runs.$get({ param: { id: wf.id }, query: {} }))).runs.find((r) => r.id === run.id)!;
    };
    const first = await runAt(wf.next_run_at!);
    expect(first).toMatchObject({ status: "completed", found: 5, added: 0, reason: "held_back" });
    // Two of them were in a chunk that failed (dead-lettered): nobody decided anything about them, so
    // they are not left out with the held-back ones.
    const job = (await env.DB.prepare("SELECT job_id FROM workflow_runs WHERE id = ?").bind(first.id).first<{ job_id: string }>())!.job_id;
    await env.DB.prepare(
      "UPDATE job_outcomes SET outcome = 'skipped', reasons = '[\"not_processed\"]' WHERE job_id = ? AND person_id IN (?, ?)",
    )
      .bind(job, `${x.teamId.slice(0, 16)}p0`, `${x.teamId.slice(0, 16)}p1`)
      .run();
    const second = await runAt(wf.next_run_at! + 3_600_000);
    // p0 and p1 again (held back again: still unverified), then the next three.
    expect(second).toMatchObject({ status: "completed", found: 5, added: 3 });
    const added = await env.DB.prepare(
      "SELECT c.email FROM enrollments e JOIN contacts c ON c.id = e.contact_id WHERE e.sequence_id = ? ORDER BY c.email",
    )
      .bind(x.sequenceId)
      .all<{ email: string }>();
    expect(added.results.map((r) => r.email)).toEqual([5, 6, 7].map((i) => `p${i}@${x.teamId}.test`));
  });

  it("a member's workflow whose sequence share is removed is turned off by its next run, saying why, instead of failing every slot", async () => {
    const x = await addContactsSetup();
    const memberId = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    const member = client(await sessionFor(x.teamId, memberId)).api;
    const { workflow: wf } = await ok(
      member.workflows.$post({ json: { name: "Mine", sequence_id: x.sequenceId, filters, interval_minutes: 60, active: true } }),
      201,
    );
    expect(wf).toMatchObject({ active: true, off_reason: null });
    await env.DB.prepare("DELETE FROM sequence_shares WHERE sequence_id = ? AND user_id = ?").bind(x.sequenceId, memberId).run();
    setClock(wf.next_run_at! + 1000);
    await runDueWorkflows(env);
    const admin = client(x.s).api;
    const seen = (await ok(admin.workflows[":id"].$get({ param: { id: wf.id } }))).workflow;
    expect(seen).toMatchObject({ active: false, off_reason: "not_found", last_run: { status: "failed", reason: "not_found" } });
    // Later slots: no more runs, no more failures.
    for (const k of [1, 2, 3]) {
      setClock(wf.next_run_at! + k * 3_600_000 + 1000);
      await runDueWorkflows(env);
    }
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", wf.id)).toBe(1);
    // Turned on again by an admin once shared again: the reason goes.
    await env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'edit')")
      .bind(x.sequenceId, memberId, x.teamId)
      .run();
    const on = (await ok(admin.workflows[":id"].$patch({ param: { id: wf.id }, json: { active: true } }))).workflow;
    expect(on).toMatchObject({ active: true, off_reason: null });
  });

  it("turned off, it doesn't run; only those who may add to the sequence can create one; other teams get 404", async () => {
    const x = await addContactsSetup();
    const { workflow: wf } = await ok(
      client(x.s).api.workflows.$post({ json: { name: "W", sequence_id: x.sequenceId, filters, active: false } }),
      201,
    );
    setClock(Date.now() + 7 * 86_400_000);
    await runDueWorkflows(env);
    // Nor when a tick that listed it before it was turned off gets to it.
    expect(await runWorkflow(env, wf.id, wf.next_run_at!)).toBeNull();
    resetClock();
    expect(await count("SELECT count(*) n FROM workflow_runs WHERE workflow_id = ?", wf.id)).toBe(0);
    const viewer = await login("rep2@demo.test");
    const seq1 = (await env.DB.prepare("SELECT id FROM sequences WHERE name = 'Enterprise outbound — Q4'").first<{ id: string }>())!.id;
    expect((await errorOf(await client(viewer).api.workflows.$post({ json: { name: "x", sequence_id: seq1, filters } }))).status).toBe(403);
    // A teammate the sequence is shared with sees the workflow, without the controls its owner has.
    const memberId = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    const member = client(await sessionFor(x.teamId, memberId)).api;
    expect((await ok(member.workflows.$get())).workflows.map((w) => [w.id, w.can_manage])).toEqual([[wf.id, false]]);
    expect((await member.workflows[":id"].run.$post({ param: { id: wf.id } })).status).toBe(403);
    expect((await ok(client(x.s).api.workflows[":id"].$get({ param: { id: wf.id } }))).workflow.can_manage).toBe(true);
    const rival = client(await login("admin@rival.test")).api;
    expect((await rival.workflows[":id"].run.$post({ param: { id: wf.id } })).status).toBe(404);
    expect((await rival.workflows[":id"].$delete({ param: { id: wf.id } })).status).toBe(404);
    expect(await count("SELECT count(*) n FROM workflows WHERE id = ?", wf.id)).toBe(1);
  });
});
