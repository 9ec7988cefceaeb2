import { and, asc, eq, isNull, or, sql } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import { contains } from "../db/contains";
import { auditLog, sessions, users } from "../db/schema";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { hashPassword } from "../lib/crypto";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
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

const refuse = (code: "validation_failed" | "last_admin", field: string, message: string) =>
  new ApiError(code, message, { fields: [{ field, message }] });

/**
 * Changes a user's role and/or disables or enables them (admins, signed in). The guard "the team keeps
 * an active admin" is in the one conditional UPDATE, so two admins demoting or disabling each other at
 * once can't both pass it (D1 runs statements one at a time: the second sees the first's change).
 * Disabling deletes the user's sessions in the same batch; their API keys are refused from the next
 * request (services/auth.ts `callerFromApiKey` joins on an enabled creator, and an admin one for a
 * master key). Disabling or demoting revokes their pending invites.
 */
export async function updateUser(
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
  const [updated] = await batchSql(d, [
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
    d.insert(sessions).values(session.row),
    d.insert(auditLog).values(auditEntry(caller, "user.password_change", "user", user.id)),
  ]);
  return { token: session.token, csrfToken: session.csrfToken, user };
}
