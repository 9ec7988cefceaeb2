import { newId } from "../lib/ids";
import { now } from "../lib/clock";

/**
 * Credits (invariant 6). The balance lives on the team row and only changes in the same D1 batch
 * (transaction) as an append-only ledger row with a unique `ref`, so a retried operation changes
 * nothing the second time, and a hold that the balance can't cover writes nothing at all.
 */

export async function balanceOf(d1: D1Database, teamId: string): Promise<number> {
  return (await d1.prepare("SELECT credit_balance AS b FROM teams WHERE id = ?").bind(teamId).first<{ b: number }>())?.b ?? 0;
}

/**
 * Statements that take `amount` credits under `ref` only if the balance covers it. The ledger row is
 * written first, conditionally; the balance changes only if that row now exists and is the new one.
 */
export function holdStatements(d1: D1Database, teamId: string, ref: string, amount: number, jobId: string | null, source: string, note: string): D1PreparedStatement[] {
  // A negative hold would be a credit that skips every check: never build one.
  if (!Number.isInteger(amount) || amount < 0) throw new Error(`hold amount must be a whole number >= 0, got ${amount}`);
  const t = now();
  return [
    d1
      .prepare(
        `INSERT OR IGNORE INTO credit_ledger (id, team_id, kind, amount, balance_after, job_id, source, ref, note, created_at)
         SELECT ?1, id, 'hold', -?2, credit_balance - ?2, ?3, ?4, ?5, ?6, ?7 FROM teams WHERE id = ?8 AND credit_balance >= ?2`,
      )
      .bind(newId(), amount, jobId, source, ref, note, t, teamId),
    d1
      .prepare(
        `UPDATE teams SET credit_balance = credit_balance - ?1
          WHERE id = ?2 AND credit_balance >= ?1
            AND EXISTS (SELECT 1 FROM credit_ledger WHERE team_id = ?2 AND ref = ?3 AND created_at = ?4 AND balance_after = teams.credit_balance - ?1)`,
      )
      .bind(amount, teamId, ref, t),
  ];
}

/** Whether the hold under `ref` exists (it was taken now or by an earlier try). */
export async function holdExists(d1: D1Database, teamId: string, ref: string): Promise<boolean> {
  return !!(await d1.prepare("SELECT 1 FROM credit_ledger WHERE team_id = ? AND ref = ?").bind(teamId, ref).first());
}

/** The one ledger ref under which a job's hold is settled, whichever way the job ended. */
export const settleRef = (jobId: string) => `job:${jobId}:settle`;

/**
 * Statements that settle the hold of an ended job (completed, failed or cancelled), once: put them in
 * the same `batch()` as the status change, so a crash can't end a job and keep its hold. Amounts are
 * read from the job row inside the transaction: the unused part comes back; if contacts turned out
 * dearer than the hold (an address verified meanwhile), the overspend is charged only as far as the
 * balance goes, so the balance never goes below zero (invariant 6). One ref per job whatever ended
 * it; the refs older code wrote for cancelled and aborted jobs count as settled.
 */
export function settleJobStatements(d1: D1Database, jobId: string): D1PreparedStatement[] {
  const rowId = newId();
  return [
    d1
      .prepare(
        `INSERT OR IGNORE INTO credit_ledger (id, team_id, kind, amount, balance_after, job_id, source, ref, note, created_at)
         SELECT ?1, t.id, CASE WHEN j.credits_held >= j.credits_used THEN 'refund' ELSE 'charge' END,
                max(j.credits_held - j.credits_used, -t.credit_balance), t.credit_balance + max(j.credits_held - j.credits_used, -t.credit_balance),
                j.id, coalesce(json_extract(j.source, '$.kind'), 'system'), ?3,
                'Settled (' || j.status || '): ' || j.credits_used || ' of ' || j.credits_held || ' held credits used', ?4
           FROM jobs j JOIN teams t ON t.id = j.team_id
          WHERE j.id = ?2 AND j.status IN ('completed','failed','cancelled') AND (j.credits_held > 0 OR j.credits_used > 0)
            AND NOT EXISTS (SELECT 1 FROM credit_ledger l WHERE l.team_id = j.team_id AND l.ref IN ('job:' || j.id || ':cancel', 'job:' || j.id || ':abort'))`,
      )
      .bind(rowId, jobId, settleRef(jobId), now()),
    // The balance moves only if the row above is the new one (its fresh id), and only once.
    d1
      .prepare(
        `UPDATE teams SET credit_balance = credit_balance + (SELECT amount FROM credit_ledger WHERE id = ?1)
          WHERE id = (SELECT team_id FROM credit_ledger WHERE id = ?1)
            AND EXISTS (SELECT 1 FROM credit_ledger l WHERE l.id = ?1 AND l.balance_after = teams.credit_balance + l.amount AND l.amount <> 0)`,
      )
      .bind(rowId),
  ];
}
