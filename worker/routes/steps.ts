import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, sql } from "drizzle-orm";
import { db, runBatch, type Db } from "../db/client";
import { auditLog, sequences, STEP_TYPES, steps, stepVariants } from "../db/schema";
import type { Context } from "hono";
import type { AppEnv, Caller } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { router } from "../lib/openapi";
import { errorResponses, json, jsonBody } from "../lib/schemas";
import { sequenceFor } from "../services/access";
import { auditEntry } from "../services/audit";
import { isEmailStep } from "../../durable-objects/sequence-config";
import { assertKeepsAStepOn } from "../services/state-preconditions";
import { loadSequenceDetail, SequenceDetailSchema } from "../services/sequence-views";
import { validateTemplate } from "../services/templates";

const SeqParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
const StepParam = SeqParam.extend({ stepId: z.string().openapi({ param: { name: "stepId", in: "path" } }) });
const VariantParam = StepParam.extend({ variantId: z.string().openapi({ param: { name: "variantId", in: "path" } }) });

const VariantPatch = z
  .object({ subject: z.string().max(300), body: z.string().max(20_000), enabled: z.boolean() })
  .partial()
  .openapi("VariantPatch");
const VariantInput = VariantPatch.extend({ subject: z.string().max(300).default(""), body: z.string().max(20_000).default("") }).openapi(
  "VariantInput",
);

const StepFields = z.object({
  wait_amount: z
    .number()
    .int()
    .min(0)
    .max(365 * 24 * 60)
    .openapi({ description: "At most a year: 365 days, 8,760 hours or 525,600 minutes" }),
  wait_unit: z.enum(["minutes", "hours", "days"]),
  business_days: z.boolean(),
  enabled: z.boolean(),
  thread_reply: z.boolean(),
  note: z.string().max(2000),
});

const CreateStep = StepFields.partial()
  .extend({
    type: z.enum(STEP_TYPES),
    // 50 = MAX_STEPS_PER_SEQUENCE (declared below, so not referable here): no position past the cap.
    position: z
      .number()
      .int()
      .min(1)
      .max(50)
      .optional()
      .openapi({ description: "Insert before the step now at this position (default: last; at most 50)" }),
    variants: z.array(VariantInput).max(10).optional(),
  })
  .openapi("CreateStep");

const UpdateStep = StepFields.partial().openapi("UpdateStep");

/**
 * Most steps a sequence may have. Apollo and its peers stop well below this; every step is loaded
 * with its variants on each read, clone and send, so a bound keeps those reads small.
 */
export const MAX_STEPS_PER_SEQUENCE = 50;
const one = json(z.object({ sequence: SequenceDetailSchema }));

type Problem = { field: string; message: string };

/** Email content is checked when saved: unknown variables and broken braces are refused (422). */
function templateProblems(prefix: string, v: { subject?: string; body?: string }, threadReply: boolean): Problem[] {
  const problems: Problem[] = validateTemplate(v.subject ?? "", v.body ?? "").map((p) => ({
    field: `${prefix}.${p.field}`,
    message: p.message,
  }));
  if (!threadReply && !(v.subject ?? "").trim())
    problems.push({ field: `${prefix}.subject`, message: "A subject is required (or reply in the same thread)" });
  if (!(v.body ?? "").trim()) problems.push({ field: `${prefix}.body`, message: "The email body is empty" });
  return problems;
}

/** The longest wait before a step is a year, in whichever unit it is counted. */
const MAX_WAIT = { minutes: 365 * 24 * 60, hours: 365 * 24, days: 365 } as const;

function waitProblems(amount: number, unit: keyof typeof MAX_WAIT): Problem[] {
  const max = MAX_WAIT[unit];
  return amount > max ? [{ field: "wait_amount", message: `Wait can be at most ${max.toLocaleString("en-US")} ${unit} (a year)` }] : [];
}

function refuse(problems: Problem[]): void {
  if (problems.length) throw new ApiError("validation_failed", "The step can't be saved", { fields: problems });
}

async function stepOf(d: Db, sequenceId: string, stepId: string) {
  const s = await d.query.steps.findFirst({ where: and(eq(steps.id, stepId), eq(steps.sequenceId, sequenceId)) });
  if (!s) throw notFound("Step");
  return s;
}

/** The caller, the sequence they may edit and the step named in the path (404 when not theirs). */
async function stepContext<P extends { id: string; stepId: string }>(c: Context<AppEnv>, p: P) {
  const caller = c.get("caller");
  const d = db(c.env.DB);
  const { seq } = await sequenceFor(d, caller, p.id, "sequence.edit");
  const step = await stepOf(d, seq.id, p.stepId);
  return { caller, d, seq, step, p };
}

