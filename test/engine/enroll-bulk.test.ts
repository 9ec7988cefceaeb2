import { beforeEach, describe, expect, it } from "vitest";
import { engine, sequenceStub } from "../../durable-objects/engine";
import type { EnrollItem } from "../../durable-objects/engine";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { env } from "../helpers";
import { addContactsSetup, mailboxLedger, makeContacts } from "../fixtures";
import { oneLine, statementsDuring, watchStatements, type Counted } from "./statements";

// SequenceDO.enroll works set-based (a few statements per call, hundreds of rows each) and writes the
// D1 mirror from what it just inserted. These pin what the one-by-one version did: invariant 1 within
// one call and across calls, every row mirrored and no longer dirty, one timer per active enrollment.
beforeEach(() => resetClock());

const items = (contactIds: string[], prefix: string, mailboxId: string): EnrollItem[] =>
  contactIds.map((c, i) => ({ enrollmentId: `${prefix}-${i}`, contactId: c, mailboxId, score: 50, timeZone: null }));

async function d1Enrollments(sequenceId: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, contact_id, status, current_step, next_due_at FROM enrollments WHERE sequence_id = ? ORDER BY id",
  )
    .bind(sequenceId)
    .all<{ id: string; contact_id: string; status: string; current_step: number; next_due_at: number | null }>();
  return results;
}

