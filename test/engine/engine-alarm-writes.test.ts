import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import { engine, mailboxStub, sequenceStub } from "../../durable-objects/engine";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { ALARM_RETRY_MS } from "../../worker/lib/alarms";
import { env } from "../helpers";
import { addContactsSetup, mailboxLedger, makeContacts, sequenceState } from "../fixtures";

// A SequenceDO alarm that hands steps to several mailboxes applies all their answers in one write of
// its storage, not one per mailbox answering (each write of a Durable Object's storage is a commit).
beforeEach(() => resetClock());

it("an alarm handing steps to three mailboxes applies their answers in one transaction, with the same effects", async () => {
  const x = await addContactsSetup({ steps: [{ wait: 1, unit: "minutes" }, { wait: 2 }], mailboxes: [{}, {}, {}] });
  const contacts = await makeContacts(x.teamId, 6);
  await engine
    .sequence(env, x.sequenceId, x.teamId)
    .enroll(contacts.map((c, i) => ({ enrollmentId: `a-${i}`, contactId: c, mailboxId: x.mailboxIds[i % 3]!, score: 1, timeZone: null })));
  const stub = sequenceStub(env, x.sequenceId);
  const storage = await runInDurableObject(stub, (_o, state) => state.storage);
  const proto = Object.getPrototypeOf(storage) as { transactionSync: (f: () => unknown) => unknown };
  const orig = proto.transactionSync;
  let transactions = 0;
  proto.transactionSync = function (this: unknown, f: () => unknown) {
    if (this === storage) transactions++;
    return orig.call(this, f);
  };
  const t = now() + 2 * 60_000;
  setClock(t);
  try {
    await runDurableObjectAlarm(stub);
  } finally {
    proto.transactionSync = orig;
  }
  // The hand-over itself, then the three mailboxes' answers together.
  expect(transactions).toBe(2);
  for (const m of x.mailboxIds) expect((await mailboxLedger(m)).queue).toHaveLength(2);
  // Each mailbox holds its emails: their first check moved to the daily recheck (the next midnight UTC after a day).
  const { timers, enrollments } = await sequenceState(x.sequenceId);
  const day = 24 * 60 * 60_000;
  expect(timers.map((r) => r.run_at)).toEqual(Array(6).fill(Math.ceil((t + day) / day) * day));
  expect(enrollments.map((e) => [e.waiting, e.reason])).toEqual(Array(6).fill(["mailbox", "queued_for_mailbox"]));
});

type Stmt = D1PreparedStatement & { statement: string };
type Batch = (this: D1Database, stmts: Stmt[]) => Promise<unknown>;

/**
 * Holds D1's first mirror write (a batch writing enrollments) until `release` (or a fallback, so a
 * test of an order that does not happen cannot hang), and counts the mirror writes in flight.
 */
function holdFirstMirrorWrite(fallbackMs: number) {
  const proto = Object.getPrototypeOf(env.DB) as { batch: Batch };
  const batch = proto.batch;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let first = true;
  const s = { inFlight: 0, most: 0, release, isHeld: () => !first, restore: () => void (proto.batch = batch) };
  proto.batch = async function (this: D1Database, stmts: Stmt[]) {
    if (!stmts.some((q) => /^\s*(INSERT INTO|UPDATE) enrollments\b/.test(q.statement))) return batch.call(this, stmts);
    s.most = Math.max(s.most, ++s.inFlight);
    if (s.inFlight > 1) release();
    try {
      if (first) {
        first = false;
        setTimeout(release, fallbackMs);
        await gate;
      }
      return await batch.call(this, stmts);
    } finally {
      s.inFlight--;
    }
  };
  return s;
}

async function d1Enrollments(sequenceId: string) {
  const { results } = await env.DB.prepare("SELECT id, status, reason FROM enrollments WHERE sequence_id = ? ORDER BY id")
    .bind(sequenceId)
    .all<{ id: string; status: string; reason: string }>();
  return results.map((r) => [r.id, r.status, r.reason]);
}

