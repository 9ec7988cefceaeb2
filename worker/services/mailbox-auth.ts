// Access tokens of OAuth mailboxes (gmail / graph): refreshed before they expire and stored sealed; a
// revoked or expired grant puts the mailbox in "needs reconnect" with the provider's reason, which holds
// its queue (MailboxDO sends only from connected mailboxes) and tells the owner (status on the Mailboxes
// screen + an audit entry) until they sign in again.
import { and, eq, ne, type SQL } from "drizzle-orm";
import { db, type Db } from "../db/client";
import { auditLog, mailboxes } from "../db/schema";
import type { Env } from "../env";
import { now } from "../lib/clock";
import { newId } from "../lib/ids";
import { engine } from "../../durable-objects/engine";
import {
  openTokens,
  providerFetch,
  PROVIDER_NAME,
  PROVIDER_OF,
  providerConfig,
  refreshTokens,
  REFRESH_MARGIN_MS,
  sealTokens,
  type OAuthTokens,
  type ProviderConfig,
} from "../transports/oauth";
import { missingConfig } from "../transports/oauth";
import type { MailboxSettings } from "../transports/mailbox-settings";

export type TokenResult =
  | {
      ok: true;
      accessToken: string;
      cfg: ProviderConfig;
      /**
       * The stored sign-in (sealed tokens) this token belongs to: what a caller's later write about the
       * grant compares, so a reconnect that lands meanwhile is never marked by what this token got.
       */
      sealed: string;
    }
  | {
      ok: false;
      /** The grant can't work any more: the mailbox is now "needs reconnect" until the owner signs in again. */
      revoked: boolean;
      /** Seqflare's app credentials are missing or refused: an admin must fix them. */
      unconfigured?: boolean;
      /** The provider's token endpoint gave no token this time (down, throttled, an unexpected refusal): `retryAfterMs` if it said when to come back. */
      unavailable?: boolean;
      retryAfterMs?: number;
      message: string;
    };

/**
 * Refusals of a refresh that only the user signing in again can lift, like invalid_grant (which providerFetch
 * reads as "revoked"): Microsoft's interaction_required (MFA or a conditional access policy), consent_required
 * (an admin withdrew consent) and login_required; a scope no longer granted.
 */
const SIGN_IN_AGAIN = /\b(interaction_required|consent_required|login_required|invalid_scope)\b/;

export const isOAuthTransport = (t: string): t is "gmail" | "graph" => t === "gmail" || t === "graph";

/**
 * A working access token for the mailbox: the stored one while it has more than REFRESH_MARGIN_MS
 * left, otherwise a refreshed one (`force` refreshes anyway, after a 401). `notifyDO` is false when
 * called from inside the mailbox's own Durable Object (it re-plans by itself after the send).
 */
export async function accessTokenFor(
  env: Env,
  mb: Pick<MailboxSettings, "id" | "transport">,
  o: { force?: boolean; notifyDO?: boolean } = {},
  // The transports call this from inside the MailboxDO with the env only; callers holding a handle pass it.
  d: Db = db(env.DB),
): Promise<TokenResult> {
  // A new sign-in that replaced the tokens while they were being refreshed is what counts: read again.
  for (let i = 0; i < 2; i++) {
    const r = await tokenOnce(env, mb, o, d);
    if (r !== REPLACED) return r;
  }
  return { ok: false, revoked: false, unavailable: true, message: "The mailbox's sign-in kept changing while it was refreshed" };
}

/** tokenOnce's answer when the stored sign-in changed under it (a reconnect): nothing it learnt applies. */
const REPLACED = Symbol("replaced");

