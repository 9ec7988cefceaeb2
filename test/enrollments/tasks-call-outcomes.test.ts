import { beforeEach, describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { sequenceStub } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { env, errorOf, fieldsOf, ok } from "../helpers";
import { DAY, runUntil, sentMessages, startSimulation } from "../fixtures";
import { onACall } from "./on-a-call";

// A call's outcome decides what happens to its contact: someone who booked a meeting or said no gets no
// more emails from the sequence; other outcomes move them on to the next step.
beforeEach(() => startSimulation());

/** Contacts on a call step, each with an open call task, and a way to log a call on a contact's task. */
async function onACallWithLog(n: number) {
  const x = await onACall(n);
  const call = async (c: string, outcome: string, complete?: boolean) =>
    x.api.tasks[":id"].call.$post({
      param: { id: (await x.row(c)).task_id },
      json: { outcome: outcome as "connected", ...(complete !== undefined && { complete }) },
    });
  return { ...x, call };
}

const meetingsOf = async (contactId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM meetings WHERE contact_id = ?").bind(contactId).first<{ n: number }>())!.n;

describe("a logged call's outcome", () => {
  it("meeting booked books the meeting and finishes the run; not interested finishes it; wrong number moves the contact on", async () => {
    const x = await onACallWithLog(3);
    const [booked, no, wrong] = x.contacts as [string, string, string];

    expect((await ok(x.call(booked, "meeting_booked"))).task).toMatchObject({
      status: "completed",
      run: "finished",
      reason: "meeting_booked",
    });
    expect((await ok(x.call(no, "not_interested"))).task).toMatchObject({ status: "completed", run: "finished", reason: "not_interested" });
    expect((await ok(x.call(wrong, "wrong_number"))).task).toMatchObject({ status: "completed", run: "moved_on", reason: null });
    await runUntil(now() + 3 * DAY);

    expect(await x.row(booked)).toMatchObject({ status: "finished", reason: "meeting_booked", task_status: "completed" });
    expect(await meetingsOf(booked)).toBe(1);
    expect(await x.row(no)).toMatchObject({ status: "finished", reason: "not_interested", task_status: "completed" });
    expect(await meetingsOf(no)).toBe(0);
    expect(await x.row(wrong)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
    // Only the contact who moved on got the next email.
    expect((await sentMessages(x.sequenceId)).map((m) => m.contact_id)).toEqual([wrong]);
    // The sequence's contacts list says why in words.
    const { enrollments } = await ok(x.api.sequences[":id"].enrollments.$get({ param: { id: x.sequenceId }, query: { status: "all" } }));
    expect(enrollments.find((e) => e.contact.id === no)!.reason_text).toBe("Not interested: said so on a call");
  });

  it("a call logged with the task kept open changes nothing; an outcome that ends the run can't keep it open (422)", async () => {
    const x = await onACallWithLog(1);
    const [c] = x.contacts as [string];
    expect((await ok(x.call(c, "no_answer", false))).task).toMatchObject({ status: "open", run: "unchanged", reason: null });
    const refused = await errorOf(await x.call(c, "not_interested", false));
    expect(refused.status).toBe(422);
    expect(fieldsOf(refused).map((f) => f.field)).toEqual(["complete"]);
    expect(await x.row(c)).toMatchObject({ status: "active", current_step: 1, task_status: "open" });
  });

  it("a 'not interested' whose sequence couldn't be told ends the run when the user tries again (it doesn't move them on)", async () => {
    const x = await onACallWithLog(1);
    const [c] = x.contacts as [string];
    const proto = await runInDurableObject(sequenceStub(env, x.sequenceId), (o) => Object.getPrototypeOf(o) as Record<string, unknown>);
    const real = proto.transition as (...a: unknown[]) => unknown;
    let fail = true;
    proto.transition = function (this: unknown, ...a: unknown[]) {
      if (fail) {
        fail = false;
        throw new Error("SequenceDO out of reach");
      }
      return real.apply(this, a);
    };
    try {
      expect((await x.call(c, "not_interested")).status).toBe(500);
      expect((await errorOf(await x.call(c, "not_interested"))).status).toBe(409);
    } finally {
      proto.transition = real;
    }
    await runUntil(now() + 3 * DAY);
    expect(await x.row(c)).toMatchObject({ status: "finished", reason: "not_interested", task_status: "completed" });
    expect(await sentMessages(x.sequenceId)).toEqual([]);
  });

  it("a 'not interested' whose sequence was never told (and nobody tried again) ends the run at the task check, not moves it on", async () => {
    const x = await onACallWithLog(1);
    const [c] = x.contacts as [string];
    const proto = await runInDurableObject(sequenceStub(env, x.sequenceId), (o) => Object.getPrototypeOf(o) as Record<string, unknown>);
    const real = proto.transition as (...a: unknown[]) => unknown;
    proto.transition = () => {
      throw new Error("SequenceDO out of reach");
    };
    try {
      expect((await x.call(c, "not_interested")).status).toBe(500);
    } finally {
      proto.transition = real;
    }
    // The task is done in D1, with the call's outcome, and the run still waits on it.
    expect(await x.row(c)).toMatchObject({ status: "active", task_status: "completed" });
    await runUntil(now() + 3 * DAY);
    expect(await x.row(c)).toMatchObject({ status: "finished", reason: "not_interested", task_status: "completed" });
    expect(await sentMessages(x.sequenceId)).toEqual([]);
  });
});
