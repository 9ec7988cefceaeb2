// How a refused Gmail / Graph send maps onto the send outcomes MailboxDO acts on (see types.ts).
import type { ApiFailure } from "./oauth";
import type { SendFailure } from "./types";

export function apiSendFailure(api: "Gmail" | "Microsoft Graph", r: ApiFailure): SendFailure {
  const message = `${api}: ${r.message}`;
  const code = r.status ? String(r.status) : undefined;
  switch (r.kind) {
    case "rate_limited":
      // 429 / 503: refused before processing, retried inline while Retry-After was short; later is safe.
      return {
        ok: false,
        kind: "transient",
        code,
        message: `${message} (rate limited${r.retryAfterMs !== undefined ? `, retry after ${Math.ceil(r.retryAfterMs / 1000)} s` : ""})`,
      };
    case "server":
    case "network":
      // A 500 or a lost connection after the request went out: the message may have been accepted
      // (invariant 4: recorded as unknown, never resent blindly).
      return { ok: false, kind: "unknown", code, message: `${message}; it may have been sent` };
    case "revoked":
      return { ok: false, kind: "transient", code, message };
    case "client":
      if (/recipient|to header|invalid.*address|ErrorInvalidRecipients/i.test(r.message))
        return { ok: false, kind: "recipient_permanent", code, message };
      if (/rateLimitExceeded|userRateLimitExceeded|dailyLimitExceeded|quota|ErrorExceededMessageLimit|MailboxConcurrency/i.test(r.message))
        return { ok: false, kind: "transient", code, message };
      // 401 after a refresh, 403 (scope, send-as refused), anything else about the account: pause the mailbox.
      return { ok: false, kind: "sender", code, message };
  }
}
