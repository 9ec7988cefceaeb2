import { createRoute, z } from "@hono/zod-openapi";
import { now } from "../lib/clock";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, idList, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { Overrides, WARNING_CATEGORIES } from "../services/add-contacts/request";
import { actionJobFor, actionJobOutcomes, presentJob, startActionJob } from "../services/enrollment-jobs";
import { previewNextEmail } from "../services/messages";
import {
  actInline,
  ENROLLMENT_ACTIONS,
  ENROLLMENT_FILTERS,
  ENROLLMENT_SORTS,
  FINISH_REASONS,
  INLINE_FILTER_MATCHES,
  listEnrollments,
  matchingIds,
  pickIds,
  prepareAction,
  SHOWN_STATUSES,
} from "../services/enrollments";

const EnrollmentSchema = z
  .object({
    id: z.string(),
    status: z.enum(["scheduled", "active", "paused", "held", "finished", "failed", "removed"]),
    shown_status: z.enum(SHOWN_STATUSES).openapi({
      description:
        "The status as every screen shows and counts it: an active run of a sequence that is off is waiting_sequence_off (nothing is sent until the sequence is on)",
    }),
    current_step: z.number(),
    step_type: z.string().nullable(),
    next_action_at: z
      .number()
      .nullable()
      .openapi({ description: "When the next action is expected (estimated from the mailbox's queue, caps and windows)" }),
    reason: z.string().nullable(),
    reason_text: z.string().nullable().openapi({
      description:
        "Why it finished or is not progressing, in words: what will actually happen (sequence off, mailbox disconnected, outside the window, paused until …)",
    }),
    contact: z.object({ id: z.string(), name: z.string(), email: z.string().nullable(), company: z.string().nullable() }),
    mailbox: z.object({ id: z.string(), email: z.string(), status: z.string() }).nullable(),
    paused_until: z.number().nullable().openapi({ description: "Paused until this instant (epoch ms); it resumes by itself then" }),
    created_at: z.number(),
    finished_at: z.number().nullable(),
  })
  .openapi("Enrollment");

const FilterSchema = z
  .object({
    status: z.enum(ENROLLMENT_FILTERS).default("all").openapi({
      description:
        "active (runs that may still send: not those of wont_send), scheduled, paused, finished, bounced, not_sent, blocked (by a sequence rule: unsubscribed, Do Not Contact, suppressed, suppressed_domain), failed, removed, held, waiting_sequence_off (active runs of a sequence that is off), wont_send (open runs whose contact the engine won't email: unsubscribed, bounced, Do Not Contact, a suppressed address or domain, no address for an email step; their rows say \"Won't be sent\"), all",
    }),
    q: z.string().trim().min(1).max(200).optional().openapi({ description: "Search: name, email or company contains this" }),
    reason: z.string().min(1).max(64).optional().openapi({ description: "Only this reason code (e.g. replied, bounced, marked_finished)" }),
  })
  .openapi("EnrollmentFilter");

const EnrollmentQuery = Pagination.extend(FilterSchema.shape).extend({
  sort: z.enum(ENROLLMENT_SORTS).default("updated"),
  order: z.enum(["asc", "desc"]).optional().openapi({ description: "Default: newest first for dates, A→Z otherwise" }),
});

const MAX_AHEAD_MS = 366 * 24 * 3_600_000;

const ActionBody = z
  .object({
    enrollment_ids: z
      .array(z.string().min(1).max(64))
      .min(1)
      // The limit counts different enrollments (an id repeated is acted on once), so it is checked on the
      // distinct ids; the list itself is bounded only so that a runaway body is refused before it is read.
      .max(10_000, "At most 10,000 ids in enrollment_ids")
      .refine((ids) => new Set(ids).size <= 1000, "At most 1,000 different enrollments at a time: act on a filter for more")
      .optional()
      .openapi({ description: "These enrollments (up to 1,000 different ones; an id repeated counts once)" }),
    filter: FilterSchema.optional().openapi({
      description: "Every enrollment matching this filter, however many (more than 1,000: a job on the queue, answered 202)",
    }),
    until: z.number().int().min(0).optional().openapi({
      description:
        "pause: resume by itself at this instant (epoch ms, in the future, at most a year ahead); on a run already paused, moves its resume there (outcome resume_date_changed)",
    }),
    reason: z.enum(FINISH_REASONS).optional().openapi({ description: "finish: why (default marked_finished)" }),
    step: z.number().int().min(1).max(100).optional().openapi({ description: "restart: the step position to start from (default 1)" }),
    restart_anyway: z.boolean().optional().openapi({
      description:
        "restart: also restart a run that ended because the contact replied (replied), a colleague replied (colleague_replied), they said not interested on a call (not_interested), booked a meeting (meeting_booked) or were moved to another sequence (moved), a contact whose address answered this sequence at any time, by this or another contact with the same email (replied), and a contact whose address is in another sequence now (active_elsewhere). Without it those are not restarted (outcome blocked, reason_code naming why). Unsubscribed, bounced, Do Not Contact and suppressed contacts are never restarted, nor a finished one whose email address another contact runs in this sequence now (duplicate_email)",
    }),
    to_sequence_id: z.string().min(1).max(64).optional().openapi({
      description:
        "move: the sequence to move the contacts to. Its preconditions and validation apply: a contact it skips or holds back stays here (outcome not_moved, with the reason)",
    }),
    mailbox_ids: idList(50, { min: 0 }).optional().openapi({
      description: "move: mailboxes to send from in the new sequence (at most 50 different ones; default: as adding contacts)",
    }),
    overrides: Overrides.optional().openapi({
      description:
        "move: warning categories to move anyway (as adding contacts; the two about other sequences are always waived). A contact held back by one not given stays here (not_moved)",
    }),
    mailbox_id: z.string().min(1).max(64).optional().openapi({
      description:
        "change-mailbox: the mailbox to send from from now on; restart: the mailbox the new runs send from (default: each run's own, which must still be connected, else blocked as mailbox_not_connected). It must be connected (else 422 mailbox_not_connected) and you must be allowed to send from it",
    }),
  })
  // A field this doesn't know is refused, not ignored: a misspelt option (`override` for `overrides`) would
  // otherwise run another action than the one asked for.
  .strict()
  .superRefine((b, ctx) => {
    if (!!b.enrollment_ids === !!b.filter)
      ctx.addIssue({ code: "custom", path: ["enrollment_ids"], message: "Give either enrollment_ids or a filter (one of them)" });
    if (b.until !== undefined && (b.until <= now() || b.until > now() + MAX_AHEAD_MS))
      ctx.addIssue({ code: "custom", path: ["until"], message: "Pause until must be in the future and at most a year ahead" });
  })
  .openapi("EnrollmentActionRequest");

