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
  await d.delete(sessions).where(eq(sessions.id, sessionId));
}

/**
 * Who a session cookie or API key belongs to, read from D1 on every request (one indexed lookup):
 * a sign-out, a revoked key, a disabled user or a changed role takes effect on the very next
 * request in every isolate. Nothing about a caller is kept between requests; a per-isolate copy
 * would outlive a change made by another isolate.
 */
export async function callerFromSession(d: Db, token: string): Promise<(Caller & { csrfToken: string }) | null> {
  const id = await sha256Hex(token);
  const [row] = await d
    .select({ teamId: sessions.teamId, userId: sessions.userId, csrfToken: sessions.csrfToken, role: users.role })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, id), gt(sessions.expiresAt, now()), isNull(users.disabledAt)))
    .limit(1);
  return row ? { ...row, via: "session", sessionId: id } : null;
}

/** An API key acts for its team with the rights of its kind: master = admin rights, standard = member rights. */
export async function callerFromApiKey(d: Db, key: string): Promise<Caller | null> {
  const hash = await sha256Hex(key);
  const k = await d.query.apiKeys.findFirst({ where: and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)) });
  if (!k) return null;
  return {
    teamId: k.teamId,
    userId: k.createdBy,
    role: k.kind === "master" ? "admin" : "member",
    via: "api_key",
    apiKeyId: k.id,
    apiKeyKind: k.kind,
  };
}

/** A key's "last used" is kept to the minute: one write per key per minute per isolate, not one per request. */
const TOUCH_EVERY_MS = 60_000;
const TOUCHED_MAX = 5_000;
const touched = new Map<string, number>();

export async function touchApiKey(d: Db, id: string) {
  const t = now();
  const last = touched.get(id);
  if (last !== undefined && last > t - TOUCH_EVERY_MS && last <= t) return;
  if (touched.size >= TOUCHED_MAX) touched.clear();
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
