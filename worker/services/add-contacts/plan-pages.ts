import { bulkInsertStatements, type Row } from "../../db/bulk";
import type { Env } from "../../env";
import { now } from "../../lib/clock";
import type { QueueMessage } from "../../queue/messages";
import { balanceOf, holdExists, holdStatements } from "../credits";
import { DEFAULT_WATERFALL } from "../enrichment";
import { assignFrom } from "./capacity";
import { keyOf, loadFacts } from "./candidates";
import { endJob, startJob, type JobRow } from "./jobs";
import { PLAN_PAGE, type AddContactsRequest } from "./request";
import { evaluate, type ValidationOptions } from "./validate";

// The plan pages of a large add-contacts job (see commitPaged in jobs.ts): the queue carries them
// one after the other, each holding at most PLAN_PAGE candidates.

/**
 * One plan page of a large job (see commitPaged): at most PLAN_PAGE candidates are read, evaluated
 * as the preview would, and given their mailbox; the running state travels in the next message.
 */
export async function planPage(env: Env, msg: Extract<QueueMessage, { kind: "add_contacts_plan" }>) {
  const job = await env.DB.prepare("UPDATE jobs SET run_at = ? WHERE id = ? AND status = 'preparing' RETURNING *").bind(now(), msg.jobId).first<JobRow>();
  if (!job) return; // cancelled, failed or already planned
  const options = JSON.parse(job.options) as AddContactsRequest & { mailbox_ids: string[] };
  const t = now();
  const { results: cands } = await env.DB.prepare("SELECT * FROM job_candidates WHERE job_id = ? AND idx >= ? AND idx < ? ORDER BY idx").bind(job.id, msg.from, msg.from + PLAN_PAGE).all<Record<string, any>>();
  const seq = await env.DB.prepare("SELECT settings FROM sequences WHERE id = ?").bind(job.sequence_id).first<{ settings: string }>();
  const facts = await loadFacts(env.DB, job.team_id, job.sequence_id, cands.map((c) => ({ personId: c.person_id, contactId: c.contact_id })), t);
  const byKey = new Map(facts.map((f) => [keyOf(f), f]));
  const validation: ValidationOptions = {
    callerId: job.user_id,
    allowOtherOwners: (JSON.parse(seq?.settings ?? "{}") as { allow_other_owners?: boolean }).allow_other_owners !== false,
    skipValidation: options.skip_validation, overrides: options.overrides ?? {}, enrich: options.enrich, providers: DEFAULT_WATERFALL, preview: true,
  };
  const evaluations = await Promise.all(cands.map((c) => evaluate(byKey.get(c.contact_id ?? `p:${c.person_id}`)!, validation)));
  const left = [...msg.left];
  const enrolledAt = evaluations.flatMap((e, i) => (e.outcome === "enrolled" ? [i] : []));
  const assigned = options.mailbox_ids.length ? assignFrom(options.mailbox_ids, left, enrolledAt.length) : [];
  const mailboxOf = new Map(enrolledAt.map((i, k) => [i, assigned[k] ?? null]));
  const rows: Row[] = cands.map((c, i) => [job.id, c.idx, job.team_id, c.person_id, c.contact_id, mailboxOf.get(i) ?? null]);
  const stmts = bulkInsertStatements(env.DB, "job_candidates", ["job_id", "idx", "team_id", "person_id", "contact_id", "mailbox_id"], rows, "", "ON CONFLICT(job_id, idx) DO UPDATE SET mailbox_id = excluded.mailbox_id");
  if (stmts.length) await env.DB.batch(stmts);
  const maximum = msg.maximum + evaluations.reduce((a, e) => a + e.maxCost, 0);
  const next = msg.from + PLAN_PAGE;
  if (next < job.total) await env.JOBS.send({ kind: "add_contacts_plan", jobId: job.id, from: next, left, maximum });
  else await holdPlanned(env, job, options, maximum);
}

/** The last plan page: hold the maximum spend (once, by its ref) or fail the job saying why; then start or schedule it. */
async function holdPlanned(env: Env, job: JobRow, options: AddContactsRequest, maximum: number) {
  const t = now();
  const holdRef = `job:${job.id}:hold`;
  const scheduled = options.add_at !== undefined && options.add_at > t;
  await env.DB.batch([
    ...(maximum > 0 ? holdStatements(env.DB, job.team_id, holdRef, maximum, job.id, JSON.parse(job.source).kind, "Held for adding contacts") : []),
    env.DB.prepare(
      // What the job holds is read from its hold row, so a redelivered last page can't make them disagree.
      `UPDATE jobs SET credits_held = coalesce((SELECT -amount FROM credit_ledger WHERE team_id = ?5 AND ref = ?6), 0), status = ?2, run_at = ?3
        WHERE id = ?4 AND status = 'preparing' AND (?1 = 0 OR EXISTS (SELECT 1 FROM credit_ledger WHERE team_id = ?5 AND ref = ?6))`,
    ).bind(maximum, scheduled ? "scheduled" : "preparing", scheduled ? options.add_at : t, job.id, job.team_id, holdRef),
  ]);
  if (maximum > 0 && !(await holdExists(env.DB, job.team_id, holdRef))) {
    const balance = await balanceOf(env.DB, job.team_id);
    await endJob(env, job.id, "failed", ["preparing"], `Not enough credits: this batch can cost up to ${maximum} credits; the balance is ${balance}. Nothing was charged or added.`);
    return;
  }
  if (!scheduled) await startJob(env, job.id);
}
