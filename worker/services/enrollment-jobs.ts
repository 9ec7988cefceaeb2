import { and, asc, eq, gte, sql } from "drizzle-orm";
import { batchSql, db, type Db } from "../db/client";
import { contacts, enrollmentActionJobs, enrollmentActionOutcomes, enrollments } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { enrollmentJobFor } from "./access";
import { callerNow, storedCaller } from "./auth";
import type { WarningCategory } from "./add-contacts/request";
import {
  actOnPage,
  auditAction,
  ENROLLMENT_ACTIONS,
  filteredFrom,
  moveTargetReady,
  pickedNow,
  prepareAction,
  type ActionParams,
  type EnrollmentAction,
  type EnrollmentFilter,
  type Outcome,
  type PreparedAction,
} from "./enrollments";

/**
 * An action on every enrollment matching a filter, however many (issue 12): the request snapshots the
 * matching ids as one outcome row each (one INSERT … SELECT, no list bound), answers 202 with the job,
 * and the queue acts on JOB_PAGE of them at a time through the SequenceDO, one page after the other.
 * A redelivered page acts only on rows still 'pending' and records the first answer (the SequenceDO
 * refuses a second pause/restart of the same enrollment anyway), so each enrollment gets one outcome.
 * Every page re-authorizes the caller who asked, as they are now (callerNow): a user who lost edit rights,
 * was made a member, was disabled, or whose API key was revoked stops the job.
 */
export const JOB_PAGE = 1_000;

type Job = typeof enrollmentActionJobs.$inferSelect;

function callerOf(job: Job): Caller {
  return { teamId: job.teamId, ...job.caller };
}

/**
 * Starts the job (the action was already checked by prepareAction; a move's target is checked here, 422
 * before any 202): snapshot, then the first page on the queue.
 */
export async function startActionJob(
  env: Env,
  d: Db,
  caller: Caller,
  prep: PreparedAction,
  action: EnrollmentAction,
  filter: EnrollmentFilter,
  p: ActionParams,
): Promise<Job> {
  await moveTargetReady(d, caller, prep, p);
  const id = newId();
  const job: Job = {
    id,
    teamId: caller.teamId,
    sequenceId: prep.seq.id,
    userId: caller.userId,
    caller: storedCaller(caller),
    action,
    params: { ...p },
    filter: { ...filter },
    status: "running",
    total: 0,
    processed: 0,
    changed: 0,
    error: null,
    targetJobs: [],
    outcomeCounts: {},
    createdAt: now(),
    updatedAt: now(),
    finishedAt: null,
  };
  const { from, where } = filteredFrom(prep.seq.id, caller.teamId, filter);
  await batchSql(d, [
    d.insert(enrollmentActionJobs).values(job),
    sql`INSERT INTO enrollment_action_outcomes (job_id, idx, team_id, enrollment_id, outcome, changed)
      SELECT ${id}, row_number() OVER (ORDER BY e.id) - 1, ${caller.teamId}, e.id, 'pending', 0 ${from} ${where}`,
    // Counted once here (every row pending); each page then moves the counts by what it changed.
    sql`UPDATE enrollment_action_jobs SET total = o.n, outcome_counts = CASE WHEN o.n > 0 THEN json_object('pending', o.n) ELSE '{}' END
          FROM (SELECT count(*) AS n FROM enrollment_action_outcomes WHERE job_id = ${id}) AS o
         WHERE enrollment_action_jobs.id = ${id}`,
  ]);
  await env.JOBS.send({ kind: "enrollment_action_page", jobId: id, from: 0 });
  return (await d.query.enrollmentActionJobs.findFirst({ where: eq(enrollmentActionJobs.id, id) }))!;
}

