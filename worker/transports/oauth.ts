// OAuth 2.0 for the mailboxes people connect by signing in (Google → Gmail API, Microsoft identity
// platform → Microsoft Graph): authorization-code flow with PKCE (S256) and a sealed `state`, token
// exchange and refresh, and one fetch helper for the providers' APIs that honours 429 Retry-After and
// retries 5xx on calls that are safe to repeat. Every endpoint's base URL is configuration, so the tests
// point them at local servers implementing the documented endpoints.
import type { Env } from "../env";
import { now } from "../lib/clock";
import { seal, unseal } from "../lib/seal";
import { appSecret, publicUrl } from "../services/secrets";

export type Provider = "google" | "microsoft";
export const PROVIDERS: Provider[] = ["google", "microsoft"];
/** The mailbox transport each provider connects. */
export const TRANSPORT_OF = { google: "gmail", microsoft: "graph" } as const;
export const PROVIDER_OF = { gmail: "google", graph: "microsoft" } as const;
export const PROVIDER_NAME = { google: "Google", microsoft: "Microsoft" } as const;

/**
 * Scopes: Google's gmail.send sends and nothing else; gmail.readonly lets the cron find replies (history
 * + the raw reply), and nothing can be changed or deleted. Microsoft: Mail.Send, Mail.Read (replies),
 * User.Read (which address signed in), offline_access (a refresh token).
 */
const SCOPES = {
  google: ["https://www.googleapis.com/auth/gmail.send", "https://www.googleapis.com/auth/gmail.readonly", "openid", "email"],
  microsoft: [
    "offline_access",
    "https://graph.microsoft.com/Mail.Send",
    "https://graph.microsoft.com/Mail.Read",
    "https://graph.microsoft.com/User.Read",
  ],
};

export interface ProviderConfig {
  provider: Provider;
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  /** Gmail API or Microsoft Graph base URL (no trailing slash). */
  apiUrl: string;
  redirectUri: string;
}

const trim = (u: string) => u.replace(/\/+$/, "");

export const redirectUriFor = (env: Env, provider: Provider) => `${publicUrl(env)}/api/oauth/${provider}/callback`;

/** The secrets a provider needs and which of them are missing (shown by the connect buttons). */
export function missingConfig(env: Env, provider: Provider): string[] {
  const names =
    provider === "google"
      ? (["GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"] as const)
      : (["MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"] as const);
  return names.filter((n) => !env[n]);
}

