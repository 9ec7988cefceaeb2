// Transport over Cloudflare Email Service's `send_email` binding (no SMTP credentials needed; the
// sender's domain must be onboarded to Email Service). The Worker needs, in wrangler.toml:
//
//   [[send_email]]
//   name = "EMAIL"
//   # optional: allowed_sender_addresses = ["…"]
//
// and `EMAIL: SendEmail` in Env. The binding either throws (nothing was sent) or returns a message id.
import { EmailMessage } from "cloudflare:email";
import { isSendableAddress } from "./address";
import type { OutgoingEmail, SendFailureKind, SendResult, Transport } from "./types";

/**
 * The binding's documented error codes (Email Service "Workers API" docs, `error.code`).
 * Codes a retry can't fix and that aren't about the recipient's mailbox pause the mailbox ("sender"),
 * so someone sees them; only a suppression (earlier hard bounce or complaint) is a bounce.
 */
const KIND_BY_CODE: Record<string, SendFailureKind> = {
  E_RECIPIENT_SUPPRESSED: "recipient_permanent",
  // The binding may only send to allowed/verified destinations: an account restriction, not a bounce
  // (bouncing here would wrongly suppress every contact the account can't reach yet).
  E_RECIPIENT_NOT_ALLOWED: "sender",
  E_SENDER_NOT_VERIFIED: "sender",
  E_SENDER_DOMAIN_NOT_AVAILABLE: "sender",
  E_VALIDATION_ERROR: "sender",
  E_FIELD_MISSING: "sender",
  E_TOO_MANY_RECIPIENTS: "sender",
  E_CONTENT_TOO_LARGE: "sender",
  E_HEADER_NOT_ALLOWED: "sender",
  E_HEADER_USE_API_FIELD: "sender",
  E_HEADER_VALUE_INVALID: "sender",
  E_HEADER_VALUE_TOO_LONG: "sender",
  E_HEADER_NAME_INVALID: "sender",
  E_HEADERS_TOO_LARGE: "sender",
  E_HEADERS_TOO_MANY: "sender",
  // The account's sending limits: every other email would be refused alike until they lift, so the
  // MailboxDO holds the whole mailbox (an hour) rather than spend each email's retries on them.
  E_RATE_LIMIT_EXCEEDED: "rate_limited",
  E_DAILY_LIMIT_EXCEEDED: "rate_limited",
  E_INTERNAL_SERVER_ERROR: "transient",
  // Not delivered. Cloudflare suppresses hard-bounced addresses itself, so a retry to a dead mailbox
  // comes back as E_RECIPIENT_SUPPRESSED and is classified as a bounce then.
  E_DELIVERY_FAILED: "transient",
};

/**
 * Errors without a known code. Email Routing's send_email (before Email Service) only delivers to
 * verified destination addresses and says "destination address is not a verified address"; the local
 * simulator says "email to … not allowed" / "email from … not allowed". Both are account setup
 * problems, like E_RECIPIENT_NOT_ALLOWED above. So are messages the binding can't parse.
 */
const SENDER_MESSAGES =
  /not a verified|not verified|not allowed|could not parse email|invalid message-id|does not match mail from|invalid headers/i;

export function classifySendEmailError(e: unknown): Extract<SendResult, { ok: false }> {
  const message = e instanceof Error ? e.message : String(e);
  const code = typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined;
  const kind = (code && KIND_BY_CODE[code]) || (SENDER_MESSAGES.test(message) ? "sender" : "transient");
  return { ok: false, kind, ...(code ? { code } : {}), message: `send_email failed: ${message}` };
}

export function sendEmailTransport(binding: SendEmail): Transport {
  return {
    async send(mail: OutgoingEmail): Promise<SendResult> {
      if (!isSendableAddress(mail.to))
        return { ok: false, kind: "recipient_permanent", message: `Invalid recipient address ${JSON.stringify(mail.to)}` };
      try {
        const result = await binding.send(new EmailMessage(mail.from.email, mail.to, mail.raw));
        return { ok: true, ...(result?.messageId ? { response: result.messageId } : {}) };
      } catch (e) {
        return classifySendEmailError(e);
      }
    },
  };
}
