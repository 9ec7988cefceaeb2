// The sending engine's guarantees where the two objects interleave, an object restarts between two
// steps, or the sizes are real (issue 9). Every duplicate or stray send is counted at the transport,
// never read back from `messages` (whose UNIQUE index would hide a second send).
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { now, setClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { mailboxStub, packEmails, sequenceStub } from "../../durable-objects/engine";
import type { QueuedEmail } from "../../durable-objects/engine-types";
import { scheduleToWindow, type ScheduleColumns } from "../../durable-objects/sequence-config";
import { setTransportOverride } from "../../worker/transports";
import type { OutgoingEmail, SendResult } from "../../worker/transports/types";
import type { enrollments, tasks } from "../../worker/db/schema";
import { env, type RawRow } from "../helpers";
import {
  MONDAY_9AM_NY,
  DAY,
  HOUR,
  MIN,
  SIM_START,
  enroll,
  enrollmentsOf,
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
  at: number;
}

function recordingTransport(
  mailboxId: string,
  answer: (mail: OutgoingEmail, calls: Call[]) => Promise<SendResult> | SendResult = () => ({ ok: true }),
) {
  const calls: Call[] = [];
  setTransportOverride(mailboxId, {
    async send(mail) {
      calls.push({ to: mail.to, messageId: mail.messageId, at: now() });
      return answer(mail, calls);
    },
  });
  return calls;
}

async function world(
  o: {
    steps?: StepSpec[];
    schedule?: boolean;
    contacts?: number;
    mailbox?: Parameters<typeof makeMailbox>[2];
    answer?: Parameters<typeof recordingTransport>[1];
    /** Runs right before the contacts are enrolled (a first step due at once is handed over by the enroll call). */
    beforeEnroll?: (w: { sequenceId: string; teamId: string; mailboxId: string; contactIds: string[] }) => Promise<void>;
  } = {},
) {
  const { teamId, userId } = await makeTeam("Defects");
  const scheduleId = o.schedule ? await makeSchedule(teamId) : null; // null: no schedule, always open
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, o.steps ?? [{ wait: 0 }], scheduleId);
  const mailboxId = await makeMailbox(teamId, userId, { daily: 1000, hourly: 1000, gapSeconds: 0, ...o.mailbox });
  const calls = recordingTransport(mailboxId, o.answer);
  const contactIds = await makeContacts(teamId, o.contacts ?? 1);
  const emails = await Promise.all(
    contactIds.map(
      async (id) => (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(id).first<{ email: string }>())!.email,
    ),
  );
  await o.beforeEnroll?.({ sequenceId, teamId, mailboxId, contactIds });
  const res = await enroll(teamId, sequenceId, contactIds, [mailboxId]);
  expect(res.enrolled).toHaveLength(contactIds.length);
  return { teamId, userId, scheduleId, sequenceId, stepIds, mailboxId, contactIds, emails, calls };
}

/** A class prototype's methods, as a test wraps one of them. */
type Methods = Record<string, (this: unknown, ...args: unknown[]) => Promise<unknown>>;

/** The prototype of a Durable Object class as the runtime runs it (to wrap one method for one test). */
async function protoOf(stub: unknown): Promise<Methods> {
  return runInDurableObject(stub as DurableObjectStub, (o: object) => Object.getPrototypeOf(o) as Methods);
}

/** Wraps `proto[name]` with `before` (run once, on the first call) and returns a function restoring it. */
function onceBefore(proto: Methods, name: string, before: (...args: unknown[]) => Promise<void>): () => void {
  const orig = proto[name]!;
  let fired = false;
  proto[name] = async function (this: unknown, ...args: unknown[]) {
    if (!fired) {
      fired = true;
      await before(...args);
    }
    return orig.apply(this, args);
  };
  return () => void (proto[name] = orig);
}

const enrollmentRow = async (sequenceId: string, contactId: string) =>
  (await env.DB.prepare("SELECT * FROM enrollments WHERE sequence_id = ? AND contact_id = ? ORDER BY created_at DESC, id LIMIT 1")
    .bind(sequenceId, contactId)
    .first<RawRow<typeof enrollments>>())!;

