import { createRoute, z } from "@hono/zod-openapi";
import { STEP_TYPES } from "../db/schema";
import { router } from "../lib/openapi";
import { errorResponses, json, jsonBody } from "../lib/schemas";
import { SequenceDetailSchema } from "../services/sequence-views";
import {
  addStep,
  addVariant,
  deleteStep,
  deleteVariant,
  EmailBody,
  EmailSubject,
  MAX_STEPS_PER_SEQUENCE,
  MAX_VARIANTS_PER_STEP,
  reorderSteps,
  updateStep,
  updateVariant,
} from "../services/steps";

const SeqParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
const StepParam = SeqParam.extend({ stepId: z.string().openapi({ param: { name: "stepId", in: "path" } }) });
const VariantParam = StepParam.extend({ variantId: z.string().openapi({ param: { name: "variantId", in: "path" } }) });

const VariantPatch = z.object({ subject: EmailSubject, body: EmailBody, enabled: z.boolean() }).partial().openapi("VariantPatch");
const VariantInput = VariantPatch.extend({ subject: EmailSubject.default(""), body: EmailBody.default("") }).openapi("VariantInput");

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
    // No position past the cap.
    position: z
      .number()
      .int()
      .min(1)
      .max(MAX_STEPS_PER_SEQUENCE)
      .optional()
      .openapi({ description: "Insert before the step now at this position (default: last; at most 50)" }),
    variants: z.array(VariantInput).max(MAX_VARIANTS_PER_STEP).optional(),
  })
  .openapi("CreateStep");

const UpdateStep = StepFields.partial().openapi("UpdateStep");

const one = json(z.object({ sequence: SequenceDetailSchema }));
/** A save of email text: the sequence, and what the text likely gets wrong without being refused. */
const saved = json(
  z.object({
    sequence: SequenceDetailSchema,
    warnings: z.array(z.object({ field: z.string(), message: z.string() })).openapi({
      description:
        "Saved, but worth a look: {{custom.<key>}} tags whose key no contact of the team has (a typo renders empty for everyone), and fallbacks left empty ({{first_name| }}), which count as none",
    }),
  }),
);

export const stepRoutes = router()
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/steps",
      tags: ["Steps"],
      summary: "Add a step (at the end, or before a position)",
      request: { params: SeqParam, body: jsonBody(CreateStep) },
      responses: {
        201: { ...saved, description: "Created" },
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => c.json(await addStep(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json")), 201),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/sequences/{id}/steps/{stepId}",
      tags: ["Steps"],
      summary: "Change a step's wait, toggle it on/off, threading or note",
      request: { params: StepParam, body: jsonBody(UpdateStep) },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409], 422: errorResponses[422] },
    }),
    async (c) => {
      const { id, stepId } = c.req.valid("param");
      return c.json({ sequence: await updateStep(c.env, c.var.db, c.get("caller"), id, stepId, c.req.valid("json")) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/sequences/{id}/steps/{stepId}",
      tags: ["Steps"],
      summary: "Delete a step; contacts on it move to the step that takes its place",
      request: { params: StepParam },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409], 422: errorResponses[422] },
    }),
    async (c) => {
      const { id, stepId } = c.req.valid("param");
      return c.json({ sequence: await deleteStep(c.env, c.var.db, c.get("caller"), id, stepId) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/steps/reorder",
      tags: ["Steps"],
      summary: "Put the steps in a new order (every step id, once)",
      request: { params: SeqParam, body: jsonBody(z.object({ step_ids: z.array(z.string()).min(1).max(100) })) },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409], 422: errorResponses[422] },
    }),
    async (c) =>
      c.json(
        { sequence: await reorderSteps(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json").step_ids) },
        200,
      ),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/steps/{stepId}/variants",
      tags: ["Steps"],
      summary: "Add an A/B variant to an email step (contacts split evenly and deterministically)",
      request: { params: StepParam, body: jsonBody(VariantInput) },
      responses: {
        201: { ...saved, description: "Created" },
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const { id, stepId } = c.req.valid("param");
      return c.json(await addVariant(c.var.db, c.get("caller"), id, stepId, c.req.valid("json")), 201);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/sequences/{id}/steps/{stepId}/variants/{variantId}",
      tags: ["Steps"],
      summary: "Edit or toggle a variant",
      request: { params: VariantParam, body: jsonBody(VariantPatch) },
      responses: { 200: saved, 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409], 422: errorResponses[422] },
    }),
    async (c) => {
      const { id, stepId, variantId } = c.req.valid("param");
      return c.json(await updateVariant(c.var.db, c.get("caller"), id, stepId, variantId, c.req.valid("json")), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/sequences/{id}/steps/{stepId}/variants/{variantId}",
      tags: ["Steps"],
      summary: "Delete a variant (an email step keeps at least one)",
      request: { params: VariantParam },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409], 422: errorResponses[422] },
    }),
    async (c) => {
      const { id, stepId, variantId } = c.req.valid("param");
      return c.json({ sequence: await deleteVariant(c.var.db, c.get("caller"), id, stepId, variantId) }, 200);
    },
  );
