import { getCookie } from "hono/cookie";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { sha256Hex, timingSafeEqualText } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { authorize, type Action } from "../services/access";
import { db } from "../db/client";
import { riding, runChecked } from "../db/riding-check";
import { apiKeyInBody } from "../apollo/params";
import { callerFromApiKey, callerFromSession, forgetSession, SESSION_COOKIE, sessionCheck, touchApiKey } from "../services/auth";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/**
 * POSTs that only read (they take a body, they change nothing): a people search and an add-contacts
 * preview. Like a GET, they may run on the session this isolate saw last (below).
 */
const READ_POSTS = [/^\/api\/people\/search$/, /^\/api\/sequences\/[^/]+\/add-contacts\/preview$/];
/**
 * A GET that acts outside D1 before its first read: the OAuth callback spends the provider's one-time
 * code (a second answer would spend it again, and the provider refuses a code twice). It reads its
 * session alone first, as a write does.
 */
const ACTING_GETS = [/^\/api\/oauth\/[^/]+\/callback$/];
/** Whether a session request may run on the caller this isolate saw last (below): it only reads, and only D1 first. */
export const mayRunOnGuess = (method: string, path: string) =>
  SAFE_METHODS.has(method) ? !ACTING_GETS.some((r) => r.test(path)) : method === "POST" && READ_POSTS.some((r) => r.test(path));

/** What a cookie mutation fails of the CSRF defences (same origin when sent, the session's token echoed), or null. */
function csrfProblem(c: Context<AppEnv>, csrfToken: string): string | null {
  const origin = c.req.header("origin");
  if (origin && origin !== new URL(c.req.url).origin) return "Cross-site request refused";
  if (!timingSafeEqualText(c.req.header("x-csrf-token") ?? "", csrfToken)) return "Missing or wrong X-CSRF-Token header";
  return null;
}

/** Marks a request answered again after its session guess failed: it reads its session alone (a client sending it only loses the shortcut). */
const RECHECKED = "x-seqflare-session-recheck";

/**
 * Authenticates every request past it: `X-Api-Key` (or `api_key` in the query, or in an Apollo
 * request's body, as Apollo accepts),
 * else the session cookie. Cookie-authenticated mutations must carry the session's CSRF token in
 * `X-CSRF-Token` and, when the browser sends one, a same-origin `Origin`.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const d = c.var.db;
  const key =
    c.req.header("x-api-key") ??
    c.req.query("api_key") ??
    (c.req.path.startsWith("/apollo/") && !getCookie(c, SESSION_COOKIE) ? await apiKeyInBody(c.req.raw) : undefined);
  if (key) {
    const caller = await callerFromApiKey(d, key);
    if (!caller) throw new ApiError("unauthenticated", "Invalid or revoked API key");
    c.set("caller", caller);
    c.executionCtx.waitUntil(touchApiKey(d, caller.apiKeyId!));
    return next();
  }
  const token = getCookie(c, SESSION_COOKIE);
  const sessionId = token ? await sha256Hex(token) : null;
  // A read (a GET, or a POST that only reads) of a session this isolate has seen: it runs as that caller
  // and sends the session's statement with its first D1 read, one round trip instead of two. Nothing it
  // read is answered, and nothing is written, unless the database, in that same transaction, still says
  // the session is that user, team, role and CSRF token (db/riding-check.ts).
  const guess = sessionId && mayRunOnGuess(c.req.method, c.req.path) && !c.req.header(RECHECKED) ? sessionCheck(sessionId) : null;
  // A POST failing CSRF on the guess goes the usual way below, which refuses it as the session now is.
  if (guess && (SAFE_METHODS.has(c.req.method) || !csrfProblem(c, guess.caller.csrfToken))) {
    const request = (c.req.method === "POST" ? c.req.raw.clone() : c.req.raw) as Request;
    c.set("caller", guess.caller);
    c.set("db", db(riding(d.$client)));
    if (await runChecked(d.$client, guess.check, next)) return;
    // The session changed meanwhile (signed out, disabled, another role): drop what was produced and
    // answer the request again as the session now is, with its statement read alone first.
    forgetSession(guess.caller.sessionId);
    const again = new Request(request);
    again.headers.set(RECHECKED, "1");
    c.res = undefined;
    c.res = await (await import("../app")).app.fetch(again, c.env, executionContextOf(c));
    return;
  }
  const caller = sessionId ? await callerFromSession(d, sessionId) : null;
  if (!caller) throw new ApiError("unauthenticated", "Sign in or send an X-Api-Key header");
  const problem = SAFE_METHODS.has(c.req.method) ? null : csrfProblem(c, caller.csrfToken);
  if (problem) throw new ApiError("csrf_failed", problem);
  c.set("caller", caller);
  return next();
});

/** The request's ExecutionContext, when it has one (Hono throws on reading a missing one: tests calling `app.request` bare). */
function executionContextOf(c: Context<AppEnv>): Context<AppEnv>["executionCtx"] | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}

/** A team-level permission from the one table (services/access.ts), checked and recorded. */
export const requirePermission = (action: Action, message?: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    authorize(c.get("caller"), action, message);
    return next();
  });

/** Endpoints Apollo reserves for master keys: a standard key answers 403. Sessions pass. */
export const requireMasterKey = createMiddleware<AppEnv>(async (c, next) => {
  const caller = c.get("caller");
  if (caller.via === "api_key" && caller.apiKeyKind !== "master") {
    throw new ApiError("master_key_required", "This endpoint needs a master API key");
  }
  return next();
});

/** Signed-in users only: API keys can't manage API keys. */
export const requireSession = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get("caller").via !== "session") throw new ApiError("forbidden", "Sign in to the app to do this");
  return next();
});
