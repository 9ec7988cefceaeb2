// Delivery reports as real mail servers write them: whose address failed, and why.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { classifyInbound } from "../../worker/services/reply-classify";
import { startSimulation } from "../fixtures";
import { env } from "../helpers";
import { enrollmentRow, sentFirst, type Sent } from "./mail";

const t = Date.UTC(2027, 2, 1);
const sentM: Sent = {
  id: "m1",
  enrollment_id: "e1",
  contact_id: "c1",
  to_email: "kyle.dubois@acme.test",
  subject: "Quick question",
  message_id_header: `<sf.${"a".repeat(24)}.${"b".repeat(24)}@sender.test>`,
};

/** A Postfix-style RFC 3464 report for `m`, about `finalRecipient`, with the returned headers of our email. */
const report = (m: Sent, o: { status: string; finalRecipient?: string; originalRecipient?: string; diagnostic?: string }) =>
  `From: Mail Delivery System <MAILER-DAEMON@mx.oldhost.test>\r\nTo: sender@x.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <d-${crypto.randomUUID()}@mx.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.oldhost.test.\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.oldhost.test\r\n\r\n${o.originalRecipient ? `Original-Recipient: rfc822;${o.originalRecipient}\r\n` : ""}Final-Recipient: rfc822;${o.finalRecipient ?? m.to_email}\r\nAction: failed\r\nStatus: ${o.status}\r\nDiagnostic-Code: smtp; ${o.diagnostic ?? `550 ${o.status} User unknown`}\r\n--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: Sam <sam@sender.test>\r\nTo: Kyle <${m.to_email}>\r\nMessage-ID: ${m.message_id_header}\r\nSubject: ${m.subject}\r\n--b1--\r\n`;

const contactState = (id: string) =>
  env.DB.prepare("SELECT bounced_at FROM contacts WHERE id = ?").bind(id).first<{ bounced_at: number | null }>();
const suppressed = (teamId: string, email: string) =>
  env.DB.prepare("SELECT count(*) n FROM suppressions WHERE team_id = ? AND email = lower(?)").bind(teamId, email).first<{ n: number }>();