async function tokenOnce(
  env: Env,
  mb: Pick<MailboxSettings, "id" | "transport">,
  o: { force?: boolean; notifyDO?: boolean },
  d: Db,
): Promise<TokenResult | typeof REPLACED> {
  if (!isOAuthTransport(mb.transport)) return { ok: false, revoked: false, message: `${mb.transport} mailboxes have no OAuth token` };
  const provider = PROVIDER_OF[mb.transport];
  const cfg = providerConfig(env, provider);
  if (!cfg)
    return {
      ok: false,
      revoked: false,
      unconfigured: true,
      message: `${PROVIDER_NAME[provider]} sign-in is not configured: set ${missingConfig(env, provider).join(" and ")} (wrangler secret put)`,
    };
  // Read the row again: another request may have refreshed (or lost) the grant since `mb` was loaded.
  const row = await d.query.mailboxes.findFirst({
    columns: { status: true, statusReason: true, secretCiphertext: true },
    where: eq(mailboxes.id, mb.id),
  });
  if (!row) return { ok: false, revoked: false, message: "The mailbox no longer exists" };
  if (row.status === "needs_reconnect")
    return { ok: false, revoked: true, message: row.statusReason ?? "Sign in again to reconnect this mailbox" };
  if (!row.secretCiphertext) return { ok: false, revoked: true, message: "No sign-in is stored for this mailbox" };
  const sealed = row.secretCiphertext;
  // Only the grant read here is found lost: a reconnect written meanwhile is not.
  const lost = async (reason: string): Promise<TokenResult | typeof REPLACED> =>
    (await markGrantLost(env, d, mb.id, sealed, reason, o.notifyDO ?? true)) ? { ok: false, revoked: true, message: reason } : REPLACED;
  let tokens: OAuthTokens;
  try {
    tokens = await openTokens(env, row.secretCiphertext);
  } catch {
    // Sealed under another APP_SECRET (rotated since) or damaged: no retry opens it, only a new sign-in.
    return lost(
      `The stored ${PROVIDER_NAME[provider]} sign-in can't be read (the app's secret changed since it was saved); sign in again to reconnect`,
    );
  }
  if (!o.force && tokens.expiresAt - now() > REFRESH_MARGIN_MS) return { ok: true, accessToken: tokens.accessToken, cfg, sealed };
  const r = await refreshTokens(cfg, tokens.refreshToken);
  if (!r.ok) {
    if (r.kind === "revoked" || (r.kind === "client" && SIGN_IN_AGAIN.test(r.message))) {
      return lost(`${PROVIDER_NAME[provider]} sign-in was revoked or has expired (${r.message}); sign in again to reconnect`);
    }
    // The provider refused the app itself (a client secret expired or rotated, the app deleted): no retry
    // helps until it is fixed, for every mailbox of the provider. Said as a sender problem, which pauses
    // the mailbox with this reason and keeps its emails, rather than failing each after its retries.
    if (r.kind === "client" && /invalid_client|unauthorized_client/.test(r.message))
      return {
        ok: false,
        revoked: false,
        unconfigured: true,
        message: `${PROVIDER_NAME[provider]} refused Seqflare's app credentials (${r.message}): an admin must update ${provider === "google" ? "GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET" : "MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET"}`,
      };
    // Anything else may pass (the endpoint down or throttled): every send of the mailbox needs the token,
    // so its sends wait for the endpoint together (tokenFailure holds the mailbox) rather than fail one by one.
    return {
      ok: false,
      revoked: false,
      unavailable: true,
      ...(r.retryAfterMs !== undefined && { retryAfterMs: r.retryAfterMs }),
      message: `Could not refresh the ${PROVIDER_NAME[provider]} access token: ${r.message}`,
    };
  }
  // Stored only over the tokens it refreshed: a reconnect (or another refresh) written meanwhile stays, and
  // this access token, fresh from the provider, still serves this call.
  // Not stored (a reconnect replaced them), the token still belongs to the sign-in read here, not the new one.
  const refreshed = await sealTokens(env, r.tokens);
  const stored = await d
    .update(mailboxes)
    .set({ secretCiphertext: refreshed, updatedAt: now() })
    .where(and(eq(mailboxes.id, mb.id), eq(mailboxes.secretCiphertext, sealed)))
    .returning({ id: mailboxes.id });
  return { ok: true, accessToken: r.tokens.accessToken, cfg, sealed: stored.length ? refreshed : sealed };
}

/**
 * Needs reconnect: status + reason (shown on the Mailboxes screen), an audit entry naming the owner,
 * and the MailboxDO re-plans so its emails are held, not failed. Acts only where `guard` (the caller's
 * condition on the mailbox row) still holds: true when it did.
 */
