import { and, desc, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiKeys, auditLog, users } from "../db/schema";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { sha256Hex } from "../lib/crypto";
import { notFound } from "../lib/errors";
import { newId, randomToken } from "../lib/ids";
import { audit, auditEntry } from "./audit";

/** API keys: the one module that writes `api_keys` (lookups for authentication live in services/auth.ts). Only the key's hash is stored. */

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/**
 * A key with the user it acts as (its creator) and, when it is not revoked but refused anyway, why:
 * its creator was disabled, or a master key's creator is no longer an admin (services/auth.ts).
 */
export type ApiKeyView = ApiKeyRow & { creatorName: string | null; stopped: string | null; openJobs: number };

const creatorColumns = { creatorName: users.name, creatorRole: users.role, creatorDisabledAt: users.disabledAt };

function view(key: ApiKeyRow, c: { creatorName: string | null; creatorRole: string | null; creatorDisabledAt: number | null }): ApiKeyView {
  const who = c.creatorName ?? "Its creator";
  const stopped = key.revokedAt
    ? null
    : c.creatorName === null
      ? "Its creator is no longer in the team"
      : c.creatorDisabledAt
        ? `${who} was disabled`
        : key.kind === "master" && c.creatorRole !== "admin"
          ? `${who} is no longer an admin: a master key works only while its creator is one`
          : null;
  return { ...key, creatorName: c.creatorName, stopped, openJobs: 0 };
}

/**
 * The team's work a key started that is still to run, by key: adds scheduled, queued or running (jobs)
 * and bulk actions acting page by page (enrollment_action_jobs). Each re-checks its key when it acts, so
 * revoking the key fails the scheduled ones and skips the rest of the running ones: the revoke dialog
 * says how many. By status first (jobs_status_run_idx, enrollment_action_jobs_status_updated_idx): few
 * jobs are open at once, however many the team ever ran. The unary + keeps the planner off the team index,
 * which it prefers for `team_id = ?` and which walks every job the team ran (1,500 rows for 1,500 old adds).
 */
async function openJobsByKey(d: Db, teamId: string): Promise<Map<string, number>> {
  const rows = await d.all<{ k: string; n: number }>(sql`
    SELECT k, count(*) AS n FROM (
      SELECT json_extract(caller, '$.apiKeyId') AS k FROM jobs
       WHERE status IN ('preparing', 'scheduled', 'queued', 'running') AND +team_id = ${teamId}
      UNION ALL
      SELECT json_extract(caller, '$.apiKeyId') FROM enrollment_action_jobs WHERE status = 'running' AND team_id = ${teamId}
    ) WHERE k IS NOT NULL GROUP BY k`);
  return new Map(rows.map((r) => [r.k, r.n]));
}

export async function listApiKeys(d: Db, teamId: string): Promise<ApiKeyView[]> {
  const [rows, open] = await Promise.all([
    d
      .select({ key: apiKeys, ...creatorColumns })
      .from(apiKeys)
      .leftJoin(users, eq(users.id, apiKeys.createdBy))
      .where(eq(apiKeys.teamId, teamId))
      .orderBy(desc(apiKeys.createdAt)),
    openJobsByKey(d, teamId),
  ]);
  return rows.map((r) => ({ ...view(r.key, r), openJobs: open.get(r.key.id) ?? 0 }));
}

/** The user a key acts as and its open work, for the answers about one key (a new key has none to count). */
async function withCreator(d: Db, row: ApiKeyRow, isNew = false): Promise<ApiKeyView> {
  const [[u], open] = await Promise.all([
    d.select(creatorColumns).from(users).where(eq(users.id, row.createdBy)).limit(1),
    isNew ? new Map<string, number>() : openJobsByKey(d, row.teamId),
  ]);
  return { ...view(row, u ?? { creatorName: null, creatorRole: null, creatorDisabledAt: null }), openJobs: open.get(row.id) ?? 0 };
}

/** A new key: the row and the key itself, which is never stored and never shown again. */
export async function createApiKey(
  d: Db,
  caller: Caller,
  input: { name: string; kind: "master" | "standard" },
): Promise<{ row: ApiKeyView; key: string }> {
  const key = `sf_${input.kind === "master" ? "m" : "s"}_${randomToken(24)}`;
  const row: ApiKeyRow = {
    id: newId(),
    teamId: caller.teamId,
    createdBy: caller.userId,
    name: input.name,
    kind: input.kind,
    keyHash: await sha256Hex(key),
    prefix: key.slice(0, 9),
    createdAt: now(),
    lastUsedAt: null,
    revokedAt: null,
  };
  await d.batch([
    d.insert(apiKeys).values(row),
    d.insert(auditLog).values(auditEntry(caller, "api_key.create", "api_key", row.id, { kind: input.kind })),
  ]);
  return { row: await withCreator(d, row, true), key };
}

/** Revoke a key of the caller's team (404 for another team's or one already revoked); it stops working on the next request. */
export async function revokeApiKey(d: Db, caller: Caller, id: string): Promise<ApiKeyView> {
  const [row] = await d
    .update(apiKeys)
    .set({ revokedAt: now() })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.teamId, caller.teamId), isNull(apiKeys.revokedAt)))
    .returning();
  if (!row) throw notFound("API key");
  await audit(d, caller, "api_key.revoke", "api_key", row.id);
  return withCreator(d, row);
}