describe("bounce reports", () => {
  beforeEach(() => startSimulation());

  it("a report about the address ours forwards to is kept without marking or suppressing the contact", async () => {
    const c = await classifyInbound(report(sentM, { status: "5.1.1", finalRecipient: "kyle.personal@oldhost.test" }), t);
    expect(c).toMatchObject({
      kind: "auto_reply",
      ids: [sentM.message_id_header],
      bounceStatus: "5.1.1",
      evidence: {
        rule: "forwarded_copy_bounced",
        header: "Final-Recipient: kyle.personal@oldhost.test",
        phrase: "sent to kyle.dubois@acme.test",
      },
    });
    // Original-Recipient, when the report gives it, is the address we sent to.
    const orig = await classifyInbound(
      report(sentM, { status: "5.1.1", finalRecipient: "kyle.personal@oldhost.test", originalRecipient: "kyle.dubois@acme.test" }),
      t,
    );
    expect(orig.evidence.rule).toBe("forwarded_copy_bounced");
    // The same report about the address itself (any case) is still a hard bounce.
    const own = await classifyInbound(report(sentM, { status: "5.1.1", finalRecipient: "Kyle.Dubois@ACME.test" }), t);
    expect(own).toMatchObject({ kind: "bounce_hard", evidence: { rule: "dsn_status" } });

    // Through the email() handler: stored, the contact neither bounced nor suppressed, the run going on.
    const s = await sentFirst({ emails: () => "kyle.dubois@acme.test" });
    const r = await handleInbound(env, report(s.m, { status: "5.1.1", finalRecipient: "kyle.personal@oldhost.test" }));
    expect(r).toMatchObject({ kind: "auto_reply", enrollmentId: s.m.enrollment_id });
    expect(
      await env.DB.prepare("SELECT classification, bounce_status, json_extract(evidence, '$.rule') rule FROM inbound_messages WHERE id = ?")
        .bind(r.inboundId)
        .first(),
    ).toEqual({ classification: "auto_reply", bounce_status: "5.1.1", rule: "forwarded_copy_bounced" });
    expect((await contactState(s.contactIds[0]!))!.bounced_at).toBeNull();
    expect((await suppressed(s.teamId, "kyle.dubois@acme.test"))!.n).toBe(0);
    expect((await enrollmentRow(s.m.enrollment_id))!.status).not.toBe("finished");
    expect((await env.DB.prepare("SELECT status FROM messages WHERE id = ?").bind(s.m.id).first<{ status: string }>())!.status).toBe(
      "sent",
    );
  });

  it("a policy or routing refusal (5.7.x, 5.4.x) is retried like a soft bounce, the address not suppressed", async () => {
    for (const [status, diagnostic] of [
      ["5.7.1", "554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org"],
      ["5.7.26", "550 5.7.26 Unauthenticated email from sender.test is not accepted due to domain's DMARC policy"],
      ["5.4.6", "554 5.4.6 Hop count exceeded - possible mail loop"],
    ])
      expect(await classifyInbound(report(sentM, { status: status!, diagnostic }), t), status).toMatchObject({
        kind: "bounce_soft",
        bounceStatus: status,
        evidence: { rule: "dsn_blocked", status },
      });
    expect((await classifyInbound(report(sentM, { status: "5.1.1" }), t)).kind).toBe("bounce_hard");

    const s = await sentFirst();
    const r = await handleInbound(env, report(s.m, { status: "5.7.1", diagnostic: "554 5.7.1 Client host blocked" }));
    expect(r).toMatchObject({ kind: "bounce_soft", enrollmentId: s.m.enrollment_id });
    const row = await env.DB.prepare("SELECT classification, retry_attempt, retry_at FROM inbound_messages WHERE id = ?")
      .bind(r.inboundId)
      .first<{ classification: string; retry_attempt: number; retry_at: number | null }>();
    expect(row).toMatchObject({ classification: "bounce_soft", retry_attempt: 1 });
    expect(row!.retry_at).not.toBeNull();
    expect((await contactState(s.contactIds[0]!))!.bounced_at).toBeNull();
    expect((await suppressed(s.teamId, s.m.to_email))!.n).toBe(0);
    expect((await env.DB.prepare("SELECT status FROM messages WHERE id = ?").bind(s.m.id).first<{ status: string }>())!.status).toBe(
      "sent",
    );
  });

  it("a report without a DSN part is read from its own text, not from the copy of our email it returns", async () => {
    const qmail = (m: Sent, said: string, ourBody: string) =>
      `From: MAILER-DAEMON@mx.qmailhost.test\r\nTo: sender@x.test\r\nSubject: failure notice\r\nMessage-ID: <q-${crypto.randomUUID()}@mx.test>\r\nContent-Type: text/plain\r\n\r\nHi. This is the qmail-send program at mx.qmailhost.test.\r\nI'm afraid I wasn't able to deliver your message to the following addresses.\r\nThis is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n<${m.to_email}>:\r\n203.0.113.5 failed after I sent the message.\r\nRemote host said: ${said}\r\n\r\n--- Below this line is a copy of the message.\r\n\r\nReturn-Path: <sam@sender.test>\r\nFrom: Sam <sam@sender.test>\r\nTo: ${m.to_email}\r\nMessage-ID: ${m.message_id_header}\r\nSubject: ${m.subject}\r\n\r\n${ourBody}\r\n`;
    const pitch = "Hi Ana,\r\n\r\n500 teams already use Seqflare to book meetings.\r\nStatus: 5.1.1 is what we show for a dead address.";
    const full = await classifyInbound(qmail(sentM, "452 4.2.2 The email account that you tried to reach is over quota.", pitch), t);
    expect(full).toMatchObject({
      kind: "bounce_soft",
      ids: [sentM.message_id_header],
      bounceStatus: "4.2.2",
      evidence: { rule: "smtp_reply_in_report", status: "4.2.2" },
    });
    expect(full.evidence.phrase).toContain("452 4.2.2");
    // A bare 4xx is soft, a 5xx with 5.1.1 hard, whatever our email said below.
    expect(await classifyInbound(qmail(sentM, "421 Too many connections, try later", pitch), t)).toMatchObject({
      kind: "bounce_soft",
      bounceStatus: "421",
    });
    expect(await classifyInbound(qmail(sentM, "550 5.1.1 <ana@acme.test>: Recipient address rejected", pitch), t)).toMatchObject({
      kind: "bounce_hard",
      bounceStatus: "5.1.1",
    });
    // Only our email's words: nothing in the report itself, so nothing is concluded.
    expect(await classifyInbound(qmail(sentM, "the remote server closed the connection", pitch), t)).toMatchObject({
      kind: "ignored",
      evidence: { rule: "report_without_status" },
    });
    // An Exim warning that it is still trying is a delay, not a bounce to retry.
    const warning = `From: Mail Delivery System <Mailer-Daemon@mx.test>\r\nTo: sender@x.test\r\nSubject: Warning: message delayed\r\nMessage-ID: <w-1@mx.test>\r\nContent-Type: text/plain\r\n\r\nThis message was created automatically by mail delivery software.\r\nA message that you sent has not yet been delivered to one or more of its recipients after more than 24 hours on the queue.\r\n\r\n  ${sentM.to_email}\r\n    host mx.acme.test said: 451 4.3.0 Temporary server error\r\n\r\nNo action is required on your part. Delivery attempts will continue for some time.\r\n\r\n------ This is a copy of the message's headers. ------\r\n\r\nMessage-ID: ${sentM.message_id_header}\r\n`;
    expect(await classifyInbound(warning, t)).toMatchObject({ kind: "ignored", evidence: { rule: "dsn_delayed" } });

    // Through the email() handler: a soft bounce, retried; the contact not marked.
    const s = await sentFirst();
    const r = await handleInbound(env, qmail(s.m, "452 4.2.2 mailbox full", pitch));
    expect(r).toMatchObject({ kind: "bounce_soft", enrollmentId: s.m.enrollment_id });
    expect((await contactState(s.contactIds[0]!))!.bounced_at).toBeNull();
    expect((await suppressed(s.teamId, s.m.to_email))!.n).toBe(0);
  });
});
