import { and, count, desc, eq, isNull, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { jobs, sequences, sequenceShares } from "../../db/schema";
import type { Caller } from "../../env";
import { csvLine } from "../../lib/csv";
import { sequenceAllows, visibleSequence } from "../access";
import { maskEmail } from "../people-search";
import type { JobRow } from "./jobs";
import { OUTCOME_REASONS } from "./request";

// What a job shows: the team's jobs, and a job's per-contact outcomes (JSON pages and a CSV stream).

/** Jobs are as visible as their sequences; a job without one, to its creator. */
export async function listJobs(d: Db, caller: Caller, sequenceId: string | undefined, page: number, perPage: number) {
  const seen = visibleSequence(caller, jobs.sequenceId);
  const where = and(
    eq(jobs.teamId, caller.teamId),
    sequenceId ? eq(jobs.sequenceId, sequenceId) : undefined,
    seen ? or(seen, and(isNull(jobs.sequenceId), eq(jobs.userId, caller.userId))) : undefined,
  );
  const [rows, total] = await d.batch([
    d
      .select({ job: jobs, ownerId: sequences.ownerId, share: sequenceShares.access })
      .from(jobs)
      .leftJoin(sequences, eq(sequences.id, jobs.sequenceId))
      .leftJoin(sequenceShares, and(eq(sequenceShares.sequenceId, jobs.sequenceId), eq(sequenceShares.userId, caller.userId)))
      .where(where)
      .orderBy(desc(jobs.createdAt))
      .limit(perPage)
      .offset((page - 1) * perPage),
    d.select({ n: count() }).from(jobs).where(where),
  ]);
  // Cancelling is editing its sequence (jobWithAccess); a job of no sequence is its own user's.
  const jobsSeen = rows.map((r) => ({
    ...r.job,
    canCancel: r.ownerId ? sequenceAllows(caller, "sequence.edit", r.ownerId, r.share) : true,
  }));
  return { jobs: jobsSeen, total: total[0]?.n ?? 0 };
}

interface OutcomeRow {
  idx: number;
  contact_id: string | null;
  person_id: string | null;
  name: string;
  email: string | null;
  outcome: string;
  reasons: string;
  credit_cost: number;
  mailbox_id: string | null;
}

const outcomesSql = (jobId: string, where: SQL, tail: SQL) => sql`
  SELECT o.idx, o.contact_id, o.person_id, o.outcome, o.reasons, o.credit_cost, o.mailbox_id,
         coalesce(trim(c.first_name || ' ' || c.last_name), trim(p.first_name || ' ' || p.last_name), '') AS name, coalesce(c.email, p.email) AS email
    FROM job_outcomes o LEFT JOIN contacts c ON c.id = o.contact_id AND c.team_id = o.team_id LEFT JOIN people p ON p.id = o.person_id
   WHERE o.job_id = ${jobId} AND ${where} ORDER BY o.idx ${tail}`;

/** An outcome's address: a person who never became a contact (nothing was paid) shows it masked. */
const outcomeEmail = (r: { contact_id: string | null; email: string | null }) => (!r.contact_id && r.email ? maskEmail(r.email) : r.email);

const present = (r: OutcomeRow) => ({
  idx: r.idx,
  contact_id: r.contact_id,
  person_id: r.person_id,
  name: r.name,
  email: outcomeEmail(r),
  outcome: r.outcome,
  reasons: JSON.parse(r.reasons) as string[],
  credit_cost: r.credit_cost,
  mailbox_id: r.mailbox_id,
});

/** One page of a job's outcomes, optionally of one outcome only. */
export async function outcomesPage(d: Db, job: JobRow, outcome: "enrolled" | "warned" | "skipped" | "all", page: number, perPage: number) {
  const filter = outcome === "all" ? sql`1` : sql`o.outcome = ${outcome}`;
  const [rows, total] = await Promise.all([
    d.all<OutcomeRow>(outcomesSql(job.id, filter, sql`LIMIT ${perPage} OFFSET ${(page - 1) * perPage}`)),
    d.get<{ n: number }>(sql`SELECT count(*) AS n FROM job_outcomes o WHERE o.job_id = ${job.id} AND ${filter}`),
  ]);
  return { outcomes: rows.map(present), total: total?.n ?? 0 };
}

const CSV_PAGE = 5000;

/** Every outcome as formula-safe CSV lines, page by page: a 100,000-row job never sits in memory whole. */
export async function* outcomesCsv(d: Db, job: JobRow): AsyncGenerator<string> {
  yield "contact_id,person_id,name,email,outcome,reasons,reason_details,credit_cost,mailbox_id\r\n";
  for (let from = 0; from < Math.max(job.total, 1); from += CSV_PAGE) {
    const rows = await d.all<OutcomeRow>(outcomesSql(job.id, sql`o.idx >= ${from} AND o.idx < ${from + CSV_PAGE}`, sql``));
    let chunk = "";
    for (const r of rows) {
      const reasons = JSON.parse(r.reasons) as (keyof typeof OUTCOME_REASONS)[];
      chunk += csvLine([
        r.contact_id,
        r.person_id,
        r.name,
        outcomeEmail(r),
        r.outcome,
        reasons.join(";"),
        reasons.map((x) => OUTCOME_REASONS[x]?.label ?? x).join("; "),
        r.credit_cost,
        r.mailbox_id,
      ]);
    }
    if (chunk) yield chunk;
  }
}
