import { batchSql, type Db } from "../worker/db/client";
import { bulkInsertSql } from "../worker/db/bulk";

export interface MirrorRow {
  id: string;
  teamId: string;
  sequenceId: string;
  contactId: string;
  mailboxId: string | null;
  status: string;
  currentStep: number;
  nextDueAt: number | null;
  reason: string | null;
  jobId: string | null;
  addedBy: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

const COLUMNS = [
  "id",
  "team_id",
  "sequence_id",
  "contact_id",
  "mailbox_id",
  "status",
  "current_step",
  "next_due_at",
  "reason",
  "job_id",
  "added_by",
  "created_at",
  "updated_at",
  "finished_at",
] as const;

/**
 * Writes SequenceDO enrollment state into D1 (upsert by id), many rows per statement. The
 * (sequence_id, contact_id) unique index is D1's backstop for invariant 1.
 */
export async function flushEnrollmentMirror(d: Db, rows: MirrorRow[]): Promise<void> {
  if (!rows.length) return;
  const stmts = bulkInsertSql(
    "enrollments",
    COLUMNS,
    rows.map((r) => [
      r.id,
      r.teamId,
      r.sequenceId,
      r.contactId,
      r.mailboxId,
      r.status,
      r.currentStep,
      r.nextDueAt,
      r.reason,
      r.jobId,
      r.addedBy,
      r.createdAt,
      r.updatedAt,
      r.finishedAt,
    ]),
    "",
    `ON CONFLICT(id) DO UPDATE SET mailbox_id = excluded.mailbox_id, status = excluded.status, current_step = excluded.current_step,
       next_due_at = excluded.next_due_at, reason = excluded.reason, updated_at = excluded.updated_at, finished_at = excluded.finished_at`,
  );
  await batchSql(d, stmts);
}
