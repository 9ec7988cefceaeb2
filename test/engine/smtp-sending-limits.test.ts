// An SMTP server's answer that the account may send nothing for now is a sending limit (the MailboxDO holds
// the whole mailbox), never a bounce nor a per-email retry (worker/transports/smtp-classify.ts).
import { describe, expect, it } from "vitest";
import { classifySmtpReply, type SmtpStage } from "../../worker/transports/smtp";

describe("SMTP sending limits", () => {
  const cases: [SmtpStage, number, string, string][] = [
    // Gmail answers its daily limit at RCPT TO: read as a bounce, it suppressed the contact for good.
    [
      "rcpt",
      550,
      "5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852 - gsmtp",
      "rate_limited",
    ],
    ["body", 550, "5.4.5 Daily user sending quota exceeded. - gsmtp", "rate_limited"],
    [
      "mail",
      421,
      "4.7.28 Our system has detected an unusual rate of unsolicited mail; mail sent from your IP address has been temporarily rate limited",
      "rate_limited",
    ],
    ["body", 554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message", "rate_limited"],
    ["rcpt", 451, "4.7.1 Too many messages from this account, slow down", "rate_limited"],
    // Not limits: one recipient, one message, or the connection.
    ["rcpt", 452, "4.5.3 Too many recipients", "transient"],
    ["mail", 552, "5.3.4 Message size exceeds fixed limit", "sender"],
    ["greeting", 421, "Too many connections", "transient"],
    ["rcpt", 550, "5.1.1 User unknown", "recipient_permanent"],
    // A full inbox is the recipient's quota: a bounce (or a retry), never a hold of the whole mailbox.
    ["rcpt", 552, "5.2.2 <ann@example.com>: Quota exceeded (mailbox for user is full)", "recipient_permanent"],
    [
      "rcpt",
      452,
      "4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp",
      "transient",
    ],
    ["body", 552, "5.2.2 STOREDRV.Deliver: mailbox quota exceeded", "recipient_permanent"],
  ];
  it.each(cases)("%s %i %s → %s", (stage, code, text, kind) => {
    expect(classifySmtpReply(stage, code, text)).toMatchObject({ ok: false, kind });
  });
});
