import { sql, type SQL } from "drizzle-orm";
import { batchSql, type Db } from "../worker/db/client";

/**
 * D1's copy of a SequenceDO's enrollments (what lists and searches read). A page of changed rows
 * travels as ONE JSON text that the object's own SQLite builds (`readMirrorPage`) and D1 unpacks with
 * json_each (`writeMirrorPage`): no row object, no per-row JSON in JavaScript on either side.
 * Both functions name the same fields in the same order (MIRROR_FIELDS).
 */
const MIRROR_FIELDS = [
  "id",
  "contact_id",
  "mailbox_id",
  "status",
  "current_step",
  "next_due_at",
  "reason",
  "job_id",
  "added_by",
  "created_at",
  "finished_at",
] as const;

/** A page at most this long in JSON characters (a bound value may hold 2 MB; D1's statement stays small: the rows are one value). */
export const MIRROR_MAX_CHARS = 900_000;

export interface MirrorPage {
  /** JSON array of arrays, fields in MIRROR_FIELDS order, in revision order: rows D1 gets in full. */
  json: string;
  /** JSON array of [id, reason]: rows of which D1 has everything but a new reason (a hand-over). */
  reasons: string;
  /**
   * JSON array of [id, current_step, next_due_at, reason]: rows of which D1 has everything but these
   * (a step done and the next one waiting: status, mailbox and the rest unchanged).
   */
  steps: string;
  rows: number;
  /** The highest revision in the page (every dirty row up to it is in the page). */
  top: number;
}

/**
 * The next `limit` rows of the object's storage changed after revision `after` (D1 has every row as of
 * it), oldest revision first (a contact's finished
 * enrollment reaches D1 before its new one: D1's open-once index). `next_due_at`: an active row's
 * step due time; a paused row's own timer (it resumes by itself then); else none.
 */
export function readMirrorPage(storage: SqlStorage, after: number, limit: number): MirrorPage | null {
  const page = storage
    .exec<{ json: string; reasons: string; steps: string; rows: number; top: number | null }>(
      `SELECT json_group_array(json_array(id, contact_id, mailbox_id, status, step_pos, next_due, reason, job_id, added_by, created_at, finished_at)
                ORDER BY dirty) FILTER (WHERE reason_only = 0) AS json,
              json_group_array(json_array(id, reason)) FILTER (WHERE reason_only = 1) AS reasons,
              json_group_array(json_array(id, step_pos, next_due, reason)) FILTER (WHERE reason_only = 2) AS steps,
              count(*) AS rows, max(dirty) AS top
       FROM (SELECT e.*, CASE e.status WHEN 'active' THEN e.due_at WHEN 'paused' THEN t.run_at END AS next_due
             FROM enrollments e LEFT JOIN timers t ON t.enrollment_id = e.id WHERE e.dirty > ? ORDER BY e.dirty LIMIT ?)`,
      after,
      limit,
    )
    .one();
  return page.rows ? { json: page.json, reasons: page.reasons, steps: page.steps, rows: page.rows, top: page.top! } : null;
}

/**
 * Upserts a page into D1 by id in one statement. The (sequence_id, contact_id) open-once unique index
 * is D1's backstop for invariant 1; json_each walks the page in its order.
 */
export async function writeMirrorPage(d: Db, teamId: string, sequenceId: string, page: MirrorPage, updatedAt: number): Promise<void> {
  const f = (name: (typeof MIRROR_FIELDS)[number]) => sql.raw(`json_extract(value, '$[${MIRROR_FIELDS.indexOf(name)}]')`);
  const writes: SQL[] = [];
  // Full rows first: a reason-only row never changes status, so the open-once index is settled by then.
  if (page.json !== "[]")
    writes.push(sql`
    INSERT INTO enrollments (id, team_id, sequence_id, contact_id, mailbox_id, status, current_step, next_due_at, reason, job_id, added_by,
                             created_at, updated_at, finished_at)
    SELECT ${f("id")}, ${teamId}, ${sequenceId}, ${f("contact_id")}, ${f("mailbox_id")}, ${f("status")}, ${f("current_step")},
           ${f("next_due_at")}, ${f("reason")}, ${f("job_id")}, ${f("added_by")}, ${f("created_at")}, ${updatedAt}, ${f("finished_at")}
    FROM json_each(${page.json}) WHERE true
    ON CONFLICT(id) DO UPDATE SET mailbox_id = excluded.mailbox_id, status = excluded.status, current_step = excluded.current_step,
       next_due_at = excluded.next_due_at, reason = excluded.reason, updated_at = excluded.updated_at, finished_at = excluded.finished_at`);
  // The reason alone: the other columns' indexes stay untouched (a full upsert rewrites every index of a column it sets).
  if (page.reasons !== "[]")
    writes.push(sql`
      UPDATE enrollments SET reason = u.reason, updated_at = ${updatedAt}
      FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS reason FROM json_each(${page.reasons})) AS u
      WHERE enrollments.id = u.id`);
  // The step, its due time and the reason: the status and mailbox indexes stay untouched.
  if (page.steps !== "[]")
    writes.push(sql`
      UPDATE enrollments SET current_step = u.current_step, next_due_at = u.next_due_at, reason = u.reason, updated_at = ${updatedAt}
      FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS current_step, json_extract(value, '$[2]') AS next_due_at,
                   json_extract(value, '$[3]') AS reason FROM json_each(${page.steps})) AS u
      WHERE enrollments.id = u.id`);
  await batchSql(d, writes);
}
