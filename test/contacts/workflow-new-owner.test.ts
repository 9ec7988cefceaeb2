import { beforeEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../worker/lib/clock";
import { runWorkflow } from "../../worker/services/workflows";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import { addContactsSetup, makeMailbox, makeTeam, makeUser, sessionFor, waitForJob } from "../fixtures";

beforeEach(() => resetClock());

const filters = { seniorities: ["director"], email_statuses: ["verified" as const] };

type Row = { owner_id: string; active: number; off_reason: string | null; options: string; next_run_at: number };
const row = (id: string) =>
  env.DB.prepare("SELECT owner_id, active, off_reason, options, next_run_at FROM workflows WHERE id = ?").bind(id).first<Row>();

/**
 * A disabled user's workflows turned off at their next run (owner_missing) and nobody could take them over: the
 * PATCH had no owner_id. An admin gives one to an active user of the team; it runs as them once turned on again.
 */
describe("giving a workflow a new owner", () => {
  async function setup() {
    const x = await addContactsSetup({ credits: 10_000 });
    const admin = client(x.s).api;
    const repId = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    const rep = client(await sessionFor(x.teamId, repId)).api;
    const repMailbox = await makeMailbox(x.teamId, repId);
    const nextId = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    const nextMailbox = await makeMailbox(x.teamId, nextId);
    const { workflow } = await ok(
      rep.workflows.$post({
        json: { name: "Rep's directors", sequence_id: x.sequenceId, filters, max_per_run: 3, mailbox_ids: [repMailbox], active: true },
      }),
      201,
    );
    return { ...x, admin, rep, repId, repMailbox, nextId, nextMailbox, workflow };
  }

  it("a member can't give away their own workflow (403), and the owner stays", async () => {
    const x = await setup();
    const res = await x.rep.workflows[":id"].$patch({ param: { id: x.workflow.id }, json: { owner_id: x.nextId } });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toContain("Only an admin");
    expect((await row(x.workflow.id))!.owner_id).toBe(x.repId);
  });

  it("refuses another team's user or a disabled one (422 naming owner_id); the owner stays", async () => {
    const x = await setup();
    const other = await makeTeam("Other");
    const disabledId = await makeUser(x.teamId, "admin");
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(disabledId).run();
    for (const [owner_id, words] of [
      [other.userId, "No such user in your team"],
      [disabledId, "This user is disabled"],
    ] as const) {
      const res = await x.admin.workflows[":id"].$patch({ param: { id: x.workflow.id }, json: { owner_id } });
      expect(res.status).toBe(422);
      const e = await errorOf(res);
      expect(fieldsOf(e)).toMatchObject([{ field: "owner_id", message: words }]);
    }
    // Still strict: a misspelt owner_id is refused, not dropped.
    const typo = await x.admin.workflows[":id"].$patch({ param: { id: x.workflow.id }, json: { ownerid: x.nextId } as never });
    expect(typo.status).toBe(422);
    expect((await row(x.workflow.id))!.owner_id).toBe(x.repId);
  });

  it("a disabled owner's workflow, turned off owner_missing, is taken over by an admin and runs as its new owner once on", async () => {
    const x = await setup();
    await ok(x.admin.users[":id"].$patch({ param: { id: x.repId }, json: { disabled: true } }));
    const before = (await row(x.workflow.id))!;
    setClock(before.next_run_at + 1000);
    await runWorkflow(env, x.workflow.id, before.next_run_at);
    expect(await row(x.workflow.id)).toMatchObject({ active: 0, off_reason: "owner_missing" });
    resetClock();

    // The new owner can't send from the disabled rep's mailbox the workflow ticks: said on owner_id, nothing saved.
    const refused = await x.admin.workflows[":id"].$patch({ param: { id: x.workflow.id }, json: { owner_id: x.nextId } });
    expect(refused.status).toBe(422);
    expect(fieldsOf(await errorOf(refused)).map((f) => f.field)).toEqual(["owner_id"]);
    expect((await row(x.workflow.id))!.owner_id).toBe(x.repId);

    const { workflow } = await ok(
      x.admin.workflows[":id"].$patch({ param: { id: x.workflow.id }, json: { owner_id: x.nextId, mailbox_ids: [x.nextMailbox] } }),
    );
    expect(workflow).toMatchObject({ owner_id: x.nextId, active: false, off_reason: null });
    const after = (await row(x.workflow.id))!;
    expect(after).toMatchObject({ owner_id: x.nextId, active: 0, off_reason: null });
    expect(JSON.parse(after.options).mailbox_ids).toEqual([x.nextMailbox]);
    const audit = await env.DB.prepare("SELECT details FROM audit_log WHERE action = 'workflow.update' AND target_id = ?")
      .bind(x.workflow.id)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ owner_id: x.nextId, previous_owner_id: x.repId });

    // It stays off until turned on; then its run is the new owner's, from their mailbox.
    await ok(x.admin.workflows[":id"].$patch({ param: { id: x.workflow.id }, json: { active: true } }));
    const on = (await row(x.workflow.id))!;
    setClock(on.next_run_at + 1000);
    const runId = await runWorkflow(env, x.workflow.id, on.next_run_at);
    resetClock();
    const run = await env.DB.prepare("SELECT status, reason, job_id FROM workflow_runs WHERE id = ?")
      .bind(runId)
      .first<{ status: string; reason: string | null; job_id: string }>();
    expect(run).toMatchObject({ status: "completed", reason: null });
    const job = await waitForJob(run!.job_id);
    expect(job).toMatchObject({ enrolled: 3, user_id: x.nextId });
    const senders = await env.DB.prepare("SELECT DISTINCT mailbox_id m FROM enrollments WHERE sequence_id = ?")
      .bind(x.sequenceId)
      .all<{ m: string }>();
    expect(senders.results.map((r) => r.m)).toEqual([x.nextMailbox]);
  });
});