/** One page of a job (queue consumer): act on its pending rows, record each outcome, then the next page or the end. */
export async function runActionPage(env: Env, jobId: string, from: number, d: Db = db(env.DB)): Promise<void> {
  const job = await d.query.enrollmentActionJobs.findFirst({ where: eq(enrollmentActionJobs.id, jobId) });
  if (!job || job.status !== "running") return;
  const action = job.action as EnrollmentAction;
  if (!ENROLLMENT_ACTIONS.includes(action)) return failActionJob(env, jobId, `Unknown action ${job.action}`, d);
  const caller = await callerNow(d, callerOf(job));
  if (!caller) return failActionJob(env, jobId, "Stopped: the user or API key that started it can no longer act (disabled or revoked)", d);
  const p = job.params as ActionParams;
  let prep: PreparedAction;
  try {
    prep = await prepareAction(d, caller, job.sequenceId, action, p);
  } catch (e) {
    return failActionJob(env, jobId, e instanceof Error ? e.message : String(e), d);
  }
  const to = from + JOB_PAGE;
  const pending = await d
    .select({ idx: enrollmentActionOutcomes.idx, enrollmentId: enrollmentActionOutcomes.enrollmentId })
    .from(enrollmentActionOutcomes)
    .where(
      and(
        eq(enrollmentActionOutcomes.jobId, jobId),
        eq(enrollmentActionOutcomes.outcome, "pending"),
        sql`${enrollmentActionOutcomes.idx} >= ${from} AND ${enrollmentActionOutcomes.idx} < ${to}`,
      ),
    )
    .orderBy(asc(enrollmentActionOutcomes.idx));
  if (pending.length) {
    // Their status now, not at the snapshot: a contact that finished meanwhile is reported as such.
    const rows = await pickedNow(
      d,
      job.sequenceId,
      job.teamId,
      pending.map((r) => r.enrollmentId),
    );
    const gone = new Set(pending.map((r) => r.enrollmentId));
    for (const r of rows) gone.delete(r.id);
    let out: Awaited<ReturnType<typeof actOnPage>>;
    try {
      out = await actOnPage(env, d, caller, prep, action, rows, p, { jobId, from });
    } catch (e) {
      // A refusal (the move's target can't take them any more, say) is the same on every retry: the job
      // stops now with its words instead of failing eight times over nine minutes into "failed after retries".
      if (e instanceof ApiError) return failActionJob(env, jobId, e.message, d);
      throw e;
    }
    const results: Outcome[] = [
      ...out.results,
      ...[...gone].map((id) => ({ id, changed: false, outcome: "not_found", reason: "No longer in this sequence" })),
    ];
    // Each pending row by its key (job_id, idx), written as an upsert of existing rows so SQLite goes from
    // each outcome to its row: as UPDATE … FROM, matched by enrollment id, it compared every pending row
    // of the job with every outcome of the page.
    const byId = new Map(results.map((r) => [r.id, r]));
    const payload = JSON.stringify(
      pending.flatMap((row) => {
        const r = byId.get(row.enrollmentId);
        return r
          ? [
              [
                row.idx,
                row.enrollmentId,
                r.outcome,
                r.changed ? 1 : 0,
                r.reason,
                r.new_id ?? null,
                r.held_back_by ? JSON.stringify(r.held_back_by) : null,
              ],
            ]
          : [];
      }),
    );
    const v = (k: number) => sql.raw(`json_extract(value, '$[${k}]')`);
    const pv = (k: number) => sql.raw(`json_extract(p.value, '$[${k}]')`);
    await batchSql(d, [
      // The job's counts move by this page's rows still pending (read by their key, in the same
      // transaction as the write below, which changes exactly those): a redelivered page moves nothing,
      // and no page recounts the job (a count over all its outcomes per page made a job O(n²) to run).
      // A count that reaches 0 is dropped from outcome_counts (json_patch removes a null). CROSS JOIN: from
      // each written row to its outcome row by key; the other way round read every pending row of the job
      // against the whole page.
      sql`WITH d AS (
            SELECT ${pv(2)} AS k, count(*) AS n, coalesce(sum(${pv(3)}), 0) AS c
              FROM json_each(${payload}) p
              CROSS JOIN enrollment_action_outcomes x ON x.job_id = ${jobId} AND x.idx = ${pv(0)}
             WHERE x.outcome = 'pending'
             GROUP BY 1)
          UPDATE enrollment_action_jobs SET
            processed = processed + (SELECT coalesce(sum(n), 0) FROM d),
            changed = changed + (SELECT coalesce(sum(c), 0) FROM d),
            outcome_counts = json_patch(outcome_counts, (
              SELECT json_group_object(k, v) FROM (
                SELECT k, coalesce(json_extract(outcome_counts, '$."' || k || '"'), 0) + n AS v FROM d
                UNION ALL
                SELECT 'pending', nullif(coalesce(json_extract(outcome_counts, '$.pending'), 0) - sum(n), 0) FROM d HAVING count(*) > 0))),
            updated_at = ${now()}
          WHERE id = ${jobId}`,
      sql`INSERT INTO enrollment_action_outcomes (job_id, idx, team_id, enrollment_id, outcome, changed, reason, new_id, held_back_by)
          SELECT ${jobId}, ${v(0)}, ${job.teamId}, ${v(1)}, ${v(2)}, ${v(3)}, ${v(4)}, ${v(5)}, ${v(6)} FROM json_each(${payload})
           WHERE EXISTS (SELECT 1 FROM enrollment_action_outcomes x WHERE x.job_id = ${jobId} AND x.idx = ${v(0)})
          ON CONFLICT (job_id, idx) DO UPDATE SET outcome = excluded.outcome, changed = excluded.changed, reason = excluded.reason,
            new_id = excluded.new_id, held_back_by = excluded.held_back_by
           WHERE enrollment_action_outcomes.outcome = 'pending'`,
      sql`UPDATE enrollment_action_jobs SET
          target_jobs = (SELECT json_group_array(value) FROM (SELECT value FROM json_each(target_jobs) UNION SELECT value FROM json_each(${JSON.stringify(out.jobs)})))
        WHERE id = ${jobId}`,
    ]);
  }
  if (to < job.total) {
    await env.JOBS.send({ kind: "enrollment_action_page", jobId, from: to });
    return;
  }
  const [done] = await d
    .update(enrollmentActionJobs)
    .set({ status: "completed", finishedAt: now() })
    .where(and(eq(enrollmentActionJobs.id, jobId), eq(enrollmentActionJobs.status, "running")))
    .returning();
  // Audited once, by whichever delivery ended it.
  if (done) await auditAction(d, caller, prep, action, p, { changed: done.changed, outcomes: done.outcomeCounts, job_id: jobId });
}

