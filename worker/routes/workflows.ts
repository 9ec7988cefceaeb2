import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, idList, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { Overrides } from "../services/add-contacts/request";
import { PeopleFilters } from "../services/people-search";
import {
  CHANGE_KINDS,
  ContactFilters,
  createWorkflow,
  deleteWorkflow,
  getWorkflow,
  listWorkflows,
  runWorkflowNow,
  updateWorkflow,
  workflowRunLog,
  WorkflowTrigger,
} from "../services/workflows";

const WorkflowInput = z
  .object({
    name: z.string().trim().min(1).max(120),
    sequence_id: Id,
    filters: PeopleFilters.openapi({ description: "Schedule workflows: people to find; only net-new people (not yet contacts) are added" }),
    trigger: WorkflowTrigger.openapi({
      description: "When it runs: on a schedule (default), or once per contact change that matches its contact filters",
    }),
    interval_minutes: z
      .number()
      .int()
      .min(15)
      .max(43_200)
      .openapi({ description: "Schedule workflows: how often it runs (15 minutes to 30 days)" }),
    max_per_run: z
      .number()
      .int()
      .min(1)
      .max(5_000)
      .openapi({ description: "Most contacts one run adds (change workflows: most changes acted on per minute)" }),
    active: z.boolean().openapi({ description: "New workflows start off unless this is true" }),
    // A repeated mailbox counts once against the 50 (README's limits).
    mailbox_ids: idList(50, { min: 0 }),
    overrides: Overrides,
    enrich: z.boolean(),
  })
  .partial({
    filters: true,
    trigger: true,
    interval_minutes: true,
    max_per_run: true,
    active: true,
    mailbox_ids: true,
    overrides: true,
    enrich: true,
  })
  // Strict, as its filters and trigger are: an unknown key answers 422 naming it instead of being dropped.
  .strict()
  .openapi("WorkflowInput");

const WorkflowPatch = WorkflowInput.partial()
  .extend({
    owner_id: Id.optional().openapi({
      description:
        "Admins only: give the workflow to another active user of the team; it runs as them from then on (they must be able to edit its sequence and send from its mailboxes). One that was turned off stays off until it is turned on again.",
    }),
  })
  .strict()
  .openapi("WorkflowPatch");

const RunSchema = z
  .object({
    id: z.string(),
    slot: z.number(),
    status: z.enum(["running", "completed", "failed"]),
    found: z.number(),
    job_id: z.string().nullable(),
    added: z.number().nullable().openapi({
      description:
        "Contacts the run's job enrolled: null while it has no job or its job is still adding (preparing, scheduled, queued, running)",
    }),
    skipped: z
      .number()
      .nullable()
      .openapi({ description: "Contacts the run's job skipped (already in the sequence, suppressed…): null until it has finished" }),
    held_back: z
      .number()
      .nullable()
      .openapi({ description: "Contacts the run's job held back for a warning (an unverified email…): null until it has finished" }),
    skipped_reasons: z
      .array(z.object({ reason: z.string(), label: z.string(), count: z.number() }))
      .nullable()
      .openapi({
        description:
          "Why the run's job skipped whom: a count per reason code (already_in_sequence, unsubscribed, suppressed…), most first; a contact skipped for two reasons counts under each. Given for a run that added nobody because everyone was skipped (reason all_skipped); null otherwise",
      }),
    job_status: z.string().nullable(),
    reason: z.string().nullable().openapi({
      description:
        "Why the run added nobody (no_new_people, held_back, all_skipped, empty_score_range, sequence_inactive, insufficient_credits, no_longer_matches, interrupted; gave_up: its tick died on every one of its 8 tries; workflow_off: its tick died and the workflow was off when it would have been tried again, so the job it had committed was cancelled…; job_ended: the job an earlier try committed had already been cancelled or failed, so this try added nobody)",
    }),
    started_at: z.number(),
    finished_at: z.number().nullable(),
    trigger: z
      .object({
        kind: z.enum(["schedule", "manual", "change"]),
        change_id: z.number().nullable(),
        change: z.enum(CHANGE_KINDS).nullable().openapi({ description: "created, stage or field" }),
        contact_id: z.string().nullable().openapi({
          description: "The contact whose change started it; null when the run took several contacts' changes (found says how many)",
        }),
        contact_name: z.string().nullable(),
      })
      .openapi({ description: "What started the run: its schedule, Run now, or a contact's change (which one)" }),
    attempts: z.number().openapi({
      description:
        "How many times the run was tried (a change run that failed before its job was committed, and a slot's or Run now's run whose tick was interrupted before its job started, are tried again)",
    }),
    will_retry: z.boolean().openapi({
      description:
        "A failed change run, or a slot's or Run now's run whose tick was interrupted, is tried again while the workflow is on (an interrupted one 1, 2, 4 … minutes after its lease ran out, a failed change run 10, 20, 40 … minutes after; up to 8 tries within a day of the first, then gave_up); false: it stays as it is",
    }),
  })
  .openapi("WorkflowRun");

const WorkflowSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner_id: z.string(),
    can_manage: z.boolean().openapi({ description: "Whether you may turn it on or off, run, edit or delete it (its owner and admins)" }),
    sequence_id: Id,
    sequence_name: z.string().nullable(),
    sequence_active: z.boolean().openapi({ description: "Whether its sequence is on (and not archived): a workflow turns on only then" }),
    filters: PeopleFilters,
    trigger: WorkflowTrigger,
    interval_minutes: z.number(),
    max_per_run: z.number(),
    active: z.boolean(),
    off_reason: z.string().nullable().openapi({
      description:
        "Why a run turned it off (owner_missing, forbidden, not_found: its owner can no longer add to its sequence); null when on or turned off by a user",
    }),
    mailbox_ids: z.array(z.string()),
    overrides: z.record(z.string(), z.boolean()),
    enrich: z.boolean(),
    next_run_at: z.number().nullable(),
    last_run_at: z.number().nullable(),
    last_run: RunSchema.nullable(),
    created_at: z.number(),
  })
  .openapi("Workflow");

const one = json(z.object({ workflow: WorkflowSchema }));

// Referenced so the OpenAPI document names the contact filters schema.
void ContactFilters;

export const workflowRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/workflows",
      tags: ["Workflows"],
      summary: "The team's workflows with their last run",
      responses: { 200: json(z.object({ workflows: z.array(WorkflowSchema) })) },
    }),
    async (c) => c.json({ workflows: await listWorkflows(c.var.db, c.get("caller")) }, 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/workflows",
      tags: ["Workflows"],
      summary:
        "Create a workflow (off until turned on): on a schedule, find net-new people by filters, or on each matching contact change, and add them to a sequence",
      request: { body: jsonBody(WorkflowInput) },
      responses: { 201: { ...one, description: "Created" }, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const b = c.req.valid("json");
      const id = await createWorkflow(c.var.db, caller, { ...b, filters: b.filters ?? { saved: "any" } });
      return c.json({ workflow: await getWorkflow(c.var.db, caller, id) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/workflows/{id}",
      tags: ["Workflows"],
      summary: "One workflow with its last run",
      request: { params: IdParam },
      responses: { 200: one, 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => c.json({ workflow: await getWorkflow(c.var.db, c.get("caller"), c.req.valid("param").id) }, 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/workflows/{id}",
      tags: ["Workflows"],
      summary: "Change a workflow or turn it on/off; admins: give it to another user",
      request: { params: IdParam, body: jsonBody(WorkflowPatch) },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const id = c.req.valid("param").id;
      await updateWorkflow(c.var.db, caller, id, c.req.valid("json"));
      return c.json({ workflow: await getWorkflow(c.var.db, caller, id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/workflows/{id}",
      tags: ["Workflows"],
      summary: "Delete a workflow (its runs' jobs stay)",
      request: { params: IdParam },
      responses: { 200: json(z.object({ ok: z.boolean() })), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      await deleteWorkflow(c.var.db, c.get("caller"), c.req.valid("param").id);
      return c.json({ ok: true }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/workflows/{id}/run",
      tags: ["Workflows"],
      summary: "Run a schedule workflow now (outside its schedule)",
      request: { params: IdParam },
      responses: {
        200: json(z.object({ run: RunSchema })),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => c.json({ run: await runWorkflowNow(c.env, c.var.db, c.get("caller"), c.req.valid("param").id) }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/workflows/{id}/runs",
      tags: ["Workflows"],
      summary: "A workflow's run log, newest first, each run with what triggered it",
      request: { params: IdParam, query: Pagination },
      responses: {
        200: json(z.object({ runs: z.array(RunSchema), pagination: PaginationMeta })),
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const r = await workflowRunLog(c.var.db, c.get("caller"), c.req.valid("param").id, q.page, q.per_page);
      return c.json({ runs: r.runs, pagination: paginationMeta(q.page, q.per_page, r.total) }, 200);
    },
  );
