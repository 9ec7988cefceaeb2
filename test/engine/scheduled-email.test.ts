// One scheduled email acted on by a user (issue 12 item 8): edit for this contact, send now, skip,
// reschedule, through the engine's own verbs, racing the mailbox's sends and cut off by restarts.
// Every send is counted at the transport.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { now, setClock } from "../../worker/lib/clock";
import { engine, mailboxStub, sequenceStub } from "../../durable-objects/engine";
import { setTransportOverride } from "../../worker/transports";
import type { OutgoingEmail, SendResult } from "../../worker/transports/types";
import type { SequenceDO } from "../../durable-objects/sequence-do";
import type { messages } from "../../worker/db/schema";
import { env, type RawRow } from "../helpers";
import {
  MONDAY_9AM_NY,
  DAY,
  HOUR,
  SIM_START,
  enroll,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sequenceState,
  startSimulation,
  type StepSpec,
} from "../fixtures";

interface Call {
  to: string;
  messageId: string;
  raw: string;
  at: number;
}

async function world(
  o: {
    steps?: StepSpec[];
    schedule?: boolean;
    contacts?: number;
    mailbox?: Parameters<typeof makeMailbox>[2];
    answer?: (mail: OutgoingEmail, calls: Call[]) => Promise<SendResult> | SendResult;
  } = {},
) {
  const { teamId, userId } = await makeTeam("Scheduled");
  const scheduleId = o.schedule ? await makeSchedule(teamId) : null;
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, o.steps ?? [{ wait: 0 }], scheduleId);
  const mailboxId = await makeMailbox(teamId, userId, { daily: 1000, hourly: 1000, gapSeconds: 0, ...o.mailbox });
  const calls: Call[] = [];
  setTransportOverride(mailboxId, {
    async send(mail) {
      calls.push({ to: mail.to, messageId: mail.messageId, raw: mail.raw, at: now() });
      return o.answer ? o.answer(mail, calls) : { ok: true };
    },
  });
  const contactIds = await makeContacts(teamId, o.contacts ?? 1);
  await enroll(teamId, sequenceId, contactIds, [mailboxId]);
  const ids = (await sequenceState(sequenceId)).enrollments.map((e) => e.id as string);
  const seq = engine.sequence(env, sequenceId, teamId);
  return { teamId, userId, sequenceId, stepIds, mailboxId, contactIds, ids, calls, seq };
}

/** A method of a class prototype, as a test wraps it. */
type Method = (this: unknown, ...args: unknown[]) => Promise<unknown>;

/** The prototype of a Durable Object class as the runtime runs it (to wrap one method for one test). */
async function protoOf(stub: unknown): Promise<Record<string, Method>> {
  return runInDurableObject(stub as DurableObjectStub, (o: object) => Object.getPrototypeOf(o) as Record<string, Method>);
}

/** Wraps `proto[name]` so that `around` runs once, in place of the first call; returns a restore function. */
function onceAround(
  proto: Record<string, Method>,
  name: string,
  around: (orig: (...a: unknown[]) => Promise<unknown>, self: unknown, args: unknown[]) => Promise<unknown>,
) {
  const orig = proto[name]!;
  let fired = false;
  proto[name] = async function (this: unknown, ...args: unknown[]) {
    if (fired) return orig.apply(this, args);
    fired = true;
    return around((...a: unknown[]) => orig.apply(this, a), this, args);
  };
  return () => void (proto[name] = orig);
}

const stepOf = (messageId: string) => /^<sf\.[0-9a-f]+\.([0-9a-f]+)@/.exec(messageId)?.[1];
const row = async (sequenceId: string, id: string) => (await sequenceState(sequenceId)).enrollments.find((e) => e.id === id)!;

