import { createRoute, z } from "@hono/zod-openapi";
import { csvCell } from "../lib/csv";
import { db } from "../db/client";
import type { Caller } from "../env";
import { ApiError } from "../lib/errors";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { jobFor, visibleSequenceRaw } from "../services/access";
import { idempotencyScope } from "../middleware/idempotency";
import { audit } from "../services/audit";
import { cancelJob, commitAddContacts, type JobRow } from "../services/add-contacts/jobs";
import { checkPreconditions, planAddContacts, presentPlan } from "../services/add-contacts/plan";
import { AddContactsRequest, OUTCOME_REASONS, PreviewQuery } from "../services/add-contacts/request";
import { maskEmail } from "../services/people-search";

const Precondition = z.object({ code: z.string(), message: z.string(), fix: z.string(), details: z.record(z.string(), z.unknown()).optional() });

export const PreviewSchema = z
  .object({
    preconditions: z.array(Precondition),
    totals: z.object({ candidates: z.number(), enrolled: z.number(), warned: z.number(), skipped: z.number(), enriched: z.number(), reasons: z.record(z.string(), z.number()),
      with_several_reasons: z.number().openapi({ description: "Contacts counted under more than one reason: reason counts can add up to more than the totals" }) }),
    warnings: z.array(z.object({ category: z.string(), label: z.string(), fix: z.string(), count: z.number(), held_back: z.number(), overridden: z.boolean() })),
    credits: z.object({ balance: z.number(), exact: z.number(), maximum: z.number(), fits: z.number().nullable() }),
    mailboxes: z.array(
      z.object({
        mailbox_id: z.string(), email: z.string(), assigned: z.number(), pending: z.number(), remaining_today: z.number(), step1_per_day: z.number(),
        all_step1_by: z.string().nullable(), days_needed: z.number().nullable(),
      }),
    ),
    contacts: z.array(
      z.object({
        contact_id: z.string().nullable(), person_id: z.string().nullable(), name: z.string(), email: z.string().nullable(), email_status: z.string(),
        company: z.string().nullable(), score: z.number(), net_new: z.boolean(), outcome: z.enum(["enrolled", "warned", "skipped"]),
        reasons: z.array(z.string()), credit_cost: z.number(), mailbox_id: z.string().nullable(),
      }),
    ),
    pagination: PaginationMeta,
    reasons: z.record(z.string(), z.object({ label: z.string(), fix: z.string() })).openapi({ description: "Every reason code, in words, with how to resolve it" }),
  })
  .openapi("AddContactsPreview");

export const JobSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    sequence_id: z.string().nullable(),
    status: z.enum(["preparing", "scheduled", "queued", "running", "completed", "failed", "cancelled"]),
    source: z.object({
      kind: z.enum(["search", "lists", "people", "contacts", "csv", "workflow"]),
      list_ids: z.array(z.string()),
      people: z.number(),
      contacts: z.number(),
      search: z.record(z.string(), z.unknown()).nullable(),
      import_id: z.string().optional().openapi({ description: "The CSV import (kind csv)" }),
    }),
    run_at: z.number().nullable(),
    total: z.number(),
    processed: z.number(),
    enrolled: z.number(),
    warned: z.number(),
    skipped: z.number(),
    credits_held: z.number(),
    credits_used: z.number(),
    error: z.string().nullable(),
    created_at: z.number(),
    started_at: z.number().nullable(),
    finished_at: z.number().nullable(),
  })
  .openapi("Job");

export function presentJob(j: JobRow): z.infer<typeof JobSchema> {
  return {
    id: j.id, kind: j.kind, sequence_id: j.sequence_id, status: j.status, source: JSON.parse(j.source), run_at: j.run_at, total: j.total, processed: j.processed,
    enrolled: j.enrolled, warned: j.warned, skipped: j.skipped, credits_held: j.credits_held, credits_used: j.credits_used, error: j.error,
    created_at: j.created_at, started_at: j.started_at, finished_at: j.finished_at,
  };
}

const OutcomeRow = z.object({ idx: z.number(), contact_id: z.string().nullable(), person_id: z.string().nullable(), name: z.string(), email: z.string().nullable(), outcome: z.string(), reasons: z.array(z.string()), credit_cost: z.number(), mailbox_id: z.string().nullable() });

/** Cells are formula-safe (CSV injection): the one helper every export uses. */

/** An outcome's address: a person who never became a contact (nothing was paid) shows it masked. */
const outcomeEmail = (r: { contact_id: string | null; email: string | null }) => (!r.contact_id && r.email ? maskEmail(r.email) : r.email);

/** A job the caller may see (as its sequence: services/access.ts), or may act on with "sequence.edit". */
async function jobOf(env: { DB: D1Database }, caller: Caller, id: string, action: "sequence.view" | "sequence.edit" = "sequence.view") {
  await jobFor(db(env.DB), caller, id, action);
  return (await env.DB.prepare("SELECT * FROM jobs WHERE id = ? AND team_id = ?").bind(id, caller.teamId).first<JobRow>())!;
}

