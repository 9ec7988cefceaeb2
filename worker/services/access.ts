import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { sequences, sequenceShares } from "../db/schema";
import type { Caller } from "../env";
import { ApiError, notFound } from "../lib/errors";

export type SequenceAccess = "owner" | "admin" | "edit" | "view";

/**
 * Who may see and change a sequence (invariants 8 and 9): another team's id is 404; members see
 * sequences they own or that are shared with them; the owner, editors and admins change them.
 */
export async function sequenceAccess(d: Db, caller: Caller, sequenceId: string) {
  const seq = await d.query.sequences.findFirst({ where: and(eq(sequences.id, sequenceId), eq(sequences.teamId, caller.teamId)) });
  if (!seq) throw notFound("Sequence");
  let access: SequenceAccess | null = null;
  if (seq.ownerId === caller.userId) access = "owner";
  else if (caller.role === "admin") access = "admin";
  else {
    const share = await d.query.sequenceShares.findFirst({ where: and(eq(sequenceShares.sequenceId, seq.id), eq(sequenceShares.userId, caller.userId)) });
    access = share?.access ?? null;
  }
  if (!access) throw notFound("Sequence");
  return { seq, access };
}

export const canEdit = (a: SequenceAccess) => a !== "view";

export async function editableSequence(d: Db, caller: Caller, sequenceId: string) {
  const r = await sequenceAccess(d, caller, sequenceId);
  if (!canEdit(r.access)) throw new ApiError("forbidden", "You can view this sequence but not change it. Ask its owner for edit access.");
  return r;
}
