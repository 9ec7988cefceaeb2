// A task can be put off or handed to someone else (PATCH /tasks/{id}): before, the only ways out of a
// task were completing or skipping it.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import { DAY, HOUR, makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";
import { onACall } from "./on-a-call";

beforeEach(() => startSimulation());

const taskRow = (id: string) =>
  env.DB.prepare("SELECT due_at, assignee_id, status FROM tasks WHERE id = ?")
    .bind(id)
    .first<{ due_at: number; assignee_id: string; status: string }>()
    .then((r) => r!);

describe("rescheduling and reassigning a task", () => {
  it("moves its due time and its assignee, and records both on the contact's timeline", async () => {
    const x = await onACall(1);
    const { task_id } = await x.row(x.contacts[0]!);
    const editor = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    const due = now() + 3 * DAY;
    const r = await ok(x.api.tasks[":id"].$patch({ param: { id: task_id }, json: { due_at: due, assignee_id: editor } }));
    expect(r.task).toMatchObject({ id: task_id, status: "open", due_at: due, assignee_id: editor });
    expect(await taskRow(task_id)).toEqual({ due_at: due, assignee_id: editor, status: "open" });
    const audit = (
      await env.DB.prepare("SELECT action, details FROM audit_log WHERE target_id = ? AND action LIKE 'task.re%' ORDER BY action")
        .bind(x.contacts[0])
        .all<{ action: string; details: string }>()
    ).results.map((a) => [a.action, JSON.parse(a.details)]);
    expect(audit).toMatchObject([
      ["task.reassigned", { task_id, from: x.userId, to: editor }],
      ["task.rescheduled", { task_id, to: due }],
    ]);
    const { events } = await ok(x.api.contacts[":id"].timeline.$get({ param: { id: x.contacts[0]! }, query: {} }));
    expect(events.map((e) => e.title)).toEqual(expect.arrayContaining(["Task rescheduled", "Task reassigned"]));
    // The new assignee sees it as theirs.
    const mine = await ok(client(await sessionFor(x.teamId, editor)).api.tasks.$get({ query: { view: "upcoming" } }));
    expect(mine.tasks.map((t) => t.id)).toEqual([task_id]);
  });

  it("refuses a time in the past, a disabled assignee and one who can't edit the sequence (422 naming the field); nothing changes", async () => {
    const x = await onACall(1);
    const { task_id } = await x.row(x.contacts[0]!);
    const before = await taskRow(task_id);
    const patch = (json: { due_at?: number; assignee_id?: string }) => x.api.tasks[":id"].$patch({ param: { id: task_id }, json });

    const past = await errorOf(await patch({ due_at: now() - HOUR }));
    expect(past.status).toBe(422);
    expect(fieldsOf(past).map((f) => f.field)).toEqual(["due_at"]);

    const disabled = await makeUser(x.teamId, "admin");
    await env.DB.prepare("UPDATE users SET disabled_at = ? WHERE id = ?").bind(now(), disabled).run();
    const off = await errorOf(await patch({ assignee_id: disabled }));
    expect(off.status).toBe(422);
    expect(fieldsOf(off).map((f) => f.field)).toEqual(["assignee_id"]);
    expect(off.message).toContain("disabled");

    const viewer = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "view" });
    const cant = await errorOf(await patch({ assignee_id: viewer }));
    expect(cant.status).toBe(422);
    expect(fieldsOf(cant).map((f) => f.field)).toEqual(["assignee_id"]);

    const empty = await errorOf(await patch({}));
    expect(empty.status).toBe(422);

    // Someone of another team is no such user here.
    const other = await makeTeam();
    expect((await errorOf(await patch({ assignee_id: other.userId }))).status).toBe(422);
    expect(await taskRow(task_id)).toEqual(before);
  });

  it("is the task.work rule's: a viewer of the sequence gets 403, another team 404, the assignee may hand it on", async () => {
    const x = await onACall(1);
    const { task_id } = await x.row(x.contacts[0]!);
    const json = { due_at: now() + DAY };

    const viewer = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "view" });
    const asViewer = client(await sessionFor(x.teamId, viewer)).api;
    expect((await errorOf(await asViewer.tasks[":id"].$patch({ param: { id: task_id }, json }))).status).toBe(403);

    const stranger = await makeUser(x.teamId, "member");
    const asStranger = client(await sessionFor(x.teamId, stranger)).api;
    expect((await errorOf(await asStranger.tasks[":id"].$patch({ param: { id: task_id }, json }))).status).toBe(404);

    const other = await makeTeam();
    const asOther = client(await sessionFor(other.teamId, other.userId)).api;
    expect((await errorOf(await asOther.tasks[":id"].$patch({ param: { id: task_id }, json }))).status).toBe(404);
    expect((await taskRow(task_id)).due_at).not.toBe(json.due_at);

    // The member it was handed to may hand it on (to the sequence's owner).
    const editor = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    await ok(x.api.tasks[":id"].$patch({ param: { id: task_id }, json: { assignee_id: editor } }));
    const asEditor = client(await sessionFor(x.teamId, editor)).api;
    await ok(asEditor.tasks[":id"].$patch({ param: { id: task_id }, json: { assignee_id: x.userId, due_at: json.due_at } }));
    expect(await taskRow(task_id)).toMatchObject({ assignee_id: x.userId, due_at: json.due_at });
  });

  it("refuses a task no longer open (409)", async () => {
    const x = await onACall(1);
    const { task_id } = await x.row(x.contacts[0]!);
    await ok(x.api.tasks[":id"][":action"].$post({ param: { id: task_id, action: "skip" }, json: {} }));
    const r = await errorOf(await x.api.tasks[":id"].$patch({ param: { id: task_id }, json: { due_at: now() + DAY } }));
    expect(r.status).toBe(409);
  });
});
