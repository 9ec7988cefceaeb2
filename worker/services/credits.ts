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

/** Statements that return `amount` credits under `ref`, once. */
export function refundStatements(d1: D1Database, teamId: string, ref: string, amount: number, jobId: string | null, source: string, note: string, kind: "refund" | "grant" = "refund"): D1PreparedStatement[] {
  const t = now();
  return [
    d1
      .prepare(
        `INSERT OR IGNORE INTO credit_ledger (id, team_id, kind, amount, balance_after, job_id, source, ref, note, created_at)
         SELECT ?1, id, ?9, ?2, credit_balance + ?2, ?3, ?4, ?5, ?6, ?7 FROM teams WHERE id = ?8`,
      )
      .bind(newId(), amount, jobId, source, ref, note, t, teamId, kind),
    d1
      .prepare(
        `UPDATE teams SET credit_balance = credit_balance + ?1
          WHERE id = ?2 AND EXISTS (SELECT 1 FROM credit_ledger WHERE team_id = ?2 AND ref = ?3 AND created_at = ?4 AND balance_after = teams.credit_balance + ?1)`,
      )
      .bind(amount, teamId, ref, t),
  ];
}
