import { and, asc, eq, isNull, or, sql } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import { contains } from "../db/contains";
import { auditLog, passwordResets, sessions, users } from "../db/schema";
import { engine } from "../../durable-objects/engine";
import { reassignTasksOfDisabledSql } from "../../durable-objects/tasks";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { hashPassword, sha256Hex } from "../lib/crypto";
import { ApiError, notFound } from "../lib/errors";
import { newId, randomToken } from "../lib/ids";
import { auditEntry } from "./audit";
import { attemptSucceeded, newSession, passwordMatches, recordAttempt } from "./auth";

/** Users of a team: the one module that reads `users` for lists, searches and "acting as" checks, and changes roles, status and passwords (invites.ts creates users). */

export type TeamUser = Pick<typeof users.$inferSelect, "id" | "email" | "name" | "role" | "teamId" | "createdAt">;

const columns = { id: users.id, email: users.email, name: users.name, role: users.role, teamId: users.teamId, createdAt: users.createdAt };
const active = (teamId: string) => and(eq(users.teamId, teamId), isNull(users.disabledAt));

/** The team's active users by name. */
export function listTeamUsers(d: Db, teamId: string): Promise<TeamUser[]> {
  return d.select(columns).from(users).where(active(teamId)).orderBy(asc(users.name));
}

/** An active user of the team, or undefined. */
export async function activeTeamUser(d: Db, teamId: string, userId: string): Promise<TeamUser | undefined> {
  const [u] = await d
    .select(columns)
    .from(users)
    .where(and(active(teamId), eq(users.id, userId)))
    .limit(1);
  return u;
}

/** A page of the team's active users whose name or email contains `q`, and the total. */
export async function searchTeamUsers(
  d: Db,
  teamId: string,
  q: string | null,
  page: number,
  perPage: number,
): Promise<{ rows: TeamUser[]; total: number }> {
  const where = and(active(teamId), q ? or(contains(users.name, q), contains(users.email, q)) : undefined);
  const [rows, total] = await Promise.all([
    d
      .select(columns)
      .from(users)
      .where(where)
      .orderBy(asc(users.name))
      .limit(perPage)
      .offset((page - 1) * perPage),
    d
      .select({ n: sql<number>`count(*)` })
      .from(users)
      .where(where),
  ]);
  return { rows, total: total[0]?.n ?? 0 };
}

/** Every user of the team, disabled ones too (Settings → Team), by name. */
export function listAllTeamUsers(d: Db, teamId: string): Promise<(TeamUser & { disabledAt: number | null })[]> {
  return d
    .select({ ...columns, disabledAt: users.disabledAt })
    .from(users)
    .where(eq(users.teamId, teamId))
    .orderBy(asc(users.name));
}

/** Why a disabled user's mailboxes are disconnected (shown on the Mailboxes card). */
export const OWNER_DISABLED = "Disconnected when its owner was disabled in Settings → Team.";

const refuse = (code: "validation_failed" | "last_admin", field: string, message: string) =>
  new ApiError(code, message, { fields: [{ field, message }] });

/**
 * Changes a user's role and/or disables or enables them (admins, signed in). The guard "the team keeps
 * an active admin" is in the one conditional UPDATE, so two admins demoting or disabling each other at
 * once can't both pass it (D1 runs statements one at a time: the second sees the first's change).
 * Disabling deletes the user's sessions in the same batch; their API keys are refused from the next
 * request (services/auth.ts `callerFromApiKey` joins on an enabled creator, and an admin one for a
 * master key). Disabling or demoting revokes their pending invites and the password reset links they issued; disabling
 * revokes the user's own reset links.
 */
