// Gmail API transport: users.messages.send with the RFC 5322 message Seqflare builds (base64url `raw`),
// kept in the thread of the email it follows (users.messages.list q=rfc822msgid: finds the threadId);
// users.getProfile verifies a connection; users.history.list + users.messages.get (format=raw) find
// replies for the cron. https://developers.google.com/gmail/api/reference/rest
import type { Env } from "../env";
import { accessTokenFor, type TokenResult } from "../services/mailbox-auth";
import type { MailboxSettings } from "./mailbox-settings";
import { base64UrlOf, fromBase64Url, providerFetch, providerFetchWithin, type ApiResult, type TimedOut } from "./oauth";
import { apiSendFailure } from "./api-failure";
import type { OutgoingEmail, SendResult, Transport } from "./types";

const me = (apiUrl: string) => `${apiUrl}/gmail/v1/users/me`;
const auth = (token: string) => ({ authorization: `Bearer ${token}`, accept: "application/json" });

export { PROVIDER_READ_TIMEOUT } from "./oauth";

/** A read-only Gmail / Graph call under PROVIDER_READ_TIMEOUT; never throws (a timeout is a `network` failure, marked `timedOut`). */
export const providerRead = <T>(api: "Gmail" | "Microsoft Graph", url: string, init: RequestInit): Promise<ApiResult<T> | TimedOut> =>
  providerFetchWithin<T>(api, url, init, { idempotent: true });

export interface GmailProfile {
  emailAddress: string;
  historyId: string;
}

export const gmailProfile = (apiUrl: string, token: string) =>
  providerRead<GmailProfile>("Gmail", `${me(apiUrl)}/profile`, { headers: auth(token) });

/** The header's value in a raw message's header section (unfolded), or null. */
export function rawHeader(raw: string, name: string): string | null {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? "";
  const m = head.replace(/\r?\n[ \t]+/g, " ").match(new RegExp(`^${name}:[ \\t]*(.*)$`, "im"));
  return m ? m[1]!.trim() : null;
}

/** The Gmail thread of the message with this Message-ID in the mailbox, if it is there. */
async function threadOf(apiUrl: string, token: string, messageId: string): Promise<string | undefined> {
  const q = new URLSearchParams({ q: `rfc822msgid:${messageId.replace(/^<|>$/g, "")}`, maxResults: "1" });
  const r = await providerRead<{ messages?: { id: string; threadId: string }[] }>("Gmail", `${me(apiUrl)}/messages?${q}`, {
    headers: auth(token),
  });
  return r.ok ? r.body.messages?.[0]?.threadId : undefined;
}

export function gmailTransport(env: Env, mb: Pick<MailboxSettings, "id" | "transport">): Transport {
  return {
    async send(mail: OutgoingEmail): Promise<SendResult> {
      let tok = await sendToken(env, mb);
      for (let attempt = 1; ; attempt++) {
        if (!tok.ok) return tokenFailure(tok);
        const inReplyTo = rawHeader(mail.raw, "In-Reply-To");
        const threadId = inReplyTo ? await threadOf(tok.cfg.apiUrl, tok.accessToken, inReplyTo) : undefined;
        const r: ApiResult<{ id: string; threadId: string }> = await providerFetch(
          `${me(tok.cfg.apiUrl)}/messages/send`,
          {
            method: "POST",
            headers: { ...auth(tok.accessToken), "content-type": "application/json" },
            body: JSON.stringify({ raw: base64UrlOf(mail.raw), ...(threadId && { threadId }) }),
          },
          { idempotent: false },
        );
        if (r.ok) return { ok: true, response: `Gmail accepted it (id ${r.body.id}, thread ${r.body.threadId})` };
        // An access token refused before its expiry (revoked session, password change): refresh once.
        if (r.status === 401 && attempt === 1) {
          tok = await sendToken(env, mb, true);
          continue;
        }
        return apiSendFailure("Gmail", r);
      }
    },
  };
}

/**
 * The access token for a send. Not getting one at all (D1 out of reach, a stored grant that won't open)
 * happens before anything is sent: a token problem like the others, never a throw, which the MailboxDO
 * would have to read as "delivery unknown" and never send again.
 */
export async function sendToken(env: Env, mb: Pick<MailboxSettings, "id" | "transport">, force = false): Promise<TokenResult> {
  try {
    return await accessTokenFor(env, mb, { force, notifyDO: false });
  } catch (err) {
    // drizzle wraps a failed query with its SQL: the cause is what a person can read.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    return {
      ok: false,
      revoked: false,
      message: `Could not get an access token: ${cause instanceof Error ? cause.message : String(cause)}`,
    };
  }
}

/** How long a mailbox waits when the token endpoint failed without saying for how long. */
const TOKEN_HOLD_MS = 5 * 60_000;

