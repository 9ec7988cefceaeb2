import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import { engine, mailboxStub, sequenceStub } from "../../durable-objects/engine";
import { HANDED_OVER_IN } from "../../durable-objects/sequence-do";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { env } from "../helpers";
import { addContactsSetup, mailboxLedger, makeContacts, sequenceState, setMailboxStatus } from "../fixtures";
import { oneLine, watchStatements } from "./statements";

// Invariant 10 (the reconciler). A check timer is claimed (deleted) in processDue's first transaction. A
// probe that failed, or a restart before the answer was applied, left the enrollment waiting on the
// mailbox with no timer: a hand-over that was lost was never checked again. And the timers the answers
// set must have an alarm even when the mirror write after them fails.
beforeEach(() => resetClock());

type Fn = (...a: unknown[]) => Promise<unknown>;

/**
 * Enrolls contacts whose first step falls due a minute later (after `first`, e.g. a pause) and runs that
 * alarm while the mailbox loses the hand-overs (it answers but never stores them). Answers the mailbox
 * object's prototype too, to fail its other calls the same way.
 */
async function handOverLost(ids: string[], first?: (seq: ReturnType<typeof engine.sequence>) => Promise<unknown>) {
  const x = await addContactsSetup({ steps: [{ wait: 1, unit: "minutes" }, { wait: 2 }] });
  const cs = await makeContacts(x.teamId, ids.length);
  const mb = x.mailboxIds[0]!;
  const seq = engine.sequence(env, x.sequenceId, x.teamId);
  await seq.enroll(ids.map((id, i) => ({ enrollmentId: id, contactId: cs[i]!, mailboxId: mb, score: 1, timeZone: null })));
  await first?.(seq);
  const proto = (await runInDurableObject(mailboxStub(env, mb), (o) => Object.getPrototypeOf(o))) as { enqueue: Fn; probe: Fn };
  const { enqueue, probe } = proto;
  proto.enqueue = async () => ({ added: 0, existing: [] });
  setClock(now() + 2 * 60_000);
  try {
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
  } finally {
    proto.enqueue = enqueue;
  }
  return { x, mb, seq, proto, probe };
}

/** Runs the recheck alarm of the enrollment's check timer with the mailbox's probe replaced by `probe`; its state after. */
async function recheckWith(x: { sequenceId: string }, proto: { probe: Fn }, probe: Fn) {
  const before = await sequenceState(x.sequenceId);
  setClock(before.timers[0]!.run_at + 1);
  const real = proto.probe;
  proto.probe = probe;
  try {
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId)).catch(() => {});
  } finally {
    proto.probe = real;
  }
  return sequenceState(x.sequenceId);
}

it("a failed probe keeps the enrollment's check timer (a lost hand-over is still repaired later)", async () => {
  // The hand-over is lost on the way.
  const { x, mb, proto } = await handOverLost(["p-0"]);
  expect((await mailboxLedger(mb)).queue).toHaveLength(0);
  const before = await sequenceState(x.sequenceId);
  expect(before.timers).toHaveLength(1);
  // The recheck falls due; the mailbox object fails to answer that one probe (overloaded, reset, deploy).
  const after = await recheckWith(x, proto, async () => {
    throw new Error("probe failed once");
  });
  expect(after.enrollments.map((e) => [e.status, e.waiting])).toEqual([["active", "mailbox"]]);
  // Invariant 10: the step is still checked again later.
  expect(
    after.timers.map((t) => t.enrollment_id),
    "check timer after a failed probe",
  ).toEqual(["p-0"]);
  // And so, a few days on, the lost hand-over is repaired: the mailbox gets the email.
  setClock(now() + 3 * 24 * 60 * 60_000);
  for (let i = 0; i < 3; i++) await runDurableObjectAlarm(sequenceStub(env, x.sequenceId)).catch(() => {});
  expect(
    (await mailboxLedger(mb)).queue.map((q) => q.enrollment_id),
    "lost hand-over repaired",
  ).toEqual(["p-0"]);
});

