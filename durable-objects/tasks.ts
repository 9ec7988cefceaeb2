import { batchSql, type Db } from "../worker/db/client";
import { and, eq, isNull, sql } from "drizzle-orm";
import { mailboxes, users } from "../worker/db/schema";
import { bulkInsertSql } from "../worker/db/bulk";
import { inList } from "../worker/db/in-list";
import { newId } from "../worker/lib/ids";
import { now } from "../worker/lib/clock";

/**
 * Call outcomes that end the contact's run in its sequence instead of moving them on (they booked, or
 * said no). One list for the task routes and the SequenceDO's reconciler, which ends a run whose task was
 * completed with one of them (kept on tasks.outcome) when the sequence was never told.
 */
const RUN_ENDING = ["meeting_booked", "not_interested"] as const;
export type RunEnding = (typeof RUN_ENDING)[number];
export const runEnding = (outcome: string | null | undefined): RunEnding | null =>
  RUN_ENDING.includes(outcome as RunEnding) ? (outcome as RunEnding) : null;

export interface NewTask {
  enrollmentId: string;
  stepId: string;
  sequenceId: string;
  teamId: string;
  contactId: string;
  type: string;
  note: string;
  dueAt: number;
  mailboxId: string | null;
  ownerId: string;
}

/**
 * Who takes a task over when its assignee can no longer see it (createTasks' rule, as SQL over `tasks`):
 * the owner of its run's mailbox while they are active, else the sequence's owner while they are active;
 * null when neither is.
 */
const ACTIVE_ASSIGNEE_SQL = sql`coalesce(
    (SELECT m.user_id FROM enrollments e JOIN mailboxes m ON m.id = e.mailbox_id JOIN users mu ON mu.id = m.user_id AND mu.disabled_at IS NULL
      WHERE e.id = tasks.enrollment_id AND e.team_id = tasks.team_id),
    (SELECT s.owner_id FROM sequences s JOIN users su ON su.id = s.owner_id AND su.disabled_at IS NULL
      WHERE s.id = tasks.sequence_id AND s.team_id = tasks.team_id))`;

/**
 * A disabled user's open tasks go to whoever createTasks would give them now (their run's mailbox owner, else
 * the sequence owner, while active): left with them, nobody active saw the calls due. One statement for
 * the batch that disables them, acting only once they are disabled; a task with nobody active to take it stays.
 */
export const reassignTasksOfDisabledSql = (teamId: string, userId: string) =>
  sql`UPDATE tasks SET assignee_id = coalesce(${ACTIVE_ASSIGNEE_SQL}, assignee_id)
       WHERE team_id = ${teamId} AND assignee_id = ${userId} AND status = 'open'
         AND EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND team_id = ${teamId} AND disabled_at IS NOT NULL)`;

/**
 * Manual steps become tasks. Idempotent on (enrollment, step): a repeated alarm creates no second
 * task. The assignee is the user who owns the enrollment's mailbox while they are enabled, else the sequence owner. A task
 * cancelled before (its step was turned off, then on again) is opened again: the SequenceDO hands a step
 * over only while its run is open and on that step, and a run waiting on a cancelled task never moves.
 */
export async function createTasks(d: Db, tasks: NewTask[]): Promise<void> {
  if (!tasks.length) return;
  const mailboxIds = [...new Set(tasks.map((t) => t.mailboxId).filter((m): m is string => !!m))];
  const owners = new Map<string, string>();
  if (mailboxIds.length) {
    // Only an active owner: a disabled one can't sign in to see the task (it then goes to the sequence owner).
    const rows = await d
      .select({ id: mailboxes.id, userId: mailboxes.userId })
      .from(mailboxes)
      .innerJoin(users, and(eq(users.id, mailboxes.userId), isNull(users.disabledAt)))
      .where(inList(mailboxes.id, mailboxIds));
    for (const r of rows) owners.set(r.id, r.userId);
  }
  const t = now();
  const stmts = bulkInsertSql(
    "tasks",
    [
      "id",
      "team_id",
      "enrollment_id",
      "sequence_id",
      "step_id",
      "contact_id",
      "assignee_id",
      "type",
      "note",
      "due_at",
      "status",
      "created_at",
    ],
    tasks.map((x) => [
      newId(),
      x.teamId,
      x.enrollmentId,
      x.sequenceId,
      x.stepId,
      x.contactId,
      (x.mailboxId && owners.get(x.mailboxId)) || x.ownerId,
      x.type,
      x.note,
      x.dueAt,
      "open",
      t,
    ]),
    "",
    "ON CONFLICT (enrollment_id, step_id) DO UPDATE SET status = 'open', completed_at = NULL WHERE tasks.status = 'cancelled'",
  );
  await batchSql(d, stmts);
}