/** A token problem as a send outcome: nothing was sent either way, and nothing about this email. */
export function tokenFailure(tok: Extract<TokenResult, { ok: false }>): SendResult {
  // Unconfigured app: the mailbox is paused with the reason, for an admin to fix.
  if (tok.unconfigured) return { ok: false, kind: "sender", message: tok.message };
  // Revoked (the mailbox is now "needs reconnect") or the token endpoint failing: every email of the
  // mailbox would wait on the same sign-in, so the MailboxDO holds the whole mailbox, no email's try spent.
  if (tok.revoked || tok.unavailable)
    return { ok: false, kind: "sign_in", message: tok.message, retryAfterMs: tok.retryAfterMs ?? TOKEN_HOLD_MS };
  // The stored grant could not be read (D1 out of reach): tried again later like any failure before sending.
  return { ok: false, kind: "transient", message: tok.message };
}

/**
 * New messages in the inbox since `historyId`, oldest first, about `limit` of them (whole history
 * records), and the point to go on from once they are handled: the last record taken when more are
 * left, else the mailbox's current point. `expired` when Gmail no longer has `historyId` (404).
 */
export async function gmailHistory(
  apiUrl: string,
  token: string,
  historyId: string,
  limit: number,
): Promise<{ ok: true; ids: string[]; historyId: string } | { ok: false; expired: boolean; message: string; revoked: boolean }> {
  const ids: string[] = [];
  let pageToken: string | undefined;
  let latest = historyId;
  for (;;) {
    const q = new URLSearchParams({ startHistoryId: historyId, historyTypes: "messageAdded", labelId: "INBOX", maxResults: "500" });
    if (pageToken) q.set("pageToken", pageToken);
    const r = await providerRead<{
      history?: { id: string; messagesAdded?: { message: { id: string } }[] }[];
      nextPageToken?: string;
      historyId?: string;
    }>("Gmail", `${me(apiUrl)}/history?${q}`, { headers: auth(token) });
    if (!r.ok) return { ok: false, expired: r.status === 404, revoked: r.status === 401, message: r.message };
    const records = r.body.history ?? [];
    for (const [i, h] of records.entries()) {
      for (const m of h.messagesAdded ?? []) if (!ids.includes(m.message.id)) ids.push(m.message.id);
      // Enough for one round: the next one starts after this record (history ids only grow).
      if (ids.length >= limit && (i < records.length - 1 || r.body.nextPageToken)) return { ok: true, ids, historyId: h.id };
    }
    if (r.body.historyId) latest = r.body.historyId;
    pageToken = r.body.nextPageToken;
    if (!pageToken) return { ok: true, ids, historyId: latest };
  }
}

/** Most messages a resync lists (one page of users.messages.list). */
export const GMAIL_RESYNC_MAX = 500;

/**
 * Inbox messages received since `since` (ms; Gmail's `after:` takes seconds), oldest first, at most
 * GMAIL_RESYNC_MAX; `more` when older ones were left out. For a reply check whose history point Gmail
 * has forgotten: it starts again from the last good check rather than from now.
 */
export async function gmailInboxSince(
  apiUrl: string,
  token: string,
  since: number,
): Promise<{ ok: true; ids: string[]; more: boolean } | { ok: false; expired: false; message: string; revoked: boolean }> {
  const q = new URLSearchParams({ q: `in:inbox after:${Math.floor(since / 1000)}`, maxResults: String(GMAIL_RESYNC_MAX) });
  const r = await providerRead<{ messages?: { id: string }[]; nextPageToken?: string }>("Gmail", `${me(apiUrl)}/messages?${q}`, {
    headers: auth(token),
  });
  if (!r.ok) return { ok: false, expired: false, revoked: r.status === 401, message: r.message };
  // Gmail lists newest first; replies are handled in the order they came.
  return { ok: true, ids: (r.body.messages ?? []).map((m) => m.id).reverse(), more: !!r.body.nextPageToken };
}

/**
 * One message as the RFC 5322 text it arrived as; `gone` when Gmail no longer has it (deleted since),
 * any other failure is worth trying again.
 */
export async function gmailRaw(apiUrl: string, token: string, id: string): Promise<RawResult> {
  const r = await providerRead<{ raw?: string }>("Gmail", `${me(apiUrl)}/messages/${encodeURIComponent(id)}?format=raw`, {
    headers: auth(token),
  });
  if (!r.ok) return { ok: false, gone: unreadableForGood(r.status, r.message), timedOut: "timedOut" in r, message: r.message };
  return r.body.raw
    ? { ok: true, raw: fromBase64Url(r.body.raw) }
    : { ok: false, gone: true, timedOut: false, message: "Gmail sent the message without its text" };
}

/** An inbox message read for reply polling: `gone` when the provider will never serve it, `timedOut` when it ran past PROVIDER_READ_TIMEOUT. */
export type RawResult = { ok: true; raw: string } | { ok: false; gone: boolean; timedOut: boolean; message: string };

/**
 * A message the provider will never serve (deleted, too large, malformed id, forbidden): passed over, or
 * it would hold the mailbox's polling on it for good. Throttling (429, Gmail's 403 rate limits), an
 * expired token (401) and server errors are worth another round.
 */
export function unreadableForGood(status: number, message: string): boolean {
  if (status === 403) return !/rate.?limit/i.test(message);
  return status >= 400 && status < 500 && ![401, 408, 429].includes(status);
}
