import type { Db } from "../db/client";
import type { Caller, Env } from "../env";
import { ApiError } from "../lib/errors";
import { correctClassification, getReply } from "./replies";

/** At most this many inbound emails in one "Confirm selected" (one page of the inbox is 25; the API's cap). */
export const MAX_CONFIRM = 100;

export type ConfirmSkipped = { id: string; reason: "not_found" | "forbidden" };

/**
 * "Confirm selected": each email marked reviewed as it is, as its own Confirm does (correctClassification
 * with the classification it has), so each is checked alike: one the caller can't see is not_found, one
 * they may only view is forbidden, and neither stops the others.
 */
export async function confirmReplies(env: Env, d: Db, caller: Caller, ids: string[]) {
  const confirmed: string[] = [];
  const skipped: ConfirmSkipped[] = [];
  for (const id of [...new Set(ids)]) {
    try {
      const r = await getReply(d, caller, id);
      await correctClassification(env, d, caller, id, r.classification);
      confirmed.push(id);
    } catch (e) {
      if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 403)) throw e;
      skipped.push({ id, reason: e.status === 404 ? "not_found" : "forbidden" });
    }
  }
  return { confirmed, skipped };
}
