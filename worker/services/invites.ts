import { and, asc, eq, gt, isNull, lte, sql } from "drizzle-orm";
import { batchSql, isUniqueViolation, type Db } from "../db/client";
import { auditLog, invites, teams, users } from "../db/schema";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { hashPassword, sha256Hex } from "../lib/crypto";
import { ApiError, notFound } from "../lib/errors";
import { newId, randomToken } from "../lib/ids";
import { auditEntry } from "./audit";
import { newSession } from "./auth";

/**
 * Invites: the one module that writes `invites` and the one way a user is created. An admin invites an
 * address with a role; Seqflare sends no email, so the admin copies the link (shown once: only the
 * token's SHA-256 is stored). Opening the link and setting a password creates the user and signs them in.
 */

export const INVITE_TTL_MS = 7 * 24 * 3600 * 1000;

export type InviteRow = typeof invites.$inferSelect;

const emailTaken = () =>
  new ApiError("validation_failed", "This address is already a member of your team", {
    fields: [{ field: "email", message: "This address is already a member of your team" }],
  });

/**
 * The address has a pending invite. With another role than asked, says exactly how to get that role: a
 * re-issue keeps the invite's role unless it is given one.
 */
const alreadyInvited = (email: string, pendingRole?: "admin" | "member", asked?: "admin" | "member") => {
  const as = (r: "admin" | "member") => (r === "admin" ? "an admin" : "a member");
  const otherRole = pendingRole && asked && pendingRole !== asked;
  const message = otherRole
    ? `${email} already has a pending invite as ${as(pendingRole)}. To invite them as ${as(asked)}, revoke that invite under Pending invites and invite them again (or re-issue it with role "${asked}": POST /api/invites/{id}/reissue)`
    : `${email} already has a pending invite: re-issue it to get a new link`;
  return new ApiError("validation_failed", message, {
    fields: [
      {
        field: "email",
        message: otherRole
          ? `Already invited as ${as(pendingRole)}: re-issue that invite with role ${asked}, or revoke it and invite again as ${as(asked)}`
          : "Already invited: re-issue the pending invite to get a new link",
      },
    ],
  });
};

/** Pending invites of the team (not accepted, not revoked; expired ones too, to re-issue), newest first. */
export function listPendingInvites(d: Db, teamId: string): Promise<InviteRow[]> {
  return d
    .select()
    .from(invites)
    .where(and(eq(invites.teamId, teamId), isNull(invites.acceptedAt), isNull(invites.revokedAt)))
    .orderBy(asc(invites.email));
}

async function tokenPair() {
  const token = randomToken(32);
  return { token, hash: await sha256Hex(token) };
}

/**
 * A new invite and its token (never stored). 422 on `email` for an address that is already a user of
 * this team or already has a pending invite in this team; an expired
 * pending one is revoked in the same batch, so the address can be invited afresh.
 */
export async function createInvite(
  d: Db,
  caller: Caller,
  input: { email: string; role: "admin" | "member"; name?: string | undefined },
): Promise<{ row: InviteRow; token: string }> {
  const email = input.email.trim().toLowerCase();
  const t = now();
  const [user, pending] = await Promise.all([
    // Only this team's users: refusing an address that has an account in another team would tell any
    // admin who uses Seqflare elsewhere. Accepting such an invite is refused (ask for an invite to another address) by the
    // unique users.email, and nothing is created.
    d
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.teamId, caller.teamId), eq(users.email, email)))
      .limit(1),
    d
      .select({ id: invites.id, role: invites.role })
      .from(invites)
      .where(
        and(
          eq(invites.teamId, caller.teamId),
          eq(invites.email, email),
          isNull(invites.acceptedAt),
          isNull(invites.revokedAt),
          gt(invites.expiresAt, t),
        ),
      )
      .limit(1),
  ]);
  if (user.length) throw emailTaken();
  if (pending[0]) throw alreadyInvited(email, pending[0].role, input.role);
  const { token, hash } = await tokenPair();
  const row: InviteRow = {
    id: newId(),
    teamId: caller.teamId,
    email,
    name: input.name?.trim() || null,
    role: input.role,
    invitedBy: caller.userId,
    tokenHash: hash,
    createdAt: t,
    expiresAt: t + INVITE_TTL_MS,
    acceptedAt: null,
    revokedAt: null,
    userId: null,
  };
  try {
    await d.batch([
      d
        .update(invites)
        .set({ revokedAt: t })
        .where(
          and(
            eq(invites.teamId, caller.teamId),
            eq(invites.email, email),
            isNull(invites.acceptedAt),
            isNull(invites.revokedAt),
            lte(invites.expiresAt, t),
          ),
        ),
      d.insert(invites).values(row),
      d.insert(auditLog).values(auditEntry(caller, "user.invite", "invite", row.id, { email, role: input.role })),
    ]);
  } catch (e) {
    // Two invites of one address at once: the pending-invite index lets one in.
    if (isUniqueViolation(e)) throw alreadyInvited(email);
    throw e;
  }
  return { row, token };
}

/**
 * A new token for a pending invite (the old link stops working) and a fresh 7 days, issued by the caller:
 * the invite is theirs from now on (it opens while they are an admin, and ends when they are demoted or
 * disabled; kept as the first inviter's, demoting that admin revoked a link a colleague had just handed
 * out). `role` changes the role it grants (the route lets only admins re-issue, so only an admin grants
 * admin); left out, it keeps its role. 404 for another team's, accepted or revoked.
 */