/**
 * How long a running job may go without a page before the cron sends its next page again: a page runs
 * in well under a minute and its retries back off for a few minutes (worker/queue/consumer.ts), so this
 * much quiet means its message was lost (the first page's send failed after the job was committed, a
 * request cut short between the two). A page sent twice is harmless: it acts only on rows still pending
 * and records each row's first outcome.
 */
export const ACTION_JOB_QUIET_MS = 10 * 60_000;

/**
 * Cron (invariant 10: the reconciler of a job left running with nothing queued): a running job quiet
 * since ACTION_JOB_QUIET_MS gets the page of its first pending row sent again, or, with none pending
 * (a crash after its last page's writes), its last page, which completes it. Each job is claimed by
 * moving its heartbeat from the value read (two ticks send once per quiet period) and handled on its
 * own; a send that fails gives the claim back so the next tick tries again.
 */
export async function resumeQuietActionJobs(env: Env, d: Db = db(env.DB), t: number = now()): Promise<void> {
  const quiet = await d.all<{ id: string; total: number; updated_at: number | null }>(sql`
    SELECT id, total, updated_at FROM enrollment_action_jobs
     WHERE status = 'running' AND (updated_at < ${t - ACTION_JOB_QUIET_MS} OR (updated_at IS NULL AND created_at < ${t - ACTION_JOB_QUIET_MS}))
     LIMIT 50`);
  const failures: unknown[] = [];
  for (const j of quiet) {
    try {
      const claimed = await d.all<{ id: string }>(sql`
        UPDATE enrollment_action_jobs SET updated_at = ${t}
         WHERE id = ${j.id} AND status = 'running' AND updated_at IS ${j.updated_at} RETURNING id`);
      if (!claimed.length) continue;
      const first = await d.all<{ idx: number | null }>(sql`
        SELECT min(idx) AS idx FROM enrollment_action_outcomes WHERE job_id = ${j.id} AND outcome = 'pending'`);
      const idx = first[0]?.idx ?? Math.max(0, j.total - 1);
      try {
        await env.JOBS.send({ kind: "enrollment_action_page", jobId: j.id, from: idx - (idx % JOB_PAGE) });
      } catch (err) {
        await d.run(sql`UPDATE enrollment_action_jobs SET updated_at = ${j.updated_at} WHERE id = ${j.id} AND updated_at = ${t}`);
        throw err;
      }
    } catch (err) {
      console.error("resuming a quiet enrollment action job failed", j.id, err);
      failures.push(err);
    }
  }
  if (failures.length) throw new AggregateError(failures, `${failures.length} quiet enrollment action jobs could not be resumed`);
}

