import { and, eq, isNull, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import type { RidingCheck } from "../db/riding-check";
import { apiKeys, loginAttempts, sessions, teams, users, type StoredCaller } from "../db/schema";
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
/**
 * An IP the address signed in from within this long is its own: failures from elsewhere don't count
 * against sign-ins from it. Reps' addresses are public (they send from them), so with one count per
 * address anyone could keep a rep signed out by failing five times every 15 minutes.
 */
export const KNOWN_IP_MS = 30 * 24 * 3600 * 1000;

// A hash to verify against when the email is unknown, so a miss costs the same time as a hit.
let dummyHash: Promise<string> | null = null;

/**
 * Counts one attempt against the sign-in throttle, as a failure until `attemptSucceeded`: the row is
 * written in the statement that checks the counts, so guesses sent at once each count the ones before
 * them (a count read, then a write after the password check, let every guess of a burst through).
 * 429 once `key` (an address) or the client IP has too many failures in the window; from an IP the
 * address signed in from lately (KNOWN_IP_MS), only that IP's own failures count for the address.
 * Sign-in, invite acceptance and password changes share it.
 */
export async function recordAttempt(d: Db, key: string, ip: string): Promise<number> {
  const t = now();
  const since = t - LOGIN_WINDOW_MS;
  const attempt = await d.get<{ id: number } | undefined>(sql`INSERT INTO login_attempts (email, ip, success, at)
    SELECT ${key}, ${ip}, 0, ${t}
    WHERE (SELECT count(*) FROM login_attempts WHERE email = ${key} AND success = 0 AND at > ${since}
             AND (ip = ${ip} OR NOT EXISTS (SELECT 1 FROM login_attempts WHERE email = ${key} AND ip = ${ip} AND success = 1 AND at > ${t - KNOWN_IP_MS}))
          ) < ${MAX_FAILURES_PER_EMAIL}
      AND (SELECT count(*) FROM login_attempts WHERE ip = ${ip} AND success = 0 AND at > ${since}) < ${MAX_FAILURES_PER_IP}
    RETURNING id`);
  if (!attempt) {
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
  return attempt.id;
}

/** The attempt `recordAttempt` counted went through: it no longer counts as a failure. */
export async function attemptSucceeded(d: Db, id: number) {
  await d.update(loginAttempts).set({ success: true }).where(eq(loginAttempts.id, id));
}

/**
 * A new session of a user: the cookie's token and CSRF token, and the row to insert (its id is the
 * token's SHA-256). Sign-in inserts it alone; accepting an invite inserts it in the batch that makes the user.
 */
export async function newSession(user: { id: string; teamId: string }, userAgent: string | undefined) {
  const t = now();
  const token = randomToken();
  const csrfToken = randomToken(24);
  const row: typeof sessions.$inferInsert = {
    id: await sha256Hex(token),
    userId: user.id,
    teamId: user.teamId,
    csrfToken,
    createdAt: t,
    expiresAt: t + SESSION_TTL_MS,
    userAgent: userAgent?.slice(0, 200) ?? null,
  };
  return { token, csrfToken, row };
}

/** Whether `password` is the user's (a missing user costs the same time as a wrong password). */
export async function passwordMatches(user: { passwordHash: string } | undefined, password: string): Promise<boolean> {
  return user
    ? verifyPassword(password, user.passwordHash)
    : (await verifyPassword(password, await (dummyHash ??= hashPassword("not-a-password"))), false);
}

export async function login(d: Db, input: { email: string; password: string; ip: string; userAgent?: string | undefined }) {
  const email = input.email.trim().toLowerCase();
  const attempt = await recordAttempt(d, email, input.ip);
  const user = await d.query.users.findFirst({ where: and(eq(users.email, email), isNull(users.disabledAt)) });
  const ok = await passwordMatches(user, input.password);
  if (ok) await attemptSucceeded(d, attempt);
  if (!user || !ok) throw new ApiError("invalid_credentials", "Email or password is incorrect");

  const { token, csrfToken, row } = await newSession(user, input.userAgent);
  // Only while the password is still the one checked (and the user enabled): a sign-in with the old
  // password whose check ran while it was being changed would otherwise outlive the change.
  const [made] = await d.$client.batch([
    d.$client
      .prepare(
        `INSERT INTO sessions (id, user_id, team_id, csrf_token, created_at, expires_at, user_agent)
         SELECT ?, id, team_id, ?, ?, ?, ? FROM users WHERE id = ? AND password_hash = ? AND disabled_at IS NULL`,
      )
      .bind(row.id, row.csrfToken, row.createdAt, row.expiresAt, row.userAgent ?? null, user.id, user.passwordHash),
  ]);
  if (!made?.meta.changes) throw new ApiError("invalid_credentials", "Email or password is incorrect");
  return { token, csrfToken, user };
}

export async function logout(d: Db, sessionId: string) {
  forgetSession(sessionId);
  await d.delete(sessions).where(eq(sessions.id, sessionId));
}

/**
 * Who a session belongs to, read from D1 on every request (one indexed lookup): a sign-out, a
 * disabled user or a changed role takes effect on the very next request in every isolate. The ONE
 * statement for it, run alone (`callerFromSession`) or riding in the same D1 batch as a read's first
 * round trip (`sessionCheck`).
 */
const SESSION_SQL = `SELECT s.team_id, s.user_id, s.csrf_token, s.expires_at, u.role FROM sessions s JOIN users u ON u.id = s.user_id
  WHERE s.id = ? AND s.expires_at > ? AND u.disabled_at IS NULL LIMIT 1`;

interface SessionRow {
  team_id: string;
  user_id: string;
  csrf_token: string;
  expires_at: number;
  role: "admin" | "member";
}

type SessionCaller = Caller & { csrfToken: string; sessionId: string };

const callerOf = (id: string, r: SessionRow): SessionCaller => ({
  teamId: r.team_id,
  userId: r.user_id,
  role: r.role,
  csrfToken: r.csrf_token,
  via: "session",
  sessionId: id,
});

/**
 * What this isolate last read of a session, by session id: a GUESS of who the next request is, so
 * that request can build its reads before its session is read, and send the session's statement
 * with its first read (`sessionCheck`). Never trusted on its own: a guess the database no longer
 * agrees with is thrown away with everything read under it. Bounded; cleared whole when full.
 */
const GUESSES_MAX = 10_000;
const guesses = new Map<string, SessionRow>();

/** The caller of a session, by its id (the SHA-256 of the cookie's token), read alone. */
export async function callerFromSession(d: Db, id: string): Promise<SessionCaller | null> {
  const row = await d.$client.prepare(SESSION_SQL).bind(id, now()).first<SessionRow>();
  if (!row) {
    guesses.delete(id);
    return null;
  }
  if (guesses.size >= GUESSES_MAX) guesses.clear();
  guesses.set(id, row);
  return callerOf(id, row);
}

/**
 * The caller this isolate saw last for a session (a fresh copy) and the check its request's first
 * read carries: the session's statement, which must answer the same user, team, role and CSRF token.
 * Null when there is nothing to guess from (or the session has expired since).
 */
export function sessionCheck(id: string): { caller: SessionCaller; check: RidingCheck } | null {
  const row = guesses.get(id);
  const t = now();
  if (!row || row.expires_at <= t) return null;
  return {
    caller: callerOf(id, row),
    check: {
      sql: SESSION_SQL,
      params: [id, t],
      holds: (rows) => {
        const r = rows[0] as SessionRow | undefined;
        return !!r && r.team_id === row.team_id && r.user_id === row.user_id && r.role === row.role && r.csrf_token === row.csrf_token;
      },
      failure: "Your session changed; sign in again",
    },
  };
}

/** A guess proved wrong: the next request of this session reads it alone first. */
export const forgetSession = (id: string) => void guesses.delete(id);

/**
 * Whether a key may act: the ONE rule, for a request (callerFromApiKey) and for a job it started
 * (callerNow). A key acts as its creator, so it stops with them: not revoked, its creator a user of its
 * team who is enabled, and a master key (admin rights) only while its creator is an admin (a demoted
 * admin's master key kept every admin right). It is about the key, never about a user the key acts
 * for (Apollo's user_id): that user's own state is checked apart.
 */
const keyCreator = and(eq(users.id, apiKeys.createdBy), eq(users.teamId, apiKeys.teamId), isNull(users.disabledAt));
const keyUsable = and(isNull(apiKeys.revokedAt), or(eq(apiKeys.kind, "standard"), eq(users.role, "admin")));

/** An API key acts for its team with the rights of its kind: master = admin rights, standard = member rights. */
export async function callerFromApiKey(d: Db, key: string): Promise<Caller | null> {
  const hash = await sha256Hex(key);
  const [k] = await d
    .select({ id: apiKeys.id, teamId: apiKeys.teamId, createdBy: apiKeys.createdBy, kind: apiKeys.kind, userRole: users.role })
    .from(apiKeys)
    .innerJoin(users, keyCreator)
    .where(and(eq(apiKeys.keyHash, hash), keyUsable))
    .limit(1);
  if (!k) return null;
  return {
    teamId: k.teamId,
    userId: k.createdBy,
    role: k.kind === "master" ? "admin" : "member",
    via: "api_key",
    apiKeyId: k.id,
    apiKeyKind: k.kind,
    userRole: k.userRole,
  };
}

/**
 * A caller as a background job stores it (no session, token or grants): who, with which rights, and by which
 * API key, so callerNow can re-check them, key included, each time the job acts.
 */
export function storedCaller(c: Caller): StoredCaller {
  return {
    userId: c.userId,
    role: c.role,
    via: c.via,
    ...(c.apiKeyId ? { apiKeyId: c.apiKeyId } : {}),
    ...(c.apiKeyKind ? { apiKeyKind: c.apiKeyKind } : {}),
  };
}

/**
 * Who a caller stored by a background job (a bulk action's later pages, a scheduled add) is now: the
 * user's current role, or null when the user was disabled or removed, or the API key can no longer
 * act. A job acts with the rights its caller has when it acts, as a request would.
 *
 * A key's caller may act for another user of the team (Apollo's user_id, a master key's power): the
 * key is checked as a key (keyUsable: its row, its creator), the user it acts for only as a user
 * (enabled, of the team). Checking the key's admin rule against that user refused every master key
 * acting for a member, so each later chunk of such an add skipped its contacts.
 */
export async function callerNow(d: Db, c: Caller): Promise<Caller | null> {
  const key = c.via === "api_key" && c.apiKeyId ? c.apiKeyId : null;
  const [[u], [k]] = await Promise.all([
    d
      .select({ role: users.role, disabledAt: users.disabledAt })
      .from(users)
      .where(and(eq(users.id, c.userId), eq(users.teamId, c.teamId))),
    key
      ? d
          .select({ kind: apiKeys.kind })
          .from(apiKeys)
          .innerJoin(users, keyCreator)
          .where(and(eq(apiKeys.id, key), eq(apiKeys.teamId, c.teamId), keyUsable))
      : Promise.resolve([] as { kind: "master" | "standard" }[]),
  ]);
  if (!u || u.disabledAt) return null;
  if (key) {
    if (!k) return null;
    // The key's rights are its kind's (standard = member; master = admin, as its creator must be), and
    // never more than the user it acts for has: a master key acting for a member acts as that member.
    return { ...c, role: k.kind === "master" ? u.role : "member", apiKeyKind: k.kind };
  }
  return { ...c, role: u.role };
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
    // The rights this caller acts with: an API key's are its kind's (a standard key of an admin acts as a member).
    user: { id: user.id, email: user.email, name: user.name, role: caller.via === "api_key" ? caller.role : user.role },
    team: { id: team.id, name: team.name, credit_balance: team.creditBalance },
  };
}