export async function reissueInvite(
  d: Db,
  caller: Caller,
  id: string,
  input: { role?: "admin" | "member" | undefined } = {},
): Promise<{ row: InviteRow; token: string }> {
  const { token, hash } = await tokenPair();
  const t = now();
  const open = and(eq(invites.id, id), eq(invites.teamId, caller.teamId), isNull(invites.acceptedAt), isNull(invites.revokedAt));
  const [before] = await d.select({ invitedBy: invites.invitedBy, role: invites.role }).from(invites).where(open);
  if (!before) throw notFound("Invite");
  const [row] = await d
    .update(invites)
    .set({ tokenHash: hash, expiresAt: t + INVITE_TTL_MS, invitedBy: caller.userId, ...(input.role && { role: input.role }) })
    .where(open)
    .returning();
  if (!row) throw notFound("Invite");
  await d.insert(auditLog).values(
    auditEntry(caller, "user.invite_reissue", "invite", row.id, {
      email: row.email,
      role: row.role,
      ...(before.role !== row.role && { previous_role: before.role }),
      ...(before.invitedBy !== row.invitedBy && { previous_invited_by: before.invitedBy }),
    }),
  );
  return { row, token };
}

/** Revokes a pending invite: its link answers 404 from now on. */
export async function revokeInvite(d: Db, caller: Caller, id: string): Promise<InviteRow> {
  const [row] = await d
    .update(invites)
    .set({ revokedAt: now() })
    .where(and(eq(invites.id, id), eq(invites.teamId, caller.teamId), isNull(invites.acceptedAt), isNull(invites.revokedAt)))
    .returning();
  if (!row) throw notFound("Invite");
  await d.insert(auditLog).values(auditEntry(caller, "user.invite_revoke", "invite", row.id, { email: row.email }));
  return row;
}

/** Unknown, expired, revoked and used tokens all answer this same 404, so a token can't be probed. */
const inviteGone = () => new ApiError("not_found", "This invite link is not valid: it may have expired, been revoked or been used");

/**
 * An invite carries its inviter's authority: it opens only while they are an active admin of its team
 * (updateUser also revokes their invites when that ends; this holds for a request already under way).
 */
const inviterStillAdmin = sql`EXISTS (SELECT 1 FROM users a WHERE a.id = ${invites.invitedBy} AND a.team_id = ${invites.teamId}
  AND a.role = 'admin' AND a.disabled_at IS NULL)`;

/** The one rule of an open invite (its page, and the accept's read and conditional mark): by its token's hash, at `t`. */
const openWhere = (hash: string, t: number) =>
  and(eq(invites.tokenHash, hash), isNull(invites.acceptedAt), isNull(invites.revokedAt), gt(invites.expiresAt, t), inviterStillAdmin)!;

/** An open invite by its token (the public invite page), with its team's name. */
export async function openInvite(d: Db, token: string) {
  const [row] = await d
    .select({ email: invites.email, name: invites.name, role: invites.role, teamName: teams.name, expiresAt: invites.expiresAt })
    .from(invites)
    .innerJoin(teams, eq(teams.id, invites.teamId))
    .where(openWhere(await sha256Hex(token), now()))
    .limit(1);
  if (!row) throw inviteGone();
  return row;
}

/**
 * Accepts an invite: in one D1 batch, marks it used (only while open, naming the new user), creates
 * that user (only if the invite names it: of two accepts of one token, only the one whose mark won
 * makes a user) and a session for them. Answers the session to sign in with.
 */
export async function acceptInvite(d: Db, token: string, input: { name: string; password: string; userAgent?: string | undefined }) {
  const hash = await sha256Hex(token);
  const [invite] = await d.select().from(invites).where(openWhere(hash, now())).limit(1);
  if (!invite) throw inviteGone();
  const userId = newId();
  const passwordHash = await hashPassword(input.password);
  const session = await newSession({ id: userId, teamId: invite.teamId }, input.userAgent);
  const s = session.row;
  const at = now();
  let results;
  try {
    results = await batchSql(d, [
      sql`UPDATE invites SET accepted_at = ${at}, user_id = ${userId}
        WHERE id = ${invite.id} AND ${openWhere(hash, at)}`,
      sql`INSERT INTO users (id, team_id, email, name, role, password_hash, created_at)
        SELECT ${userId}, team_id, email, ${input.name}, role, ${passwordHash}, ${at} FROM invites WHERE id = ${invite.id} AND user_id = ${userId}`,
      sql`INSERT INTO sessions (id, user_id, team_id, csrf_token, created_at, expires_at, user_agent)
        SELECT ${s.id}, id, team_id, ${s.csrfToken}, ${s.createdAt}, ${s.expiresAt}, ${s.userAgent ?? null} FROM users WHERE id = ${userId}`,
      sql`INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
        SELECT ${newId()}, team_id, id, NULL, 'user.invite_accept', 'user', id, ${JSON.stringify({ invite_id: invite.id })}, ${at}
        FROM users WHERE id = ${userId}`,
    ]);
  } catch (e) {
    // The address is a user already (users.email is unique): in another team, signing in opens that team,
    // never this one, so this invite can't be used by that address; in this team (added meanwhile), signing in is the way.
    if (isUniqueViolation(e)) {
      const holder = await d.select({ teamId: users.teamId }).from(users).where(eq(users.email, invite.email)).get();
      if (holder?.teamId === invite.teamId)
        throw new ApiError("conflict", "This address is already a member of this team: sign in instead");
      throw new ApiError(
        "conflict",
        "This address already has a Seqflare account in another team; ask for an invite to a different address",
      );
    }
    throw e;
  }
  if (!results[0]?.meta.changes) throw inviteGone();
  return {
    token: session.token,
    csrfToken: session.csrfToken,
    user: { id: userId, teamId: invite.teamId, role: invite.role },
  };
}
