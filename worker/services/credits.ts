import { and, count, desc, eq, gte, inArray, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import type { Caller } from "../env";
import { creditLedger, enrichments, jobs, teams } from "../db/schema";
import { now } from "../lib/clock";
import { newId } from "../lib/ids";
import { visibleJob } from "./access";
import { DEFAULT_WATERFALL } from "./enrichment";

/**
 * Credits (invariant 6). The balance lives on the team row and only changes in the same D1 batch
 * (transaction) as an append-only ledger row with a unique `ref`, so a retried operation changes
 * nothing the second time, and a hold that the balance can't cover writes nothing at all.
 */

/** The team's balance as a query, to run inside another module's D1 batch (`b`, at most one row). */
export const balanceQuery = (d: Db, teamId: string) => d.select({ b: teams.creditBalance }).from(teams).where(eq(teams.id, teamId));

export async function balanceOf(d: Db, teamId: string): Promise<number> {
  const [row] = await balanceQuery(d, teamId);
  return row?.b ?? 0;
}

/**
 * Statements (for one `batchSql`) that take `amount` credits under `ref` only if the balance covers
 * it, and only while `onlyIf` holds in the same transaction (a job still waiting for its hold: one
 * that ended meanwhile is never settled again, so a hold taken then would never come back). The
 * ledger row is written first, conditionally; the balance changes only if that row now exists and is
 * the new one.
 */
export function holdStatements(
  teamId: string,
  ref: string,
  amount: number,
  jobId: string | null,
  source: string,
  note: string,
  onlyIf: SQL = sql`true`,
): SQL[] {
  // A negative hold would be a credit that skips every check: never build one.
  if (!Number.isInteger(amount) || amount < 0) throw new Error(`hold amount must be a whole number >= 0, got ${amount}`);
  const t = now();
  return [
    sql`INSERT OR IGNORE INTO credit_ledger (id, team_id, kind, amount, balance_after, job_id, source, ref, note, created_at)
      SELECT ${newId()}, id, 'hold', -${amount}, credit_balance - ${amount}, ${jobId}, ${source}, ${ref}, ${note}, ${t} FROM teams
       WHERE id = ${teamId} AND credit_balance >= ${amount} AND ${onlyIf}`,
    sql`UPDATE teams SET credit_balance = credit_balance - ${amount}
      WHERE id = ${teamId} AND credit_balance >= ${amount}
        AND EXISTS (SELECT 1 FROM credit_ledger WHERE team_id = ${teamId} AND ref = ${ref} AND created_at = ${t} AND balance_after = teams.credit_balance - ${amount})`,
  ];
}

/** Whether the hold under `ref` exists (it was taken now or by an earlier try). */
export async function holdExists(d: Db, teamId: string, ref: string): Promise<boolean> {
  return !!(await d
    .select({ id: creditLedger.id })
    .from(creditLedger)
    .where(and(eq(creditLedger.teamId, teamId), eq(creditLedger.ref, ref)))
    .get());
}

/** The ledger ref of a job's hold. */
export const holdRef = (jobId: string) => `job:${jobId}:hold`;

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
export function settleJobStatements(jobId: string): SQL[] {
  const rowId = newId();
  return [
    sql`INSERT OR IGNORE INTO credit_ledger (id, team_id, kind, amount, balance_after, job_id, source, ref, note, created_at)
      SELECT ${rowId}, t.id, CASE WHEN j.credits_held >= j.credits_used THEN 'refund' ELSE 'charge' END,
             max(j.credits_held - j.credits_used, -t.credit_balance), t.credit_balance + max(j.credits_held - j.credits_used, -t.credit_balance),
             j.id, coalesce(json_extract(j.source, '$.kind'), 'system'), ${settleRef(jobId)},
             'Settled (' || j.status || '): ' || j.credits_used || ' of ' || j.credits_held || ' held credits used', ${now()}
        FROM jobs j JOIN teams t ON t.id = j.team_id
       WHERE j.id = ${jobId} AND j.status IN ('completed','failed','cancelled') AND (j.credits_held > 0 OR j.credits_used > 0)
         AND NOT EXISTS (SELECT 1 FROM credit_ledger l WHERE l.team_id = j.team_id AND l.ref IN ('job:' || j.id || ':cancel', 'job:' || j.id || ':abort'))`,
    // The balance moves only if the row above is the new one (its fresh id), and only once.
    sql`UPDATE teams SET credit_balance = credit_balance + (SELECT amount FROM credit_ledger WHERE id = ${rowId})
      WHERE id = (SELECT team_id FROM credit_ledger WHERE id = ${rowId})
        AND EXISTS (SELECT 1 FROM credit_ledger l WHERE l.id = ${rowId} AND l.balance_after = teams.credit_balance + l.amount AND l.amount <> 0)`,
  ];
}

const DAY = 86_400_000;

/** The Credits page: balance, what running jobs hold, usage by day and source, and the enrichment waterfall report. */
export async function creditsSummary(d: Db, teamId: string, days: number) {
  // From the start of the UTC day days-1 before today: the page draws one bar per UTC day for the last `days`
  // days and totals them; counting back days×24 h also took in part of the day before the first bar.
  const t = now();
  const since = t - (t % DAY) - (days - 1) * DAY;
  // Usage is what the ledger took, not jobs.credits_used: a settlement charges an overspend only as far
  // as the balance goes (settleJobStatements), so a job's own count can be more than it cost. A job's
  // spend is minus the sum of its ledger rows, counted once settled (a hold alone is not spent yet), on
  // the day it was settled.
  const usageQuery = d.all<{ day: string; source: string | null; credits: number; contacts: number }>(sql`
    WITH spent AS (
      SELECT job_id, -sum(amount) AS credits, max(created_at) AS at, max(source) AS source
        FROM credit_ledger
       WHERE team_id = ${teamId} AND job_id IS NOT NULL AND kind IN ('hold', 'charge', 'refund')
       GROUP BY job_id
      HAVING sum(kind <> 'hold') > 0)
    SELECT date(s.at / 1000, 'unixepoch') AS day, coalesce(json_extract(j.source, '$.kind'), s.source) AS source,
           sum(s.credits) AS credits, sum(coalesce(j.enrolled, 0)) AS contacts
      FROM spent s LEFT JOIN jobs j ON j.id = s.job_id AND j.team_id = ${teamId}
     WHERE s.at >= ${since} AND s.credits > 0
     GROUP BY 1, 2
     ORDER BY 1`);
  const [[bal, held, enrich], usage] = await Promise.all([
    d.batch([
      d.select({ b: teams.creditBalance }).from(teams).where(eq(teams.id, teamId)),
      d
        // What each job still holds, never less than nothing: a job that spent past its hold (settled later,
        // as far as the balance goes) would otherwise take its overspend off what the other jobs hold.
        .select({ h: sql<number>`coalesce(sum(max(${jobs.creditsHeld} - ${jobs.creditsUsed}, 0)), 0)` })
        .from(jobs)
        .where(and(eq(jobs.teamId, teamId), inArray(jobs.status, ["scheduled", "preparing", "queued", "running"]))),
      d
        .select({
          provider: enrichments.provider,
          attempts: count(),
          successes: sql<number>`sum(${enrichments.success})`,
          credits: sql<number>`sum(${enrichments.cost})`,
        })
        .from(enrichments)
        .where(and(eq(enrichments.teamId, teamId), gte(enrichments.createdAt, since)))
        .groupBy(enrichments.provider),
    ]),
    usageQuery,
  ]);
  const stats = new Map(enrich.map((r) => [r.provider, r]));
  return {
    balance: bal[0]?.b ?? 0,
    held: held[0]?.h ?? 0,
    usage: usage.map((r) => ({ day: r.day, source: r.source ?? "other", credits: r.credits, contacts: r.contacts })),
    waterfall: DEFAULT_WATERFALL.map((p, i) => {
      const s = stats.get(p.name);
      return {
        provider: p.name,
        cost: p.cost,
        position: i + 1,
        attempts: s?.attempts ?? 0,
        successes: s?.successes ?? 0,
        credits: s?.credits ?? 0,
      };
    }),
  };
}

/** One page of the append-only ledger, newest first. */
export async function ledgerPage(d: Db, caller: Caller, page: number, perPage: number) {
  const teamId = caller.teamId;
  const [entries, total] = await d.batch([
    d
      .select({
        id: creditLedger.id,
        kind: creditLedger.kind,
        amount: creditLedger.amount,
        balance_after: creditLedger.balanceAfter,
        job_id: creditLedger.jobId,
        // Every member sees the ledger, not every job: a link to a job they can't open would be a 404.
        job_visible: sql<number>`${creditLedger.jobId} IS NOT NULL AND ${visibleJob(caller, creditLedger.jobId)}`.mapWith(Boolean),
        source: creditLedger.source,
        provider: creditLedger.provider,
        note: creditLedger.note,
        created_at: creditLedger.createdAt,
      })
      .from(creditLedger)
      .where(eq(creditLedger.teamId, teamId))
      .orderBy(desc(creditLedger.createdAt), desc(sql`rowid`))
      .limit(perPage)
      .offset((page - 1) * perPage),
    d.select({ n: count() }).from(creditLedger).where(eq(creditLedger.teamId, teamId)),
  ]);
  return { entries, total: total[0]?.n ?? 0 };
}