export function providerConfig(env: Env, provider: Provider): ProviderConfig | null {
  if (missingConfig(env, provider).length) return null;
  if (provider === "google") {
    return {
      provider,
      clientId: env.GOOGLE_CLIENT_ID!,
      clientSecret: env.GOOGLE_CLIENT_SECRET!,
      authorizeUrl: env.GOOGLE_AUTH_URL || "https://accounts.google.com/o/oauth2/v2/auth",
      tokenUrl: env.GOOGLE_TOKEN_URL || "https://oauth2.googleapis.com/token",
      apiUrl: trim(env.GMAIL_API_URL || "https://gmail.googleapis.com"),
      redirectUri: redirectUriFor(env, provider),
    };
  }
  const login = trim(env.MICROSOFT_LOGIN_URL || "https://login.microsoftonline.com");
  const tenant = env.MICROSOFT_TENANT || "common";
  return {
    provider,
    clientId: env.MICROSOFT_CLIENT_ID!,
    clientSecret: env.MICROSOFT_CLIENT_SECRET!,
    authorizeUrl: `${login}/${tenant}/oauth2/v2.0/authorize`,
    tokenUrl: `${login}/${tenant}/oauth2/v2.0/token`,
    apiUrl: trim(env.GRAPH_API_URL || "https://graph.microsoft.com"),
    redirectUri: redirectUriFor(env, provider),
  };
}

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/** base64url of a string's UTF-8 bytes (Gmail's `raw`), in chunks so a large message doesn't overflow the call stack. */
export function base64UrlOf(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(s: string): string {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** What travels through the provider inside `state`, sealed (so the PKCE verifier is never readable). */
export interface OAuthState {
  provider: Provider;
  teamId: string;
  userId: string;
  /** Reconnecting an existing mailbox, or connecting a new one. */
  mailboxId: string | null;
  verifier: string;
  expiresAt: number;
}

export const STATE_TTL_MS = 15 * 60_000;

/** The provider's sign-in URL: PKCE S256 challenge, sealed state, offline access, consent. */
export async function authorizationUrl(
  env: Env,
  cfg: ProviderConfig,
  s: Omit<OAuthState, "verifier" | "expiresAt" | "provider">,
  loginHint?: string,
): Promise<string> {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const state: OAuthState = { ...s, provider: cfg.provider, verifier, expiresAt: now() + STATE_TTL_MS };
  const q = new URLSearchParams({
    client_id: cfg.clientId,
    redirect_uri: cfg.redirectUri,
    response_type: "code",
    scope: SCOPES[cfg.provider].join(" "),
    state: await seal(appSecret(env), JSON.stringify(state)),
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  if (cfg.provider === "google") {
    q.set("access_type", "offline"); // a refresh token
    q.set("prompt", "consent"); // ... every time, also on reconnect
  } else {
    q.set("response_mode", "query");
    q.set("prompt", "select_account");
  }
  if (loginHint) q.set("login_hint", loginHint);
  return `${cfg.authorizeUrl}?${q}`;
}

/** Opens `state`; null when it was tampered with, is for another provider, or has expired. */
export async function openState(env: Env, provider: Provider, sealed: string): Promise<OAuthState | null> {
  try {
    const s = JSON.parse(await unseal(appSecret(env), sealed)) as OAuthState;
    if (s.provider !== provider || s.expiresAt < now()) return null;
    return s;
  } catch {
    return null;
  }
}

/** Sealed at rest in mailboxes.secret_ciphertext. */
export interface OAuthTokens {
  refreshToken: string;
  accessToken: string;
  /** Epoch ms when the access token stops working. */
  expiresAt: number;
}

export const sealTokens = (env: Env, t: OAuthTokens) => seal(appSecret(env), JSON.stringify(t));
export const openTokens = async (env: Env, sealed: string) => JSON.parse(await unseal(appSecret(env), sealed)) as OAuthTokens;

export type ApiFailure = {
  ok: false;
  status: number;
  kind: "revoked" | "rate_limited" | "server" | "client" | "network";
  message: string;
  /** How long the provider asked us to wait: its Retry-After, else a "Retry after <date>" in its answer. */
  retryAfterMs?: number;
  /** Google's `error.errors[].reason` (e.g. userRateLimitExceeded): what a 403 is about. */
  reasons?: string[];
};
export type ApiResult<T> = { ok: true; status: number; body: T; text: string } | ApiFailure;

/** Longest Retry-After we wait for inside one call; beyond it the caller gets `rate_limited` to retry later. */
export const MAX_INLINE_WAIT_MS = 5_000;
const RETRIES = 3;

/** A Retry-After header (seconds or an HTTP date) as a wait from now (the engine's clock). */
export function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined;
  const secs = Number(h);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(h);
  return Number.isFinite(at) ? Math.max(0, at - now()) : undefined;
}

/** Gmail says when a user's sending limit lifts in its message ("… Retry after 2025-01-01T12:00:00.000Z"). */
function retryAtInText(text: string): number | undefined {
  const m = /retry after (\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d))/i.exec(text);
  const at = m ? Date.parse(m[1]!) : NaN;
  return Number.isFinite(at) ? Math.max(0, at - now()) : undefined;
}

function reasonsOf(text: string): string[] | undefined {
  try {
    const errors = (JSON.parse(text) as { error?: { errors?: { reason?: unknown }[] } }).error?.errors;
    const reasons = Array.isArray(errors) ? errors.flatMap((e) => (typeof e?.reason === "string" ? [e.reason] : [])) : [];
    return reasons.length ? reasons : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function describe(status: number, text: string): string {
  try {
    const j = JSON.parse(text) as { error?: string | { message?: string; code?: string }; error_description?: string };
    if (typeof j.error === "string") return j.error_description ? `${j.error}: ${j.error_description}` : j.error;
    if (j.error?.message) return j.error.code ? `${j.error.code}: ${j.error.message}` : j.error.message;
  } catch {
    // not JSON
  }
  return `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ""}`;
}

/**
 * One provider call. 429 (and 503) wait for Retry-After when it is short and try again; 5xx are
 * retried with a short backoff only when `idempotent` (a send is not: a 500 may have been accepted, so
 * the caller decides). Never throws: a network failure is `network`.
 */
export async function providerFetch<T>(url: string, init: RequestInit, o: { idempotent: boolean }): Promise<ApiResult<T>> {
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (e) {
      return { ok: false, status: 0, kind: "network", message: e instanceof Error ? e.message : String(e) };
    }
    const text = await res.text();
    if (res.ok) {
      let body = {} as T;
      if (text.trim()) {
        try {
          body = JSON.parse(text) as T;
        } catch {
          body = text as T;
        }
      }
      return { ok: true, status: res.status, body, text };
    }
    // How long the provider asked us to wait, if it said (Retry-After, or a date in a rate limit's message).
    const wait = retryAfterMs(res.headers.get("retry-after")) ?? retryAtInText(text);
    const message = describe(res.status, text);
    if (res.status === 429 || res.status === 503) {
      // Refused before it was processed: always safe to repeat.
      const ms = wait ?? 500 * attempt;
      if (attempt < RETRIES && ms <= MAX_INLINE_WAIT_MS) {
        await sleep(ms);
        continue;
      }
      // Only the provider's own wait goes back (the backoff above is ours): the caller holds the mailbox that long.
      return { ok: false, status: res.status, kind: "rate_limited", message, retryAfterMs: wait };
    }
    if (res.status >= 500) {
      if (o.idempotent && attempt < RETRIES) {
        await sleep(Math.min(wait ?? 200 * 2 ** attempt, MAX_INLINE_WAIT_MS));
        continue;
      }
      return { ok: false, status: res.status, kind: "server", message };
    }
    if (res.status === 400 && /invalid_grant/.test(text)) return { ok: false, status: res.status, kind: "revoked", message };
    return { ok: false, status: res.status, kind: "client", message, retryAfterMs: wait, reasons: reasonsOf(text) };
  }
}

/**
 * How long a provider call that is safe to give up on may take, its inline retries included (providerFetch
 * waits at most 2 × 5 s of Retry-After between them): the reads of Gmail and Graph (profile, history,
 * message list, a message, a delta page) and the token endpoint's answers (a code exchanged, a token
 * refreshed). Such a call answers in well under a second; without a limit a hung one held the reply-poll
 * round, and its cron tick, until the runtime killed the invocation, and a hung refresh held the
 * MailboxDO's send alarm (nothing else reaches the mailbox meanwhile) the same way. A call that runs out
 * fails like a lost connection (`network`): for a refresh that is the endpoint being unavailable, which
 * holds the mailbox's sends a while and never marks it "needs reconnect" (only a refusal does). A refresh
 * that ran out may still have been granted: the refresh token it used stays valid (Google keeps it,
 * Microsoft's rotation does not revoke the previous one), so the next try simply refreshes again.
 * Sends have no such limit: a send that runs out may still have been delivered, which the MailboxDO can
 * only record as "unknown" (never resent), turning a slow but good send into one a person must check.
 * A property, not a constant, so a test can shorten it.
 */
export const PROVIDER_READ_TIMEOUT = { ms: 20_000 };

export type TimedOut = ApiFailure & { timedOut: true };

/**
 * providerFetch under PROVIDER_READ_TIMEOUT; never throws (running out is a `network` failure marked
 * `timedOut`: reply polling counts those against the one message that keeps running out).
 */
export async function providerFetchWithin<T>(
  who: string,
  url: string,
  init: RequestInit,
  o: { idempotent: boolean },
): Promise<ApiResult<T> | TimedOut> {
  const ms = PROVIDER_READ_TIMEOUT.ms;
  const signal = AbortSignal.timeout(ms);
  const late = (): TimedOut => ({
    ok: false,
    status: 0,
    kind: "network",
    message: `${who} did not answer within ${ms / 1000} s`,
    timedOut: true,
  });
  try {
    const r = await providerFetch<T>(url, { ...init, signal }, o);
    return !r.ok && r.status === 0 && signal.aborted ? late() : r;
  } catch (e) {
    // The body cut off by the timeout (providerFetch reads it outside its own catch).
    if (signal.aborted) return late();
    throw e;
  }
}

interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
  /** The scopes granted, space-separated: with granular consent a user may untick some of those asked. */
  scope?: string;
}

/** The granted scope that lets the mailbox send (Gmail's full-mailbox scope also does). */
const SENDS = { google: /gmail\.send|mail\.google\.com/i, microsoft: /\bMail\.Send\b/i } as const;
/**
 * The granted scope that lets the cron read the mailbox's replies: gmail.readonly (or the full-mailbox
 * scope); Mail.Read or Mail.ReadWrite (not Mail.ReadBasic, which has no bodies, nor Mail.Read.Shared,
 * which is other people's mailboxes).
 */
const READS = {
  google: /gmail\.readonly|mail\.google\.com/i,
  microsoft: /(?:^|[\s/])Mail\.Read(?:Write)?(?=\s|$)/i,
} as const;

/** A sign-in refused because a permission Seqflare needs was unticked on the consent screen: which one. */
export type NotGranted = ApiFailure & { notGranted?: "send" | "read" };

function tokenRequest(cfg: ProviderConfig, params: Record<string, string>) {
  return providerFetchWithin<TokenResponse>(
    `${PROVIDER_NAME[cfg.provider]}'s token endpoint`,
    cfg.tokenUrl,
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ client_id: cfg.clientId, client_secret: cfg.clientSecret, ...params }),
    },
    { idempotent: true },
  );
}

