// A call task completed as "meeting booked" whose sequence was never told: the task check (reconcileTasks)
// ends the run as meeting_booked. Before: no meetings row was written on that path, so the Meetings report
// and the contact's timeline missed the meeting.
import { beforeEach, describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { sequenceStub } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { env } from "../helpers";
import { DAY, HOUR, runUntil, sentMessages, startSimulation } from "../fixtures";
import { onACall } from "../enrollments/on-a-call";

beforeEach(() => startSimulation());

const meetingsOf = async (contactId: string) =>
  (
    await env.DB.prepare("SELECT booked_at, source, external_id, created_by FROM meetings WHERE contact_id = ?")
      .bind(contactId)
      .all<{ booked_at: number; source: string; external_id: string; created_by: string | null }>()
  ).results;

/** The task completed in D1 only, with the call's outcome (the request died before the sequence or the meetings path heard of it). */
async function completedInD1Only(taskId: string, at: number) {
  await env.DB.prepare("UPDATE tasks SET status = 'completed', outcome = 'meeting_booked', completed_at = ? WHERE id = ?")
    .bind(at, taskId)
    .run();
}

describe("a task completed as meeting booked that its sequence never heard of", () => {
  it("is ended by the task check as meeting_booked with one meeting written, booked when the task was completed", async () => {
    const x = await onACall(1);
    const [c] = x.contacts as [string];
    const { task_id } = await x.row(c);
    const at = now() + HOUR;
    await completedInD1Only(task_id, at);
    await runUntil(now() + 3 * DAY);
    expect(await x.row(c)).toMatchObject({ status: "finished", reason: "meeting_booked", task_status: "completed" });
    expect(await meetingsOf(c)).toEqual([{ booked_at: at, source: "user", external_id: `task:${task_id}`, created_by: null }]);
    expect(await sentMessages(x.sequenceId)).toEqual([]);
  });

  it("writes the meeting once when the check runs again after a restart between the meeting and the run's end", async () => {
    const x = await onACall(1);
    const [c] = x.contacts as [string];
    const { id: enrollmentId, task_id } = await x.row(c);
    await completedInD1Only(task_id, now());
    type Inside = {
      config(id: string): Promise<unknown>;
      row(id: string): unknown;
      reconcileTasks(cfg: unknown, rows: unknown[]): Promise<void>;
    };
    await runInDurableObject(sequenceStub(env, x.sequenceId), async (o, state) => {
      const inside = o as unknown as Inside;
      const cfg = await inside.config(x.sequenceId);
      const stale = inside.row(enrollmentId);
      // The object stops after the meeting's insert, before its transaction (a restart): nothing ended yet.
      const storage = state.storage as unknown as { transactionSync: (f: () => unknown) => unknown };
      const real = storage.transactionSync;
      storage.transactionSync = () => {
        throw new Error("restarted");
      };
      try {
        await expect(inside.reconcileTasks(cfg, [stale])).rejects.toThrow("restarted");
      } finally {
        storage.transactionSync = real;
      }
      expect((inside.row(enrollmentId) as { status: string }).status).toBe("active");
      // Run again (its check timer): the run ends, and the meeting is still one.
      await inside.reconcileTasks(cfg, [stale]);
      expect(inside.row(enrollmentId)).toMatchObject({ status: "finished", reason: "meeting_booked" });
    });
    expect(await meetingsOf(c)).toHaveLength(1);
    await runUntil(now() + 3 * DAY);
    expect(await meetingsOf(c)).toHaveLength(1);
    expect(await x.row(c)).toMatchObject({ status: "finished", reason: "meeting_booked" });
  });
});