describe("sending engine: races, restarts and sizes (issue 9)", () => {
  const overridden: string[] = [];
  const restore: (() => void)[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const r of restore.splice(0)) r();
    for (const id of overridden.splice(0)) setTransportOverride(id, null);
  });
  const track = <T extends { mailboxId: string }>(w: T) => (overridden.push(w.mailboxId), w);

  // Defect 1 / invariant 11.
  it("a reply landing while the step is being handed to the mailbox sends nothing", async () => {
    // The reply lands after the SequenceDO decided to hand the step over (the enroll call does, the
    // step being due at once) and before the mailbox has it.
    const w = track(
      await world({
        steps: [{ wait: 0 }, { wait: 1 }],
        beforeEnroll: async (v) =>
          void restore.push(
            onceBefore(await protoOf(mailboxStub(env, v.mailboxId)), "enqueue", async () => {
              const eid = (await enrollmentRow(v.sequenceId, v.contactIds[0]!)).id as string;
              await sequenceStub(env, v.sequenceId).transition(v.sequenceId, v.teamId, [eid], "finish", "replied");
            }),
          ),
      }),
    );
    const [c] = w.contactIds as [string];
    await runUntil(SIM_START + 5 * DAY);

    expect(w.calls).toEqual([]);
    expect(await enrollmentRow(w.sequenceId, c)).toMatchObject({ status: "finished", reason: "replied" });
    expect(
      (await mailboxLedger(w.mailboxId)).queue.filter((r) => r.state === "queued" || r.state === "sending" || r.state === "sent"),
    ).toEqual([]);
  });

  it("a pause landing while the step is being handed to the mailbox holds the email, and resuming sends it once", async () => {
    const w = track(
      await world({
        steps: [{ wait: 0 }],
        beforeEnroll: async (v) =>
          void restore.push(
            onceBefore(await protoOf(mailboxStub(env, v.mailboxId)), "enqueue", async () => {
              const eid = (await enrollmentRow(v.sequenceId, v.contactIds[0]!)).id as string;
              await sequenceStub(env, v.sequenceId).transition(v.sequenceId, v.teamId, [eid], "pause");
            }),
          ),
      }),
    );
    const [c] = w.contactIds as [string];
    const eid = (await enrollmentRow(w.sequenceId, c)).id as string;
    await runUntil(SIM_START + 2 * DAY);
    expect(w.calls).toEqual([]);
    expect(await enrollmentRow(w.sequenceId, c)).toMatchObject({ status: "paused", reason: "paused_by_user" });

    const resumedAt = now();
    expect(await sequenceStub(env, w.sequenceId).transition(w.sequenceId, w.teamId, [eid], "resume")).toEqual([eid]);
    await runUntil(resumedAt + 2 * DAY);
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.at).toBeGreaterThanOrEqual(resumedAt);
    expect(await enrollmentRow(w.sequenceId, c)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  // Defect 2 / invariant 2.
  it("a contact back from out of office gets the current step only after its wait from the last step", async () => {
    const w = track(await world({ steps: [{ wait: 0 }, { wait: 5, unit: "days" }] }));
    const [c] = w.contactIds as [string];
    await runUntil(SIM_START + HOUR);
    expect(w.calls).toHaveLength(1);
    const eid = (await enrollmentRow(w.sequenceId, c)).id as string;
    await sequenceStub(env, w.sequenceId).transition(w.sequenceId, w.teamId, [eid], "pause", "out_of_office", SIM_START + 2 * DAY);
    await runUntil(SIM_START + 10 * DAY);

    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]!.at).toBeGreaterThanOrEqual(SIM_START + 5 * DAY);
    expect(await enrollmentRow(w.sequenceId, c)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  // Defect 3 / invariant 10.
  it("a SequenceDO restarted after handing a step over and before the mailbox got it is repaired: the email goes out once", async () => {
    // A first step a minute after enrolling: the alarm hands it over (one due at once goes from the enroll call).
    const w = track(await world({ steps: [{ wait: 1, unit: "minutes" }] }));
    const [c] = w.contactIds as [string];
    // The hand-over never reaches the mailbox, and the SequenceDO is reset right after.
    restore.push(
      onceBefore(await protoOf(mailboxStub(env, w.mailboxId)), "enqueue", async () => {
        throw new Error("simulated restart before the enqueue");
      }),
    );
    await runUntil(SIM_START + 60_000);
    expect((await mailboxLedger(w.mailboxId)).queue).toEqual([]);
    await runInDurableObject(sequenceStub(env, w.sequenceId), (_o, s) => s.abort("simulated restart")).catch(() => undefined);
    // The runtime retries an alarm whose handler did not finish; then time goes on.
    await runDurableObjectAlarm(sequenceStub(env, w.sequenceId));
    await runUntil(SIM_START + 2 * DAY);

    expect(w.calls).toHaveLength(1);
    expect(await enrollmentRow(w.sequenceId, c)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("a step handed again after a reorder, already sent before, is not left waiting on the mailbox", async () => {
    const w = track(await world({ steps: [{ wait: 0 }, { wait: 1 }, { wait: 1 }] }));
    const [c] = w.contactIds as [string];
    await runUntil(SIM_START + HOUR);
    expect(w.calls).toHaveLength(1);
    // Step 1 (already sent) moves to position 2, in front of the step the enrollment now waits for.
    const [s1, s2] = w.stepIds as [string, string, string];
    await env.DB.batch([
      env.DB.prepare("UPDATE steps SET position = 99 WHERE id = ?").bind(s2),
      env.DB.prepare("UPDATE steps SET position = 2 WHERE id = ?").bind(s1),
      env.DB.prepare("UPDATE steps SET position = 1 WHERE id = ?").bind(s2),
    ]);
    await runUntil(SIM_START + 10 * DAY);

    expect(new Set(w.calls.map((x) => x.messageId)).size).toBe(w.calls.length);
    expect(w.calls).toHaveLength(3);
    expect(await enrollmentRow(w.sequenceId, c)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("a task lost before it reached D1 is opened again, and a task completed whose report was lost moves the contact on", async () => {
    const w = track(
      await world({
        steps: [
          { type: "call", wait: 0 },
          { wait: 1, unit: "hours" },
        ],
      }),
    );
    const [c] = w.contactIds as [string];
    await runUntil(SIM_START + MIN);
    const taskOf = () => env.DB.prepare("SELECT * FROM tasks WHERE contact_id = ?").bind(c).first<RawRow<typeof tasks>>();
    expect(await taskOf()).toMatchObject({ status: "open", step_id: w.stepIds[0] });
    // The task row is gone (as if the SequenceDO restarted before writing it).
    await env.DB.prepare("DELETE FROM tasks WHERE contact_id = ?").bind(c).run();
    await runUntil(SIM_START + 3 * HOUR);
    expect(await taskOf()).toMatchObject({ status: "open", step_id: w.stepIds[0] });
    // Completed in D1, but the report to the SequenceDO never arrived.
    await env.DB.prepare("UPDATE tasks SET status = 'completed' WHERE contact_id = ?").bind(c).run();
    await runUntil(SIM_START + 3 * DAY);
    expect(w.calls).toHaveLength(1);
    expect(await enrollmentRow(w.sequenceId, c)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  // Defect 4.
  it("2,000 higher-scored emails outside their window do not block the ones inside it, and the alarm never spins at now", async () => {
    const { teamId, userId } = await makeTeam("Hot loop");
    const scheduleId = await makeSchedule(teamId, { useContactTimeZone: true });
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], scheduleId);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 1000, hourly: 1000, gapSeconds: 0 });
    const calls = recordingTransport(mailboxId);
    overridden.push(mailboxId);
    setClock(MONDAY_9AM_NY + HOUR); // 10:00 in New York is 00:00 in Tokyo
    const window = scheduleToWindow(
      (await env.DB.prepare("SELECT * FROM schedules WHERE id = ?").bind(scheduleId).first<ScheduleColumns>())!,
    );
    const night: QueuedEmail[] = Array.from({ length: 2_100 }, () => ({
      enrollmentId: newId(),
      stepId: stepIds[0]!,
      sequenceId,
      teamId,
      contactId: newId(),
      dueAt: now(),
      score: 99,
      window,
      zone: "Asia/Tokyo",
      thread: null,
    }));
    await mailboxStub(env, mailboxId).enqueue(mailboxId, teamId, packEmails(night));
    const contactIds = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, contactIds, [mailboxId]);

    const events = await runUntil(now() + HOUR, 100);
    expect(calls).toHaveLength(3);
    expect(events).toBeLessThan(20);
    // The next alarm is when Tokyo's window opens (09:00 there, 00:00 UTC), not now.
    const { alarm } = await mailboxLedger(mailboxId);
    expect(alarm).toBe(SIM_START + DAY);
  }, 60_000);

  // Defect 8 / invariant 1.
  it("a finished or removed contact can be added again (one open enrollment at a time, history kept)", async () => {
    const w = track(await world({ steps: [{ wait: 0 }] }));
    const [c] = w.contactIds as [string];
    await runUntil(SIM_START + HOUR);
    expect(await enrollmentRow(w.sequenceId, c)).toMatchObject({ status: "finished" });

    const again = await enroll(w.teamId, w.sequenceId, [c], [w.mailboxId]);
    expect(again).toMatchObject({ enrolled: [c], already: [] });
    // While that one is open, adding the contact again is "already".
    const third = await enroll(w.teamId, w.sequenceId, [c], [w.mailboxId]);
    expect(third).toMatchObject({ enrolled: [], already: [c], alreadyOther: [c] });
    await runUntil(SIM_START + DAY);

    const rows = (await enrollmentsOf(w.sequenceId)).filter((e) => e.contact_id === c);
    expect(rows.map((e) => [e.status, e.reason])).toEqual([
      ["finished", "completed_all_steps"],
      ["finished", "completed_all_steps"],
    ]);
    expect(w.calls).toHaveLength(2);
    expect(new Set(w.calls.map((x) => x.messageId)).size).toBe(2);

    // Removed, then added again.
    const fourth = await enroll(w.teamId, w.sequenceId, [c], [w.mailboxId]);
    expect(fourth.enrolled).toEqual([c]);
    const open = await enrollmentRow(w.sequenceId, c);
    await sequenceStub(env, w.sequenceId).transition(w.sequenceId, w.teamId, [open.id], "remove");
    expect((await enroll(w.teamId, w.sequenceId, [c], [w.mailboxId])).enrolled).toEqual([c]);
    const st = await sequenceState(w.sequenceId);
    expect(
      st.enrollments
        .filter((e) => e.contact_id === c)
        .map((e) => e.status)
        .sort(),
    ).toEqual(["active", "finished", "finished", "removed"]);
  });

  it("a retried enroll call with the same enrollment ids enrolls nobody twice", async () => {
    const w = track(await world({ steps: [{ wait: 0 }] }));
    const [c] = w.contactIds as [string];
    const eid = (await enrollmentRow(w.sequenceId, c)).id as string;
    await runUntil(SIM_START + HOUR);
    const res = await sequenceStub(env, w.sequenceId).enroll(w.sequenceId, w.teamId, [
      { enrollmentId: eid, contactId: c, mailboxId: w.mailboxId, score: 50, timeZone: null },
    ]);
    expect(res).toEqual({ enrolled: [], already: [c], alreadyOther: [], duplicateEmail: [], sameCompany: [] });
    await runUntil(SIM_START + DAY);
    expect(w.calls).toHaveLength(1);
  });

  // Defect 9 / invariant 5.
  it("a contact who unsubscribes while earlier emails of the same batch are going out is not emailed", async () => {
    let unsubscribe: (() => Promise<void>) | null = null;
    const w = track(
      await world({
        contacts: 3,
        answer: async () => {
          if (unsubscribe) {
            const u = unsubscribe;
            unsubscribe = null;
            await u();
          }
          return { ok: true };
        },
      }),
    );
    unsubscribe = async () => {
      // Whoever was not sent first unsubscribes while the first send is in progress.
      for (const id of w.contactIds) {
        const e = await env.DB.prepare("SELECT count(*) n FROM messages WHERE contact_id = ?").bind(id).first<{ n: number }>();
        if (!e!.n && !w.calls.some((x) => x.to === w.emails[w.contactIds.indexOf(id)])) {
          await env.DB.prepare("UPDATE contacts SET unsubscribed_at = ? WHERE id = ?").bind(now(), id).run();
        }
      }
    };
    await runUntil(SIM_START + DAY);
    expect(w.calls).toHaveLength(1);
    const statuses = (await enrollmentsOf(w.sequenceId)).map((e) => e.reason).sort();
    expect(statuses).toEqual(["completed_all_steps", "unsubscribed", "unsubscribed"]);
  });

  it("the window closing during a slow batch stops the batch: the rest wait for the next window", async () => {
    setClock(MONDAY_9AM_NY + 8 * HOUR - MIN); // 16:59 in New York
    let slow = true;
    const w = track(
      await world({
        schedule: true,
        contacts: 4,
        answer: () => {
          // The first send takes two minutes: the window (until 17:00) closes meanwhile.
          if (slow) setClock(now() + 2 * MIN);
          slow = false;
          return { ok: true };
        },
      }),
    );
    await runUntil(MONDAY_9AM_NY + 8 * HOUR + 5 * MIN);
    expect(w.calls).toHaveLength(1);
    await runUntil(MONDAY_9AM_NY + DAY + HOUR);
    expect(w.calls).toHaveLength(4);
    for (const x of w.calls.slice(1)) expect(x.at).toBeGreaterThanOrEqual(MONDAY_9AM_NY + DAY);
  });
});
