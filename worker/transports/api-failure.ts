// How a refused Gmail / Graph send maps onto the send outcomes MailboxDO acts on (see types.ts).
import type { ApiFailure } from "./oauth";
import type { SendFailure } from "./types";

/**
 * The provider's sending limits and throttling, as they answer them outside a 429: Gmail's 403s
 * ("Rate Limit Exceeded", "User Rate Limit Exceeded", "Daily Limit Exceeded", errors[].reason
 * rateLimitExceeded / userRateLimitExceeded / dailyLimitExceeded / quotaExceeded), Graph's
 * ErrorExceededMessageLimit and MailboxConcurrency. Read as the account's problem ("sender"), they paused
 * the mailbox with "sign in again", which no sign-in fixes.
 */
const LIMIT_TEXT =
  /rate.?limit.?exceeded|daily.?limit.?exceeded|sending limit|quota.?exceeded|ErrorExceededMessageLimit|MailboxConcurrency|ApplicationThrottled/i;
const LIMIT_REASON = /^(rateLimitExceeded|userRateLimitExceeded|dailyLimitExceeded|quotaExceeded)$/;

/** A 503 without a Retry-After: the provider is busy for a moment, not an account limit (an hour would be long). */
const BUSY_HOLD_MS = 5 * 60_000;

export function apiSendFailure(api: "Gmail" | "Microsoft Graph", r: ApiFailure): SendFailure {
  const message = `${api}: ${r.message}`;
  const code = r.status ? String(r.status) : undefined;
  const retryAfterMs = r.retryAfterMs;
  const wait = retryAfterMs !== undefined ? `, retry after ${Math.ceil(retryAfterMs / 1000)} s` : "";
  switch (r.kind) {
    case "rate_limited":
      // 429 / 503 still refused after the short waits providerFetch does inline: certainly not processed, and
      // the account's next send would get the same answer, so the whole mailbox waits.
      return {
        ok: false,
        kind: "rate_limited",
        code,
        message: `${message} (rate limited${wait})`,
        retryAfterMs: retryAfterMs ?? (r.status === 503 ? BUSY_HOLD_MS : undefined),
      };
    case "server":
    case "network":
      // A 500 or a lost connection after the request went out: the message may have been accepted
      // (invariant 4: recorded as unknown, never resent blindly).
      return { ok: false, kind: "unknown", code, message: `${message}; it may have been sent` };
    case "revoked":
      return { ok: false, kind: "sign_in", code, message };
    case "client":
      if (LIMIT_TEXT.test(r.message) || r.reasons?.some((x) => LIMIT_REASON.test(x)))
        return {
          ok: false,
          kind: "rate_limited",
          code,
          message: `${message} (rate limited${wait})`,
          ...(retryAfterMs !== undefined && { retryAfterMs }),
        };
      if (/recipient|to header|invalid.*address|ErrorInvalidRecipients/i.test(r.message))
        return { ok: false, kind: "recipient_permanent", code, message };
      // 401 after a refresh, 403 (scope, send-as refused), anything else about the account: pause the mailbox.
      return { ok: false, kind: "sender", code, message };
  }
}
