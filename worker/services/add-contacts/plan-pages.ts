import { and, eq, gte, lt, sql } from "drizzle-orm";
import { batchSql, db, type Db } from "../../db/client";
import { jobCandidates, jobs, sequences } from "../../db/schema";
import type { Env } from "../../env";
import { now } from "../../lib/clock";
import type { QueueMessage } from "../../queue/messages";
import { balanceOf, holdExists, holdRef, holdStatements } from "../credits";
import { endJob, optionsOf, startJob, type JobOptions, type JobRow } from "./jobs";
import { newRun, planPage, type PlanContext, type PlanRun } from "./plan";
import { PLAN_PAGE } from "./request";
import { validationFor } from "./validate";

// The queued plan pages of a large add-contacts job (see commitPaged in jobs.ts): the queue carries
// them in order, each message planning up to PAGES_PER_MESSAGE pages of at most PLAN_PAGE candidates
// through the same `planPage` as a preview; the running rotation and maximum travel in the message.

/**
 * Plan pages one message works through before handing on: the queue's wait between two messages
 * (its batch timeout) costs more than a page, and each page is dropped before the next is read, so
 * memory stays one page whatever the count.
 */
const PAGES_PER_MESSAGE = 10;

/**
 * Plan pages from `msg.from`: each page's candidates evaluated as the preview would, given their
 * mailbox; up to PAGES_PER_MESSAGE pages, then the next message or the hold.
 */
export async function planQueuedPage(env: Env, msg: Extract<QueueMessage, { kind: "add_contacts_plan" }>, d: Db = db(env.DB)) {
  const t = now();
  // run_at is the heartbeat of a preparing job (the cron fails one that goes silent).
  const job = await d
    .update(jobs)
    .set({ runAt: t })
    .where(and(eq(jobs.id, msg.jobId), eq(jobs.status, "preparing")))
    .returning()
    .get();
  if (!job) return; // cancelled, failed or already planned
  const options = optionsOf(job);
  const seq = await d.select({ settings: sequences.settings }).from(sequences).where(eq(sequences.id, job.sequenceId!)).get();
  const ctx: PlanContext = {
    teamId: job.teamId,
    sequenceId: job.sequenceId!,
    validation: validationFor(job.userId!, seq?.settings, options, true),
    mailboxIds: options.mailbox_ids,
    at: t,
  };
  const run = newRun([...msg.left], Number.MAX_SAFE_INTEGER, msg.maximum);
  let from = msg.from;
  for (let n = 0; n < PAGES_PER_MESSAGE && from < job.total; n++, from += PLAN_PAGE) await planOnePage(d, job, ctx, run, from);
  if (from < job.total) await env.JOBS.send({ kind: "add_contacts_plan", jobId: job.id, from, left: run.left, maximum: run.maximum });
  else await holdPlanned(env, d, job, options, run.maximum);
}

/** Candidates [from, from + PLAN_PAGE): evaluated, their mailboxes assigned and written back. */
async function planOnePage(d: Db, job: JobRow, ctx: PlanContext, run: PlanRun, from: number) {
  const cands = await d
    .select()
    .from(jobCandidates)
    .where(and(eq(jobCandidates.jobId, job.id), gte(jobCandidates.idx, from), lt(jobCandidates.idx, from + PLAN_PAGE)))
    .orderBy(jobCandidates.idx);
  const planned = await planPage(d, ctx, cands, run);
  // Only the mailbox changes: each row travels as [idx, the mailbox's place in ctx.mailboxIds] (null: none),
  // not as the whole candidate row (a page's JSON 12 KB per 1,000 rows instead of 126 KB). The rows were
  // just read and nothing deletes a job's candidates, so the upsert only ever updates (by the key).
  const pairs = cands.map((c, i) => {
    const mailboxId = planned[i]!.mailboxId;
    const k = mailboxId === null ? null : ctx.mailboxIds.indexOf(mailboxId);
    if (k === -1) throw new Error(`plan page assigned ${mailboxId}, not one of the job's mailboxes`);
    return [c.idx, k];
  });
  await batchSql(d, [
    sql`INSERT INTO job_candidates (job_id, idx, team_id, mailbox_id)
        SELECT ${job.id}, json_extract(value, '$[0]'), ${job.teamId}, json_extract(${JSON.stringify(ctx.mailboxIds)}, '$[' || json_extract(value, '$[1]') || ']')
          FROM json_each(${JSON.stringify(pairs)}) WHERE true
        ON CONFLICT(job_id, idx) DO UPDATE SET mailbox_id = excluded.mailbox_id`,
  ]);
}

/** The last plan page: hold the maximum spend (once, by its ref) or fail the job saying why; then start or schedule it. */
async function holdPlanned(env: Env, d: Db, job: JobRow, options: JobOptions, maximum: number) {
  const t = now();
  const ref = holdRef(job.id);
  const scheduled = options.add_at !== undefined && options.add_at > t;
  const holdIsThere = sql`EXISTS (SELECT 1 FROM credit_ledger WHERE team_id = ${job.teamId} AND ref = ${ref})`;
  // Only while the job still waits in "preparing": it may have ended since this message began (the cron
  // fails a job gone quiet; an earlier delivery of the chain failed it for want of credits).
  const preparing = sql`EXISTS (SELECT 1 FROM jobs WHERE id = ${job.id} AND status = 'preparing')`;
  await batchSql(d, [
    ...(maximum > 0
      ? holdStatements(job.teamId, ref, maximum, job.id, String(job.source.kind), "Held for adding contacts", preparing)
      : []),
    d
      .update(jobs)
      // What the job holds is read from its hold row, so a redelivered last page can't make them disagree.
      .set({
        creditsHeld: sql`coalesce((SELECT -amount FROM credit_ledger WHERE team_id = ${job.teamId} AND ref = ${ref}), 0)`,
        status: scheduled ? "scheduled" : "preparing",
        runAt: scheduled ? options.add_at! : t,
      })
      .where(and(eq(jobs.id, job.id), eq(jobs.status, "preparing"), maximum > 0 ? holdIsThere : undefined)),
  ]);
  if (maximum > 0 && !(await holdExists(d, job.teamId, ref))) {
    const balance = await balanceOf(d, job.teamId);
    await endJob(
      d,
      job.id,
      "failed",
      ["preparing"],
      `Not enough credits: this batch can cost up to ${maximum} credits; the balance is ${balance}. Nothing was charged or added.`,
    );
    return;
  }
  if (!scheduled) await startJob(env, d, job.id);
}
