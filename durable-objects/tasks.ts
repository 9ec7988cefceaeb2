import { batchSql, type Db } from "../worker/db/client";
import { sql, type SQL } from "drizzle-orm";
import { packRows } from "../worker/db/bulk";
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
 * Who a task goes to (the one rule for a new task, a reopened one and a disabled user's open ones): the
 * owner of its run's mailbox while they are active, else the sequence's owner while they are active, else
 * the team's earliest-created active admin (a task left with someone disabled waited for ever: nobody active
 * saw it, and its run never moved on). Null only for a team with no active admin, which disabling and
 * demoting never leave. Its arguments are SQL expressions for the task's team, mailbox and sequence owner.
 * Migration 0064's trigger spells the same rule out for a task reopened while its assignee is disabled.
 */
const activeAssigneeSql = (teamId: SQL, mailboxId: SQL, ownerId: SQL) => sql`coalesce(
    (SELECT m.user_id FROM mailboxes m JOIN users mu ON mu.id = m.user_id AND mu.disabled_at IS NULL
      WHERE m.id = ${mailboxId} AND m.team_id = ${teamId}),
    (SELECT su.id FROM users su WHERE su.id = ${ownerId} AND su.team_id = ${teamId} AND su.disabled_at IS NULL),
    (SELECT a.id FROM users a WHERE a.team_id = ${teamId} AND a.role = 'admin' AND a.disabled_at IS NULL
      ORDER BY a.created_at, a.id LIMIT 1))`;

/**
 * A disabled user's open tasks go to whoever activeAssigneeSql names now, the mailbox and owner read for each
 * task from its run and sequence. One statement for the batch that disables them, acting only once they are
 * disabled.
 */
export const reassignTasksOfDisabledSql = (teamId: string, userId: string) =>
  sql`UPDATE tasks SET assignee_id = coalesce(${activeAssigneeSql(
    sql`tasks.team_id`,
    sql`(SELECT e.mailbox_id FROM enrollments e WHERE e.id = tasks.enrollment_id AND e.team_id = tasks.team_id)`,
    sql`(SELECT s.owner_id FROM sequences s WHERE s.id = tasks.sequence_id AND s.team_id = tasks.team_id)`,
  )}, assignee_id)
       WHERE team_id = ${teamId} AND assignee_id = ${userId} AND status = 'open'
         AND EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND team_id = ${teamId} AND disabled_at IS NOT NULL)`;

const TASK_COLUMNS = [
  "id",
  "team_id",
  "enrollment_id",
  "sequence_id",
  "step_id",
  "contact_id",
  "mailbox_id", // not a column of tasks: read by the assignee rule only
  "owner_id", // likewise
  "type",
  "note",
  "due_at",
  "status",
  "created_at",
] as const;
const col = (name: (typeof TASK_COLUMNS)[number]) => sql.raw(`json_extract(value, '$[${TASK_COLUMNS.indexOf(name)}]')`);

/**
 * Manual steps become tasks. Idempotent on (enrollment, step): a repeated alarm creates no second
 * task. The assignee is activeAssigneeSql's, decided in the INSERT itself, so a user disabled a moment
 * before (their open tasks handed on in that batch) is never given a new one. A task cancelled before
 * (its step was turned off, then on again) is opened again, keeping its assignee while they are active
 * (it may have been handed to them by hand) and else going by the rule (migration 0064's trigger, which a
 * reply's correction reopening a task goes through too): the SequenceDO hands a step over
 * only while its run is open and on that step, and a run waiting on a cancelled task never moves.
 */
export async function createTasks(d: Db, tasks: NewTask[]): Promise<void> {
  if (!tasks.length) return;
  const t = now();
  const rows = tasks.map((x) =>
    JSON.stringify([
      newId(),
      x.teamId,
      x.enrollmentId,
      x.sequenceId,
      x.stepId,
      x.contactId,
      x.mailboxId,
      x.ownerId,
      x.type,
      x.note,
      x.dueAt,
      "open",
      t,
    ]),
  );
  const assignee = activeAssigneeSql(col("team_id"), col("mailbox_id"), col("owner_id"));
  const stmts = packRows(rows).map(
    (chunk) =>
      sql`INSERT INTO tasks (id, team_id, enrollment_id, sequence_id, step_id, contact_id, assignee_id, type, note, due_at, status, created_at)
        SELECT ${col("id")}, ${col("team_id")}, ${col("enrollment_id")}, ${col("sequence_id")}, ${col("step_id")}, ${col("contact_id")},
          coalesce(${assignee}, ${col("owner_id")}), ${col("type")}, ${col("note")}, ${col("due_at")}, ${col("status")}, ${col("created_at")}
        FROM json_each(${chunk}) WHERE true
        ON CONFLICT (enrollment_id, step_id) DO UPDATE SET status = 'open', completed_at = NULL
        WHERE tasks.status = 'cancelled'`,
  );
  await batchSql(d, stmts);
}
