import { createRoute, z } from "@hono/zod-openapi";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { csvDownload, csvFile } from "../lib/csv";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { idempotencyScope } from "../middleware/idempotency";
import { jobFor, jobWithAccess, sequenceFor } from "../services/access";
import { cancelJob, commitAddContacts, QUIET_MS, type JobRow } from "../services/add-contacts/jobs";
import { listJobs, outcomesCsv, outcomesPage } from "../services/add-contacts/outcomes";
import { notProcessedCount } from "../services/add-contacts/candidates";
import { checkPreconditions, presentPreview, previewAddContacts } from "../services/add-contacts/plan";
import { AddContactsRequest, OUTCOME_REASONS, PreviewQuery } from "../services/add-contacts/request";
import { audit } from "../services/audit";
import { maskEmail } from "../services/people-search";

const Precondition = z.object({
  code: z.string(),
  message: z.string(),
  fix: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const PreviewSchema = z
  .object({
    preconditions: z.array(Precondition),
    totals: z.object({
      candidates: z.number(),
      enrolled: z.number(),
      warned: z.number(),
      skipped: z.number(),
      enriched: z.number(),
      reasons: z.record(z.string(), z.number()),
      with_several_reasons: z
        .number()
        .openapi({ description: "Contacts counted under more than one reason: reason counts can add up to more than the totals" }),
      owned_by_teammates: z.number().openapi({
        description:
          "Of the contacts to be added (enrolled), those owned by another user of the team: the sequence takes teammates' contacts, so they are added. Information, not a warning",
      }),
    }),
    warnings: z.array(
      z.object({
        category: z.string(),
        label: z.string(),
        fix: z.string(),
        count: z.number(),
        held_back: z.number(),
        overridden: z.boolean(),
      }),
    ),
    missing_variables: z
      .array(
        z.object({
          variable: z.string().openapi({ description: "As written in templates: first_name, company, custom.<key>…" }),
          count: z.number().openapi({ description: "Contacts not skipped that have no value for it" }),
          steps: z.array(z.number()).openapi({ description: "The automatic email steps (1-based) that use it" }),
          pauses: z.boolean().openapi({
            description:
              "Some use has no fallback: the email isn't sent to such a contact, who pauses at that step and stays paused until someone fills in the value and resumes them (filling it in alone doesn't)",
          }),
          fallbacks: z.array(z.string()).openapi({ description: "What the emails say instead, where a fallback is written" }),
          message: z.string(),
        }),
      )
      .openapi({ description: "A warning, not a skip: template variables some contacts have no value for, and what their emails will do" }),
    credits: z.object({ balance: z.number(), exact: z.number(), maximum: z.number(), fits: z.number().nullable() }),
    mailboxes: z.array(
      z.object({
        mailbox_id: z.string(),
        email: z.string(),
        assigned: z.number(),
        pending: z.number(),
        remaining_today: z.number(),
        step1_per_day: z.number(),
        all_step1_by: z.string().nullable(),
        days_needed: z.number().nullable(),
      }),
    ),
    contacts: z.array(
      z.object({
        contact_id: z.string().nullable(),
        person_id: z.string().nullable(),
        name: z.string(),
        email: z.string().nullable(),
        email_status: z.string(),
        company: z.string().nullable(),
        score: z.number(),
        net_new: z.boolean(),
        outcome: z.enum(["enrolled", "warned", "skipped"]),
        reasons: z.array(z.string()),
        credit_cost: z.number(),
        mailbox_id: z.string().nullable(),
      }),
    ),
    pagination: PaginationMeta,
    reasons: z
      .record(z.string(), z.object({ label: z.string(), fix: z.string() }))
      .openapi({ description: "Every reason code, in words, with how to resolve it" }),
  })
  .openapi("AddContactsPreview");

export const JobSchema = z
  .object({
    can_cancel: z.boolean().openapi({ description: "Whether you may cancel it (edit access to its sequence)" }),
    id: z.string(),
    kind: z.string(),
    sequence_id: z.string().nullable(),
    status: z.enum(["preparing", "scheduled", "queued", "running", "completed", "failed", "cancelled"]),
    source: z.object({
      kind: z.enum(["search", "lists", "people", "contacts", "csv", "retry", "workflow", "save_to_list"]),
      list_ids: z.array(z.string()),
      people: z.number(),
      contacts: z.number(),
      search: z.record(z.string(), z.unknown()).nullable(),
      import_id: z.string().optional().openapi({ description: "The CSV import (kind csv)" }),
      retry_of: z.string().optional().openapi({ description: "The job whose contacts not processed this one adds again (kind retry)" }),
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
    progress_at: z.number().nullable().openapi({ description: "When the job last moved (a chunk of contacts processed)" }),
    stalled: z.boolean().openapi({
      description:
        "Queued or running, and nothing moved for 10 minutes: the contacts not processed yet are sent again at the next minute (nothing is added or charged twice)",
    }),
    resumed_at: z
      .number()
      .nullable()
      .openapi({ description: "When the contacts not processed yet were last sent again after 10 minutes without progress" }),
    not_processed: z.number().optional().openapi({
      description:
        "GET /jobs/{id} of an ended job: how many of its contacts it did not process (skipped as not_processed, or never reached by a failed job); add them again with source.not_processed_of_job",
    }),
  })
  .openapi("Job");

/** `canCancel`: whether the caller may cancel it (edit rights on its sequence; whoever just committed it may). */
export function presentJob(j: JobRow, canCancel = true): z.infer<typeof JobSchema> {
  return {
    can_cancel: canCancel,
    id: j.id,
    kind: j.kind,
    sequence_id: j.sequenceId,
    status: j.status,
    source: j.source as z.infer<typeof JobSchema>["source"],
    run_at: j.runAt,
    total: j.total,
    processed: j.processed,
    enrolled: j.enrolled,
    warned: j.warned,
    skipped: j.skipped,
    credits_held: j.creditsHeld,
    credits_used: j.creditsUsed,
    error: j.error,
    created_at: j.createdAt,
    started_at: j.startedAt,
    finished_at: j.finishedAt,
    progress_at: j.progressAt,
    stalled: (j.status === "queued" || j.status === "running") && (j.runAt ?? j.createdAt) < now() - QUIET_MS,
    resumed_at: j.resumedAt,
  };
}

const OutcomeRow = z.object({
  idx: z.number(),
  contact_id: z.string().nullable(),
  person_id: z.string().nullable(),
  name: z.string(),
  email: z.string().nullable(),
  outcome: z.string(),
  reasons: z.array(z.string()),
  credit_cost: z.number(),
  mailbox_id: z.string().nullable(),
});

export const addContactsRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/add-contacts/preconditions",
      tags: ["Add contacts"],
      summary:
        "What blocks adding contacts to this sequence before any is picked (inactive or archived, no step on, no mailbox), each with its fix. Writes nothing.",
      request: {
        params: IdParam,
        query: z.object({
          mailbox_ids: z
            .string()
            .max(2000)
            .optional()
            .openapi({ description: "Comma-separated mailbox ids; none = your own connected mailboxes" }),
        }),
      },
      responses: {
        200: json(z.object({ preconditions: z.array(Precondition), mailbox_ids: z.array(z.string()) })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const ids = c.req
        .valid("query")
        .mailbox_ids?.split(",")
        .map((x) => x.trim())
        .filter(Boolean)
        .slice(0, 50);
      const req = AddContactsRequest.parse({ source: { contact_ids: ["-"] }, mailbox_ids: ids?.length ? ids : undefined });
      const pre = await checkPreconditions(c.var.db, c.get("caller"), c.req.valid("param").id, req);
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
      const view = { page: q.page, perPage: q.per_page, outcome: q.outcome };
      const shown = presentPreview(
        await previewAddContacts(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json"), view),
        view,
      );
      // A net-new person's address is what a credit buys: masked until the contact is saved, as in the search.
      // So is an address the enrichment waterfall would find: it is paid for on commit.
      const paid = (x: (typeof shown.contacts)[number]) => !x.net_new && !x.reasons.includes("enriched");
      return c.json(
        { ...shown, contacts: shown.contacts.map((x) => (!paid(x) && x.email ? { ...x, email: maskEmail(x.email) } : x)) },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/add-contacts",
      tags: ["Add contacts"],
      summary: "Add contacts: a job that validates, charges, assigns mailboxes and enrolls. Send an Idempotency-Key to make retries safe.",
      request: {
        params: IdParam,
        body: jsonBody(AddContactsRequest),
        headers: z.object({ "idempotency-key": z.string().max(200).optional() }),
      },
      responses: {
        202: json(z.object({ job: JobSchema }), "Accepted: follow the job"),
        200: json(z.object({ job: JobSchema }), "Replayed: the job of this Idempotency-Key"),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { job, replayed } = await commitAddContacts(
        c.env,
        c.var.db,
        caller,
        c.req.valid("param").id,
        c.req.valid("json"),
        idempotencyScope(caller, c.req.header("idempotency-key")),
        caller.via,
      );
      if (!replayed)
        await audit(c.var.db, caller, "sequence.add_contacts", "job", job.id, { sequence_id: job.sequenceId, total: job.total });
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
      responses: { 200: json(z.object({ jobs: z.array(JobSchema), pagination: PaginationMeta })), 404: errorResponses[404] },
    }),
    async (c) => {
      const q = c.req.valid("query");
      // A sequence the caller may not see (another team's, or not shared) is 404, as on its other pages:
      // an empty list would say it exists and has no jobs.
      if (q.sequence_id) await sequenceFor(c.var.db, c.get("caller"), q.sequence_id);
      const { jobs, total } = await listJobs(c.var.db, c.get("caller"), q.sequence_id, q.page, q.per_page);
      return c.json({ jobs: jobs.map((j) => presentJob(j, j.canCancel)), pagination: paginationMeta(q.page, q.per_page, total) }, 200);
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
    async (c) => {
      const caller = c.get("caller");
      const { job, canEdit } = await jobWithAccess(c.var.db, caller, c.req.valid("param").id);
      // Read once the job has ended (its page stops polling then): while it runs, nothing is "not processed" for good.
      const ended = job.kind === "add_contacts" && (job.status === "completed" || job.status === "failed");
      const notProcessed = ended ? await notProcessedCount(c.var.db, caller.teamId, job.id) : undefined;
      return c.json({ job: { ...presentJob(job, canEdit), ...(notProcessed === undefined ? {} : { not_processed: notProcessed }) } }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/jobs/{id}/outcomes",
      tags: ["Add contacts"],
      summary: "Per-contact outcomes of a job, with reasons",
      request: { params: IdParam, query: Pagination.extend({ outcome: z.enum(["enrolled", "warned", "skipped", "all"]).default("all") }) },
      responses: {
        200: json(
          z.object({
            outcomes: z.array(OutcomeRow),
            pagination: PaginationMeta,
            reasons: z.record(z.string(), z.object({ label: z.string(), fix: z.string() })),
          }),
        ),
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const job = await jobFor(c.var.db, c.get("caller"), c.req.valid("param").id);
      const q = c.req.valid("query");
      const { outcomes, total } = await outcomesPage(c.var.db, job, q.outcome, q.page, q.per_page);
      return c.json({ outcomes, pagination: paginationMeta(q.page, q.per_page, total), reasons: OUTCOME_REASONS }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/jobs/{id}/outcomes.csv",
      tags: ["Add contacts"],
      summary: "Every per-contact outcome as CSV (spreadsheet-formula safe)",
      request: { params: IdParam },
      responses: { 200: csvFile(), 404: errorResponses[404] },
    }),
    async (c) => {
      const job = await jobFor(c.var.db, c.get("caller"), c.req.valid("param").id);
      return csvDownload(`job-${job.id}-outcomes.csv`, outcomesCsv(c.var.db, job));
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
      const job = await jobFor(c.var.db, caller, c.req.valid("param").id, "sequence.edit");
      const cancelled = await cancelJob(c.env, caller.teamId, job.id);
      if (!cancelled) throw new ApiError("conflict", `This job is ${job.status}; only scheduled jobs can be cancelled`);
      return c.json({ job: presentJob(cancelled) }, 200);
    },
  );
