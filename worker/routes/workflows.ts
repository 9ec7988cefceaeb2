import { createRoute, z } from "@hono/zod-openapi";
import { db } from "../db/client";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { authorize, mailboxFor, sequenceFor, visibleSequenceRaw, workflowFor } from "../services/access";
import { audit } from "../services/audit";
import { Overrides } from "../services/add-contacts/request";
import { PeopleFilters } from "../services/people-search";
import { assertWorkflowCanRun } from "../services/state-preconditions";
import { runWorkflow } from "../services/workflows";

const WorkflowInput = z
  .object({
    name: z.string().trim().min(1).max(120),
    sequence_id: Id,
    filters: PeopleFilters.openapi({ description: "People to find; only net-new people (not yet contacts) are added" }),
    interval_minutes: z.number().int().min(15).max(43_200).openapi({ description: "How often it runs (15 minutes to 30 days)" }),
    max_per_run: z.number().int().min(1).max(5_000),
    active: z.boolean(),
    mailbox_ids: z.array(Id).max(50),
    overrides: Overrides,
    enrich: z.boolean(),
  })
  .partial({ interval_minutes: true, max_per_run: true, active: true, mailbox_ids: true, overrides: true, enrich: true })
  .openapi("WorkflowInput");

const RunSchema = z
  .object({
    id: z.string(),
    slot: z.number(),
    status: z.enum(["running", "completed", "failed"]),
    found: z.number(),
    job_id: z.string().nullable(),
    added: z.number().nullable().openapi({ description: "Contacts the run's job enrolled (null until it has)" }),
    job_status: z.string().nullable(),
    reason: z.string().nullable().openapi({ description: "Why the run added nobody (no_new_people, sequence_inactive, insufficient_credits…)" }),
    started_at: z.number(),
    finished_at: z.number().nullable(),
  })
  .openapi("WorkflowRun");

const WorkflowSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner_id: z.string(),
    sequence_id: Id,
    sequence_name: z.string().nullable(),
    sequence_active: z.boolean().openapi({ description: "Whether its sequence is on (and not archived): a workflow turns on only then" }),
    filters: z.record(z.string(), z.unknown()),
    interval_minutes: z.number(),
    max_per_run: z.number(),
    active: z.boolean(),
    mailbox_ids: z.array(z.string()),
    overrides: z.record(z.string(), z.boolean()),
    enrich: z.boolean(),
    next_run_at: z.number().nullable(),
    last_run_at: z.number().nullable(),
    last_run: RunSchema.nullable(),
    created_at: z.number(),
  })
  .openapi("Workflow");

function presentRun(r: Record<string, any>) {
  return {
    id: r.id, slot: r.slot, status: r.status, found: r.found, job_id: r.job_id, added: r.job_enrolled ?? null, job_status: r.job_status ?? null,
    reason: r.reason, started_at: r.started_at, finished_at: r.finished_at,
  };
}

const RUN_SQL = `SELECT r.*, j.enrolled AS job_enrolled, j.status AS job_status FROM workflow_runs r LEFT JOIN jobs j ON j.id = r.job_id`;

async function present(env: Env, w: Record<string, any>) {
  const [seq, last] = await env.DB.batch<Record<string, any>>([
    env.DB.prepare("SELECT name, active, archived_at FROM sequences WHERE id = ? AND team_id = ?").bind(w.sequence_id, w.team_id),
    env.DB.prepare(`${RUN_SQL} WHERE r.workflow_id = ? ORDER BY r.started_at DESC LIMIT 1`).bind(w.id),
  ]);
  const options = JSON.parse(w.options);
  return {
    id: w.id, name: w.name, owner_id: w.owner_id, sequence_id: w.sequence_id, sequence_name: seq!.results[0]?.name ?? null,
    sequence_active: !!seq!.results[0]?.active && !seq!.results[0]?.archived_at,
    filters: JSON.parse(w.filters), interval_minutes: w.interval_minutes, max_per_run: w.max_per_run, active: !!w.active,
    mailbox_ids: options.mailbox_ids ?? [], overrides: options.overrides ?? {}, enrich: !!options.enrich,
    next_run_at: w.next_run_at, last_run_at: w.last_run_at, last_run: last!.results[0] ? presentRun(last!.results[0]) : null, created_at: w.created_at,
  };
}