describe("one scheduled email: edit, send now, skip, reschedule (issue 12 item 8)", () => {
  const overridden: string[] = [];
  const restore: (() => void)[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const r of restore.splice(0)) r();
    for (const id of overridden.splice(0)) setTransportOverride(id, null);
  });
  const track = <T extends { mailboxId: string }>(w: T) => (overridden.push(w.mailboxId), w);

  it("an edit for one contact is what reaches the transport, rendered with the contact's fields", async () => {
    const w = track(await world({ contacts: 2, steps: [{ wait: 1, unit: "days" }] }));
    const [a] = w.ids as [string];
    const res = await w.seq.editEmail(
      { enrollmentId: a, stepId: w.stepIds[0]! },
      { subject: "Just for {{first_name}}", body: "Edited body for {{company}}" },
    );
    expect(res).toEqual({ ok: true, at: null });
    await runUntil(SIM_START + 2 * DAY);
    expect(w.calls).toHaveLength(2);
    const edited = w.calls.find((c) => c.messageId.includes(a));
    const other = w.calls.find((c) => !c.messageId.includes(a));
    expect(edited!.raw).toContain("Subject: Just for First");
    expect(edited!.raw).toContain("Edited body for Acme");
    expect(other!.raw).not.toContain("Edited body");
    // The message row says what went out, and the edited email stays out of the A/B figures.
    const m = await env.DB.prepare("SELECT subject, body, variant_id FROM messages WHERE enrollment_id = ?")
      .bind(a)
      .first<Pick<RawRow<typeof messages>, "subject" | "body" | "variant_id">>();
    expect(m).toMatchObject({ body: "Edited body for Acme", variant_id: null });
  });

  it("an edit after the email was sent is refused and changes nothing", async () => {
    const w = track(await world({ steps: [{ wait: 0 }, { wait: 2, unit: "days" }] }));
    const [a] = w.ids as [string];
    await runUntil(SIM_START + HOUR);
    expect(w.calls).toHaveLength(1);
    expect(await w.seq.editEmail({ enrollmentId: a, stepId: w.stepIds[0]! }, { subject: "late", body: "late" })).toMatchObject({
      ok: false,
      code: "already_sent",
    });
    expect(await w.seq.emailChoices([{ enrollmentId: a, stepId: w.stepIds[0]! }])).toEqual([]);
  });

  it("an edit landing while the mailbox is about to send (between compose and claim) goes out with the edit", async () => {
    const w = track(await world());
    const [a] = w.ids as [string];
    let edit: unknown = null;
    // The SequenceDO hands the step over; the edit lands right before the mailbox's claim.
    restore.push(
      onceAround(await protoOf(sequenceStub(env, w.sequenceId)), "claim", async (orig, self, args) => {
        // Called on the object itself (an RPC interleaving with the claim, as the runtime would deliver it).
        edit = await (self as SequenceDO).editEmail(w.sequenceId, w.teamId, a, w.stepIds[0]!, { subject: null, body: "Raced edit" });
        return orig(...args);
      }),
    );
    await runUntil(SIM_START + DAY);
    expect(edit).toEqual({ ok: true, at: null });
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.raw).toContain("Raced edit");
  });

  it("an edit landing while the transport has the email answers 'sending' and is taken back", async () => {
    let edit: unknown = null;
    const w = track(
      await world({
        answer: async (mail) => {
          edit = await engine
            .sequence(env, wref.sequenceId, wref.teamId)
            .editEmail({ enrollmentId: wref.ids[0]!, stepId: stepOf(mail.messageId)! }, { subject: null, body: "Too late" });
          return { ok: true };
        },
      }),
    );
    const wref = w;
    await runUntil(SIM_START + DAY);
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.raw).not.toContain("Too late");
    expect(edit).toMatchObject({ ok: false, code: "sending" });
    expect((await w.seq.emailChoices([{ enrollmentId: w.ids[0]!, stepId: w.stepIds[0]! }]))[0]?.override ?? null).toBeNull();
  });

  it("send now goes at once outside the sequence's window and ahead of its wait, once", async () => {
    const w = track(await world({ schedule: true, steps: [{ wait: 3, unit: "days" }] }));
    const [a] = w.ids as [string];
    // Sunday evening in New York: the window is closed, the step is three days away.
    const res = await w.seq.sendNow({ enrollmentId: a, stepId: w.stepIds[0]! });
    expect(res).toEqual({ ok: true, at: SIM_START });
    await runUntil(SIM_START + 10 * DAY);
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.at).toBe(SIM_START);
    expect(await row(w.sequenceId, a)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("send now never passes the mailbox's daily cap: it says when it will go, and goes then", async () => {
    const w = track(await world({ contacts: 2, mailbox: { daily: 1, hourly: 10 }, steps: [{ wait: 0 }] }));
    const [a, b] = w.ids as [string, string];
    await runUntil(SIM_START + HOUR);
    expect(w.calls).toHaveLength(1);
    const late = w.calls[0]!.messageId.includes(a) ? b : a;
    const res = await w.seq.sendNow({ enrollmentId: late, stepId: w.stepIds[0]! });
    expect(res.ok).toBe(true);
    const at = (res as { at: number }).at;
    expect(at).toBeGreaterThan(SIM_START + DAY - 1);
    await runUntil(SIM_START + 3 * DAY);
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]!.at).toBe(at);
  });

  it("send now racing the mailbox's own alarm sends the email once", async () => {
    const w = track(await world({ contacts: 3, steps: [{ wait: 0 }] }));
    // The emails are queued in the mailbox; its alarm and three "send now" run at the same time.
    await runDurableObjectAlarm(sequenceStub(env, w.sequenceId));
    await Promise.all([
      runDurableObjectAlarm(mailboxStub(env, w.mailboxId)),
      ...w.ids.map((id) => w.seq.sendNow({ enrollmentId: id, stepId: w.stepIds[0]! })),
      runDurableObjectAlarm(mailboxStub(env, w.mailboxId)),
    ]);
    await runUntil(SIM_START + DAY);
    const ids = w.calls.map((c) => c.messageId);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  });

  it("send now and reschedule are refused while paused, and after a reply", async () => {
    const w = track(await world({ contacts: 2, steps: [{ wait: 2, unit: "days" }] }));
    const [a, b] = w.ids as [string, string];
    await w.seq.pause([a]);
    await w.seq.finish([b], "replied");
    expect(await w.seq.sendNow({ enrollmentId: a, stepId: w.stepIds[0]! })).toMatchObject({ ok: false, code: "paused" });
    expect(await w.seq.rescheduleEmail({ enrollmentId: a, stepId: w.stepIds[0]! }, SIM_START + DAY)).toMatchObject({
      ok: false,
      code: "paused",
    });
    expect(await w.seq.sendNow({ enrollmentId: b, stepId: w.stepIds[0]! })).toMatchObject({ ok: false, code: "closed", reason: "replied" });
    expect(await w.seq.skipEmail({ enrollmentId: b, stepId: w.stepIds[0]! })).toMatchObject({ ok: false, code: "closed" });
    await runUntil(SIM_START + 5 * DAY);
    expect(w.calls).toEqual([]);
  });

  it("a reply after send now withdraws the email: nothing goes out", async () => {
    const w = track(await world({ mailbox: { daily: 1 }, contacts: 2, steps: [{ wait: 0 }] }));
    await runUntil(SIM_START + HOUR);
    const late = w.calls[0]!.messageId.includes(w.ids[0]!) ? w.ids[1]! : w.ids[0]!;
    expect((await w.seq.sendNow({ enrollmentId: late, stepId: w.stepIds[0]! })).ok).toBe(true);
    await w.seq.finish([late], "replied");
    await runUntil(SIM_START + 3 * DAY);
    expect(w.calls).toHaveLength(1);
  });

  it("skip moves the contact to the next step on schedule; the skipped email never goes out", async () => {
    const w = track(
      await world({
        steps: [
          { wait: 1, unit: "days" },
          { wait: 2, unit: "days" },
        ],
      }),
    );
    const [a] = w.ids as [string];
    setClock(SIM_START + HOUR);
    const res = await w.seq.skipEmail({ enrollmentId: a, stepId: w.stepIds[0]! });
    expect(res).toEqual({ ok: true, at: SIM_START + HOUR + 2 * DAY });
    await runUntil(SIM_START + 10 * DAY);
    expect(w.calls.map((c) => stepOf(c.messageId))).toEqual([w.stepIds[1]]);
    expect(w.calls[0]!.at).toBe(SIM_START + HOUR + 2 * DAY);
  });

  it("skip of an email queued in the mailbox takes it back from the mailbox", async () => {
    const w = track(await world({ schedule: true, steps: [{ wait: 0 }, { wait: 1, unit: "days" }] }));
    const [a] = w.ids as [string];
    await runDurableObjectAlarm(sequenceStub(env, w.sequenceId)); // queued, waiting for Monday 9:00 in New York
    expect((await mailboxLedger(w.mailboxId)).queue.map((r) => r.state)).toEqual(["queued"]);
    expect((await w.seq.skipEmail({ enrollmentId: a, stepId: w.stepIds[0]! })).ok).toBe(true);
    expect((await mailboxLedger(w.mailboxId)).queue).toEqual([]);
    await runUntil(SIM_START + 5 * DAY);
    expect(w.calls.map((c) => stepOf(c.messageId))).toEqual([w.stepIds[1]]);
    expect(w.calls[0]!.at).toBeGreaterThanOrEqual(MONDAY_9AM_NY);
  });

  it("skip racing a send in flight answers 'sending': the step counts as sent, never skipped and sent", async () => {
    let skip: unknown = null;
    const w = track(
      await world({
        steps: [{ wait: 0 }, { wait: 1, unit: "days" }],
        answer: async (mail) => {
          if (stepOf(mail.messageId) === wref.stepIds[0])
            skip = await engine
              .sequence(env, wref.sequenceId, wref.teamId)
              .skipEmail({ enrollmentId: wref.ids[0]!, stepId: wref.stepIds[0]! });
          return { ok: true };
        },
      }),
    );
    const wref = w;
    await runUntil(SIM_START + 5 * DAY);
    expect(skip).toMatchObject({ ok: false, code: "sending" });
    expect(w.calls.map((c) => stepOf(c.messageId))).toEqual([w.stepIds[0], w.stepIds[1]]);
    expect(w.calls[1]!.at).toBeGreaterThanOrEqual(SIM_START + DAY);
  });

  it("skip landing while the step is being handed to the mailbox: the email that arrives after it is refused, never sent", async () => {
    // A first step a minute after enrolling: the alarm hands it over (one due at once goes from the enroll call).
    const w = track(
      await world({
        steps: [
          { wait: 1, unit: "minutes" },
          { wait: 1, unit: "days" },
        ],
      }),
    );
    const [a] = w.ids as [string];
    let skip: unknown = null;
    restore.push(
      onceAround(await protoOf(mailboxStub(env, w.mailboxId)), "enqueue", async (orig, _self, args) => {
        skip = await engine.sequence(env, w.sequenceId, w.teamId).skipEmail({ enrollmentId: a, stepId: w.stepIds[0]! });
        return orig(...args);
      }),
    );
    await runUntil(SIM_START + 5 * DAY);
    expect(skip).toMatchObject({ ok: true });
    expect(w.calls.map((c) => stepOf(c.messageId))).toEqual([w.stepIds[1]]);
    expect(await row(w.sequenceId, a)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("a skip cut off by a restart after the mailbox gave the email back is completed by the next alarm, never sent", async () => {
    const w = track(await world({ schedule: true, steps: [{ wait: 0 }, { wait: 1, unit: "days" }] }));
    const [a] = w.ids as [string];
    await runDurableObjectAlarm(sequenceStub(env, w.sequenceId));
    // The mailbox gives the email back, and the SequenceDO restarts before it moves the contact on.
    restore.push(
      onceAround(await protoOf(mailboxStub(env, w.mailboxId)), "withdraw", async (orig, _self, args) => {
        await orig(...args);
        await runInDurableObject(sequenceStub(env, w.sequenceId), (_o, s) => s.abort("simulated restart")).catch(() => undefined);
        throw new Error("simulated restart");
      }),
    );
    expect(await w.seq.skipEmail({ enrollmentId: a, stepId: w.stepIds[0]! }).catch((e) => String(e))).toContain("restart");
    await runUntil(SIM_START + 5 * DAY);
    expect(w.calls.map((c) => stepOf(c.messageId))).toEqual([w.stepIds[1]]);
    expect(await row(w.sequenceId, a)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("send now whose hand-over is lost to a restart is repaired by the reconciler: the email goes out once, outside the window", async () => {
    const w = track(await world({ schedule: true, steps: [{ wait: 3, unit: "days" }] }));
    const [a] = w.ids as [string];
    // The SequenceDO restarts after marking the choice and before the mailbox gets the email.
    restore.push(
      onceAround(await protoOf(mailboxStub(env, w.mailboxId)), "enqueue", async () => {
        await runInDurableObject(sequenceStub(env, w.sequenceId), (_o, s) => s.abort("simulated restart")).catch(() => undefined);
        throw new Error("simulated restart before the enqueue");
      }),
    );
    expect(await w.seq.sendNow({ enrollmentId: a, stepId: w.stepIds[0]! }).catch((e) => String(e))).toContain("restart");
    // Sunday evening in New York: the window is closed until Monday 9:00; the reconciler checks within the hour.
    await runUntil(SIM_START + 2 * HOUR);
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.at).toBeLessThan(MONDAY_9AM_NY);
    await runUntil(SIM_START + 10 * DAY);
    expect(w.calls).toHaveLength(1);
  });

  it("reschedule sends at the chosen instant, not before, once", async () => {
    const w = track(await world({ schedule: true, steps: [{ wait: 0 }] }));
    const [a] = w.ids as [string];
    const at = MONDAY_9AM_NY + DAY + 3 * HOUR; // Tuesday 12:00 in New York
    expect(await w.seq.rescheduleEmail({ enrollmentId: a, stepId: w.stepIds[0]! }, at)).toEqual({ ok: true, at });
    await runUntil(SIM_START + 5 * DAY);
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.at).toBe(at);
    // Rescheduled again after it went: refused.
    expect(await w.seq.rescheduleEmail({ enrollmentId: a, stepId: w.stepIds[0]! }, at + DAY)).toMatchObject({
      ok: false,
      code: "already_sent",
    });
  });

  it("a rescheduled email handed over again (mailbox changed) keeps its instant", async () => {
    const w = track(await world({ steps: [{ wait: 0 }] }));
    const [a] = w.ids as [string];
    const other = await makeMailbox(w.teamId, w.userId, { daily: 1000, hourly: 1000, gapSeconds: 0 });
    const calls: number[] = [];
    overridden.push(other);
    setTransportOverride(other, { send: async () => (calls.push(now()), { ok: true }) });
    const at = SIM_START + 2 * DAY;
    expect((await w.seq.rescheduleEmail({ enrollmentId: a, stepId: w.stepIds[0]! }, at)).ok).toBe(true);
    await w.seq.changeMailbox([a], other);
    await runUntil(SIM_START + 5 * DAY);
    expect(w.calls).toEqual([]);
    expect(calls).toEqual([at]);
    expect(await row(w.sequenceId, a)).toMatchObject({ status: "finished" });
  });
});
