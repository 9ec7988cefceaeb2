// Logging a call is for call tasks, and "call back later" needs its time. Before, POST /tasks/<LinkedIn task>/call
// {"outcome":"meeting_booked"} booked a meeting and ended the run, and call_back_later without callback_at
// completed the task and moved the contact on to the next step, the opposite of what the rep meant.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { client, env, errorOf, fieldsOf } from "../helpers";
import { enroll, HOUR, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";
import { onACall } from "./on-a-call";

beforeEach(() => startSimulation());

const meetingsOf = async (contactId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM meetings WHERE contact_id = ?").bind(contactId).first<{ n: number }>())!.n;

const callLogs = async (contactId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE target_id = ? AND action LIKE 'task.%'")
    .bind(contactId)
    .first<{ n: number }>())!.n;

describe("logging a call", () => {
  it("on a task that is not a call is a 409: no meeting, the run and the task unchanged", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ type: "linkedin_connect", wait: 0 }, { wait: 1 }], null);
    const [c] = (await makeContacts(teamId, 1)) as [string];
    await enroll(teamId, sequenceId, [c], [await makeMailbox(teamId, userId, { gapSeconds: 0 })]);
    await runUntil(now() + HOUR);
    const task = (await env.DB.prepare("SELECT id, type FROM tasks WHERE contact_id = ?").bind(c).first<{ id: string; type: string }>())!;
    expect(task.type).toBe("linkedin_connect");

    const res = await errorOf(await api.tasks[":id"].call.$post({ param: { id: task.id }, json: { outcome: "meeting_booked" } }));
    expect(res.status).toBe(409);
    expect(await meetingsOf(c)).toBe(0);
    expect(await callLogs(c)).toBe(0);
    const row = await env.DB.prepare(
      "SELECT e.status, e.current_step, t.status AS task_status FROM enrollments e JOIN tasks t ON t.enrollment_id = e.id WHERE e.contact_id = ?",
    )
      .bind(c)
      .first();
    expect(row).toMatchObject({ status: "active", current_step: 1, task_status: "open" });
  });

  it("call back later without callback_at is a 422 naming callback_at: the task stays open and the contact stays on the call", async () => {
    const x = await onACall(1);
    const [c] = x.contacts as [string];
    const res = await errorOf(
      await x.api.tasks[":id"].call.$post({ param: { id: (await x.row(c)).task_id }, json: { outcome: "call_back_later" } }),
    );
    expect(res.status).toBe(422);
    expect(fieldsOf(res).map((f) => f.field)).toEqual(["callback_at"]);
    await runUntil(now() + 3 * 24 * HOUR);
    expect(await x.row(c)).toMatchObject({ status: "active", current_step: 1, task_status: "open" });
    expect(await callLogs(c)).toBe(0);
  });
});
