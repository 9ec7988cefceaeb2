import { beforeEach, describe, expect, it } from "vitest";
import { advanceClock, now } from "../../worker/lib/clock";
import { handleInbound } from "../../worker/inbound";
import { engine } from "../../durable-objects/engine";
import { db } from "../../worker/db/client";
import { recordInbound, UNAPPLIED_AFTER_MS } from "../../worker/services/replies";
import { classifyInbound, returnDate } from "../../worker/services/reply-classify";
import type { contacts, enrollments, messages, suppressions } from "../../worker/db/schema";
import { crashAt } from "../crash";
import { client, env, ok, type RawRow } from "../helpers";
import { sentFirst as mailSentFirst } from "./mail";
import { DAY, HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, startSimulation } from "../fixtures";

type Message = RawRow<typeof messages>;
type EnrollmentState = Pick<RawRow<typeof enrollments>, "status" | "reason">;

/** A sequence with two emails a day apart; returns the first sent email. */
async function sentFirst() {
  const { teamId, userId } = await makeTeam();
  await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Replied', 'in_progress', 2)")
    .bind(`${teamId}-replied`, teamId)
    .run();
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
  const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
  const [contactId] = await makeContacts(teamId, 1);
  await enroll(teamId, sequenceId, [contactId!], [mb]);
  await runUntil(now() + HOUR);
  const m = (await env.DB.prepare("SELECT * FROM messages WHERE sequence_id = ?").bind(sequenceId).first<Message>())!;
  return { teamId, sequenceId, contactId: contactId!, m };
}

const reply = (m: Message, extra = "", subject = `Re: ${m.subject}`, body = "Sounds good, let's talk Tuesday.") =>
  `From: Prospect <${m.to_email}>\r\nTo: sender@x.test\r\nSubject: ${subject}\r\nMessage-ID: <r-${crypto.randomUUID()}@mail.test>\r\nIn-Reply-To: ${m.message_id_header}\r\nReferences: ${m.message_id_header}\r\n${extra}Content-Type: text/plain\r\n\r\n${body}\r\n`;

