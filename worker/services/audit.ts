import type { Db } from "../db/client";
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
