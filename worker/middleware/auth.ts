import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { timingSafeEqualText } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { authorize, type Action } from "../services/access";
import { callerFromApiKey, callerFromSession, SESSION_COOKIE, touchApiKey } from "../services/auth";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Authenticates every request past it: `X-Api-Key` (or `api_key` in the query, as Apollo accepts),
 * else the session cookie. Cookie-authenticated mutations must carry the session's CSRF token in
 * `X-CSRF-Token` and, when the browser sends one, a same-origin `Origin`.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const d = c.var.db;
  const key = c.req.header("x-api-key") ?? c.req.query("api_key");
  if (key) {
    const caller = await callerFromApiKey(d, key);
    if (!caller) throw new ApiError("unauthenticated", "Invalid or revoked API key");
    c.set("caller", caller);
    c.executionCtx.waitUntil(touchApiKey(d, caller.apiKeyId!));
    return next();
  }
  const token = getCookie(c, SESSION_COOKIE);
  const caller = token ? await callerFromSession(d, token) : null;
  if (!caller) throw new ApiError("unauthenticated", "Sign in or send an X-Api-Key header");
  if (!SAFE_METHODS.has(c.req.method)) {
    const origin = c.req.header("origin");
    if (origin && origin !== new URL(c.req.url).origin) {
      throw new ApiError("csrf_failed", "Cross-site request refused");
    }
    const sent = c.req.header("x-csrf-token") ?? "";
    if (!timingSafeEqualText(sent, caller.csrfToken)) {
      throw new ApiError("csrf_failed", "Missing or wrong X-CSRF-Token header");
    }
  }
  c.set("caller", caller);
  return next();
});

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