const tokensFrom = (r: TokenResponse, previousRefresh?: string): OAuthTokens | null => {
  const refreshToken = r.refresh_token || previousRefresh;
  if (!r.access_token || !refreshToken) return null;
  return { accessToken: r.access_token, refreshToken, expiresAt: now() + (r.expires_in ?? 3600) * 1000 };
};

/** The authorization code (with the PKCE verifier) for tokens. */
export async function exchangeCode(
  cfg: ProviderConfig,
  code: string,
  verifier: string,
): Promise<{ ok: true; tokens: OAuthTokens } | NotGranted> {
  const r = await tokenRequest(cfg, { grant_type: "authorization_code", code, redirect_uri: cfg.redirectUri, code_verifier: verifier });
  if (!r.ok) return r;
  const tokens = tokensFrom(r.body);
  if (!tokens)
    return {
      ok: false,
      status: r.status,
      kind: "client",
      message: `${PROVIDER_NAME[cfg.provider]} gave no refresh token (offline access was not granted)`,
    };
  // Saved as connected, a mailbox that may not send would pause on its first email: refused now, in words.
  if (r.body.scope !== undefined && !SENDS[cfg.provider].test(r.body.scope))
    return {
      ok: false,
      status: r.status,
      kind: "client",
      message: `permission to send email was not granted (it was unticked on the consent screen): sign in again and allow sending`,
      notGranted: "send",
    };
  // Nor may it send without reading its replies: the reply check could never start, and its follow-ups
  // would go to people who replied (a reply finishes the run).
  if (r.body.scope !== undefined && !READS[cfg.provider].test(r.body.scope))
    return {
      ok: false,
      status: r.status,
      kind: "client",
      message: `permission to read email was not granted (it was unticked on the consent screen): sign in again and allow reading, which finds the replies`,
      notGranted: "read",
    };
  return { ok: true, tokens };
}

/** A fresh access token. A revoked or expired grant answers `revoked` (invalid_grant). */
export async function refreshTokens(cfg: ProviderConfig, refreshToken: string): Promise<{ ok: true; tokens: OAuthTokens } | ApiFailure> {
  const r = await tokenRequest(cfg, { grant_type: "refresh_token", refresh_token: refreshToken });
  if (!r.ok) return r;
  // Microsoft rotates refresh tokens; Google usually keeps the old one (no refresh_token in the answer).
  return { ok: true, tokens: tokensFrom(r.body, refreshToken)! };
}

/** Refresh this long before the access token expires, so no call goes out with one about to lapse. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
