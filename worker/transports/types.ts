// The contract between MailboxDO (which reserves capacity and records outcomes) and the ways a message
// can leave Seqflare. A transport sends exactly one message per call and never retries on its own:
// retrying is the caller's decision, because only the caller knows whether a resend is safe (invariant 4).

export interface OutgoingEmail {
  from: { email: string; name: string };
  to: string;
  /** Full RFC 5322 message (headers + body), CRLF line endings. */
  raw: string;
  messageId: string;
}

/**
 * - "recipient_permanent": the recipient's server refused this address for good (5xx on RCPT TO,
 *   e.g. 550 5.1.1 user unknown) → the contact is marked bounced.
 * - "sender": the sending account is the problem (auth failed, sender/relay refused by policy,
 *   TLS misconfigured) → the caller pauses the mailbox; every other message would fail the same way.
 * - "transient": certainly not accepted; safe to retry later (connect failure, 4xx, timeout before
 *   the end of DATA).
 * - "unknown": the server may have accepted the message (connection lost or timed out after the final
 *   "." of DATA was sent, before the reply) → recorded, reconciled, never resent.
 * - "rate_limited": the provider takes no mail from this account for now (its sending limit reached:
 *   Gmail's 429 / 403 rate limits, Graph's message limit, Email Service's daily limit) → certainly not
 *   sent, and every other message would be refused alike: the caller holds the whole mailbox until
 *   `retryAfterMs` from now (else an hour) and counts no attempt against this email.
 * - "sign_in": no access token now (the grant was revoked, or the provider's token endpoint failed) →
 *   certainly not sent, nothing about this email: held like "rate_limited" (a revoked grant has already
 *   put the mailbox in "needs reconnect", which holds it until the owner signs in again).
 */
export type SendFailureKind = "recipient_permanent" | "sender" | "transient" | "unknown" | "rate_limited" | "sign_in";

export type SendResult =
  | { ok: true; response?: string }
  | {
      ok: false;
      kind: SendFailureKind;
      code?: string;
      message: string;
      /** "rate_limited" / "sign_in": how long the provider asked us to wait (Retry-After, or a date in its answer). */
      retryAfterMs?: number;
    };

export type SendFailure = Extract<SendResult, { ok: false }>;

export interface Transport {
  send(mail: OutgoingEmail): Promise<SendResult>;
  /**
   * Answers without leaving the isolate (no network, no storage): while it sends, no other call reaches
   * the MailboxDO and nothing it read can have been observed to change, so a batch claimed and checked
   * together stays current for every send of the batch (invariants 5 and 11).
   */
  local?: boolean;
}