const OutcomeSchema = z.object({
  id: z.string(),
  changed: z.boolean(),
  outcome: z.string(),
  reason: z.string().nullable(),
  reason_code: z.string().nullable().optional().openapi({
    description:
      "restart, outcome blocked: why, as a code (replied, meeting_booked, not_interested, colleague_replied, moved, active_elsewhere: restart_anyway restarts them; mailbox_not_connected: restart with mailbox_id; unsubscribed, bounced, do_not_contact, suppressed, suppressed_domain, no_email, contact_deleted, sequence_archived, duplicate_email: never)",
  }),
  new_id: z.string().nullable().optional(),
  held_back_by: z.array(z.enum(WARNING_CATEGORIES)).optional().openapi({
    description: "move: the warnings the target held this contact back for; move it again with them as overrides to move it anyway",
  }),
});

/** One enrollment's outcome in an action job, with its contact (null when the contact is gone). */
const JobOutcomeSchema = OutcomeSchema.extend({
  contact: z.object({ id: z.string(), name: z.string(), email: z.string().nullable() }).nullable(),
}).openapi("EnrollmentActionOutcome");

const JobIdParam = IdParam.extend({
  job_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "job_id", in: "path" } }),
});

const ActionResult = z
  .object({
    changed: z.array(z.string()),
    unchanged: z.array(z.string()),
    outcomes: z.record(z.string(), z.number()).openapi({ description: "How many enrollments had each outcome" }),
    results: z.array(OutcomeSchema),
    jobs: z.array(z.string()).openapi({ description: "move: the add-contacts jobs enrolling the contacts in the target sequence" }),
  })
  .openapi("EnrollmentActionResult");

const ActionJobSchema = z
  .object({
    id: z.string(),
    sequence_id: z.string(),
    action: z.string(),
    status: z.enum(["running", "completed", "failed"]),
    total: z.number().openapi({ description: "Enrollments that matched the filter when it started" }),
    processed: z.number(),
    changed: z.number(),
    outcomes: z
      .record(z.string(), z.number())
      .openapi({ description: "How many enrollments had each outcome so far (pending: not reached yet)" }),
    target_jobs: z
      .array(z.string())
      .max(10_000)
      .openapi({ description: "move: the add-contacts jobs enrolling the contacts in the target sequence (one per page acted on)" }),
    error: z.string().nullable(),
    created_at: z.number(),
    finished_at: z.number().nullable(),
  })
  .openapi("EnrollmentActionJob");