export async function markNeedsReconnect(
  env: Env,
  d: Db,
  mailboxId: string,
  guard: SQL | undefined,
  reason: string,
  notifyDO = true,
): Promise<boolean> {
  const t = now();
  const [changed] = await d
    .update(mailboxes)
    .set({ status: "needs_reconnect", statusReason: reason.slice(0, 500), updatedAt: t })
    .where(and(eq(mailboxes.id, mailboxId), guard))
    .returning({ teamId: mailboxes.teamId, userId: mailboxes.userId, email: mailboxes.email });
  if (!changed) return false;
  await d.insert(auditLog).values({
    id: newId(),
    teamId: changed.teamId,
    userId: null,
    apiKeyId: null,
    action: "mailbox.needs_reconnect",
    targetType: "mailbox",
    targetId: mailboxId,
    details: { owner_id: changed.userId, email: changed.email, reason },
    createdAt: t,
  });
  if (notifyDO) await engine.mailbox(env, mailboxId).refresh();
  return true;
}

/**
 * Only the first call of a revocation acts, and only while the mailbox still holds the sign-in `sealed`
 * that was found lost: false when a new sign-in replaced it meanwhile (the mailbox is left as it is).
 */
async function markGrantLost(env: Env, d: Db, mailboxId: string, sealed: string, reason: string, notifyDO: boolean): Promise<boolean> {
  const guard = and(ne(mailboxes.status, "needs_reconnect"), eq(mailboxes.secretCiphertext, sealed));
  if (await markNeedsReconnect(env, d, mailboxId, guard, reason, notifyDO)) return true;
  // Marked already (by a call that found the same grant lost), or its sign-in replaced since it was read.
  const current = await d.query.mailboxes.findFirst({ columns: { secretCiphertext: true }, where: eq(mailboxes.id, mailboxId) });
  return !current || current.secretCiphertext === sealed;
}

/** What became of a removed mailbox's sign-in at its provider (said in the removal's answer and audit entry). */
export interface GrantRevocation {
  provider: "google" | "microsoft";
  revoked: boolean;
  message: string;
}

/**
 * Ends a removed Gmail / Microsoft 365 mailbox's grant at the provider, from the sealed tokens it held.
 * Google: its documented revocation endpoint (POST token=<refresh token> to https://oauth2.googleapis.com/revoke,
 * the token URL's sibling, so a configured GOOGLE_TOKEN_URL points both at the same place). Microsoft's
 * identity platform has no endpoint revoking one app's v2 refresh token: the stored tokens are deleted,
 * which is all Seqflare can do, and the answer says how the user ends the grant themselves.
 * Never throws: the removal stands whatever the provider says.
 */
export async function revokeGrant(env: Env, transport: "gmail" | "graph", sealed: string | null): Promise<GrantRevocation> {
  const provider = PROVIDER_OF[transport];
  if (provider === "microsoft")
    return {
      provider,
      revoked: false,
      message:
        "Microsoft has no way for an app to revoke its sign-in: Seqflare deleted its tokens; to end the grant too, remove Seqflare at myapps.microsoft.com (or an admin revokes it in Entra ID)",
    };
  const cfg = providerConfig(env, provider);
  let token: string | undefined;
  try {
    token = sealed ? (await openTokens(env, sealed)).refreshToken : undefined;
  } catch {
    // Sealed under another APP_SECRET: nothing to send.
  }
  const failed = (why: string) => {
    console.error(`Revoking a removed Gmail mailbox's sign-in failed: ${why}`);
    return {
      provider,
      revoked: false,
      message: `Google did not confirm the sign-in was revoked (${why}): Seqflare deleted its tokens; to end the grant too, remove Seqflare at myaccount.google.com/permissions`,
    };
  };
  if (!cfg) return failed("Google sign-in is not configured on this server");
  if (!token) return failed("no readable sign-in was stored");
  const r = await providerFetch(
    cfg.tokenUrl.replace(/\/token$/, "/revoke"),
    { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token }) },
    // Revoking twice is harmless: a 5xx may be tried again.
    { idempotent: true },
  );
  return r.ok ? { provider, revoked: true, message: "Google revoked Seqflare's access to this mailbox" } : failed(r.message);
}