/** A workflow the caller may see (as its sequence), or change ("workflow.manage": its owner or an admin). */
async function workflowOf(env: Env, caller: Caller, id: string, action: "workflow.view" | "workflow.manage" = "workflow.view") {
  await workflowFor(db(env.DB), caller, id, action);
  return (await env.DB.prepare("SELECT * FROM workflows WHERE id = ?").bind(id).first<Record<string, any>>())!;
}

/** A workflow adds to a sequence from mailboxes: its owner must be allowed to do both (invariant 9). */
async function checkTargets(env: Env, caller: Caller, sequenceId: string | undefined, mailboxIds: string[] | undefined) {
  const d = db(env.DB);
  if (sequenceId) await sequenceFor(d, caller, sequenceId, "sequence.edit");
  for (const id of new Set(mailboxIds ?? [])) await mailboxFor(d, caller, id, "mailbox.send");
}

const one = json(z.object({ workflow: WorkflowSchema }));

export const workflowRoutes = router()
  .openapi(
    createRoute({ method: "get", path: "/workflows", tags: ["Workflows"], summary: "The team's workflows with their last run", responses: { 200: json(z.object({ workflows: z.array(WorkflowSchema) })) } }),
    async (c) => {
      const seen = visibleSequenceRaw(c.get("caller"), "sequence_id");
      const { results } = await c.env.DB.prepare(`SELECT * FROM workflows WHERE team_id = ? AND ${seen.sql} ORDER BY name`).bind(c.get("caller").teamId, ...seen.params).all<Record<string, any>>();
      return c.json({ workflows: await Promise.all(results.map((w) => present(c.env, w))) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/workflows",
      tags: ["Workflows"],
      summary: "Create a workflow: on a schedule, find net-new people by filters and add them to a sequence",
      request: { body: jsonBody(WorkflowInput) },
      responses: { 201: { ...one, description: "Created" }, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const b = c.req.valid("json");
      authorize(caller, "workflow.create");
      await checkTargets(c.env, caller, b.sequence_id, b.mailbox_ids);
      if (b.active !== false) await assertWorkflowCanRun(c.env.DB, caller.teamId, b.sequence_id);
      const id = newId();
      const t = now();
      const interval = b.interval_minutes ?? 1440;
      await c.env.DB.prepare(
        `INSERT INTO workflows (id, team_id, owner_id, name, sequence_id, filters, options, interval_minutes, max_per_run, active, next_run_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).bind(id, caller.teamId, caller.userId, b.name, b.sequence_id, JSON.stringify(b.filters), JSON.stringify({ mailbox_ids: b.mailbox_ids, overrides: b.overrides, enrich: b.enrich }), interval, b.max_per_run ?? 100, b.active === false ? 0 : 1, t + 60_000, t).run();
      await audit(db(c.env.DB), caller, "workflow.create", "workflow", id);
      return c.json({ workflow: await present(c.env, (await workflowOf(c.env, caller, id))!) }, 201);
    },
  )
  .openapi(
    createRoute({ method: "get", path: "/workflows/{id}", tags: ["Workflows"], summary: "One workflow with its last run", request: { params: IdParam }, responses: { 200: one, 404: errorResponses[404] } }),
    async (c) => c.json({ workflow: await present(c.env, await workflowOf(c.env, c.get("caller"), c.req.valid("param").id)) }, 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/workflows/{id}",
      tags: ["Workflows"],
      summary: "Change a workflow or turn it on/off",
      request: { params: IdParam, body: jsonBody(WorkflowInput.partial()) },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const b = c.req.valid("json");
      const w = await workflowOf(c.env, caller, c.req.valid("param").id, "workflow.manage");
      await checkTargets(c.env, caller, b.sequence_id, b.mailbox_ids);
      // Turning it on, or pointing a workflow that is on at another sequence: that sequence must be on.
      if (b.active === true || (b.sequence_id && (b.active ?? !!w.active))) await assertWorkflowCanRun(c.env.DB, caller.teamId, b.sequence_id ?? w.sequence_id);
      const options = { ...JSON.parse(w.options), ...(b.mailbox_ids && { mailbox_ids: b.mailbox_ids }), ...(b.overrides && { overrides: b.overrides }), ...(b.enrich !== undefined && { enrich: b.enrich }) };
      await c.env.DB.prepare(
        `UPDATE workflows SET name = ?, sequence_id = ?, filters = ?, options = ?, interval_minutes = ?, max_per_run = ?, active = ?,
           next_run_at = CASE WHEN ? = 1 AND active = 0 THEN ? ELSE next_run_at END WHERE id = ?`,
      ).bind(
        b.name ?? w.name, b.sequence_id ?? w.sequence_id, b.filters ? JSON.stringify(b.filters) : w.filters, JSON.stringify(options),
        b.interval_minutes ?? w.interval_minutes, b.max_per_run ?? w.max_per_run, b.active === undefined ? w.active : b.active ? 1 : 0,
        b.active ? 1 : 0, now() + 60_000, w.id,
      ).run();
      await audit(db(c.env.DB), caller, "workflow.update", "workflow", w.id, b as Record<string, unknown>);
      return c.json({ workflow: await present(c.env, (await workflowOf(c.env, caller, w.id))!) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/workflows/{id}",
      tags: ["Workflows"],
      summary: "Delete a workflow (its runs' jobs stay)",
      request: { params: IdParam },
      responses: { 200: json(z.object({ ok: z.boolean() })), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const w = await workflowOf(c.env, caller, c.req.valid("param").id, "workflow.manage");
      await c.env.DB.batch([c.env.DB.prepare("DELETE FROM workflows WHERE id = ?").bind(w.id), c.env.DB.prepare("DELETE FROM workflow_runs WHERE workflow_id = ?").bind(w.id)]);
      await audit(db(c.env.DB), caller, "workflow.delete", "workflow", w.id);
      return c.json({ ok: true }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/workflows/{id}/run",
      tags: ["Workflows"],
      summary: "Run a workflow now (outside its schedule)",
      request: { params: IdParam },
      responses: { 200: json(z.object({ run: RunSchema })), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const w = await workflowOf(c.env, caller, c.req.valid("param").id, "workflow.manage");
      const runId = await runWorkflow(c.env, w.id, now(), true);
      const run = await c.env.DB.prepare(`${RUN_SQL} WHERE r.id = ?`).bind(runId).first<Record<string, any>>();
      if (!run) throw new ApiError("conflict", "This workflow is running right now");
      return c.json({ run: presentRun(run) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/workflows/{id}/runs",
      tags: ["Workflows"],
      summary: "A workflow's run log, newest first",
      request: { params: IdParam, query: Pagination },
      responses: { 200: json(z.object({ runs: z.array(RunSchema), pagination: PaginationMeta })), 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const w = await workflowOf(c.env, caller, c.req.valid("param").id);
      const q = c.req.valid("query");
      const [rows, total] = await c.env.DB.batch<Record<string, any>>([
        c.env.DB.prepare(`${RUN_SQL} WHERE r.workflow_id = ? ORDER BY r.started_at DESC LIMIT ? OFFSET ?`).bind(w.id, q.per_page, (q.page - 1) * q.per_page),
        c.env.DB.prepare("SELECT count(*) AS n FROM workflow_runs WHERE workflow_id = ?").bind(w.id),
      ]);
      return c.json({ runs: rows!.results.map(presentRun), pagination: paginationMeta(q.page, q.per_page, total!.results[0]!.n) }, 200);
    },
  );
