// The sending engine under faults: repeated and concurrent alarms, transports that time out after
// accepting, bounce, fail for the sender or transiently, mailboxes disconnected mid-day, contacts
// opting out after their email was queued, sequences turned off, steps toggled off, manual steps,
// priority under short capacity, and a crash in the middle of a send. Every test re-reads the outcome
// from D1 rows and the Durable Objects' own state.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { armedAlarms } from "../../worker/lib/alarms";
import { now } from "../../worker/lib/clock";
import { mailboxStub, sequenceStub } from "../../durable-objects/engine";
import { MIRROR_SOON_MS } from "../../durable-objects/sequence-do";
import { addWait } from "../../worker/services/schedule-time";
import { ALWAYS_OPEN } from "../../durable-objects/sequence-config";
import { setTransportOverride } from "../../worker/transports";
import type { OutgoingEmail, SendResult } from "../../worker/transports/types";
import type { contacts, enrollments, mailboxes, suppressions, tasks as taskTable } from "../../worker/db/schema";
import { handleInbound } from "../../worker/inbound";
import { dsn, type Sent } from "../replies/mail";
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
  mailboxMessages,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sentMessages,
  type SentMessage,
  sequenceState,
  setMailboxStatus,
  startSimulation,
  type StepSpec,
} from "../fixtures";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Call {
  to: string;
  messageId: string;
  at: number;
}

/** A transport that records every call (simulated time, recipient, Message-ID = one per (enrollment, step)) and answers with `answer`. */
function recordingTransport(
  mailboxId: string,
  answer: (mail: OutgoingEmail, attempt: number, calls: Call[]) => Promise<SendResult> | SendResult = () => ({ ok: true }),
) {
  const calls: Call[] = [];
  setTransportOverride(mailboxId, {
    async send(mail) {
      calls.push({ to: mail.to, messageId: mail.messageId, at: now() });
      return answer(mail, calls.filter((c) => c.messageId === mail.messageId).length, calls);
    },
  });
  return calls;
}

const attemptsOf = (calls: Call[], to: string) => calls.filter((c) => c.to === to);

async function contact(id: string) {
  return (await env.DB.prepare("SELECT * FROM contacts WHERE id = ?").bind(id).first<RawRow<typeof contacts>>())!;
}
async function enrollmentOf(contactId: string) {
  return (await env.DB.prepare("SELECT * FROM enrollments WHERE contact_id = ?").bind(contactId).first<RawRow<typeof enrollments>>())!;
}
async function messagesOf(contactId: string) {
  return (
    await env.DB.prepare(
      "SELECT m.*, s.position FROM messages m JOIN steps s ON s.id = m.step_id WHERE m.contact_id = ? ORDER BY m.sent_at",
    )
      .bind(contactId)
      .all<SentMessage>()
  ).results;
}

/** A team with a sequence, one mailbox and contacts, enrolled at the current simulated instant. */
async function world(
  o: {
    steps?: StepSpec[];
    schedule?: boolean;
    contacts?: number;
    scores?: number[];
    mailbox?: Parameters<typeof makeMailbox>[2];
    answer?: Parameters<typeof recordingTransport>[1];
  } = {},
) {
  const { teamId, userId } = await makeTeam("Faults");
  const scheduleId = o.schedule ? await makeSchedule(teamId) : null; // null: no schedule, always open
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, o.steps ?? [{ wait: 0 }], scheduleId);
  const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0, ...o.mailbox });
  const calls = recordingTransport(mailboxId, o.answer);
  const n = o.scores?.length ?? o.contacts ?? 1;
  const contactIds = await makeContacts(teamId, n, { score: (i) => o.scores?.[i] ?? 50 });
  const emails = await Promise.all(contactIds.map(async (id) => (await contact(id)).email as string));
  const res = await enroll(teamId, sequenceId, contactIds, [mailboxId], (i) => o.scores?.[i] ?? 50);
  expect(res.enrolled).toHaveLength(n);
  return { teamId, userId, scheduleId, sequenceId, stepIds, mailboxId, contactIds, emails, calls };
}