export async function updateUser(
  env: Env,
  d: Db,
  caller: Caller,
  userId: string,
  input: { role?: "admin" | "member" | undefined; disabled?: boolean | undefined },
): Promise<TeamUser & { disabledAt: number | null }> {
  if (input.disabled === true && userId === caller.userId) throw refuse("validation_failed", "disabled", "You can't disable yourself");
  const t = now();
  const role = input.role ?? null;
  const disabled = input.disabled === undefined ? null : input.disabled ? 1 : 0;
  const roleAfter = sql`coalesce(${role}, role)`;
  const disabledAfter = sql`(CASE WHEN ${disabled} IS NULL THEN disabled_at WHEN ${disabled} = 1 THEN coalesce(disabled_at, ${t}) ELSE NULL END)`;
  const results = await batchSql(d, [
    sql`UPDATE users SET role = ${roleAfter}, disabled_at = ${disabledAfter}
      WHERE id = ${userId} AND team_id = ${caller.teamId}
        AND ((${roleAfter} = 'admin' AND ${disabledAfter} IS NULL)
          OR EXISTS (SELECT 1 FROM users o WHERE o.team_id = ${caller.teamId} AND o.id <> ${userId} AND o.role = 'admin' AND o.disabled_at IS NULL))
      RETURNING id`,
    // Only once the user is disabled (the UPDATE above passed): their sessions end now.
    sql`DELETE FROM sessions WHERE user_id = ${userId} AND team_id = ${caller.teamId}
      AND EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND team_id = ${caller.teamId} AND disabled_at IS NOT NULL)`,
    // An invite carries its inviter's authority: once they are disabled or no longer an admin, their
    // pending invites end with it (an offboarded admin's admin invite brought them back as an admin).
    sql`UPDATE invites SET revoked_at = ${t}
      WHERE invited_by = ${userId} AND team_id = ${caller.teamId} AND accepted_at IS NULL AND revoked_at IS NULL
        AND EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND team_id = ${caller.teamId} AND (role <> 'admin' OR disabled_at IS NOT NULL))`,
    // A disabled user's reset links end (enabling them again doesn't bring a copied link back), and so
    // do the links a disabled or demoted admin issued, like their invites.
    sql`UPDATE password_resets SET revoked_at = ${t}
      WHERE team_id = ${caller.teamId} AND used_at IS NULL AND revoked_at IS NULL
        AND ((user_id = ${userId} AND EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND team_id = ${caller.teamId} AND disabled_at IS NOT NULL))
          OR (created_by = ${userId} AND EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND team_id = ${caller.teamId} AND (role <> 'admin' OR disabled_at IS NOT NULL))))`,
    // A disabled user's mailboxes stop sending in their name (nobody active would see their replies or
    // bounces): disconnected, saying why on the Mailboxes card. Their emails are held, not failed, until
    // someone reconnects the mailbox; enabling the user again does not. A removed mailbox stays removed.
    sql`UPDATE mailboxes SET status = 'disconnected', status_reason = ${OWNER_DISABLED}, updated_at = ${t}
      WHERE user_id = ${userId} AND team_id = ${caller.teamId} AND status NOT IN ('disconnected', 'removed')
        AND EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND team_id = ${caller.teamId} AND disabled_at IS NOT NULL)
      RETURNING id`,
    // Their open tasks go to someone active who can work them (the rule new tasks follow).
    reassignTasksOfDisabledSql(caller.teamId, userId),
    // The change's audit entry in the same batch, written only if the user now is as asked: a change
    // made and then an error answered (the entry written after) left a change nobody was told of.
    sql`INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
      SELECT ${newId()}, ${caller.teamId}, ${caller.userId}, ${caller.apiKeyId ?? null}, 'user.update', 'user', ${userId}, ${JSON.stringify(
        {
          ...(input.role !== undefined && { role: input.role }),
          ...(input.disabled !== undefined && { disabled: input.disabled }),
        },
      )}, ${t}
      WHERE EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND team_id = ${caller.teamId}
        AND (${role} IS NULL OR role = ${role}) AND (${disabled} IS NULL OR (disabled_at IS NOT NULL) = (${disabled} = 1)))`,
  ]);
  const updated = results[0];
  // Each disconnected mailbox's MailboxDO re-reads its settings now, so nothing queued goes out.
  const stopped = (results[4]?.results ?? []) as { id: string }[];
  await Promise.all(stopped.map((m) => engine.mailbox(env, m.id).refresh()));
  const [row] = await d
    .select({ ...columns, disabledAt: users.disabledAt })
    .from(users)
    .where(and(eq(users.id, userId), eq(users.teamId, caller.teamId)))
    .limit(1);
  if (!row) throw notFound("User");
  if (!updated?.results.length) {
    // Demoting names the role; disabling (with or without a role) names the switch.
    throw refuse(
      "last_admin",
      input.role === "member" ? "role" : "disabled",
      "The team needs at least one active admin: make someone else an admin first",
    );
  }
  return row;
}

