import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import { engine, sequenceStub } from "../../durable-objects/engine";
import { now, resetClock, setClock } from "../../worker/lib/clock";
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
