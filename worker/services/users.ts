import { and, asc, eq, isNull, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { contains } from "../db/contains";
import { users } from "../db/schema";

/** Users of a team: the one module that reads `users` for lists, searches and "acting as" checks. */

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