it("a restart while the reconciler's probe is out keeps the enrollment's check timer", async () => {
  const { x, proto, probe } = await handOverLost(["r-0"]);
  // The SequenceDO is reset (eviction, deploy) while it waits for the probe's answer.
  const after = await recheckWith(x, proto, async function (this: unknown, ...a: unknown[]) {
    await runInDurableObject(sequenceStub(env, x.sequenceId), (_o, state) => state.abort("restart mid-probe")).catch(() => {});
    return probe.apply(this, a);
  });
  expect(after.enrollments.map((e) => [e.status, e.waiting])).toEqual([["active", "mailbox"]]);
  expect(
    after.timers.map((t) => t.enrollment_id),
    "check timer after a restart mid-probe",
  ).toEqual(["r-0"]);
});

type Batch = (this: D1Database, stmts: (D1PreparedStatement & { statement: string })[]) => Promise<unknown>;

it("timers the answers' transaction sets are covered by an alarm when the mirror write then fails", async () => {
  // q-0's hand-over is lost; q-1 is paused before it falls due.
  const { x, seq } = await handOverLost(["q-0", "q-1"], (seq) => seq.pause(["q-1"]));
  const before = await sequenceState(x.sequenceId);
  expect(before.timers.map((t) => t.enrollment_id)).toEqual(["q-0"]);
  // D1 refuses the mirror's writes for a while: a change of q-1 stays to mirror.
  const d1 = Object.getPrototypeOf(env.DB) as { batch: Batch };
  const batch = d1.batch;
  d1.batch = async function (this: D1Database, stmts) {
    if (stmts.some((q) => /^\s*(INSERT INTO|UPDATE) enrollments\b/.test(q.statement))) throw new Error("D1 mirror write failed");
    return batch.call(this, stmts);
  };
  try {
    await seq.finish(["q-1"]).catch(() => {});
    setClock(before.timers[0]!.run_at + 1);
    // The recheck: the probe says q-0 is missing (handed over again: a timer due now), then the mirror write fails.
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId)).catch(() => {});
  } finally {
    d1.batch = batch;
  }
  const after = await sequenceState(x.sequenceId);
  expect(after.timers.map((t) => t.enrollment_id)).toEqual(["q-0"]);
  // A timer with no alarm runs only when some other call happens to re-arm.
  expect(after.alarm, "alarm covering the timers set by the answers").not.toBeNull();
});