export const enrollmentRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/enrollments",
      tags: ["Enrollments"],
      summary: "Contacts in a sequence: status, step, next action time or the reason they are not progressing",
      request: { params: IdParam, query: EnrollmentQuery },
      responses: {
        200: json(
          z.object({ enrollments: z.array(EnrollmentSchema), pagination: PaginationMeta, counts: z.record(z.string(), z.number()) }),
        ),
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await listEnrollments(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, q);
      return c.json(
        { enrollments: page.enrollments, pagination: paginationMeta(q.page, q.per_page, page.total), counts: page.counts },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/enrollments/{action}",
      tags: ["Enrollments"],
      summary:
        "Pause (optionally until a date), resume, finish, remove, restart, move to another sequence or change the sending mailbox of contacts in a sequence",
      description:
        "Acts on `enrollment_ids` (up to 1,000) or on every enrollment matching `filter`. Up to 1,000 matches act in the request (200, each enrollment's outcome and, when nothing changed, why); more run as a job on the queue (202 with the job: follow it at `GET /sequences/{id}/enrollment-jobs/{job_id}`).",
      request: {
        params: IdParam.extend({ action: z.enum(ENROLLMENT_ACTIONS).openapi({ param: { name: "action", in: "path" } }) }),
        body: jsonBody(ActionBody),
      },
      responses: {
        200: json(ActionResult),
        202: json(z.object({ job: ActionJobSchema }), "More than 1,000 matched: running as a job"),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = c.var.db;
      const { id, action } = c.req.valid("param");
      const { enrollment_ids, filter, ...p } = c.req.valid("json");
      const prep = await prepareAction(d, caller, id, action, p);
      if (enrollment_ids)
        return c.json(
          await actInline(c.env, d, caller, prep, action, await pickIds(d, prep.seq.id, caller.teamId, enrollment_ids), p),
          200,
        );
      const matched = await matchingIds(d, prep.seq.id, caller.teamId, filter!, INLINE_FILTER_MATCHES + 1);
      if (matched.length <= INLINE_FILTER_MATCHES) return c.json(await actInline(c.env, d, caller, prep, action, matched, p), 200);
      const job = await startActionJob(c.env, d, caller, prep, action, filter!, p);
      return c.json({ job: presentJob(job) }, 202);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/enrollment-jobs/{job_id}",
      tags: ["Enrollments"],
      summary: "An action on a large filter: its progress, outcome counts and one page of each enrollment's outcome",
      request: {
        params: JobIdParam,
        query: Pagination.extend({ per_page: z.coerce.number().int().min(1).max(1000).default(100) }),
      },
      responses: {
        200: json(
          z.object({
            job: ActionJobSchema,
            results: z.array(JobOutcomeSchema).max(1000),
            pagination: PaginationMeta,
          }),
        ),
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const { id, job_id } = c.req.valid("param");
      const q = c.req.valid("query");
      const out = await actionJobFor(c.var.db, c.get("caller"), id, job_id, q.page, q.per_page);
      return c.json({ ...out, pagination: paginationMeta(q.page, q.per_page, out.job.total) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/enrollment-jobs/{job_id}/outcomes",
      tags: ["Enrollments"],
      summary: "Every enrollment's outcome in an action job, in the job's order, a page at a time",
      description:
        "Pass `next_cursor` of one page as `cursor` to read the next; the last page answers `next_cursor: null`. Outcomes not reached yet read `pending`.",
      request: {
        params: JobIdParam,
        query: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ description: "Outcomes per page (at most 500)" }),
          cursor: z
            .string()
            .regex(/^\d{1,9}$/, "Pass the next_cursor of the page before")
            .optional()
            .openapi({ description: "The `next_cursor` of the page before (absent: the first page)" }),
        }),
      },
      responses: {
        200: json(
          z
            .object({
              outcomes: z.array(JobOutcomeSchema).max(500),
              next_cursor: z.string().nullable().openapi({ description: "Where the next page starts; null on the last page" }),
              total: z.number().openapi({ description: "Enrollments in the job" }),
            })
            .openapi("EnrollmentActionOutcomePage"),
        ),
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const { id, job_id } = c.req.valid("param");
      const { limit, cursor } = c.req.valid("query");
      return c.json(await actionJobOutcomes(c.var.db, c.get("caller"), id, job_id, limit, cursor), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/enrollments/{enrollment_id}/next-email",
      tags: ["Enrollments"],
      summary:
        "A contact's next automatic email as they will get it: subject and body rendered for them at the time it goes, the A/B variant they get, the sending mailbox, the variables they lack, and whether the send will refuse it",
      request: {
        params: IdParam.extend({
          enrollment_id: z
            .string()
            .min(1)
            .max(64)
            .openapi({ param: { name: "enrollment_id", in: "path" } }),
        }),
      },
      responses: {
        200: json(
          z
            .object({
              enrollment_id: z.string(),
              step: z.object({ id: z.string(), position: z.number() }),
              variant: z.object({ id: z.string(), label: z.string() }).nullable(),
              from: z.object({ email: z.string(), name: z.string() }).nullable(),
              to: z.string(),
              subject: z.string(),
              body: z.string(),
              missing: z.array(z.string()).openapi({
                description:
                  "Template variables this contact has no value for and that have no fallback (a variable with a fallback renders it and isn't listed)",
              }),
              refused: z
                .object({
                  reason: z.string().openapi({ description: "The composer's reason, as the paused run's reason will say it" }),
                  text: z.string(),
                })
                .nullable()
                .openapi({
                  description:
                    "The send will refuse this email (a variable without a value or fallback, no variant on): the contact is paused on the step and nothing is sent. Null: it goes as shown",
                }),
            })
            .openapi("EmailPreview"),
        ),
        404: errorResponses[404],
        409: errorResponses[409],
      },
    }),
    async (c) => {
      const { id, enrollment_id } = c.req.valid("param");
      return c.json(await previewNextEmail(c.env, c.var.db, c.get("caller"), id, enrollment_id), 200);
    },
  );
