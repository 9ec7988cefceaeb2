import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiKeys, loginAttempts, sessions, teams, users } from "../db/schema";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { hashPassword, sha256Hex, verifyPassword } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { randomToken } from "../lib/ids";

export const SESSION_COOKIE = "sf_session";
export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;

/** Login throttling: failures inside the window, per address and per client IP. */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_EMAIL = 5;
export const MAX_FAILURES_PER_IP = 30;

// A hash to verify against when the email is unknown, so a miss costs the same time as a hit.
let dummyHash: Promise<string> | null = null;

export async function login(d: Db, input: { email: string; password: string; ip: string; userAgent?: string | undefined }) {
  const email = input.email.trim().toLowerCase();
  const t = now();
  const since = t - LOGIN_WINDOW_MS;
  const [byEmail, byIp] = await Promise.all([
    d
      .select({ n: sql<number>`count(*)` })
      .from(loginAttempts)
      .where(and(eq(loginAttempts.email, email), eq(loginAttempts.success, false), gt(loginAttempts.at, since))),
    d
      .select({ n: sql<number>`count(*)` })
      .from(loginAttempts)
      .where(and(eq(loginAttempts.ip, input.ip), eq(loginAttempts.success, false), gt(loginAttempts.at, since))),
  ]);
  if ((byEmail[0]?.n ?? 0) >= MAX_FAILURES_PER_EMAIL || (byIp[0]?.n ?? 0) >= MAX_FAILURES_PER_IP) {
    const retryAfter = Math.ceil(LOGIN_WINDOW_MS / 1000);
    throw new ApiError(
      "rate_limited",
      "Too many failed sign-in attempts. Wait 15 minutes and try again.",
      { retry_after: retryAfter },
      429,
      {
        "retry-after": String(retryAfter),
      },
    );
  }
  const user = await d.query.users.findFirst({ where: and(eq(users.email, email), isNull(users.disabledAt)) });
  const ok = user
    ? await verifyPassword(input.password, user.passwordHash)
    : (await verifyPassword(input.password, await (dummyHash ??= hashPassword("not-a-password"))), false);
  await d.insert(loginAttempts).values({ email, ip: input.ip, success: ok, at: t });
  if (!user || !ok) throw new ApiError("invalid_credentials", "Email or password is incorrect");

  const token = randomToken();
  const csrfToken = randomToken(24);
  await d.insert(sessions).values({
    id: await sha256Hex(token),
    userId: user.id,
    teamId: user.teamId,
    csrfToken,
    createdAt: t,
    expiresAt: t + SESSION_TTL_MS,
    userAgent: input.userAgent?.slice(0, 200) ?? null,
  });
  return { token, csrfToken, user };
}

export async function logout(d: Db, sessionId: string) {
  forgetCallers((c) => c.sessionId === sessionId);
  await d.delete(sessions).where(eq(sessions.id, sessionId));
}

/**
 * Who a session cookie or API key belongs to, kept per isolate for CALLER_TTL_MS: every request
 * authenticates, and under load that lookup was one D1 round trip of three on a list page. A sign-out
 * or a revoked key is forgotten at once in the isolate that handled it; other isolates may accept it
 * for at most CALLER_TTL_MS more (a session's own expiry is never extended). Failures are not cached.
 */
export const CALLER_TTL_MS = 15_000;
const CALLER_CACHE_MAX = 5_000;
const callers = new Map<string, { caller: Caller; since: number; until: number }>();

async function cachedCaller<C extends Caller>(
  key: string,
  load: () => Promise<{ caller: C; expiresAt: number } | null>,
): Promise<C | null> {
  const t = now();
  const hit = callers.get(key);
  // A clock moved back (tests) makes an entry stale too.
  if (hit && hit.until > t && hit.since <= t) return hit.caller as C;
  if (hit) callers.delete(key);
  const found = await load();
  if (!found) return null;
  if (callers.size >= CALLER_CACHE_MAX) callers.delete(callers.keys().next().value!);
  callers.set(key, { caller: found.caller, since: t, until: Math.min(t + CALLER_TTL_MS, found.expiresAt) });
  return found.caller;
}

/** Drops cached callers matching `pred` (sign-out, key revoked). */
export function forgetCallers(pred: (c: Caller) => boolean) {
  for (const [k, v] of callers) if (pred(v.caller)) callers.delete(k);
}

export function callerFromSession(d: Db, token: string): Promise<(Caller & { csrfToken: string }) | null> {
  return cachedCaller(`s:${token}`, () => sessionCaller(d, token));
}

async function sessionCaller(d: Db, token: string): Promise<{ caller: Caller & { csrfToken: string }; expiresAt: number } | null> {
  const id = await sha256Hex(token);
  const rows = await d
    .select({ s: sessions, role: users.role })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, id), gt(sessions.expiresAt, now()), isNull(users.disabledAt)))
    .limit(1);
  const row = rows[0];
  if (!row) return null;
  return {
    caller: { teamId: row.s.teamId, userId: row.s.userId, role: row.role, via: "session", sessionId: id, csrfToken: row.s.csrfToken },
    expiresAt: row.s.expiresAt,
  };
}

/** An API key acts for its team with the rights of its kind: master = admin rights, standard = member rights. */
export function callerFromApiKey(d: Db, key: string): Promise<Caller | null> {
  return cachedCaller(`k:${key}`, async () => {
    const hash = await sha256Hex(key);
    const k = await d.query.apiKeys.findFirst({ where: and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)) });
    if (!k) return null;
    const caller: Caller = {
      teamId: k.teamId,
      userId: k.createdBy,
      role: k.kind === "master" ? "admin" : "member",
      via: "api_key",
      apiKeyId: k.id,
      apiKeyKind: k.kind,
    };
    return { caller, expiresAt: Number.MAX_SAFE_INTEGER };
  });
}

/** A key's "last used" is kept to the minute: one write per key per minute per isolate, not one per request. */
const TOUCH_EVERY_MS = 60_000;
const touched = new Map<string, number>();

export async function touchApiKey(d: Db, id: string) {
  const t = now();
  const last = touched.get(id);
  if (last !== undefined && last > t - TOUCH_EVERY_MS && last <= t) return;
  if (touched.size >= CALLER_CACHE_MAX) touched.clear();
  touched.set(id, t);
  await d.update(apiKeys).set({ lastUsedAt: t }).where(eq(apiKeys.id, id));
}

export async function loadMe(d: Db, caller: Caller) {
  const [user, team] = await Promise.all([
    d.query.users.findFirst({ where: and(eq(users.id, caller.userId), eq(users.teamId, caller.teamId)) }),
    d.query.teams.findFirst({ where: eq(teams.id, caller.teamId) }),
  ]);
  if (!user || !team) throw new ApiError("unauthenticated", "Your account no longer exists");
  return {
    user: { id: user.id, email: user.email, name: user.name, role: user.role },
    team: { id: team.id, name: team.name, credit_balance: team.creditBalance },
  };
}
