// "Call back later" is one request: POST /tasks/{id}/call with callback_at logs the call and moves the task to
// that time in one D1 batch. Before, the web logged the call and then moved the task with a PATCH: when the
// second request failed, the call was logged but the task stayed due when it was.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { env, errorOf, fieldsOf, ok } from "../helpers";
import { DAY, HOUR, startSimulation } from "../fixtures";
import { onACall } from "./on-a-call";

beforeEach(() => startSimulation());

const taskRow = (id: string) =>
  env.DB.prepare("SELECT due_at, assignee_id, status, completed_at, outcome FROM tasks WHERE id = ?")
    .bind(id)
    .first<{ due_at: number; assignee_id: string; status: string; completed_at: number | null; outcome: string | null }>()
    .then((r) => r!);

/** The contact's task entries in the audit log (their timeline's source), oldest first. */
const taskAudit = async (contactId: string) =>
  (
    await env.DB.prepare("SELECT action, details FROM audit_log WHERE target_id = ? AND action LIKE 'task.%' ORDER BY action")
      .bind(contactId)
      .all<{ action: string; details: string }>()
  ).results.map((a) => [a.action, JSON.parse(a.details)]);

describe("logging a call with callback_at", () => {
  it("logs the call and moves the open task to the call-back time in one request; the run waits on it", async () => {
    const x = await onACall(1);
    const [c] = x.contacts as [string];
    const { task_id } = await x.row(c);
    const before = await taskRow(task_id);
    const at = now() + 2 * DAY;
    const r = await ok(
      x.api.tasks[":id"].call.$post({
        param: { id: task_id },
        json: { outcome: "call_back_later", notes: "Asked for Wednesday", callback_at: at },
      }),
    );
    expect(r.task).toEqual({ id: task_id, status: "open", completed_at: null, due_at: at, run: "unchanged", reason: null });
    expect(await taskRow(task_id)).toEqual({ ...before, due_at: at });
    expect(await taskAudit(c)).toMatchObject([
      ["task.call_logged", { task_id, outcome: "call_back_later", notes: "Asked for Wednesday", sequence_id: x.sequenceId }],
      ["task.rescheduled", { task_id, from: before.due_at, to: at, sequence_id: x.sequenceId }],
    ]);
    const { events } = await ok(x.api.contacts[":id"].timeline.$get({ param: { id: c }, query: {} }));
    expect(events.map((e) => e.title)).toEqual(expect.arrayContaining(["Call: Call back later", "Task rescheduled"]));
    // The contact stays on the call step: the task is still open, due then.
    expect(await x.row(c)).toMatchObject({ status: "active", current_step: 1, task_status: "open" });
    const upcoming = await ok(x.api.tasks.$get({ query: { view: "upcoming" } }));
    expect(upcoming.tasks.map((t) => [t.id, t.due_at])).toEqual([[task_id, at]]);
  });

  it("refuses a past or too distant time, complete true and an outcome that ends the run (422 naming the field); nothing is logged or moved", async () => {
    const x = await onACall(1);
    const [c] = x.contacts as [string];
    const { task_id } = await x.row(c);
    const before = await taskRow(task_id);
    const post = (json: { outcome: "call_back_later" | "meeting_booked"; callback_at: number; complete?: boolean }) =>
      x.api.tasks[":id"].call.$post({ param: { id: task_id }, json });

    const past = await errorOf(await post({ outcome: "call_back_later", callback_at: now() - HOUR }));
    expect(past.status).toBe(422);
    expect(fieldsOf(past)).toMatchObject([{ field: "callback_at", message: "Choose a time from now on" }]);

    const far = await errorOf(await post({ outcome: "call_back_later", callback_at: now() + 400 * DAY }));
    expect(far.status).toBe(422);
    expect(fieldsOf(far).map((f) => f.field)).toEqual(["callback_at"]);

    const completing = await errorOf(await post({ outcome: "call_back_later", callback_at: now() + DAY, complete: true }));
    expect(completing.status).toBe(422);
    expect(fieldsOf(completing).map((f) => f.field)).toEqual(["complete"]);

    const booked = await errorOf(await post({ outcome: "meeting_booked", callback_at: now() + DAY }));
    expect(booked.status).toBe(422);
    expect(fieldsOf(booked).map((f) => f.field)).toEqual(["callback_at"]);

    expect(await taskRow(task_id)).toEqual(before);
    expect(await taskAudit(c)).toEqual([]);
    expect(await x.row(c)).toMatchObject({ status: "active", current_step: 1, task_status: "open" });
  });

  it("on a task done before it is a 409 that logs nothing", async () => {
    const x = await onACall(1);
    const [c] = x.contacts as [string];
    const { task_id } = await x.row(c);
    await ok(x.api.tasks[":id"][":action"].$post({ param: { id: task_id, action: "skip" }, json: {} }));
    const done = await taskRow(task_id);
    const r = await errorOf(
      await x.api.tasks[":id"].call.$post({ param: { id: task_id }, json: { outcome: "call_back_later", callback_at: now() + DAY } }),
    );
    expect(r.status).toBe(409);
    expect(await taskRow(task_id)).toEqual(done);
    expect((await taskAudit(c)).map(([a]) => a)).toEqual(["task.skipped"]);
  });

  it("on a task done after it was read but before its write is a 409 that moves and logs nothing", async () => {
    const x = await onACall(1);
    const [c] = x.contacts as [string];
    const { task_id } = await x.row(c);
    // Someone skips the task between the call's read of it and its batch: the batch's guard is all that stops it.
    const proto = Object.getPrototypeOf(env.DB) as { batch: (s: D1PreparedStatement[]) => Promise<D1Result[]> };
    const batch = proto.batch;
    proto.batch = async function (this: D1Database, statements: D1PreparedStatement[]) {
      proto.batch = batch;
      await ok(x.api.tasks[":id"][":action"].$post({ param: { id: task_id, action: "skip" }, json: {} }));
      return batch.call(this, statements);
    };
    try {
      const r = await errorOf(
        await x.api.tasks[":id"].call.$post({ param: { id: task_id }, json: { outcome: "call_back_later", callback_at: now() + DAY } }),
      );
      expect(r.status).toBe(409);
    } finally {
      proto.batch = batch;
    }
    const done = await taskRow(task_id);
    expect(done).toMatchObject({ status: "skipped" });
    expect(done.due_at).not.toBe(now() + DAY);
    expect((await taskAudit(c)).map(([a]) => a)).toEqual(["task.skipped"]);
  });

  it("on another team's task is a 404 whatever the body, and changes nothing", async () => {
    const x = await onACall(1);
    const other = await onACall(1);
    const [c] = x.contacts as [string];
    const { task_id } = await x.row(c);
    const before = await taskRow(task_id);
    for (const json of [
      { outcome: "call_back_later" as const, callback_at: now() - HOUR },
      { outcome: "call_back_later" as const, callback_at: now() + DAY, complete: true },
      { outcome: "meeting_booked" as const, complete: false },
    ]) {
      const r = await errorOf(await other.api.tasks[":id"].call.$post({ param: { id: task_id }, json }));
      expect(r.status).toBe(404);
    }
    expect(await taskRow(task_id)).toEqual(before);
    expect(await taskAudit(c)).toEqual([]);
  });
});