it("a hand-over whose answers never came is checked an hour on, once for the batch; an answered one leaves no check behind", async () => {
  const x = await addContactsSetup({ mailboxes: [{}, {}] });
  const [mbA, mbB] = x.mailboxIds as [string, string];
  const cs = await makeContacts(x.teamId, 4);
  const seq = engine.sequence(env, x.sequenceId, x.teamId);
  const proto = (await runInDurableObject(mailboxStub(env, mbA), (o) => Object.getPrototypeOf(o))) as { enqueue: Fn };
  const { enqueue } = proto;
  // The sequence object restarts while its emails are with the mailboxes: A stores its two, B never gets its two.
  proto.enqueue = async function (this: unknown, ...a: unknown[]) {
    const { items } = a[2] as { items: { enrollmentId: string }[] };
    await runInDurableObject(sequenceStub(env, x.sequenceId), (_o, state) => state.abort("restart mid-hand-over")).catch(() => {});
    if (items.some((i) => i.enrollmentId.startsWith("b-"))) throw new Error("mailbox B unreachable");
    return enqueue.apply(this, a);
  };
  const t0 = now();
  try {
    await seq
      .enroll(
        ["a-0", "a-1", "b-0", "b-1"].map((id, i) => ({
          enrollmentId: id,
          contactId: cs[i]!,
          mailboxId: id[0] === "a" ? mbA : mbB,
          score: 1,
          timeZone: null,
        })),
      )
      .catch(() => {});
  } finally {
    proto.enqueue = enqueue;
  }
  const hour = 60 * 60_000;
  const day = 24 * hour;
  const firstCheck = Math.ceil((t0 + hour) / hour) * hour;
  const before = await sequenceState(x.sequenceId);
  expect(before.handovers.map((h) => h.run_at)).toEqual([firstCheck]);
  // Each row has its daily recheck; the object's alarm is the batch's first check, an hour on.
  expect(new Set(before.timers.map((t) => t.run_at))).toEqual(new Set([Math.ceil((t0 + day) / day) * day]));
  expect(before.alarm).toBe(firstCheck);
  expect((await mailboxLedger(mbA)).queue.map((q) => q.enrollment_id).sort()).toEqual(["a-0", "a-1"]);
  expect((await mailboxLedger(mbB)).queue).toEqual([]);

  // The hour: the mailboxes are asked about the batch's rows; B's are missing and handed over again.
  setClock(firstCheck + 1);
  for (let i = 0; i < 3; i++) await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
  expect((await mailboxLedger(mbA)).queue.map((q) => q.enrollment_id).sort()).toEqual(["a-0", "a-1"]);
  expect((await mailboxLedger(mbB)).queue.map((q) => [q.enrollment_id, q.state]).sort()).toEqual([
    ["b-0", "queued"],
    ["b-1", "queued"],
  ]);
  const after = await sequenceState(x.sequenceId);
  expect(after.enrollments.map((e) => [e.id, e.status, e.waiting])).toEqual(
    ["a-0", "a-1", "b-0", "b-1"].map((id) => [id, "active", "mailbox"]),
  );
  // B's second hand-over was answered: no batch is left to check, and every row waits for its daily recheck.
  expect(after.handovers).toEqual([]);
  expect(after.timers).toHaveLength(4);
  expect(after.timers.every((t) => t.run_at >= Math.ceil((firstCheck + day) / day) * day - day && t.run_at > now())).toBe(true);
  // The batch's rows are found along their revisions, not by walking every active enrollment of the sequence.
  const plan = await runInDurableObject(sequenceStub(env, x.sequenceId), (_o, state) =>
    [...state.storage.sql.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${HANDED_OVER_IN}`, 1, 2)].map((r) => r.detail).join("; "),
  );
  expect(plan).toContain("enrollments_rev (dirty>? AND dirty<?)");
});

it("a recheck of emails their mailbox still holds writes their timers once, at the backed-off recheck", async () => {
  const day = 24 * 60 * 60_000;
  const x = await addContactsSetup({ steps: [{ wait: 1, unit: "minutes" }, { wait: 2 }] });
  const mb = x.mailboxIds[0]!;
  const ids = ["q-0", "q-1", "q-2"];
  const cs = await makeContacts(x.teamId, ids.length);
  // A paused mailbox holds its emails queued: every recheck hears "still queued".
  await setMailboxStatus(mb, "paused", "held for the test");
  await engine
    .sequence(env, x.sequenceId, x.teamId)
    .enroll(ids.map((id, i) => ({ enrollmentId: id, contactId: cs[i]!, mailboxId: mb, score: 1, timeZone: null })));
  setClock(now() + 2 * 60_000);
  await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
  expect((await mailboxLedger(mb)).queue.map((q) => q.state)).toEqual(["queued", "queued", "queued"]);
  const dueAt = (await sequenceState(x.sequenceId)).enrollments[0]!.due_at!;

  // Three days on, the recheck: each email has waited three days, so the next look is three days later.
  const t = dueAt + 3 * day + 60_000;
  setClock(t);
  const writes: string[] = [];
  const restore = await watchStatements((q) => {
    if (/^(INSERT|UPDATE|DELETE|REPLACE)\b[^(]*\btimers\b/i.test(oneLine(q))) writes.push(oneLine(q).slice(0, 40));
  });
  try {
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
  } finally {
    restore();
  }
  const after = await sequenceState(x.sequenceId);
  expect(after.enrollments.map((e) => [e.id, e.status, e.waiting])).toEqual(ids.map((id) => [id, "active", "mailbox"]));
  expect(after.timers.map((r) => r.run_at)).toEqual(Array(3).fill(Math.ceil((t + 3 * day) / (3 * day)) * 3 * day));
  expect(after.alarm).toBe(after.timers[0]!.run_at);
  // The claim (a delete) and one write of the timers. Before, the claimed timer was set to the next day,
  // then moved again by the answer: every recheck of a backlog's email wrote its timer twice.
  expect(writes).toEqual([expect.stringMatching(/^DELETE FROM timers/), expect.stringMatching(/^INSERT INTO timers/)]);
  expect((await mailboxLedger(mb)).queue.map((q) => q.state)).toEqual(["queued", "queued", "queued"]);
});