/**
 * Changes the signed-in user's own password: 422 on `current_password` when it isn't theirs (counted by
 * the sign-in throttle, like a failed sign-in of their address). Every session of theirs ends and the
 * caller gets a new one (its cookie and CSRF token in the answer).
 */
export async function changePassword(
  d: Db,
  caller: Caller,
  input: { current_password: string; new_password: string; ip: string },
  userAgent?: string,
) {
  const user = await d.query.users.findFirst({ where: and(eq(users.id, caller.userId), eq(users.teamId, caller.teamId)) });
  if (!user) throw notFound("User");
  const attempt = await recordAttempt(d, user.email, input.ip);
  if (!(await passwordMatches(user, input.current_password)))
    throw refuse("validation_failed", "current_password", "That isn't your current password");
  await attemptSucceeded(d, attempt);
  const passwordHash = await hashPassword(input.new_password);
  // Every session ends, this one too, and a new one is issued in the same batch: a password is
  // changed because one may be known, and a stolen copy of this session's cookie stayed signed in.
  const session = await newSession(user, userAgent);
  await d.batch([
    d
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, user.id), eq(users.teamId, caller.teamId))),
    d.delete(sessions).where(eq(sessions.userId, user.id)),
    // An admin-issued reset link still open would set another password over this one: whoever changes
    // their password because it may be known must not leave a second way into the account.
    d
      .update(passwordResets)
      .set({ revokedAt: now() })
      .where(
        and(
          eq(passwordResets.userId, user.id),
          eq(passwordResets.teamId, caller.teamId),
          isNull(passwordResets.usedAt),
          isNull(passwordResets.revokedAt),
        ),
      ),
    d.insert(sessions).values(session.row),
    d.insert(auditLog).values(auditEntry(caller, "user.password_change", "user", user.id)),
  ]);
  return { token: session.token, csrfToken: session.csrfToken, user };
}

/** How long an admin-issued password reset link opens. Shorter than an invite's: it takes over an existing account. */
export const PASSWORD_RESET_TTL_MS = 24 * 3600 * 1000;

/** Unknown, expired, revoked and used links all answer this same 404, so a token can't be probed. */
const resetGone = () =>
  new ApiError(
    "not_found",
    "This password reset link is not valid: it may have expired, been replaced or been used. Ask your admin for a new one",
  );

/**
 * The one rule of an open reset link, by its token's hash at `t`: unused, not revoked, not expired, for
 * a user still enabled in its team, and issued by someone still an active admin of it (a link carries
 * its issuer's authority, like an invite).
 */
const openResetWhere = (hash: string, t: number) => sql`password_resets.token_hash = ${hash} AND password_resets.used_at IS NULL
  AND password_resets.revoked_at IS NULL AND password_resets.expires_at > ${t}
  AND EXISTS (SELECT 1 FROM users u WHERE u.id = password_resets.user_id AND u.team_id = password_resets.team_id AND u.disabled_at IS NULL)
  AND EXISTS (SELECT 1 FROM users a WHERE a.id = password_resets.created_by AND a.team_id = password_resets.team_id
    AND a.role = 'admin' AND a.disabled_at IS NULL)`;

/**
 * A new password reset link for a user of the caller's team (admins): answers the token, never stored
 * (only its SHA-256). Revokes the user's earlier open links in the same batch, so only the newest works.
 * 404 for another team's user; 422 on `id` for a disabled one (enable them first).
 */
