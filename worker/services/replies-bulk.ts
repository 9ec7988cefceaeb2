import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { inList } from "../db/in-list";
import { inboundMessages } from "../db/schema";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { sequenceFor } from "./access";

/** At most this many inbound emails in one "Confirm selected" (one page of the inbox is 25; the API's cap). */
export const MAX_CONFIRM = 100;

export type ConfirmSkipped = { id: string; reason: "not_found" | "forbidden" };

/**
 * "Confirm selected": each email marked reviewed as it is, as its own Confirm does (sending the
 * classification it has: correctClassification's first branch, which changes nothing else), and each
 * checked alike, through sequenceFor on its sequence: one of another team or a sequence the caller can't
 * see is not_found, one they may only view is forbidden, and neither stops the others. Each sequence is
 * checked once and the rows written in one UPDATE, so 100 ids stay well inside a request's D1 budget.
 */
export async function confirmReplies(d: Db, caller: Caller, ids: string[]) {
  const wanted = [...new Set(ids)];
  const rows = await d
    .select({ id: inboundMessages.id, sequenceId: inboundMessages.sequenceId })
    .from(inboundMessages)
    .where(and(eq(inboundMessages.teamId, caller.teamId), inList(inboundMessages.id, wanted)));
  const decided = new Map<string, "ok" | ConfirmSkipped["reason"]>();
  for (const sequenceId of new Set(rows.map((r) => r.sequenceId))) {
    try {
      await sequenceFor(d, caller, sequenceId, "sequence.edit");
      decided.set(sequenceId, "ok");
    } catch (e) {
      if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 403)) throw e;
      decided.set(sequenceId, e.status === 404 ? "not_found" : "forbidden");
    }
  }
  const found = new Map(rows.map((r) => [r.id, decided.get(r.sequenceId)!]));
  const confirmed = wanted.filter((id) => found.get(id) === "ok");
  const skipped: ConfirmSkipped[] = wanted.flatMap((id) => {
    const why = found.get(id) ?? "not_found";
    return why === "ok" ? [] : [{ id, reason: why }];
  });
  if (confirmed.length)
    await d
      .update(inboundMessages)
      .set({ reviewedAt: now(), reviewedBy: caller.userId })
      .where(and(eq(inboundMessages.teamId, caller.teamId), inList(inboundMessages.id, confirmed)));
  return { confirmed, skipped };
}