it("the mailboxes get their emails while D1 gets the hand-overs", async () => {
  const x = await addContactsSetup({ steps: [{ wait: 1, unit: "minutes" }, { wait: 2 }] });
  const contacts = await makeContacts(x.teamId, 3);
  const seq = engine.sequence(env, x.sequenceId, x.teamId);
  await seq.enroll(
    contacts.map((c, i) => ({ enrollmentId: `h-${i}`, contactId: c, mailboxId: x.mailboxIds[0]!, score: 1, timeZone: null })),
  );
  const mirror = holdFirstMirrorWrite(1_000);
  const mailboxProto = (await runInDurableObject(mailboxStub(env, x.mailboxIds[0]!), (o) => Object.getPrototypeOf(o))) as {
    enqueue: (...a: unknown[]) => Promise<unknown>;
  };
  const enqueue = mailboxProto.enqueue;
  const mirrorInFlightAtEnqueue: boolean[] = [];
  mailboxProto.enqueue = async function (this: unknown, ...a: unknown[]) {
    mirrorInFlightAtEnqueue.push(mirror.inFlight > 0);
    mirror.release();
    return enqueue.apply(this, a);
  };
  setClock(now() + 2 * 60_000);
  try {
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
  } finally {
    mirror.restore();
    mailboxProto.enqueue = enqueue;
  }
  expect(mirrorInFlightAtEnqueue).toEqual([true]);
  expect((await mailboxLedger(x.mailboxIds[0]!)).queue).toHaveLength(3);
  expect(await d1Enrollments(x.sequenceId)).toEqual(["h-0", "h-1", "h-2"].map((id) => [id, "active", "queued_for_mailbox"]));
});

it("a call's mirror write waits for the one on its way to D1, so pages reach D1 in revision order", async () => {
  const x = await addContactsSetup({ steps: [{ wait: 1 }, { wait: 2 }] });
  const contacts = await makeContacts(x.teamId, 2);
  const seq = engine.sequence(env, x.sequenceId, x.teamId);
  await seq.enroll(
    contacts.map((c, i) => ({ enrollmentId: `o-${i}`, contactId: c, mailboxId: x.mailboxIds[0]!, score: 1, timeZone: null })),
  );
  const mirror = holdFirstMirrorWrite(300);
  let first: Promise<string[]>, second: Promise<string[]>;
  try {
    first = seq.pause(["o-0"]);
    // Waited for from this test's own context (a promise settled inside the object would carry its context here).
    while (!mirror.isHeld()) await new Promise((r) => setTimeout(r, 5));
    // o-0 is still to mirror: the second call's page would hold it too, and could land before the first's.
    second = seq.finish(["o-0", "o-1"]);
    expect(await first).toEqual(["o-0"]);
    expect(await second).toEqual(["o-0", "o-1"]);
  } finally {
    mirror.restore();
  }
  expect(mirror.most).toBe(1);
  expect(await d1Enrollments(x.sequenceId)).toEqual([
    ["o-0", "finished", "marked_finished"],
    ["o-1", "finished", "marked_finished"],
  ]);
});

it("a mirror write that fails leaves its rows to mirror, and the mailboxes' answers applied", async () => {
  const x = await addContactsSetup({ steps: [{ wait: 1, unit: "minutes" }, { wait: 2 }] });
  const contacts = await makeContacts(x.teamId, 2);
  const seq = engine.sequence(env, x.sequenceId, x.teamId);
  await seq.enroll(
    contacts.map((c, i) => ({ enrollmentId: `f-${i}`, contactId: c, mailboxId: x.mailboxIds[0]!, score: 1, timeZone: null })),
  );
  const proto = Object.getPrototypeOf(env.DB) as { batch: Batch };
  const batch = proto.batch;
  let failures = 0;
  proto.batch = async function (this: D1Database, stmts: Stmt[]) {
    if (failures === 0 && stmts.some((q) => /^\s*(INSERT INTO|UPDATE) enrollments\b/.test(q.statement))) {
      failures++;
      throw new Error("D1 unavailable");
    }
    return batch.call(this, stmts);
  };
  const t = now() + 2 * 60_000;
  setClock(t);
  let thrown: unknown;
  try {
    // The alarm doesn't fail (the runtime would retry it six times, then never): the object arms its own retry.
    thrown = await runDurableObjectAlarm(sequenceStub(env, x.sequenceId)).catch((e: unknown) => e);
  } finally {
    proto.batch = batch;
  }
  expect(failures).toBe(1);
  expect(thrown).toBe(true);
  expect((await sequenceState(x.sequenceId)).alarm).toBe(t + ALARM_RETRY_MS);
  expect((await mailboxLedger(x.mailboxIds[0]!)).queue).toHaveLength(2);
  // The mailbox's answer was applied (the first check moved to the daily recheck) and the rows are still to mirror.
  const day = 24 * 60 * 60_000;
  const inside = await sequenceState(x.sequenceId);
  expect(inside.timers.map((r) => r.run_at)).toEqual([Math.ceil((t + day) / day) * day, Math.ceil((t + day) / day) * day]);
  expect(inside.enrollments.map((e) => (e as unknown as { dirty: number }).dirty > 0)).toEqual([true, true]);
  // The next call mirrors them.
  await seq.stepsDone([]);
  expect(await d1Enrollments(x.sequenceId)).toEqual(["f-0", "f-1"].map((id) => [id, "active", "queued_for_mailbox"]));
});