export const addContactsRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/add-contacts/preconditions",
      tags: ["Add contacts"],
      summary: "What blocks adding contacts to this sequence before any is picked (inactive or archived, no step on, no mailbox), each with its fix. Writes nothing.",
      request: { params: IdParam, query: z.object({ mailbox_ids: z.string().max(2000).optional().openapi({ description: "Comma-separated mailbox ids; none = your own connected mailboxes" }) }) },
      responses: { 200: json(z.object({ preconditions: z.array(Precondition), mailbox_ids: z.array(z.string()) })), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const ids = c.req.valid("query").mailbox_ids?.split(",").map((x) => x.trim()).filter(Boolean).slice(0, 50);
      const req = AddContactsRequest.parse({ source: { contact_ids: ["-"] }, mailbox_ids: ids?.length ? ids : undefined });
      const pre = await checkPreconditions(c.env, db(c.env.DB), c.get("caller"), c.req.valid("param").id, req);
      return c.json({ preconditions: pre.preconditions, mailbox_ids: pre.mailboxIds }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/add-contacts/preview",
      tags: ["Add contacts"],
      summary: "Dry run: what adding these contacts would do (outcomes, reasons, credits, mailboxes, capacity forecast). Writes nothing.",
      request: { params: IdParam, query: PreviewQuery, body: jsonBody(AddContactsRequest) },
      responses: { 200: json(PreviewSchema), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const plan = await planAddContacts(c.env, db(c.env.DB), c.get("caller"), c.req.valid("param").id, c.req.valid("json"), {
        preview: true,
        view: { page: q.page, perPage: q.per_page, outcome: q.outcome },
      });
      const shown = presentPlan(plan, q.page, q.per_page, q.outcome);
      // A net-new person's address is what a credit buys: masked until the contact is saved, as in the search.
      // So is an address the enrichment waterfall would find: it is paid for on commit.
      const paid = (x: (typeof shown.contacts)[number]) => !x.net_new && !x.reasons.includes("enriched");
      return c.json({ ...shown, contacts: shown.contacts.map((x) => (!paid(x) && x.email ? { ...x, email: maskEmail(x.email) } : x)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/add-contacts",
      tags: ["Add contacts"],
      summary: "Add contacts: a job that validates, charges, assigns mailboxes and enrolls. Send an Idempotency-Key to make retries safe.",
      request: { params: IdParam, body: jsonBody(AddContactsRequest), headers: z.object({ "idempotency-key": z.string().max(200).optional() }) },
      responses: { 202: json(z.object({ job: JobSchema }), "Accepted: follow the job"), 200: json(z.object({ job: JobSchema }), "Replayed: the job of this Idempotency-Key"), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const { job, replayed } = await commitAddContacts(c.env, d, caller, c.req.valid("param").id, c.req.valid("json"), idempotencyScope(caller, c.req.header("idempotency-key")), caller.via);
      if (!replayed) await audit(d, caller, "sequence.add_contacts", "job", job.id, { sequence_id: job.sequence_id, total: job.total });
      return c.json({ job: presentJob(job) }, replayed ? 200 : 202);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/jobs",
      tags: ["Add contacts"],
      summary: "Recent jobs of the team",
      request: { query: Pagination.extend({ sequence_id: z.string().optional() }) },
      responses: { 200: json(z.object({ jobs: z.array(JobSchema), pagination: PaginationMeta })) },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const caller = c.get("caller");
      // Jobs are as visible as their sequences; a job without one, to its creator.
      const seen = visibleSequenceRaw(caller, "sequence_id");
      const where = `team_id = ? AND (? IS NULL OR sequence_id = ?) AND (${seen.sql} OR (sequence_id IS NULL AND user_id = ?))`;
      const params = [caller.teamId, q.sequence_id ?? null, q.sequence_id ?? null, ...seen.params, caller.userId];
      const [rows, total] = await c.env.DB.batch<any>([
        c.env.DB.prepare(`SELECT * FROM jobs WHERE ${where} ORDER BY created_at DESC LIMIT ? OFFSET ?`).bind(...params, q.per_page, (q.page - 1) * q.per_page),
        c.env.DB.prepare(`SELECT count(*) AS n FROM jobs WHERE ${where}`).bind(...params),
      ]);
      return c.json({ jobs: rows!.results.map(presentJob), pagination: paginationMeta(q.page, q.per_page, total!.results[0].n) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/jobs/{id}",
      tags: ["Add contacts"],
      summary: "A job's live progress",
      request: { params: IdParam },
      responses: { 200: json(z.object({ job: JobSchema })), 404: errorResponses[404] },
    }),
    async (c) => c.json({ job: presentJob(await jobOf(c.env, c.get("caller"), c.req.valid("param").id)) }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/jobs/{id}/outcomes",
      tags: ["Add contacts"],
      summary: "Per-contact outcomes of a job, with reasons",
      request: { params: IdParam, query: Pagination.extend({ outcome: z.enum(["enrolled", "warned", "skipped", "all"]).default("all") }) },
      responses: { 200: json(z.object({ outcomes: z.array(OutcomeRow), pagination: PaginationMeta, reasons: z.record(z.string(), z.object({ label: z.string(), fix: z.string() })) })), 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const job = await jobOf(c.env, caller, c.req.valid("param").id);
      const q = c.req.valid("query");
      const filter = q.outcome === "all" ? null : q.outcome;
      const [rows, total] = await c.env.DB.batch<any>([
        c.env.DB.prepare(
          `SELECT o.*, coalesce(trim(c.first_name || ' ' || c.last_name), trim(p.first_name || ' ' || p.last_name), '') AS name, coalesce(c.email, p.email) AS email
             FROM job_outcomes o LEFT JOIN contacts c ON c.id = o.contact_id AND c.team_id = o.team_id LEFT JOIN people p ON p.id = o.person_id
            WHERE o.job_id = ?1 AND (?2 IS NULL OR o.outcome = ?2) ORDER BY o.idx LIMIT ?3 OFFSET ?4`,
        ).bind(job.id, filter, q.per_page, (q.page - 1) * q.per_page),
        c.env.DB.prepare("SELECT count(*) AS n FROM job_outcomes WHERE job_id = ?1 AND (?2 IS NULL OR outcome = ?2)").bind(job.id, filter),
      ]);
      return c.json({
        outcomes: rows!.results.map((r: any) => ({ idx: r.idx, contact_id: r.contact_id, person_id: r.person_id, name: r.name, email: outcomeEmail(r), outcome: r.outcome, reasons: JSON.parse(r.reasons), credit_cost: r.credit_cost, mailbox_id: r.mailbox_id })),
        pagination: paginationMeta(q.page, q.per_page, total!.results[0].n),
        reasons: OUTCOME_REASONS,
      }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/jobs/{id}/outcomes.csv",
      tags: ["Add contacts"],
      summary: "Every per-contact outcome as CSV (spreadsheet-formula safe)",
      request: { params: IdParam },
      responses: { 200: { description: "text/csv", content: { "text/csv": { schema: z.string() } } }, 404: errorResponses[404] },
    }),
    async (c) => {
      const job = await jobOf(c.env, c.get("caller"), c.req.valid("param").id);
      const env = c.env;
      // Streamed page by page: a 100,000-row job never sits in memory whole.
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          const enc = new TextEncoder();
          controller.enqueue(enc.encode("contact_id,person_id,name,email,outcome,reasons,reason_details,credit_cost,mailbox_id\r\n"));
          for (let from = 0; ; from += 5000) {
            const { results } = await env.DB.prepare(
              `SELECT o.*, coalesce(trim(c.first_name || ' ' || c.last_name), trim(p.first_name || ' ' || p.last_name), '') AS name, coalesce(c.email, p.email) AS email
                 FROM job_outcomes o LEFT JOIN contacts c ON c.id = o.contact_id AND c.team_id = o.team_id LEFT JOIN people p ON p.id = o.person_id
                WHERE o.job_id = ? AND o.idx >= ? AND o.idx < ? ORDER BY o.idx`,
            ).bind(job.id, from, from + 5000).all<any>();
            if (!results.length && from >= job.total) break;
            let chunk = "";
            for (const r of results) {
              const reasons = JSON.parse(r.reasons) as (keyof typeof OUTCOME_REASONS)[];
              chunk += [r.contact_id, r.person_id, r.name, outcomeEmail(r), r.outcome, reasons.join(";"), reasons.map((x) => OUTCOME_REASONS[x]?.label ?? x).join("; "), r.credit_cost, r.mailbox_id].map(csvCell).join(",") + "\r\n";
            }
            controller.enqueue(enc.encode(chunk));
            if (from + 5000 >= job.total) break;
          }
          controller.close();
        },
      });
      return c.body(stream, 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="job-${job.id}-outcomes.csv"` });
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/jobs/{id}/cancel",
      tags: ["Add contacts"],
      summary: "Cancel a scheduled job before it starts; its credit hold is returned",
      request: { params: IdParam },
      responses: { 200: json(z.object({ job: JobSchema })), 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const job = await jobOf(c.env, caller, c.req.valid("param").id, "sequence.edit");
      const cancelled = await cancelJob(c.env, caller.teamId, job.id);
      if (!cancelled) throw new ApiError("conflict", `This job is ${job.status}; only scheduled jobs can be cancelled`);
      return c.json({ job: presentJob(cancelled) }, 200);
    },
  );
