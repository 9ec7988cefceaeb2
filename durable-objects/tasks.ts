import { batchSql, type Db } from "../worker/db/client";
import { sql, type SQL } from "drizzle-orm";
import { packRows } from "../worker/db/bulk";
import { newId } from "../worker/lib/ids";
import { now } from "../worker/lib/clock";
import { renderNote, variableUses } from "../worker/services/templates";
import { templateContext } from "./compose";
import { sendChecksStatements, toSendChecks } from "./eligibility";
import { sendingZone } from "./sequence-config";

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
 * Each task's note rendered for its contact (renderNote): the variables a step's note uses ("Call {{first_name}}
 * about {{company}}") read as the contact's values when the task is made, as the emails of the same step would, the
 * sender being the run's mailbox and {{day_of_week}} the day the task is due, in the zone its emails go in. Made once:
 * a task keeps its text, and one reopened keeps the text it had. Notes without a variable cost no read; the others
 * read their contacts, sequences and mailboxes in one D1 round trip per team.
 */
async function renderedNotes(d: Db, tasks: NewTask[]): Promise<NewTask[]> {
  const using = tasks.filter((x) => variableUses(x.note).length);
  if (!using.length) return tasks;
  const d1 = d.$client;
  const teams = [...new Set(using.map((x) => x.teamId))];
  const byTeam = await Promise.all(
    teams.map(async (teamId) => {
      const mine = using.filter((x) => x.teamId === teamId);
      const mailboxIds = [...new Set(mine.flatMap((x) => (x.mailboxId ? [x.mailboxId] : [])))];
      const [contacts, seqs, live, mailboxes] = await d1.batch([
        ...sendChecksStatements(
          d1,
          teamId,
          mine.map((x) => x.contactId),
          mine.map((x) => x.sequenceId),
          [],
        ),
        d1
          .prepare("SELECT id, sender_name AS senderName FROM mailboxes WHERE team_id = ? AND id IN (SELECT value FROM json_each(?))")
          .bind(teamId, JSON.stringify(mailboxIds)),
      ]);
      const sc = toSendChecks(contacts!, seqs!, live!);
      const senders = new Map((mailboxes!.results as { id: string; senderName: string }[]).map((m) => [m.id, m.senderName]));
      return mine.map((x): [NewTask, string] => {
        const c = sc.contacts.get(x.contactId);
        const seq = sc.sequences.get(x.sequenceId);
        const zone = (seq && sendingZone(seq, c?.timeZone)) ?? seq?.window.timeZone ?? "UTC";
        return [x, renderNote(x.note, templateContext(c, (x.mailboxId && senders.get(x.mailboxId)) || "", x.dueAt, zone))];
      });
    }),
  );
  const notes = new Map(byTeam.flat());
  return tasks.map((x) => (notes.has(x) ? { ...x, note: notes.get(x)! } : x));
}

/**
 * Manual steps become tasks, their notes rendered for their contacts (renderedNotes). Idempotent on (enrollment, step): a repeated alarm creates no second
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
  const rows = (await renderedNotes(d, tasks)).map((x) =>
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