/** Positions stay 1…n in the stored order. */
async function renumber(d: Db, sequenceId: string, orderedIds: string[]) {
  if (!orderedIds.length) return;
  await runBatch(
    d,
    orderedIds.map((id, i) =>
      d
        .update(steps)
        .set({ position: i + 1 })
        .where(and(eq(steps.id, id), eq(steps.sequenceId, sequenceId))),
    ),
  );
}

async function touch(d: Db, caller: Caller, sequenceId: string, action: string, details: Record<string, unknown>) {
  await runBatch(d, [
    d.update(sequences).set({ updatedAt: now() }).where(eq(sequences.id, sequenceId)),
    d.insert(auditLog).values(auditEntry(caller, action, "sequence", sequenceId, details)),
  ]);
}

export const stepRoutes = router()
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/steps",
      tags: ["Steps"],
      summary: "Add a step (at the end, or before a position)",
      request: { params: SeqParam, body: jsonBody(CreateStep) },
      responses: { 201: { ...one, description: "Created" }, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const body = c.req.valid("json");
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, c.req.valid("param").id, "sequence.edit");
      const existing = await d.select({ id: steps.id }).from(steps).where(eq(steps.sequenceId, seq.id)).orderBy(asc(steps.position));
      if (existing.length >= MAX_STEPS_PER_SEQUENCE)
        refuse([{ field: "steps", message: `A sequence has at most ${MAX_STEPS_PER_SEQUENCE} steps` }]);
      const position = Math.min(body.position ?? existing.length + 1, existing.length + 1);
      const threadReply = body.thread_reply ?? false;
      if (threadReply && position === 1) refuse([{ field: "thread_reply", message: "The first step can't reply in a thread" }]);
      refuse(waitProblems(body.wait_amount ?? 0, body.wait_unit ?? "days"));
      const variants =
        isEmailStep(body.type) || body.type === "manual_email" ? (body.variants?.length ? body.variants : [{ subject: "", body: "" }]) : [];
      refuse(variants.flatMap((v, i) => templateProblems(`variants.${i}`, v, threadReply)));
      const id = newId();
      const t = now();
      await runBatch(d, [
        d.insert(steps).values({
          id,
          teamId: caller.teamId,
          sequenceId: seq.id,
          position,
          type: body.type,
          waitAmount: body.wait_amount ?? (position === 1 ? 0 : 2),
          waitUnit: body.wait_unit ?? "days",
          businessDays: body.business_days ?? false,
          enabled: body.enabled ?? true,
          threadReply,
          note: body.note ?? "",
          createdAt: t,
        }),
        ...variants.map((v, i) =>
          d.insert(stepVariants).values({
            id: newId(),
            teamId: caller.teamId,
            stepId: id,
            label: String.fromCharCode(65 + i),
            subject: v.subject,
            body: v.body,
            enabled: v.enabled ?? true,
            createdAt: t,
          }),
        ),
      ]);
      const order = existing.map((s) => s.id);
      order.splice(position - 1, 0, id);
      await renumber(d, seq.id, order);
      await touch(d, caller, seq.id, "step.create", { step_id: id, type: body.type });
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/sequences/{id}/steps/{stepId}",
      tags: ["Steps"],
      summary: "Change a step's wait, toggle it on/off, threading or note",
      request: { params: StepParam, body: jsonBody(UpdateStep) },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { caller, d, seq, step } = await stepContext(c, c.req.valid("param"));
      const body = c.req.valid("json");
      if (!Object.values(body).some((v) => v !== undefined))
        throw new ApiError("validation_failed", "Nothing to change: give at least one field", {
          fields: [{ field: "body", message: "Give at least one field to change" }],
        });
      if (body.thread_reply && step.position === 1) refuse([{ field: "thread_reply", message: "The first step can't reply in a thread" }]);
      refuse(waitProblems(body.wait_amount ?? step.waitAmount, body.wait_unit ?? step.waitUnit));
      if (body.enabled === false && step.enabled) await assertKeepsAStepOn(c.env.DB, seq, step.id, "enabled");
      await d
        .update(steps)
        .set({
          ...(body.wait_amount !== undefined && { waitAmount: body.wait_amount }),
          ...(body.wait_unit !== undefined && { waitUnit: body.wait_unit }),
          ...(body.business_days !== undefined && { businessDays: body.business_days }),
          ...(body.enabled !== undefined && { enabled: body.enabled }),
          ...(body.thread_reply !== undefined && { threadReply: body.thread_reply }),
          ...(body.note !== undefined && { note: body.note }),
        })
        .where(eq(steps.id, step.id));
      await touch(d, caller, seq.id, "step.update", { step_id: step.id, ...body });
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/sequences/{id}/steps/{stepId}",
      tags: ["Steps"],
      summary: "Delete a step; contacts on it move to the step that takes its place",
      request: { params: StepParam },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      const { caller, d, seq, step } = await stepContext(c, c.req.valid("param"));
      if (step.enabled) await assertKeepsAStepOn(c.env.DB, seq, step.id, "step");
      await d.batch([d.delete(stepVariants).where(eq(stepVariants.stepId, step.id)), d.delete(steps).where(eq(steps.id, step.id))]);
      const rest = await d.select({ id: steps.id }).from(steps).where(eq(steps.sequenceId, seq.id)).orderBy(asc(steps.position));
      await renumber(
        d,
        seq.id,
        rest.map((r) => r.id),
      );
      await touch(d, caller, seq.id, "step.delete", { step_id: step.id });
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/steps/reorder",
      tags: ["Steps"],
      summary: "Put the steps in a new order (every step id, once)",
      request: { params: SeqParam, body: jsonBody(z.object({ step_ids: z.array(z.string()).min(1).max(100) })) },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, c.req.valid("param").id, "sequence.edit");
      const { step_ids } = c.req.valid("json");
      const current = await d.select({ id: steps.id, threadReply: steps.threadReply }).from(steps).where(eq(steps.sequenceId, seq.id));
      const same =
        step_ids.length === current.length &&
        new Set(step_ids).size === step_ids.length &&
        step_ids.every((id) => current.some((s) => s.id === id));
      if (!same) refuse([{ field: "step_ids", message: "List every step of the sequence exactly once" }]);
      if (current.find((s) => s.id === step_ids[0])?.threadReply)
        refuse([{ field: "step_ids", message: "The first step can't be a same-thread reply" }]);
      await renumber(d, seq.id, step_ids);
      await touch(d, caller, seq.id, "step.reorder", { step_ids });
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/steps/{stepId}/variants",
      tags: ["Steps"],
      summary: "Add an A/B variant to an email step (contacts split evenly and deterministically)",
      request: { params: StepParam, body: jsonBody(VariantInput) },
      responses: { 201: { ...one, description: "Created" }, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { caller, d, seq, step } = await stepContext(c, c.req.valid("param"));
      const body = c.req.valid("json");
      if (!isEmailStep(step.type) && step.type !== "manual_email") refuse([{ field: "stepId", message: "Only email steps have variants" }]);
      refuse(templateProblems("variant", body, step.threadReply));
      const [n] = await d
        .select({ n: sql<number>`count(*)` })
        .from(stepVariants)
        .where(eq(stepVariants.stepId, step.id));
      if ((n?.n ?? 0) >= 10) refuse([{ field: "variant", message: "A step has at most 10 variants" }]);
      await d.insert(stepVariants).values({
        id: newId(),
        teamId: caller.teamId,
        stepId: step.id,
        label: String.fromCharCode(65 + (n?.n ?? 0)),
        subject: body.subject,
        body: body.body,
        enabled: body.enabled ?? true,
        createdAt: now(),
      });
      await touch(d, caller, seq.id, "variant.create", { step_id: step.id });
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/sequences/{id}/steps/{stepId}/variants/{variantId}",
      tags: ["Steps"],
      summary: "Edit or toggle a variant",
      request: { params: VariantParam, body: jsonBody(VariantPatch) },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { caller, d, seq, step, p } = await stepContext(c, c.req.valid("param"));
      const body = c.req.valid("json");
      const v = await d.query.stepVariants.findFirst({ where: and(eq(stepVariants.id, p.variantId), eq(stepVariants.stepId, step.id)) });
      if (!v) throw notFound("Variant");
      const next = { subject: body.subject ?? v.subject, body: body.body ?? v.body };
      refuse(templateProblems("variant", next, step.threadReply));
      if (body.enabled === false) {
        const [on] = await d
          .select({ n: sql<number>`count(*)` })
          .from(stepVariants)
          .where(and(eq(stepVariants.stepId, step.id), eq(stepVariants.enabled, true)));
        if ((on?.n ?? 0) <= 1 && v.enabled) refuse([{ field: "enabled", message: "An email step needs at least one variant on" }]);
      }
      await d
        .update(stepVariants)
        .set({ ...next, ...(body.enabled !== undefined && { enabled: body.enabled }) })
        .where(eq(stepVariants.id, v.id));
      await touch(d, caller, seq.id, "variant.update", { step_id: step.id, variant_id: v.id });
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/sequences/{id}/steps/{stepId}/variants/{variantId}",
      tags: ["Steps"],
      summary: "Delete a variant (an email step keeps at least one)",
      request: { params: VariantParam },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { caller, d, seq, step, p } = await stepContext(c, c.req.valid("param"));
      const all = await d.select().from(stepVariants).where(eq(stepVariants.stepId, step.id));
      if (!all.some((v) => v.id === p.variantId)) throw notFound("Variant");
      if (all.length <= 1) refuse([{ field: "variantId", message: "An email step needs at least one variant" }]);
      await d.delete(stepVariants).where(eq(stepVariants.id, p.variantId));
      await touch(d, caller, seq.id, "variant.delete", { step_id: step.id, variant_id: p.variantId });
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 200);
    },
  );