/**
 * A page that failed every retry (dead letter; `from`: only while that page still has pending rows, so
 * a copy dead-lettered after the cron sent the page again and it was done fails nothing), or a caller
 * no longer allowed: the job stops with the reason.
 */
export async function failActionJob(env: Env, jobId: string, error: string, d: Db = db(env.DB), from?: number): Promise<void> {
  await d
    .update(enrollmentActionJobs)
    .set({ status: "failed", error, finishedAt: now() })
    .where(
      and(
        eq(enrollmentActionJobs.id, jobId),
        eq(enrollmentActionJobs.status, "running"),
        from === undefined
          ? undefined
          : sql`EXISTS (SELECT 1 FROM ${enrollmentActionOutcomes} o WHERE o.job_id = ${jobId} AND o.outcome = 'pending'
                          AND o.idx >= ${from} AND o.idx < ${from + JOB_PAGE})`,
      ),
    );
}

export function presentJob(job: Job) {
  return {
    id: job.id,
    sequence_id: job.sequenceId,
    action: job.action,
    status: job.status,
    total: job.total,
    processed: job.processed,
    changed: job.changed,
    outcomes: job.outcomeCounts,
    target_jobs: job.targetJobs,
    error: job.error,
    created_at: job.createdAt,
    finished_at: job.finishedAt,
  };
}

/** One page of a job's outcomes from its `idx` on, each with its contact's name (the screen shows contacts, not enrollment ids). */
function outcomeRows(d: Db, jobId: string, fromIdx: number, limit: number) {
  return d
    .select({
      o: enrollmentActionOutcomes,
      contactId: contacts.id,
      name: sql<string>`trim(${contacts.firstName} || ' ' || ${contacts.lastName})`,
      email: contacts.email,
    })
    .from(enrollmentActionOutcomes)
    .leftJoin(enrollments, eq(enrollments.id, enrollmentActionOutcomes.enrollmentId))
    .leftJoin(contacts, eq(contacts.id, enrollments.contactId))
    .where(and(eq(enrollmentActionOutcomes.jobId, jobId), gte(enrollmentActionOutcomes.idx, fromIdx)))
    .orderBy(asc(enrollmentActionOutcomes.idx))
    .limit(limit)
    .then((rows) =>
      rows.map(({ o, contactId, name, email }) => ({
        idx: o.idx,
        id: o.enrollmentId,
        changed: o.changed,
        outcome: o.outcome,
        reason: o.reason,
        new_id: o.newId,
        ...(o.heldBackBy ? { held_back_by: o.heldBackBy as WarningCategory[] } : {}),
        contact: contactId ? { id: contactId, name, email } : null,
      })),
    );
}

/**
 * A job of a sequence the caller sees (404 otherwise), with its outcome counts (kept on the job) and
 * one page of per-enrollment outcomes. A job's rows are numbered 0..total-1 when it starts, so page p
 * starts at idx (p - 1) * perPage and is read through the (job_id, idx) key: a page costs the page.
 */
export async function actionJobFor(d: Db, caller: Caller, sequenceId: string, jobId: string, page: number, perPage: number) {
  const job = await enrollmentJobFor(d, caller, sequenceId, jobId);
  const rows = await outcomeRows(d, job.id, (page - 1) * perPage, perPage);
  return { job: presentJob(job), results: rows.map(({ idx: _, ...r }) => r) };
}

/**
 * Every outcome of a job, `limit` at a time: the cursor is the `idx` the next page starts at, so a
 * page reads its own rows through the (job_id, idx) key however deep it is (an offset would walk
 * every row before it).
 */
export async function actionJobOutcomes(d: Db, caller: Caller, sequenceId: string, jobId: string, limit: number, cursor?: string) {
  const job = await enrollmentJobFor(d, caller, sequenceId, jobId);
  const rows = await outcomeRows(d, job.id, cursor ? Number(cursor) : 0, limit + 1);
  const next = rows.length > limit ? rows.pop()! : undefined;
  return { outcomes: rows.map(({ idx: _, ...r }) => r), next_cursor: next ? String(next.idx) : null, total: job.total };
}