describe("inbound email", () => {
  beforeEach(() => startSimulation());

  it("a reply finishes the enrollment with reason 'replied', moves the contact to Replied, and stops later steps", async () => {
    const { teamId, sequenceId, contactId, m } = await sentFirst();
    const r = await handleInbound(env, reply(m));
    expect(r).toMatchObject({ kind: "reply", enrollmentId: m.enrollment_id });
    expect(
      await env.DB.prepare("SELECT status, reason FROM enrollments WHERE id = ?").bind(m.enrollment_id).first<EnrollmentState>(),
    ).toEqual({
      status: "finished",
      reason: "replied",
    });
    expect(
      (await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?")
        .bind(contactId)
        .first<Pick<RawRow<typeof contacts>, "stage_id">>())!.stage_id,
    ).toBe(`${teamId}-replied`);
    await runUntil(now() + 3 * DAY);
    expect((await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n).toBe(
      1,
    );
  });

  it("a reply stored but not acted on (the handler died after storing it) is acted on when it comes again", async () => {
    const { sequenceId, m } = await sentFirst();
    const raw = reply(m);
    // The inbound row is the first write; the handler dies on the next one.
    await expect(handleInbound(crashAt(env, 1), raw)).rejects.toThrow(/replied_at/);
    expect(await env.DB.prepare("SELECT effect FROM inbound_messages WHERE message_id = ?").bind(m.id).first()).toEqual({ effect: "{}" });
    // A repeat while the first handler may still be at work leaves it to that one; a later one applies it.
    expect(await handleInbound(env, raw)).toMatchObject({ duplicate: true });
    expect(await env.DB.prepare("SELECT status FROM enrollments WHERE id = ?").bind(m.enrollment_id).first()).toEqual({ status: "active" });
    advanceClock(UNAPPLIED_AFTER_MS + 1000);
    expect(await handleInbound(env, raw)).toMatchObject({ kind: "reply", enrollmentId: m.enrollment_id });
    expect(await env.DB.prepare("SELECT status, reason FROM enrollments WHERE id = ?").bind(m.enrollment_id).first()).toEqual({
      status: "finished",
      reason: "replied",
    });
    // Applied once: a third delivery is a duplicate that changes nothing.
    expect(await handleInbound(env, raw)).toMatchObject({ duplicate: true });
    await runUntil(now() + 3 * DAY);
    expect((await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n).toBe(
      1,
    );
  });

  it("a polled inbox acts only on answers to its own emails, never on another mailbox's (another team's)", async () => {
    const { m } = await sentFirst();
    const c = await classifyInbound(reply(m), now());
    expect(await recordInbound(env, db(env.DB), c, now(), "0f0000000000000000000999")).toMatchObject({ kind: "ignored" });
    expect(await env.DB.prepare("SELECT count(*) n FROM inbound_messages WHERE message_id = ?").bind(m.id).first()).toEqual({ n: 0 });
    expect(await recordInbound(env, db(env.DB), c, now(), m.mailbox_id)).toMatchObject({ kind: "reply", enrollmentId: m.enrollment_id });
  });

  it("a reply to an email sent before the contact was moved stops the sequence they were moved to", async () => {
    const s = await mailSentFirst({ waits: [0, 1, 1] });
    const { sequenceId: target } = await makeSequence(
      s.teamId,
      s.userId,
      [
        { wait: 1, unit: "days" },
        { wait: 1, unit: "days" },
      ],
      null,
    );
    const api = client(s.session).api;
    const moved = await ok(
      api.sequences[":id"].enrollments[":action"].$post({
        param: { id: s.sequenceId, action: "move" },
        json: { enrollment_ids: [s.m.enrollment_id], to_sequence_id: target, mailbox_ids: [s.mailboxId] },
      }),
    );
    expect(moved.outcomes).toEqual({ moved: 1 });
    const run = () => env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?").bind(target).first<EnrollmentState>();
    for (let i = 0; i < 50 && (await run())?.status !== "active"; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await run()).toMatchObject({ status: "active" });
    const r = await handleInbound(env, reply({ ...s.m } as unknown as Message));
    expect(r.kind).toBe("reply");
    expect(await run()).toEqual({ status: "finished", reason: "replied" });
    await runUntil(now() + 5 * DAY);
    expect((await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(target).first<{ n: number }>())!.n).toBe(0);
  });

  it("a reply to an earlier run's email stops the contact's run in that sequence now (restarted since)", async () => {
    const { teamId, sequenceId, m } = await sentFirst();
    // Restarted after the first email: the old run is closed, a new one is on step 1 again.
    const [r] = await engine.sequence(env, sequenceId, teamId).restart([m.enrollment_id], null, null);
    expect(r).toMatchObject({ outcome: "restarted" });
    await handleInbound(env, reply(m));
    expect(await env.DB.prepare("SELECT status, reason FROM enrollments WHERE id = ?").bind(r!.newId).first<EnrollmentState>()).toEqual({
      status: "finished",
      reason: "replied",
    });
    // Nothing more goes to the contact who answered.
    await runUntil(now() + 3 * DAY);
    expect((await env.DB.prepare("SELECT count(*) n FROM messages WHERE enrollment_id = ?").bind(r!.newId).first<{ n: number }>())!.n).toBe(
      0,
    );
  });

  it("an out-of-office answer pauses until the return date, then the next step goes out", async () => {
    const { sequenceId, m } = await sentFirst();
    const back = new Date(now() + 5 * DAY);
    const date = back.toISOString().slice(0, 10);
    const r = await handleInbound(env, reply(m, "Auto-Submitted: auto-replied\r\n", "Out of office", `I'm away, back on ${date}.`));
    expect(r.kind).toBe("out_of_office");
    expect(r.resumeAt).toBe(Date.parse(`${date} 09:00 UTC`));
    expect(
      await env.DB.prepare("SELECT status, reason FROM enrollments WHERE id = ?").bind(m.enrollment_id).first<EnrollmentState>(),
    ).toEqual({
      status: "paused",
      reason: "out_of_office",
    });
    await runUntil(now() + 4 * DAY);
    expect((await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n).toBe(
      1,
    );
    await runUntil(now() + 3 * DAY);
    expect((await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n).toBe(
      2,
    );
    const second = await env.DB.prepare("SELECT sent_at FROM messages WHERE sequence_id = ? ORDER BY sent_at DESC")
      .bind(sequenceId)
      .first<Pick<Message, "sent_at">>();
    expect(second!.sent_at).toBeGreaterThanOrEqual(r.resumeAt!);
  });

  it("a bounce report marks the email and contact bounced and suppresses the address", async () => {
    const { teamId, contactId, m } = await sentFirst();
    const dsn = `From: Mail Delivery System <MAILER-DAEMON@mx.test>\r\nTo: sender@x.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; ${m.to_email}\r\nAction: failed\r\nStatus: 5.1.1\r\n--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: ${m.message_id_header}\r\nSubject: ${m.subject}\r\n--b1--\r\n`;
    expect((await handleInbound(env, dsn)).kind).toBe("bounce_hard");
    expect((await env.DB.prepare("SELECT status FROM messages WHERE id = ?").bind(m.id).first<Pick<Message, "status">>())!.status).toBe(
      "bounced",
    );
    expect(
      (await env.DB.prepare("SELECT bounced_at FROM contacts WHERE id = ?")
        .bind(contactId)
        .first<Pick<RawRow<typeof contacts>, "bounced_at">>())!.bounced_at,
    ).toBeGreaterThan(0);
    expect(
      (await env.DB.prepare("SELECT reason FROM suppressions WHERE team_id = ? AND email = lower(?)")
        .bind(teamId, m.to_email)
        .first<Pick<RawRow<typeof suppressions>, "reason">>())!.reason,
    ).toBe("bounced");
    expect(
      await env.DB.prepare("SELECT status, reason FROM enrollments WHERE id = ?").bind(m.enrollment_id).first<EnrollmentState>(),
    ).toEqual({
      status: "finished",
      reason: "bounced",
    });
  });

  it("ignores mail that doesn't answer one of our emails, and delay reports (4.x.x)", async () => {
    // Not from a contact the receiving mailbox emails: nothing matches it by sender either.
    const s = await mailSentFirst();
    const to = (await env.DB.prepare("SELECT email FROM mailboxes WHERE id = ?").bind(s.mailboxId).first<{ email: string }>())!.email;
    expect((await handleInbound(env, "From: a@b.test\r\nSubject: hello\r\n\r\nhi", to)).kind).toBe("ignored");
    const delay = `From: MAILER-DAEMON@mx.test\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 4.4.1\r\nMessage-ID: <sf.${"a".repeat(24)}.${"b".repeat(24)}@x.test>\r\n--b--\r\n`;
    expect((await classifyInbound(delay, now())).kind).toBe("ignored");
  });

  it("reads return dates in common phrasings", () => {
    const t = Date.UTC(2027, 2, 1);
    expect(returnDate("I will be back on March 8", t)).toBe(Date.UTC(2027, 2, 8, 9));
    expect(returnDate("Returning 2027-03-15.", t)).toBe(Date.UTC(2027, 2, 15, 9));
    expect(returnDate("Out until Monday, March 10, 2027", t)).toBe(Date.UTC(2027, 2, 10, 9));
    expect(returnDate("no date here", t)).toBeNull();
  });
});