export async function createPasswordReset(
  d: Db,
  caller: Caller,
  userId: string,
): Promise<{ token: string; expiresAt: number; user: TeamUser }> {
  const [user] = await d
    .select({ ...columns, disabledAt: users.disabledAt })
    .from(users)
    .where(and(eq(users.id, userId), eq(users.teamId, caller.teamId)))
    .limit(1);
  if (!user) throw notFound("User");
  if (user.disabledAt) throw refuse("validation_failed", "id", "This user is disabled: enable them before resetting their password");
  const token = randomToken(32);
  const t = now();
  const expiresAt = t + PASSWORD_RESET_TTL_MS;
  const id = newId();
  await batchSql(d, [
    sql`UPDATE password_resets SET revoked_at = ${t} WHERE user_id = ${userId} AND team_id = ${caller.teamId} AND used_at IS NULL AND revoked_at IS NULL`,
    sql`INSERT INTO password_resets (id, team_id, user_id, created_by, token_hash, created_at, expires_at)
      VALUES (${id}, ${caller.teamId}, ${userId}, ${caller.userId}, ${await sha256Hex(token)}, ${t}, ${expiresAt})`,
    sql`INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
      VALUES (${newId()}, ${caller.teamId}, ${caller.userId}, ${caller.apiKeyId ?? null}, 'user.password_reset_issue', 'user', ${userId}, '{}', ${t})`,
  ]);
  return { token, expiresAt, user };
}

/** An open reset link by its token (its public page): whose password it sets, and their team's name. */
export async function openPasswordReset(d: Db, token: string) {
  const row = await d.get<{ email: string; name: string; team_name: string; expires_at: number } | undefined>(
    sql`SELECT u.email, u.name, t.name AS team_name, password_resets.expires_at FROM password_resets
      JOIN users u ON u.id = password_resets.user_id JOIN teams t ON t.id = password_resets.team_id
      WHERE ${openResetWhere(await sha256Hex(token), now())} LIMIT 1`,
  );
  if (!row) throw resetGone();
  return row;
}

/**
 * Sets a new password through a reset link, in one D1 batch: marks the link used (only while open), sets
 * the password of the user it names (only if this request's mark won), ends every session of theirs
 * (a reset is asked for because the password is lost or known) and signs them in with a new one.
 */
export async function usePasswordReset(d: Db, token: string, input: { password: string; userAgent?: string | undefined }) {
  const hash = await sha256Hex(token);
  const reset = await d.get<{ id: string; user_id: string; team_id: string } | undefined>(
    sql`SELECT id, user_id, team_id FROM password_resets WHERE ${openResetWhere(hash, now())} LIMIT 1`,
  );
  if (!reset) throw resetGone();
  const passwordHash = await hashPassword(input.password);
  const session = await newSession({ id: reset.user_id, teamId: reset.team_id }, input.userAgent);
  const s = session.row;
  const at = now();
  // This request won the link when its new session exists: it is inserted first, only while the link is
  // open, and the rest follows from it (batches run one at a time, so of two uses at once only the
  // first's session is made; a mark by time alone let a second use in the same millisecond through).
  const won = sql`EXISTS (SELECT 1 FROM sessions WHERE id = ${s.id})`;
  const results = await batchSql(d, [
    sql`INSERT INTO sessions (id, user_id, team_id, csrf_token, created_at, expires_at, user_agent)
      SELECT ${s.id}, user_id, team_id, ${s.csrfToken}, ${s.createdAt}, ${s.expiresAt}, ${s.userAgent ?? null}
      FROM password_resets WHERE id = ${reset.id} AND ${openResetWhere(hash, at)}`,
    sql`UPDATE password_resets SET used_at = ${at} WHERE id = ${reset.id} AND ${won}`,
    sql`UPDATE users SET password_hash = ${passwordHash} WHERE id = ${reset.user_id} AND team_id = ${reset.team_id} AND ${won}`,
    sql`DELETE FROM sessions WHERE user_id = ${reset.user_id} AND id <> ${s.id} AND ${won}`,
    sql`INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
      SELECT ${newId()}, team_id, user_id, NULL, 'user.password_reset', 'user', user_id, ${JSON.stringify({ reset_id: reset.id })}, ${at}
      FROM password_resets WHERE id = ${reset.id} AND ${won}`,
  ]);
  if (!results[0]?.meta.changes) throw resetGone();
  const user = await d.query.users.findFirst({ where: and(eq(users.id, reset.user_id), eq(users.teamId, reset.team_id)) });
  if (!user) throw resetGone();
  return { token: session.token, csrfToken: session.csrfToken, user };
}
