import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { chunked } from "../db/in-list";
import { auditLog } from "../db/schema";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { newId } from "../lib/ids";

/** Append one audit entry for a mutation made by `caller`. */
export function auditEntry(caller: Caller, action: string, targetType: string, targetId: string, details: Record<string, unknown> = {}) {
  return {
    id: newId(),
    teamId: caller.teamId,
    userId: caller.userId,
    apiKeyId: caller.apiKeyId ?? null,
    action,
    targetType,
    targetId,
    details,
    createdAt: now(),
  };
}

export async function audit(d: Db, ...args: Parameters<typeof auditEntry>) {
  await d.insert(auditLog).values(auditEntry(...args));
}

/**
 * One entry per target (same action and caller, each its own details) for thousands of targets at once: the
 * entries travel as one bound JSON array per 1,000 (D1's 100-parameter limit), a statement each.
 */
export async function auditEach(
  d: Db,
  caller: Caller,
  action: string,
  targetType: string,
  entries: readonly { targetId: string; details: Record<string, unknown> }[],
) {
  const t = now();
  for (const part of chunked(entries, 1_000)) {
    if (!part.length) continue;
    const rows = JSON.stringify(part.map((e) => [newId(), e.targetId, JSON.stringify(e.details)]));
    await d.run(sql`INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
      SELECT json_extract(value, '$[0]'), ${caller.teamId}, ${caller.userId}, ${caller.apiKeyId ?? null}, ${action}, ${targetType}, json_extract(value, '$[1]'), json_extract(value, '$[2]'), ${t}
        FROM json_each(${rows})`);
  }
}
