import { and, eq, sql, type SQL } from "drizzle-orm";
import type { BatchStatement, Db } from "../db/client";
import { sequences, steps } from "../db/schema";
import { ApiError } from "../lib/errors";

/**
 * What must hold before a sequence or workflow changes state, in one place: a sequence that is on
 * has at least one step on (otherwise contacts would sit in it with nothing to go through, and the
 * screen would say they move through the steps), and a workflow that is on adds to a sequence that
 * is on. Each refusal is a 422 naming the field whose change was refused.
 */

const refuse = (field: string, message: string) => new ApiError("validation_failed", message, { fields: [{ field, message }] });

async function stepCounts(d: Db, sequenceId: string, exceptStepId: string | null = null) {
  const [r] = await d
    .select({ total: sql<number>`count(*)`, enabled: sql<number>`coalesce(sum(${steps.enabled}), 0)` })
    .from(steps)
    .where(and(eq(steps.sequenceId, sequenceId), sql`${steps.id} IS NOT ${exceptStepId}`));
  return { total: r?.total ?? 0, enabled: r?.enabled ?? 0 };
}

/** Turning a sequence on: it needs a step that is on. */
export async function assertCanTurnOn(d: Db, sequenceId: string): Promise<void> {
  const { total, enabled } = await stepCounts(d, sequenceId);
  if (total === 0) throw refuse("active", "Add a step before turning the sequence on: with no steps, contacts have nothing to go through");
  if (enabled === 0) throw refuse("active", "Turn a step on before turning the sequence on: every step is off");
}

/**
 * "The sequence is off, or another of its steps is on", as a condition of the UPDATE that turns a step
 * off: assertKeepsAStepOn's count, read before the write, lets two editors turn off the last two steps
 * at once and leave an active sequence with none. SQLite runs each statement alone.
 */
export const keepsAStepOn = (sequenceId: string, stepId: string) =>
  sql`(not exists (select 1 from sequences q where q.id = ${sequenceId} and q.active = 1)
    or exists (select 1 from steps o where o.sequence_id = ${sequenceId} and o.id <> ${stepId} and o.enabled = 1))`;

/** "The sequence is not archived and has a step on", as a condition of the write that turns it on (as keepsAStepOn). */
export const canTurnOn = (sequenceId: string) =>
  sql`(not exists (select 1 from sequences q where q.id = ${sequenceId} and q.archived_at is not null)
    and exists (select 1 from steps o where o.sequence_id = ${sequenceId} and o.enabled = 1))`;

/**
 * The first statement of a D1 batch that fails the whole batch (its one transaction) unless `condition`
 * holds when the batch runs, where a write's own WHERE would only skip that one statement and let the
 * rest of the batch (its audit entry, the renumbered steps) commit. It writes the sequence's `active`
 * back unchanged when the condition holds, and NULL, which the column refuses (NOT NULL), when it
 * doesn't; refusedBy tells that failure apart.
 */
export const abortUnless = (d: Db, sequenceId: string, condition: SQL): BatchStatement =>
  d
    .update(sequences)
    .set({ active: sql`case when ${condition} then ${sequences.active} end` })
    .where(eq(sequences.id, sequenceId));

/**
 * Whether a batch failed on its abortUnless, or on another write that turned a NOT NULL `column` ("table.column")
 * to NULL on purpose (D1 words the refusal in the error or, through drizzle, in its cause).
 */
export const refusedBy = (err: unknown, column = "sequences.active") =>
  [err, err instanceof Error ? err.cause : null].some((e) => String(e).includes(`NOT NULL constraint failed: ${column}`));

export const noStepOnLeft = (field: string) => refuse(field, "An active sequence needs a step on: turn the sequence off first");

/** Turning off or deleting a step of a sequence that is on: another step must stay on. */
export async function assertKeepsAStepOn(d: Db, seq: { id: string; active: boolean }, stepId: string, field: string): Promise<void> {
  if (!seq.active) return;
  const { enabled } = await stepCounts(d, seq.id, stepId);
  if (enabled === 0) throw noStepOnLeft(field);
}

/** Turning a workflow on: its sequence must be on (and not archived). */
export async function assertWorkflowCanRun(d: Db, teamId: string, sequenceId: string): Promise<void> {
  const s = await d.query.sequences.findFirst({
    columns: { active: true, archivedAt: true },
    where: and(eq(sequences.id, sequenceId), eq(sequences.teamId, teamId)),
  });
  if (s?.archivedAt) throw refuse("active", "The sequence is archived: a workflow can't add contacts to it");
  if (!s?.active) throw refuse("active", "Turn the sequence on first: a workflow can't add contacts to a sequence that is off");
}
