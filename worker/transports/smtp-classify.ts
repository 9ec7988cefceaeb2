// Maps an SMTP error reply to what the caller should do about it. The asymmetry is deliberate: a wrong
// "recipient_permanent" marks a contact bounced and suppresses it for good, while a wrong "sender" only
// pauses a mailbox until someone looks. So ambiguous 5xx replies lean towards "sender".
import type { SendFailure, SendFailureKind } from "./types";

/** Which command the reply answered. "body" = the reply to the final "." of DATA. */
export type SmtpStage = "greeting" | "ehlo" | "starttls" | "auth" | "mail" | "rcpt" | "data" | "body";

const STAGE_LABEL: Record<SmtpStage, string> = {
  greeting: "Server greeting",
  ehlo: "EHLO/HELO",
  starttls: "STARTTLS",
  auth: "Authentication",
  mail: "MAIL FROM",
  rcpt: "RCPT TO",
  data: "DATA",
  body: "Message (end of DATA)",
};

/** RFC 3463 enhanced status code at the start of a reply text, e.g. "5.1.1". */
export function enhancedStatus(text: string): string | undefined {
  return /^([245]\.\d{1,3}\.\d{1,3})(?=\s|$)/.exec(text.trim())?.[1];
}

// Relay refusals name the recipient but are about the sender (not authenticated / not allowed to
// relay). Narrow on purpose: Postfix's "User unknown in relay recipient table" is a real bounce.
const RELAY_DENIED =
  /relay(ing)? (access )?(denied|not permitted|not allowed|prohibited)|unable to relay|not (permitted|allowed) to relay/i;

/**
 * For a 5xx to RCPT TO or to the end of DATA: is it about this recipient, or about us?
 * `fallback` decides replies without a telling enhanced code.
 */
function recipientOrSender(code: number, enhanced: string | undefined, text: string, fallback: SendFailureKind): SendFailureKind {
  if (RELAY_DENIED.test(text)) return "sender";
  if (enhanced) {
    const [, subject, detail] = enhanced.split(".").map(Number);
    // x.1.x addressing: about the recipient, except x.1.7/x.1.8 (bad *sender* address).
    if (subject === 1) return detail === 7 || detail === 8 ? "sender" : "recipient_permanent";
    // x.2.x mailbox status (disabled, full), except x.2.3 "message too long", which is our content.
    if (subject === 2) return detail === 3 ? "sender" : "recipient_permanent";
    // x.4.x routing (e.g. 5.4.4 unable to route): the recipient's domain; otherwise use the fallback.
    if (subject === 4) return fallback;
    // x.3 system, x.5 protocol, x.6 media, x.7 security/policy (reputation, SPF/DMARC, blocklists).
    return "sender";
  }
  if (code === 530 || (code >= 500 && code <= 504)) return "sender"; // auth required / protocol errors
  return fallback;
}

/**
 * The server refusing the account's sending for now, whatever the reply code: Gmail's "550 5.4.5 Daily user
 * sending limit exceeded" and "421 4.7.28 … rate limited", Microsoft 365's SubmissionQuotaExceededException.
 * Every other email would get the same answer (the MailboxDO holds the mailbox), and a 5.4.5 at RCPT TO read
 * as a bounce suppressed a contact who had done nothing.
 */
const SENDING_LIMIT = /sending (limit|quota)|daily (user )?sending|rate.?limit(ed)?\b|quota.?exceeded|too many (messages|emails)\b/i;

/**
 * A quota that is the recipient's, not ours: x.1.x addressing, x.2.2 "mailbox full" ("552 5.2.2 Quota
 * exceeded", Gmail's "452 4.2.2 … over quota"). Read as a sending limit, one full inbox held the whole
 * mailbox, and its email, first in line at every hold's end, held it again for ever.
 */
const RECIPIENT_QUOTA = /mailbox (is )?full|over ?quota|mailbox.{0,30}quota|quota.{0,30}mailbox/i;
const aboutRecipient = (enhanced: string | undefined, text: string) =>
  (enhanced !== undefined && /^\d\.(1\.\d+|2\.2)$/.test(enhanced)) || RECIPIENT_QUOTA.test(text);

function kindFor(stage: SmtpStage, code: number, enhanced: string | undefined, text: string): SendFailureKind {
  if (code >= 400 && SENDING_LIMIT.test(text) && !aboutRecipient(enhanced, text)) return "rate_limited";
  if (code >= 400 && code < 500) return "transient";
  if (code < 400) {
    // An unexpected non-error reply. After the final "." we cannot tell whether the message was taken.
    return stage === "body" ? "unknown" : "sender";
  }
  if (stage === "rcpt") return recipientOrSender(code, enhanced, text, "recipient_permanent");
  // Some servers defer recipient checks to the end of DATA (550 5.1.1 there is still a bounce), but a
  // bare 550/554 at that point is usually a content or reputation rejection.
  if (stage === "body") return recipientOrSender(code, enhanced, text, "sender");
  // greeting, EHLO, STARTTLS, AUTH (535/534/530), MAIL FROM (550 5.7.1, 552, 553, 554), DATA command.
  return "sender";
}

/** Classifies an error (or unexpected) reply; `code` is "550 5.1.1" when the server sent an enhanced status. */
export function classifySmtpReply(stage: SmtpStage, code: number, text: string): SendFailure {
  const enhanced = enhancedStatus(text);
  return {
    ok: false,
    kind: kindFor(stage, code, enhanced, text),
    code: enhanced ? `${code} ${enhanced}` : String(code),
    message: `${STAGE_LABEL[stage]} failed: ${code} ${text}`.trim(),
  };
}