describe("sending engine under faults", () => {
  const overridden: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const id of overridden.splice(0)) setTransportOverride(id, null);
  });
  const track = <T extends { mailboxId: string }>(w: T) => (overridden.push(w.mailboxId), w);

  it("an alarm fired twice, or twice at the same time, sends nothing twice", async () => {
    const w = track(await world({ contacts: 5, answer: async () => (await sleep(5), { ok: true }) }));
    const seq = sequenceStub(env, w.sequenceId);
    const mb = mailboxStub(env, w.mailboxId);
    // The SequenceDO's alarm, concurrently with itself: each step is handed to the mailbox once.
    await Promise.all([runInDurableObject(seq, (o) => o.alarm()), runInDurableObject(seq, (o) => o.alarm())]);
    expect((await mailboxLedger(w.mailboxId)).queue.map((r) => r.state)).toEqual(Array(5).fill("queued"));
    // The MailboxDO's alarm three times at once, while the transport is slow.
    await Promise.all([runInDurableObject(mb, (o) => o.alarm()), runInDurableObject(mb, (o) => o.alarm()), runDurableObjectAlarm(mb)]);
    // And again, one after the other, then days of normal running.
    await runInDurableObject(mb, (o) => o.alarm());
    await runInDurableObject(seq, (o) => o.alarm());
    await runUntil(now() + 3 * DAY);
    await Promise.all([runInDurableObject(mb, (o) => o.alarm()), runInDurableObject(mb, (o) => o.alarm())]);

    expect(w.calls).toHaveLength(5);
    expect(new Set(w.calls.map((c) => c.messageId)).size).toBe(5);
    const sent = await sentMessages(w.sequenceId);
    expect(sent.map((m) => m.status)).toEqual(Array(5).fill("sent"));
    // Nothing left queued or in flight (settled rows are pruned from the ledger after two days).
    expect((await mailboxLedger(w.mailboxId)).queue.filter((r) => r.state !== "sent")).toEqual([]);
    expect((await enrollmentsOf(w.sequenceId)).map((e) => [e.status, e.reason])).toEqual(
      Array(5).fill(["finished", "completed_all_steps"]),
    );
  });

  it("a transport that times out after accepting records the email as unknown, keeps the capacity used, never resends, and the enrollment moves on", async () => {
    // Every call "accepts" the message then loses the reply: half answer unknown, half throw after a delay.
    const w = track(
      await world({
        contacts: 2,
        steps: [{ wait: 0 }, { wait: 2, unit: "days" }],
        mailbox: { daily: 1, hourly: 1 },
        answer: async (_m, _a, calls) => {
          await sleep(5);
          if (calls.length % 2) return { ok: false, kind: "unknown", message: "timed out waiting for the reply to DATA" };
          throw new Error("connection reset after the final dot");
        },
      }),
    );
    const [a, b] = w.contactIds as [string, string];
    await runUntil(SIM_START + 30 * MIN);

    // One send only: the unknown outcome holds the mailbox's one-a-day capacity.
    expect(w.calls).toHaveLength(1);
    const first = (await mailboxMessages(w.mailboxId))[0]!;
    expect(first).toMatchObject({ status: "unknown", position: 1, sent_at: SIM_START });
    const cap = await mailboxStub(env, w.mailboxId).usage(w.mailboxId);
    expect([cap.usedLast24h, cap.usedLastHour]).toEqual([1, 1]);
    const ledgerRow = (await mailboxLedger(w.mailboxId)).queue.find((r) => r.enrollment_id === first.enrollment_id)!;
    expect(ledgerRow).toMatchObject({ state: "unknown", reserved_at: SIM_START, reason: "delivery_unknown", reported: 1 });
    // Its enrollment moved on: step 2 is scheduled two days after the unknown send.
    const e1 = (await enrollmentsOf(w.sequenceId)).find((e) => e.id === first.enrollment_id);
    expect(e1).toMatchObject({ status: "active", current_step: 2, reason: "waiting_for_step", next_due_at: SIM_START + 2 * DAY });

    await runUntil(SIM_START + 10 * DAY);
    // Each (enrollment, step) went to the transport exactly once, a day apart (daily cap 1), all recorded as unknown.
    expect(new Set(w.calls.map((c) => c.messageId)).size).toBe(4);
    expect(w.calls).toHaveLength(4);
    for (let i = 1; i < w.calls.length; i++) expect(w.calls[i]!.at - w.calls[i - 1]!.at).toBeGreaterThan(DAY);
    for (const c of [a, b]) {
      expect((await messagesOf(c)).map((m) => [m.position, m.status])).toEqual([
        [1, "unknown"],
        [2, "unknown"],
      ]);
      expect(await enrollmentOf(c)).toMatchObject({ status: "finished", reason: "delivery_unknown" });
    }
  });

  it("a mailbox disconnected mid-day holds its queue, and on reconnect sends the rest by itself, once each", async () => {
    // 30 contacts, two steps a day apart, one email per 10 minutes: Monday's window can't take them all.
    const w = track(
      await world({
        schedule: true,
        contacts: 30,
        steps: [{ wait: 0 }, { wait: 1 }],
        mailbox: { gapSeconds: 600, hourly: 20, daily: 100 },
      }),
    );
    await runUntil(MONDAY_9AM_NY + 2 * HOUR);
    const before = (await mailboxMessages(w.mailboxId)).length;
    expect(before).toBeGreaterThan(5);
    expect(before).toBeLessThan(30);

    const disconnectedAt = now();
    await setMailboxStatus(w.mailboxId, "disconnected", "OAuth token revoked");
    await runUntil(MONDAY_9AM_NY + DAY + 3 * HOUR); // through Tuesday morning's window, when the first step 2s fall due
    expect(await mailboxMessages(w.mailboxId)).toHaveLength(before);
    expect(w.calls).toHaveLength(before);
    const ledger = await mailboxLedger(w.mailboxId);
    expect(ledger.alarm).toBeNull();
    const queued = ledger.queue.filter((r) => r.state === "queued");
    expect(queued.every((r) => r.reserved_at === null)).toBe(true);
    expect(queued.length).toBeGreaterThan(30 - before); // step 1 of the rest, plus step 2s that fell due meanwhile
    // The held enrollments say they are queued; their mailbox's status says why nothing moves (what the enrollments view shows).
    const held = (
      await env.DB.prepare(
        "SELECT e.status, e.reason, m.status AS mailbox_status, m.status_reason FROM enrollments e JOIN mailboxes m ON m.id = e.mailbox_id WHERE e.sequence_id = ? AND e.reason = 'queued_for_mailbox'",
      )
        .bind(w.sequenceId)
        .all<{ status: string; reason: string | null; mailbox_status: string; status_reason: string | null }>()
    ).results;
    expect(held).toHaveLength(queued.length);
    for (const h of held)
      expect(h).toEqual({
        status: "active",
        reason: "queued_for_mailbox",
        mailbox_status: "disconnected",
        status_reason: "OAuth token revoked",
      });

    const reconnectedAt = now();
    await setMailboxStatus(w.mailboxId, "connected");
    await runUntil(reconnectedAt + 3 * DAY);
    const sent = await mailboxMessages(w.mailboxId);
    expect(sent).toHaveLength(60);
    expect(new Set(sent.map((m) => `${m.enrollment_id}:${m.step_id}`)).size).toBe(60);
    expect(w.calls).toHaveLength(60);
    expect(sent.filter((m) => m.sent_at! > disconnectedAt && m.sent_at! < reconnectedAt)).toEqual([]);
    expect((await enrollmentsOf(w.sequenceId)).every((e) => e.status === "finished" && e.reason === "completed_all_steps")).toBe(true);
    expect((await mailboxLedger(w.mailboxId)).queue.filter((r) => r.state !== "sent")).toEqual([]);
  });

  it("a recipient bounce marks the email bounced, the contact bounced and suppressed, and finishes the enrollment", async () => {
    let bouncer = "";
    const w = track(
      await world({
        contacts: 2,
        steps: [{ wait: 0 }, { wait: 1 }, { wait: 1 }],
        answer: (m) =>
          m.to === bouncer ? { ok: false, kind: "recipient_permanent", code: "550", message: "5.1.1 user unknown" } : { ok: true },
      }),
    );
    const [x, y] = w.contactIds as [string, string];
    bouncer = w.emails[0]!;
    await runUntil(SIM_START + 10 * DAY);

    expect((await messagesOf(x)).map((m) => [m.position, m.status, m.error])).toEqual([[1, "bounced", "550 5.1.1 user unknown"]]);
    expect((await contact(x)).bounced_at).toBe(SIM_START);
    const supp = await env.DB.prepare("SELECT * FROM suppressions WHERE team_id = ? AND email = ?")
      .bind(w.teamId, bouncer.toLowerCase())
      .first<RawRow<typeof suppressions>>();
    expect(supp).toMatchObject({ reason: "bounced" });
    expect(await enrollmentOf(x)).toMatchObject({ status: "finished", reason: "bounced" });
    expect(attemptsOf(w.calls, bouncer)).toHaveLength(1); // later steps never reach the transport
    // The other contact is unaffected.
    expect((await messagesOf(y)).map((m) => m.status)).toEqual(["sent", "sent", "sent"]);
  });

  it("an address that hard-bounced is not emailed again in the same pass (a second sequence's email to it, queued beside it)", async () => {
    let bouncer = "";
    const w = track(
      await world({
        contacts: 1,
        answer: (m) =>
          m.to === bouncer ? { ok: false, kind: "recipient_permanent", code: "550", message: "5.1.1 user unknown" } : { ok: true },
      }),
    );
    const [c] = w.contactIds as [string];
    bouncer = w.emails[0]!;
    // The same contact in a second sequence, from the same mailbox: both first emails wait in one queue.
    const second = await makeSequence(w.teamId, w.userId, [{ wait: 0 }], null);
    await enroll(w.teamId, second.sequenceId, [c], [w.mailboxId]);
    await runUntil(SIM_START + DAY);
    // One try reached the transport; the other email was stopped by the bounce it reported at once.
    expect(attemptsOf(w.calls, bouncer)).toHaveLength(1);
    expect((await messagesOf(c)).map((m) => m.status)).toEqual(["bounced"]);
    const { results } = await env.DB.prepare("SELECT status, reason FROM enrollments WHERE contact_id = ? ORDER BY sequence_id")
      .bind(c)
      .all<{ status: string; reason: string }>();
    expect(results.map((r) => r.reason).sort()).toEqual(["bounced", "bounced"]);
  });

  it("a bounce report that comes back while the pass is still sending finds its email (reported at once), and the address is not emailed again", async () => {
    const w = track(await world({ contacts: 2, steps: [{ wait: 0 }, { wait: 1 }] }));
    const [x] = w.contactIds as [string, string];
    setTransportOverride(w.mailboxId, {
      async send(mail) {
        w.calls.push({ to: mail.to, messageId: mail.messageId, at: now() });
        // The first email's bounce report arrives while the pass sends the second.
        if (w.calls.length === 2) {
          const first = w.calls[0]!;
          const r = await handleInbound(
            env,
            dsn({ to_email: first.to, message_id_header: first.messageId, subject: "Step 1" } as Sent, "5.1.1"),
          );
          expect(r.kind).toBe("bounce_hard");
        }
        return { ok: true };
      },
    });
    await runUntil(SIM_START + 3 * DAY);
    const bounced = w.calls[0]!.to === w.emails[0] ? x : w.contactIds[1]!;
    expect((await messagesOf(bounced)).map((m) => m.status)).toEqual(["bounced"]);
    expect(await enrollmentOf(bounced)).toMatchObject({ status: "finished", reason: "bounced" });
    expect(attemptsOf(w.calls, w.calls[0]!.to)).toHaveLength(1);
  });

  it("a sender error pauses the mailbox with the reason, releases the reservation, and sending resumes after reconnecting", async () => {
    let broken = true;
    const w = track(
      await world({
        contacts: 3,
        answer: () =>
          broken ? { ok: false, kind: "sender", code: "535", message: "5.7.8 Authentication credentials invalid" } : { ok: true },
      }),
    );
    await runUntil(SIM_START + DAY);

    expect(w.calls).toHaveLength(1); // the mailbox stopped after the first refusal
    const mb = await env.DB.prepare("SELECT status, status_reason FROM mailboxes WHERE id = ?")
      .bind(w.mailboxId)
      .first<Pick<RawRow<typeof mailboxes>, "status" | "status_reason">>();
    expect(mb!.status).toBe("paused");
    expect(mb!.status_reason).toContain("535 5.7.8 Authentication credentials invalid");
    expect(await mailboxMessages(w.mailboxId)).toEqual([]);
    const ledger = await mailboxLedger(w.mailboxId);
    expect(ledger.queue.map((r) => [r.state, r.reserved_at])).toEqual([
      ["queued", null],
      ["queued", null],
      ["queued", null],
    ]);
    expect(ledger.alarm).toBeNull();
    expect(armedAlarms.has(`mailbox:${w.mailboxId}`)).toBe(false);
    const cap = await mailboxStub(env, w.mailboxId).usage(w.mailboxId);
    expect([cap.usedLast24h, cap.usedLastHour, cap.queued]).toEqual([0, 0, 3]);
    expect((await enrollmentsOf(w.sequenceId)).map((e) => [e.status, e.reason])).toEqual(Array(3).fill(["active", "queued_for_mailbox"]));

    broken = false;
    const resumedAt = now();
    await setMailboxStatus(w.mailboxId, "connected");
    await runUntil(resumedAt + HOUR);
    const sent = await mailboxMessages(w.mailboxId);
    expect(sent.map((m) => m.status)).toEqual(["sent", "sent", "sent"]);
    expect(sent.every((m) => m.sent_at! >= resumedAt)).toBe(true);
    expect((await enrollmentsOf(w.sequenceId)).map((e) => e.status)).toEqual(Array(3).fill("finished"));
  });

  it("a transient error is retried later with growing backoff; after the last retry the enrollment fails with send_failed", async () => {
    let flaky = "",
      dead = "";
    const w = track(
      await world({
        contacts: 2,
        steps: [{ wait: 0 }, { wait: 1 }],
        answer: (m, attempt) =>
          m.to === dead || (m.to === flaky && attempt === 1)
            ? { ok: false, kind: "transient", code: "421", message: "4.7.0 try again later" }
            : { ok: true },
      }),
    );
    [flaky, dead] = w.emails as [string, string];
    const [f, d] = w.contactIds as [string, string];
    await runUntil(SIM_START + 5 * DAY);

    // The flaky one: a second attempt a while later, not immediately, then sent once; its sequence goes on.
    const flakyStep1 = attemptsOf(w.calls, flaky).filter((c) => c.messageId === attemptsOf(w.calls, flaky)[0]!.messageId);
    expect(flakyStep1).toHaveLength(2);
    expect(flakyStep1[1]!.at - flakyStep1[0]!.at).toBeGreaterThanOrEqual(MIN);
    expect((await messagesOf(f)).map((m) => [m.position, m.status])).toEqual([
      [1, "sent"],
      [2, "sent"],
    ]);
    expect((await messagesOf(f))[0]!.sent_at).toBe(flakyStep1[1]!.at);

    // The dead one: retried with growing gaps, then given up with a reason; step 2 never attempted.
    const deadCalls = attemptsOf(w.calls, dead);
    expect(new Set(deadCalls.map((c) => c.messageId)).size).toBe(1);
    expect(deadCalls.length).toBeGreaterThanOrEqual(3);
    const gaps = deadCalls.slice(1).map((c, i) => c.at - deadCalls[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(MIN);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThan(gaps[i - 1]!);
    expect(await enrollmentOf(d)).toMatchObject({ status: "failed", reason: "send_failed" });
    expect(await messagesOf(d)).toEqual([]); // certainly never sent: no message row
    const row = (await mailboxLedger(w.mailboxId)).queue.find((r) => r.contact_id === d)!;
    expect([row.state, row.reserved_at]).toEqual(["failed", null]); // nothing went out: no capacity held
    const cap = await mailboxStub(env, w.mailboxId).usage(w.mailboxId);
    expect(cap.usedLast24h).toBe(0); // five days later: only the flaky contact's sends ever counted, and they aged out
  });

  it("a transport that can't be opened (an SMTP password that won't unseal) is retried later, never recorded as delivery unknown", async () => {
    const w = track(await world({ contacts: 1 }));
    const [c] = w.contactIds as [string];
    // Nothing can be sent: the transport fails before any server is reached.
    setTransportOverride(w.mailboxId, null);
    await env.DB.prepare(
      `UPDATE mailboxes SET transport = 'smtp', transport_config = '{"host":"127.0.0.1","port":1,"security":"none","username":"u"}',
         secret_ciphertext = 'not-a-sealed-secret' WHERE id = ?`,
    )
      .bind(w.mailboxId)
      .run();
    await runUntil(SIM_START + 3 * MIN);
    const row = (await mailboxLedger(w.mailboxId)).queue.find((r) => r.contact_id === c)!;
    // Certainly not sent: queued again for a later try, no capacity held, no message, the enrollment still on step 1.
    expect([row.state, row.reserved_at]).toEqual(["queued", null]);
    expect(row.next_attempt_at).toBeGreaterThan(SIM_START);
    expect(row.error).toMatch(/^Could not open the mailbox's transport: /);
    expect(await messagesOf(c)).toEqual([]);
    expect(await enrollmentOf(c)).toMatchObject({ status: "active", current_step: 1 });
    // Working again: the email goes out once.
    const calls = recordingTransport(w.mailboxId);
    await runUntil(SIM_START + 2 * HOUR);
    expect(calls).toHaveLength(1);
    expect((await messagesOf(c)).map((m) => m.status)).toEqual(["sent"]);
  });

  it("a contact who unsubscribes, or whose address is suppressed, after the email was queued is not emailed", async () => {
    const w = track(await world({ schedule: true, contacts: 3, steps: [{ wait: 0 }, { wait: 1 }] }));
    const [u, s, ok] = w.contactIds as [string, string, string];
    await runUntil(SIM_START + HOUR); // Sunday evening in New York: queued for Monday's window
    expect((await mailboxLedger(w.mailboxId)).queue.map((r) => r.state)).toEqual(["queued", "queued", "queued"]);
    expect((await enrollmentsOf(w.sequenceId)).map((e) => e.reason)).toEqual(Array(3).fill("queued_for_mailbox"));

    await env.DB.prepare("UPDATE contacts SET unsubscribed_at = ? WHERE id = ?").bind(now(), u).run();
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, ?, 'manual', 'manual', ?)",
    )
      .bind(`supp-${s}`, w.teamId, w.emails[1]!.toLowerCase(), now())
      .run();
    await runUntil(SIM_START + 5 * DAY);

    expect(await messagesOf(u)).toEqual([]);
    expect(await messagesOf(s)).toEqual([]);
    expect(attemptsOf(w.calls, w.emails[0]!).length + attemptsOf(w.calls, w.emails[1]!).length).toBe(0);
    expect(await enrollmentOf(u)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    expect(await enrollmentOf(s)).toMatchObject({ status: "finished", reason: "suppressed" });
    expect((await messagesOf(ok)).map((m) => m.status)).toEqual(["sent", "sent"]);
    const ledger = (await mailboxLedger(w.mailboxId)).queue;
    expect(ledger.filter((r) => r.contact_id === u || r.contact_id === s).map((r) => [r.state, r.reserved_at])).toEqual([
      ["cancelled", null],
      ["cancelled", null],
    ]);
  });

  it("a contact who unsubscribes after the batch's context was read is not emailed, first email of the batch included", async () => {
    const w = track(await world({ schedule: true, contacts: 1 }));
    const [c] = w.contactIds as [string];
    await runUntil(SIM_START + HOUR); // queued for Monday's window
    // Right after the mailbox read the batch's context (its one D1 read before composing and claiming), the contact opts out.
    const dbProto = Object.getPrototypeOf(env.DB) as { batch: (s: { statement: string }[]) => Promise<unknown> };
    const batch = dbProto.batch;
    let fired = false;
    dbProto.batch = async function (this: unknown, stmts: { statement: string }[]) {
      const r = await batch.call(this, stmts);
      if (!fired && stmts.some((q) => /FROM mailboxes WHERE id = \?/.test(q.statement))) {
        fired = true;
        await env.DB.prepare("UPDATE contacts SET unsubscribed_at = ? WHERE id = ?").bind(now(), c).run();
      }
      return r;
    };
    try {
      await runUntil(MONDAY_9AM_NY + HOUR);
    } finally {
      dbProto.batch = batch;
    }
    expect(fired).toBe(true);
    expect(w.calls).toEqual([]);
    expect(await messagesOf(c)).toEqual([]);
    expect(await enrollmentOf(c)).toMatchObject({ status: "finished", reason: "unsubscribed" });
  });

  it("a sequence turned off while its emails wait in the mailbox holds them (sequence_inactive) and turning it on sends them", async () => {
    const w = track(await world({ schedule: true, contacts: 3, steps: [{ wait: 0 }, { wait: 1 }] }));
    await runUntil(SIM_START + HOUR); // queued for Monday 09:00 in New York
    await env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(w.sequenceId).run();
    await runUntil(MONDAY_9AM_NY + 2 * DAY);

    expect(await sentMessages(w.sequenceId)).toEqual([]);
    expect(w.calls).toEqual([]);
    expect((await enrollmentsOf(w.sequenceId)).map((e) => [e.status, e.reason])).toEqual(Array(3).fill(["held", "sequence_inactive"]));

    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(w.sequenceId).run();
    const activatedAt = now();
    expect(await sequenceStub(env, w.sequenceId).activate(w.sequenceId, w.teamId)).toBe(3);
    await runUntil(activatedAt + 5 * DAY);
    const sent = await sentMessages(w.sequenceId);
    expect(sent.map((m) => m.position).sort()).toEqual([1, 1, 1, 2, 2, 2]);
    expect(sent.every((m) => m.sent_at! >= activatedAt)).toBe(true);
    expect(new Set(w.calls.map((c) => c.messageId)).size).toBe(w.calls.length);
    expect((await enrollmentsOf(w.sequenceId)).map((e) => [e.status, e.reason])).toEqual(
      Array(3).fill(["finished", "completed_all_steps"]),
    );
  });

  it("a sequence turned off while enrollments wait for their next step holds them when it falls due, and they continue when it is on", async () => {
    const w = track(await world({ contacts: 3, steps: [{ wait: 0 }, { wait: 2 }] }));
    await runUntil(SIM_START + HOUR);
    expect((await sentMessages(w.sequenceId)).map((m) => m.position)).toEqual([1, 1, 1]);
    await env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(w.sequenceId).run();
    await runUntil(SIM_START + 4 * DAY);

    expect(await sentMessages(w.sequenceId)).toHaveLength(3);
    expect((await enrollmentsOf(w.sequenceId)).map((e) => [e.status, e.reason, e.current_step])).toEqual(
      Array(3).fill(["held", "sequence_inactive", 2]),
    );
    expect((await sequenceState(w.sequenceId)).timers).toEqual([]);

    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(w.sequenceId).run();
    const activatedAt = now();
    await sequenceStub(env, w.sequenceId).activate(w.sequenceId, w.teamId);
    await runUntil(activatedAt + DAY);
    const sent = await sentMessages(w.sequenceId);
    expect(sent.map((m) => m.position)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(sent.slice(3).every((m) => m.sent_at! >= activatedAt)).toBe(true);
    expect((await enrollmentsOf(w.sequenceId)).map((e) => e.status)).toEqual(Array(3).fill("finished"));
  });

  it("a step toggled off before it falls due is skipped, and the next step still goes out after its own wait", async () => {
    const w = track(await world({ steps: [{ wait: 0 }, { wait: 1 }, { wait: 3 }] }));
    await runUntil(SIM_START + HOUR);
    await env.DB.prepare("UPDATE steps SET enabled = 0 WHERE id = ?").bind(w.stepIds[1]).run();
    await runUntil(SIM_START + 10 * DAY);

    const ms = await messagesOf(w.contactIds[0]!);
    expect(ms.map((m) => m.position)).toEqual([1, 3]);
    // Invariant 2 for the step that is now next: its wait counts from the last step done.
    expect(ms[1]!.sent_at).toBeGreaterThanOrEqual(addWait(ms[0]!.sent_at!, 3, "days", false, ALWAYS_OPEN));
    expect(await enrollmentOf(w.contactIds[0]!)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("a manual step opens a task and waits for it (task_open); completing it advances to the next step", async () => {
    const w = track(
      await world({
        steps: [
          { type: "call", wait: 0 },
          { wait: 1, unit: "hours" },
        ],
      }),
    );
    const c = w.contactIds[0]!;
    await runUntil(SIM_START + 3 * DAY);

    const tasks = (await env.DB.prepare("SELECT * FROM tasks WHERE contact_id = ?").bind(c).all<RawRow<typeof taskTable>>()).results;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      type: "call",
      status: "open",
      assignee_id: w.userId,
      step_id: w.stepIds[0],
      due_at: SIM_START,
      sequence_id: w.sequenceId,
    });
    const e = await enrollmentOf(c);
    expect(e).toMatchObject({ status: "active", reason: "task_open", current_step: 1 });
    expect(await messagesOf(c)).toEqual([]);

    const doneAt = now();
    await sequenceStub(env, w.sequenceId).stepsDone(w.sequenceId, w.teamId, [
      { enrollmentId: e.id, stepId: w.stepIds[0]!, outcome: "completed", at: doneAt },
    ]);
    expect(await enrollmentOf(c)).toMatchObject({
      status: "active",
      reason: "waiting_for_step",
      current_step: 2,
      next_due_at: doneAt + HOUR,
    });
    await runUntil(doneAt + DAY);
    const ms = await messagesOf(c);
    expect(ms.map((m) => [m.position, m.status])).toEqual([[2, "sent"]]);
    expect(ms[0]!.sent_at).toBeGreaterThanOrEqual(doneAt + HOUR);
    expect(await enrollmentOf(c)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("when a day has room for only some emails, higher-scored contacts go first", async () => {
    const scores = [12, 95, 40, 3, 77, 58, 21, 88, 66, 30, 49, 81, 7, 70, 35];
    const w = track(await world({ schedule: true, scores, mailbox: { daily: 5, hourly: 5, gapSeconds: 60 } }));
    await runUntil(MONDAY_9AM_NY + 4 * DAY);

    const sent = await mailboxMessages(w.mailboxId);
    expect(sent).toHaveLength(15);
    const scoreOf = new Map(w.contactIds.map((id, i) => [id, scores[i]!]));
    expect(sent.map((m) => scoreOf.get(m.contact_id))).toEqual([...scores].sort((a, b) => b - a));
    // Five a day: Monday, Tuesday, Wednesday.
    const day = (t: number) => Math.floor((t - MONDAY_9AM_NY) / DAY);
    expect(sent.map((m) => day(m.sent_at!))).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  });

  it("a crash in the middle of a send leaves the email unknown after restart: recorded, reported, never resent", async () => {
    let crash: (() => Promise<void>) | null = null;
    const w = track(
      await world({
        steps: [{ wait: 0 }, { wait: 1 }],
        answer: async () => {
          // The server has the message; before its reply arrives the object is torn down.
          if (crash) await crash();
          return { ok: true };
        },
      }),
    );
    const mb = mailboxStub(env, w.mailboxId);
    // The crash: DurableObjectState.abort() from inside the transport call resets the object; storage stays.
    // A real transport only reaches the network once the reservation is durable (the output gate holds
    // outgoing connections until pending writes are stored); this in-process one waits for that itself.
    await runInDurableObject(mb, (_o, state) => {
      crash = async () => {
        crash = null;
        await state.storage.sync();
        state.abort("simulated crash mid-send");
      };
    });
    expect(await runUntil(SIM_START).catch((e) => String(e))).toBe("Error: simulated crash mid-send");
    expect(w.calls).toHaveLength(1);

    // A fresh instance finds a send that was started and never settled.
    const mid = await mailboxLedger(w.mailboxId);
    expect(mid.queue.map((r) => [r.state, r.reserved_at])).toEqual([["sending", SIM_START]]);
    // The runtime retries an alarm whose handler did not finish (the old stub is broken: a new one reaches the new instance).
    await runInDurableObject(mailboxStub(env, w.mailboxId), (o) => o.alarm());
    const row = (await mailboxLedger(w.mailboxId)).queue[0]!;
    expect(row).toMatchObject({ state: "unknown", reason: "delivery_unknown", reported: 1, reserved_at: SIM_START });
    expect((await messagesOf(w.contactIds[0]!)).map((m) => [m.position, m.status, m.sent_at])).toEqual([[1, "unknown", SIM_START]]);
    // The report reaches D1's enrollments with the sequence's next mirror write (MIRROR_SOON_MS), not in a call of its own.
    expect(await enrollmentOf(w.contactIds[0]!)).toMatchObject({ status: "active", current_step: 1 });
    await runUntil(SIM_START + MIRROR_SOON_MS);
    expect(await enrollmentOf(w.contactIds[0]!)).toMatchObject({ status: "active", current_step: 2, reason: "waiting_for_step" });

    await runUntil(SIM_START + 5 * DAY);
    const step1 = w.calls.filter((c) => c.messageId === w.calls[0]!.messageId);
    expect(step1).toHaveLength(1); // never resent
    expect((await messagesOf(w.contactIds[0]!)).map((m) => [m.position, m.status])).toEqual([
      [1, "unknown"],
      [2, "sent"],
    ]);
    expect(await enrollmentOf(w.contactIds[0]!)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });
});
