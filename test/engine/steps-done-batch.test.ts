import { beforeEach, describe, expect, it } from "vitest";
import { engine, sequenceStub } from "../../durable-objects/engine";
import type { StepResult } from "../../durable-objects/engine";
import { now, resetClock } from "../../worker/lib/clock";

/** The instant every report counts from (the same for both twins: the clock runs between calls). */
let t0 = 0;
import { env } from "../helpers";
import { addContactsSetup, makeContacts } from "../fixtures";

// A mailbox's report of many steps is applied set-based (SequenceDO.advanceAll) for its common case and
// one result at a time otherwise (applyResult). Both must leave the same enrollments behind: the same
// report is given to one sequence at once and to a twin sequence one result per call.
beforeEach(() => {
  resetClock();
  t0 = now();
});

async function twin() {
  const x = await addContactsSetup({ steps: [{ wait: 0 }, { wait: 2 }, { type: "call", wait: 1 }] });
  const contacts = await makeContacts(x.teamId, 6);
  const seq = engine.sequence(env, x.sequenceId, x.teamId);
  await seq.enroll(
    contacts.map((c, i) => ({
      enrollmentId: `${x.sequenceId}-${i}`,
      contactId: c,
      mailboxId: x.mailboxIds[0]!,
      score: 50,
      timeZone: null,
    })),
  );
  return { ...x, seq, id: (i: number) => `${x.sequenceId}-${i}` };
}

type Twin = Awaited<ReturnType<typeof twin>>;

/** The report, for a sequence: per contact index, the step position and outcome. */
function report(w: Twin, items: [number, number, StepResult["outcome"], string?][]): StepResult[] {
  return items.map(([i, pos, outcome, messageId]) => ({
    enrollmentId: w.id(i),
    stepId: w.stepIds[pos - 1]!,
    outcome,
    at: t0 + i * 60_000,
    ...(messageId ? { messageId: `${messageId}@${w.sequenceId}`, subject: `Subject ${i}` } : {}),
  }));
}

async function state(w: Twin) {
  const inside = await sequenceStub(env, w.sequenceId).inspect();
  const byId = new Map(inside.enrollments.map((e) => [e.id, e]));
  const timers = new Map(inside.timers.map((t) => [t.enrollment_id, t.run_at]));
  return Array.from({ length: 6 }, (_, i) => {
    const e = byId.get(w.id(i))!;
    // A row still on its first step carries its own enrollment's instants, which differ between the twins.
    const own = e.waiting === "mailbox";
    return {
      status: e.status,
      step: e.step_pos,
      waiting: e.waiting,
      reason: e.reason,
      due_at: own ? null : e.due_at,
      last_at: own ? null : e.last_at,
      finished_at: e.finished_at,
      thread: e.thread_msg?.replace(w.sequenceId, "seq") ?? null,
      thread_subject: e.thread_subject,
      timer: timers.get(w.id(i)) ?? null,
    };
  });
}

describe("a mailbox's report of many steps", () => {
  it("leaves each enrollment as applying the results one by one does", async () => {
    const [a, b] = [await twin(), await twin()];
    for (const w of [a, b]) await w.seq.pause([w.id(4)]);
    const first: [number, number, StepResult["outcome"], string?][] = [
      [0, 1, "sent", "m0"],
      [1, 1, "sent", "m1"],
      [2, 1, "unknown", "m2"],
      [3, 1, "skipped"],
      [4, 1, "sent", "m4"], // paused meanwhile: moves on to the next step, no timer of its own
      [5, 2, "sent", "m5"], // not the step it waits on
    ];
    await a.seq.stepsDone(report(a, first));
    for (const r of report(b, first)) await b.seq.stepsDone([r]);
    expect(await state(a)).toEqual(await state(b));

    // The same report again changes nothing; then the second step of three contacts, one of them twice.
    const second: [number, number, StepResult["outcome"], string?][] = [
      [0, 1, "sent", "m0"],
      [0, 2, "sent", "m0b"],
      [1, 2, "unknown", "m1b"],
      [2, 2, "sent", "m2b"],
      [2, 2, "sent", "m2b"],
    ];
    await a.seq.stepsDone(report(a, second));
    for (const r of report(b, second)) await b.seq.stepsDone([r]);
    const after = await state(a);
    expect(after).toEqual(await state(b));
    expect(after.map((e) => [e.status, e.step, e.waiting])).toEqual([
      ["active", 3, "timer"],
      ["active", 3, "timer"],
      ["active", 3, "timer"],
      ["active", 2, "timer"],
      ["paused", 2, "timer"],
      ["active", 1, "mailbox"],
    ]);
    // Step 2 is a new email (not a same-thread reply): it is the run's thread from then on.
    expect(after[0]!.thread).toBe("m0b@seq");
    expect(after[4]!.timer).toBeNull();
  });

  it("finishes the enrollments whose last step is done, as one by one", async () => {
    const [a, b] = [await twin(), await twin()];
    const steps = (w: Twin, pos: number, outcome: StepResult["outcome"]) =>
      report(
        w,
        [0, 1, 2, 3, 4, 5].map((i) => [i, pos, i === 5 ? "unknown" : outcome, `m${pos}-${i}`]),
      );
    for (const w of [a, b]) {
      await w.seq.stepsDone(steps(w, 1, "sent"));
      await w.seq.stepsDone(steps(w, 2, "sent"));
    }
    await a.seq.stepsDone(steps(a, 3, "completed"));
    for (const r of steps(b, 3, "completed")) await b.seq.stepsDone([r]);
    const after = await state(a);
    expect(after).toEqual(await state(b));
    expect(after.map((e) => [e.status, e.reason, e.timer])).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => ["finished", i === 5 ? "delivery_unknown" : "completed_all_steps", null]),
    );
    const { results } = await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ? ORDER BY id")
      .bind(a.sequenceId)
      .all<{ status: string; reason: string }>();
    expect(results.map((r) => r.status)).toEqual(Array(6).fill("finished"));
  });
});