describe("SequenceDO.enroll, set-based", () => {
  it("enrolls more contacts than one insert statement holds, mirrors each to D1 and leaves nothing dirty", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 1_234);
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    const res = await seq.enroll(items(contacts, "bulk", x.mailboxIds[0]!));
    expect(res.enrolled).toHaveLength(1_234);
    expect(res.already).toEqual([]);
    const mirrored = await d1Enrollments(x.sequenceId);
    expect(mirrored).toHaveLength(1_234);
    expect(new Set(mirrored.map((e) => e.contact_id))).toEqual(new Set(contacts));
    expect(mirrored.every((e) => e.status === "active" && e.current_step === 1 && e.next_due_at !== null)).toBe(true);
    const inside = await sequenceStub(env, x.sequenceId).inspect();
    expect(inside.enrollments).toHaveLength(1_234);
    expect(inside.enrollments.filter((e) => (e as unknown as { dirty: number }).dirty !== 0)).toEqual([]);
    expect(inside.timers).toHaveLength(1_234);
  });

  it("a contact twice in one call is enrolled once; a repeated call is 'already' without being someone else's", async () => {
    const x = await addContactsSetup();
    const [a, b] = await makeContacts(x.teamId, 2);
    const mb = x.mailboxIds[0]!;
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    const first = await seq.enroll([
      { enrollmentId: "e-a", contactId: a!, mailboxId: mb, score: 1, timeZone: null },
      { enrollmentId: "e-b", contactId: b!, mailboxId: mb, score: 1, timeZone: null },
      { enrollmentId: "e-a2", contactId: a!, mailboxId: mb, score: 1, timeZone: null },
      { enrollmentId: "e-b", contactId: b!, mailboxId: mb, score: 1, timeZone: null },
    ]);
    expect(first).toEqual({ enrolled: [a, b], already: [a, b], alreadyOther: [a], duplicateEmail: [], sameCompany: [] });
    // The same call again (a redelivered chunk): its own enrollments are "already", never someone else's.
    const again = await seq.enroll([
      { enrollmentId: "e-a", contactId: a!, mailboxId: mb, score: 1, timeZone: null },
      { enrollmentId: "e-b", contactId: b!, mailboxId: mb, score: 1, timeZone: null },
    ]);
    expect(again).toEqual({ enrolled: [], already: [a, b], alreadyOther: [], duplicateEmail: [], sameCompany: [] });
    // Another job's enrollment of the same contact: already, and someone else's.
    const other = await seq.enroll([{ enrollmentId: "e-a3", contactId: a!, mailboxId: mb, score: 1, timeZone: null }]);
    expect(other).toEqual({ enrolled: [], already: [a], alreadyOther: [a], duplicateEmail: [], sameCompany: [] });
    expect((await d1Enrollments(x.sequenceId)).map((e) => e.id)).toEqual(["e-a", "e-b"]);
    expect((await sequenceStub(env, x.sequenceId).inspect()).timers).toHaveLength(2);
  });

  it("a finished contact is enrolled again under the new id while the old row reaches D1 first (revision order)", async () => {
    const x = await addContactsSetup();
    const [a] = await makeContacts(x.teamId, 1);
    const mb = x.mailboxIds[0]!;
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    await seq.enroll([{ enrollmentId: "old", contactId: a!, mailboxId: mb, score: 1, timeZone: null }]);
    await seq.finish(["old"]);
    const res = await seq.enroll([{ enrollmentId: "new", contactId: a!, mailboxId: mb, score: 1, timeZone: null }]);
    expect(res).toEqual({ enrolled: [a], already: [], alreadyOther: [], duplicateEmail: [], sameCompany: [] });
    expect((await d1Enrollments(x.sequenceId)).map((e) => [e.id, e.status])).toEqual([
      ["new", "active"],
      ["old", "finished"],
    ]);
  });

  it("a first step due at once is queued at its mailbox by the enroll call itself, and D1 gets the row already queued", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 3);
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    // No alarm runs in between: the enroll call hands the steps over.
    await seq.enroll(items(contacts, "now", x.mailboxIds[0]!));
    const queued = (await mailboxLedger(x.mailboxIds[0]!)).queue;
    expect(queued.map((q) => [q.enrollment_id, q.step_id, q.state]).sort()).toEqual(
      ["now-0", "now-1", "now-2"].map((id) => [id, x.stepIds[0], "queued"]),
    );
    const { results } = await env.DB.prepare("SELECT id, status, reason FROM enrollments WHERE sequence_id = ? ORDER BY id")
      .bind(x.sequenceId)
      .all<{ id: string; status: string; reason: string }>();
    expect(results).toEqual(["now-0", "now-1", "now-2"].map((id) => ({ id, status: "active", reason: "queued_for_mailbox" })));
    const inside = await sequenceStub(env, x.sequenceId).inspect();
    expect(inside.enrollments.map((e) => e.waiting)).toEqual(["mailbox", "mailbox", "mailbox"]);
    // A check timer each (the reconciler's, invariant 10), none due now.
    expect(inside.timers).toHaveLength(3);
  });

  it("a first step due at once is handed over by the enroll call's own transaction: each row and timer written once", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 1_200);
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    const ran: { q: string; c: Counted }[] = [];
    const restore = await watchStatements((q, _b, c) => ran.push({ q: oneLine(q), c }));
    try {
      await seq.enroll(items(contacts, "once", x.mailboxIds[0]!));
    } finally {
      restore();
    }
    // No timer set due now, then claimed, re-read and replaced; no second write of the rows.
    const on = (re: RegExp) => ran.filter((r) => re.test(r.q));
    expect(on(/^DELETE FROM timers/)).toEqual([]);
    expect(on(/FROM timers t JOIN enrollments/)).toEqual([]);
    expect(on(/^UPDATE enrollments/)).toEqual([]);
    const timerWrites = on(/^INSERT INTO timers/);
    expect(timerWrites).toHaveLength(1);
    // Each timer is written at the daily recheck at once, as a new row (3 rows written: the row, its id's entry, its due
    // entry): none moved there from the first check once the mailbox answered (a move writes 2 more per timer).
    expect(timerWrites[0]!.c.rowsWritten).toBe(3 * 1_200);
    expect(on(/^UPDATE timers/)).toEqual([]);
    const written = ran.reduce((n, r) => n + r.c.rowsWritten, 0);
    // The rows and their indexes (4 each), the timers (3) and the mailbox's queue (5): 12.04 rows written per contact. It was
    // 19.9 (the add-contacts bench) when the alarm's pass claimed the timers, re-read the rows and wrote them again, 16.04
    // when each timer was then moved from the first check to the daily one, and 14.04 with two more indexes on the rows
    // (by contact, by status) that no read needed.
    expect(written / 1_200).toBeLessThan(12.5);
    const inside = await sequenceStub(env, x.sequenceId).inspect();
    expect(inside.enrollments.every((e) => e.waiting === "mailbox" && e.reason === "queued_for_mailbox")).toBe(true);
    expect(inside.timers).toHaveLength(1_200);
    const day = 24 * 60 * 60_000;
    expect(new Set(inside.timers.map((t) => t.run_at))).toEqual(new Set([Math.ceil((now() + day) / day) * day]));
    // The mailbox answered: no first check is left for the batch (the guard went with the answers' transaction).
    expect(inside.handovers).toEqual([]);
    expect((await mailboxLedger(x.mailboxIds[0]!)).queue.filter((q) => q.state === "queued")).toHaveLength(1_200);
  });

  it("at enroll, a first step due at once still stops where the alarm would: unsubscribed, no email, no mailbox; a manual step is a task", async () => {
    const x = await addContactsSetup();
    const [ok, unsub, noEmail, noMailbox] = await makeContacts(x.teamId, 4);
    await env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1 WHERE id = ?").bind(unsub).run();
    await env.DB.prepare("UPDATE contacts SET email = NULL WHERE id = ?").bind(noEmail).run();
    const mb = x.mailboxIds[0]!;
    await engine.sequence(env, x.sequenceId, x.teamId).enroll([
      { enrollmentId: "s-ok", contactId: ok!, mailboxId: mb, score: 1, timeZone: null },
      { enrollmentId: "s-unsub", contactId: unsub!, mailboxId: mb, score: 1, timeZone: null },
      { enrollmentId: "s-noemail", contactId: noEmail!, mailboxId: mb, score: 1, timeZone: null },
      { enrollmentId: "s-nomb", contactId: noMailbox!, mailboxId: null, score: 1, timeZone: null },
    ]);
    const { results } = await env.DB.prepare("SELECT id, status, reason, finished_at FROM enrollments WHERE sequence_id = ? ORDER BY id")
      .bind(x.sequenceId)
      .all<{ id: string; status: string; reason: string; finished_at: number | null }>();
    expect(results.map((r) => [r.id, r.status, r.reason, r.finished_at !== null])).toEqual([
      ["s-noemail", "finished", "no_email", true],
      ["s-nomb", "held", "no_mailbox", false],
      ["s-ok", "active", "queued_for_mailbox", false],
      ["s-unsub", "finished", "unsubscribed", true],
    ]);
    expect((await mailboxLedger(mb)).queue.map((q) => q.enrollment_id)).toEqual(["s-ok"]);
    // Only the queued one has a (check) timer.
    expect((await sequenceStub(env, x.sequenceId).inspect()).timers.map((t) => t.enrollment_id)).toEqual(["s-ok"]);

    // A manual step waits for the window: on a Tuesday morning in New York it is due at once.
    setClock(Date.UTC(2026, 11, 1, 15));
    const y = await addContactsSetup({ steps: [{ type: "call", wait: 0 }, { wait: 1 }] });
    const [c] = await makeContacts(y.teamId, 1);
    await engine
      .sequence(env, y.sequenceId, y.teamId)
      .enroll([{ enrollmentId: "t-1", contactId: c!, mailboxId: y.mailboxIds[0]!, score: 1, timeZone: null }]);
    const task = await env.DB.prepare("SELECT type, status FROM tasks WHERE enrollment_id = ?")
      .bind("t-1")
      .first<{ type: string; status: string }>();
    expect(task?.type).toBe("call");
    const row = (await sequenceStub(env, y.sequenceId).inspect()).enrollments[0]!;
    expect([row.waiting, row.reason]).toEqual(["task", "task_open"]);
  });

  it("a mailbox takes a hand-over of 1,200 emails in a few statements, each key queued once and a repeat refreshed", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 1_200);
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    const ran = await statementsDuring(() => seq.enroll(items(contacts, "many", x.mailboxIds[0]!)));
    const queued = (await mailboxLedger(x.mailboxIds[0]!)).queue;
    expect(queued).toHaveLength(1_200);
    expect(new Set(queued.map((q) => q.enrollment_id)).size).toBe(1_200);
    expect(queued.every((q) => q.state === "queued" && q.step_id === x.stepIds[0] && q.gen === 1)).toBe(true);
    // One statement per page of rows, not one per email.
    const inserts = ran.filter((q) => q.startsWith("INSERT INTO queue"));
    expect(inserts.length).toBeGreaterThan(0);
    expect(inserts.length).toBeLessThanOrEqual(6);
    // The same keys handed over again are refreshed in place (gen moves on), never queued twice.
    await engine.mailbox(env, x.mailboxIds[0]!).enqueue(x.teamId, [
      {
        enrollmentId: "many-0",
        stepId: x.stepIds[0]!,
        sequenceId: x.sequenceId,
        teamId: x.teamId,
        contactId: contacts[0]!,
        dueAt: 1,
        score: 99,
        window: JSON.parse(queued[0]!.window),
        zone: null,
        thread: null,
      },
    ]);
    const again = (await mailboxLedger(x.mailboxIds[0]!)).queue.filter((q) => q.enrollment_id === "many-0");
    expect(again.map((q) => [q.state, q.gen, q.score])).toEqual([["queued", 2, 99]]);
    expect(oneLine(inserts[0]!)).toContain("json_each");
  });

  it("a hand-over of 500 emails each with a user's 20,000-character edit is queued whole (pages cut by size, not only by count)", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 500);
    const window = { timeZone: "America/New_York", windows: { "1": [["09:00", "17:00"]] as [string, string][] }, holidays: [] };
    const body = "Long note. ".repeat(2_000);
    const res = await engine.mailbox(env, x.mailboxIds[0]!).enqueue(
      x.teamId,
      contacts.map((c, i) => ({
        enrollmentId: `big-${i}`,
        stepId: x.stepIds[0]!,
        sequenceId: x.sequenceId,
        teamId: x.teamId,
        contactId: c,
        dueAt: 1,
        score: 50,
        window: window as never,
        zone: null,
        thread: null,
        override: { subject: null, body, ver: `v${i}` },
      })),
    );
    expect(res.added).toBe(500);
    const queued = (await mailboxLedger(x.mailboxIds[0]!)).queue;
    expect(queued).toHaveLength(500);
    expect(queued.every((q) => q.state === "queued" && JSON.parse(q.override!).body === body)).toBe(true);
  });

  it("a first step that waits is left to its timer (invariant 2): nothing reaches the mailbox at enroll", async () => {
    const x = await addContactsSetup({ steps: [{ wait: 1, unit: "days" }, { wait: 2 }] });
    const contacts = await makeContacts(x.teamId, 2);
    await engine.sequence(env, x.sequenceId, x.teamId).enroll(items(contacts, "later", x.mailboxIds[0]!));
    expect((await mailboxLedger(x.mailboxIds[0]!)).queue).toEqual([]);
    const inside = await sequenceStub(env, x.sequenceId).inspect();
    expect(inside.enrollments.map((e) => [e.waiting, e.reason])).toEqual([
      ["timer", "waiting_for_step"],
      ["timer", "waiting_for_step"],
    ]);
  });
});
