// A x.4.x / x.7.x bounce is a policy or routing refusal of the sender (retried, never suppressing)
// unless the server's words name the recipient: Exchange Online answers a nonexistent address
// "550 5.4.1 Recipient address rejected: Access denied", many servers "550 5.7.1 … User unknown".
// Read as blocks, dead addresses were retried and never suppressed.
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

/** An RFC 3464 report for `m` with `status` and the server's `diagnostic`. */
const report = (m: Sent, status: string, diagnostic: string) =>
  `From: Mail Delivery System <MAILER-DAEMON@mx.test>\r\nTo: sender@x.test\r\nSubject: Undeliverable: ${m.subject}\r\nMessage-ID: <d-${crypto.randomUUID()}@mx.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nDelivery has failed to these recipients or groups.\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822;${m.to_email}\r\nAction: failed\r\nStatus: ${status}\r\nDiagnostic-Code: smtp; ${diagnostic}\r\n--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: ${m.message_id_header}\r\nSubject: ${m.subject}\r\n--b1--\r\n`;

/** A report without a DSN part, quoting the server's reply ("Remote host said: …"). */
const qmail = (m: Sent, said: string) =>
  `From: MAILER-DAEMON@mx.qmailhost.test\r\nTo: sender@x.test\r\nSubject: failure notice\r\nMessage-ID: <q-${crypto.randomUUID()}@mx.test>\r\nContent-Type: text/plain\r\n\r\nI'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n<${m.to_email}>:\r\nRemote host said: ${said}\r\n\r\n--- Below this line is a copy of the message.\r\n\r\nMessage-ID: ${m.message_id_header}\r\nSubject: ${m.subject}\r\n`;

describe("a blocked-looking bounce whose words name the recipient", () => {
  beforeEach(() => startSimulation());

  it.each([
    // [status, diagnostic, kind, rule]
    [
      "5.4.1",
      "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [BN8NAM12FT047.eop-nam12.prod.protection.outlook.com]",
      "bounce_hard",
      "dsn_status",
    ],
    ["5.7.1", "550 5.7.1 <kyle.dubois@acme.test>... User unknown", "bounce_hard", "dsn_status"],
    ["5.7.1", "550 5.7.1 Requested action not taken: mailbox unavailable", "bounce_hard", "dsn_status"],
    ["5.7.1", "550 5.7.1 The email account that you tried to reach does not exist", "bounce_hard", "dsn_status"],
    ["5.4.1", "550 5.4.1 Invalid recipient", "bounce_hard", "dsn_status"],
    ["5.7.1", "550 5.7.1 No such user here", "bounce_hard", "dsn_status"],
    ["5.7.1", "554 5.7.1 Address not found", "bounce_hard", "dsn_status"],
    // Still blocks: the sender is refused, every address at that provider gets the same.
    ["5.7.1", "554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org", "bounce_soft", "dsn_blocked"],
    [
      "5.7.26",
      "550 5.7.26 Unauthenticated email from sender.test is not accepted due to domain's DMARC policy",
      "bounce_soft",
      "dsn_blocked",
    ],
    ["5.4.6", "554 5.4.6 Hop count exceeded - possible mail loop", "bounce_soft", "dsn_blocked"],
  ])("DSN %s %s → %s", async (status, diagnostic, kind, rule) => {
    expect(await classifyInbound(report(sentM, status, diagnostic), t)).toMatchObject({
      kind,
      bounceStatus: status,
      evidence: { rule, status },
    });
  });

  it.each([
    ["550 5.4.1 Recipient address rejected: Access denied", "bounce_hard", "smtp_reply_in_report"],
    ["550 5.7.1 User unknown in virtual mailbox table", "bounce_hard", "smtp_reply_in_report"],
    ["554 5.7.1 Client host blocked using bl.example", "bounce_soft", "dsn_blocked"],
  ])("a report without a DSN part quoting %s → %s", async (said, kind, rule) => {
    expect(await classifyInbound(qmail(sentM, said), t)).toMatchObject({ kind, evidence: { rule } });
  });

  it("a diagnostic folded over two lines is read whole", async () => {
    const c = await classifyInbound(report(sentM, "5.7.1", "550 5.7.1 Delivery not authorized,\r\n    user unknown"), t);
    expect(c).toMatchObject({ kind: "bounce_hard", evidence: { rule: "dsn_status" } });
  });

  it("through the email() handler the address is suppressed and the run ends bounced, on the first report", async () => {
    const s = await sentFirst();
    const r = await handleInbound(env, report(s.m, "5.4.1", "550 5.4.1 Recipient address rejected: Access denied"));
    expect(r).toMatchObject({ kind: "bounce_hard", enrollmentId: s.m.enrollment_id });
    const sup = await env.DB.prepare("SELECT reason FROM suppressions WHERE team_id = ? AND email = lower(?)")
      .bind(s.teamId, s.m.to_email)
      .all();
    expect(sup.results).toEqual([{ reason: "bounced" }]);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "bounced" });
    expect(await env.DB.prepare("SELECT status FROM messages WHERE id = ?").bind(s.m.id).first()).toEqual({ status: "bounced" });
  });
});
