import { ApiError } from "../lib/errors";

/**
 * What must hold before a sequence or workflow changes state, in one place: a sequence that is on
 * has at least one step on (otherwise contacts would sit in it with nothing to go through, and the
 * screen would say they move through the steps), and a workflow that is on adds to a sequence that
 * is on. Each refusal is a 422 naming the field whose change was refused.
 */

const refuse = (field: string, message: string) => new ApiError("validation_failed", message, { fields: [{ field, message }] });

async function stepCounts(db: D1Database, sequenceId: string, exceptStepId: string | null = null) {
  const r = await db
    .prepare("SELECT count(*) AS total, coalesce(sum(enabled), 0) AS enabled FROM steps WHERE sequence_id = ? AND id IS NOT ?")
    .bind(sequenceId, exceptStepId)
    .first<{ total: number; enabled: number }>();
  return { total: r?.total ?? 0, enabled: r?.enabled ?? 0 };
}

/** Turning a sequence on: it needs a step that is on. */
export async function assertCanTurnOn(db: D1Database, sequenceId: string): Promise<void> {
  const { total, enabled } = await stepCounts(db, sequenceId);
  if (total === 0) throw refuse("active", "Add a step before turning the sequence on: with no steps, contacts have nothing to go through");
  if (enabled === 0) throw refuse("active", "Turn a step on before turning the sequence on: every step is off");
}

/** Turning off or deleting a step of a sequence that is on: another step must stay on. */
export async function assertKeepsAStepOn(
  db: D1Database,
  seq: { id: string; active: boolean },
  stepId: string,
  field: string,
): Promise<void> {
  if (!seq.active) return;
  const { enabled } = await stepCounts(db, seq.id, stepId);
  if (enabled === 0) throw refuse(field, "An active sequence needs a step on: turn the sequence off first");
}

/** Turning a workflow on: its sequence must be on (and not archived). */
export async function assertWorkflowCanRun(db: D1Database, teamId: string, sequenceId: string): Promise<void> {
  const s = await db
    .prepare("SELECT active, archived_at FROM sequences WHERE id = ? AND team_id = ?")
    .bind(sequenceId, teamId)
    .first<{ active: number; archived_at: number | null }>();
  if (s?.archived_at) throw refuse("active", "The sequence is archived: a workflow can't add contacts to it");
  if (!s?.active) throw refuse("active", "Turn the sequence on first: a workflow can't add contacts to a sequence that is off");
}
