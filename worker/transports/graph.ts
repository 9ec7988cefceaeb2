// Microsoft Graph transport: POST /me/sendMail with the MIME message (base64, Content-Type text/plain,
// as Graph documents for MIME sends); GET /me verifies a connection; the Inbox's message delta
// (/me/mailFolders/inbox/messages/delta) and GET /me/messages/{id}/$value find replies for the cron.
// https://learn.microsoft.com/graph/api/user-sendmail , https://learn.microsoft.com/graph/api/message-delta
import type { Env } from "../env";
import type { MailboxSettings } from "./mailbox-settings";
import { apiSendFailure } from "./api-failure";
import { providerRead, sendToken, tokenFailure, unreadableForGood, type RawResult } from "./gmail";
import { providerFetch } from "./oauth";
import type { OutgoingEmail, SendResult, Transport } from "./types";

const auth = (token: string) => ({ authorization: `Bearer ${token}`, accept: "application/json" });

/** Standard base64 of the UTF-8 bytes, in chunks (a large message must not overflow the call stack). */
function base64Of(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export interface GraphMe {
  mail: string | null;
  userPrincipalName: string;
  displayName?: string;
}

export const graphMe = (apiUrl: string, token: string) =>
  providerRead<GraphMe>("Microsoft Graph", `${apiUrl}/v1.0/me?$select=mail,userPrincipalName,displayName`, { headers: auth(token) });

export function graphTransport(env: Env, mb: Pick<MailboxSettings, "id" | "transport">): Transport {
  return {
    async send(mail: OutgoingEmail): Promise<SendResult> {
      let tok = await sendToken(env, mb);
      for (let attempt = 1; ; attempt++) {
        if (!tok.ok) return tokenFailure(tok);
        const r = await providerFetch(
          `${tok.cfg.apiUrl}/v1.0/me/sendMail`,
          {
            method: "POST",
            headers: { authorization: `Bearer ${tok.accessToken}`, "content-type": "text/plain" },
            body: base64Of(mail.raw),
          },
          { idempotent: false },
        );
        if (r.ok) return { ok: true, response: `Microsoft Graph accepted it (${r.status})` };
        if (r.status === 401 && attempt === 1) {
          tok = await sendToken(env, mb, true);
          continue;
        }
        return apiSendFailure("Microsoft Graph", r);
      }
    },
  };
}

type DeltaPage = { value?: { id: string; "@removed"?: unknown }[]; "@odata.nextLink"?: string; "@odata.deltaLink"?: string };

/**
 * A delta round from `link` (a stored deltaLink or nextLink, or the first request): the ids of
 * messages created since, whole pages until about `limit`, and the link to go on from once they are
 * handled: the round's deltaLink, or the nextLink of the page after the last one taken when more are
 * left. `expired` when Graph no longer knows the link (410) and the round must start again. `status` is
 * Graph's HTTP status when it answered (a 403 is a grant that may not read mail, whatever its words).
 */
export async function graphDelta(
  link: string,
  token: string,
  limit: number,
): Promise<
  { ok: true; ids: string[]; deltaLink: string } | { ok: false; expired: boolean; revoked: boolean; status?: number; message: string }
> {
  const ids: string[] = [];
  let url = link;
  // A round that never ends with a deltaLink (it should) stops here rather than at the Worker's limits.
  for (let page = 0; page < 50; page++) {
    const r = await providerRead<DeltaPage>("Microsoft Graph", url, { headers: { ...auth(token), prefer: "odata.maxpagesize=50" } });
    if (!r.ok) return { ok: false, expired: r.status === 410, revoked: r.status === 401, status: r.status, message: r.message };
    for (const m of r.body.value ?? []) if (!m["@removed"] && !ids.includes(m.id)) ids.push(m.id);
    if (r.body["@odata.deltaLink"]) return { ok: true, ids, deltaLink: r.body["@odata.deltaLink"] };
    const next = r.body["@odata.nextLink"];
    if (!next) return { ok: false, expired: false, revoked: false, message: "Microsoft Graph's delta round did not end with a deltaLink" };
    if (ids.length >= limit) return { ok: true, ids, deltaLink: next };
    url = next;
  }
  return { ok: false, expired: false, revoked: false, message: "Microsoft Graph's delta round did not end within 50 pages" };
}

/** The first delta request: the Inbox's new messages received from `since` on (ids only). */
export function graphDeltaStart(apiUrl: string, since: number): string {
  const q = new URLSearchParams({ changeType: "created", $select: "id", $filter: `receivedDateTime ge ${new Date(since).toISOString()}` });
  return `${apiUrl}/v1.0/me/mailFolders/inbox/messages/delta?${q}`;
}

/** One message as MIME (GET /me/messages/{id}/$value); `gone` when Graph no longer has it (404). */
export async function graphRaw(apiUrl: string, token: string, id: string): Promise<RawResult> {
  const r = await providerRead<string>("Microsoft Graph", `${apiUrl}/v1.0/me/messages/${encodeURIComponent(id)}/$value`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return r.ok
    ? { ok: true, raw: r.text }
    : { ok: false, gone: unreadableForGood(r.status, r.message), timedOut: "timedOut" in r, message: r.message };
}
