import { and, desc, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiKeys, auditLog } from "../db/schema";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { sha256Hex } from "../lib/crypto";
import { notFound } from "../lib/errors";
import { newId, randomToken } from "../lib/ids";
import { audit, auditEntry } from "./audit";

/** API keys: the one module that writes `api_keys` (lookups for authentication live in services/auth.ts). Only the key's hash is stored. */

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export function listApiKeys(d: Db, teamId: string): Promise<ApiKeyRow[]> {
  return d.select().from(apiKeys).where(eq(apiKeys.teamId, teamId)).orderBy(desc(apiKeys.createdAt));
}

/** A new key: the row and the key itself, which is never stored and never shown again. */
export async function createApiKey(
  d: Db,
  caller: Caller,
  input: { name: string; kind: "master" | "standard" },
): Promise<{ row: ApiKeyRow; key: string }> {
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
  return { row, key };
}

/** Revoke a key of the caller's team (404 for another team's or one already revoked); it stops working on the next request. */
export async function revokeApiKey(d: Db, caller: Caller, id: string): Promise<ApiKeyRow> {
  const [row] = await d
    .update(apiKeys)
    .set({ revokedAt: now() })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.teamId, caller.teamId), isNull(apiKeys.revokedAt)))
    .returning();
  if (!row) throw notFound("API key");
  await audit(d, caller, "api_key.revoke", "api_key", row.id);
  return row;
}
