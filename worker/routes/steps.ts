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
import { previewStep, sendStepTest } from "../services/step-preview";

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

const PreviewInput = z
  .object({
    contact_id: z.string().min(1).openapi({ description: "A contact of the team (in the sequence or not)" }),
    variant_id: z
      .string()
      .min(1)
      .optional()
      .openapi({ description: "A variant of the step, on or off (default: the one this contact gets)" }),
    mailbox_id: z
      .string()
      .min(1)
      .optional()
      .openapi({ description: "The mailbox it is written from (default: the contact's in this sequence, else one you may send from)" }),
  })
  .openapi("StepPreviewInput");
const TestInput = PreviewInput.extend({
  mailbox_id: z.string().min(1).openapi({ description: "The mailbox it goes through (you must be able to send a test from it)" }),
}).openapi("StepTestInput");
const Sender = z.object({ email: z.string(), name: z.string() });
const PreviewVariant = z.object({ id: z.string(), label: z.string() }).nullable();
const PreviewContact = z.object({ id: z.string(), name: z.string(), email: z.string() });
const StepPreview = z
  .object({
    step: z.object({ id: z.string(), position: z.number(), thread_reply: z.boolean(), enabled: z.boolean() }),
    contact: PreviewContact.extend({ in_sequence: z.boolean() }),
    variant: PreviewVariant,
    mailbox: z.object({ id: z.string(), email: z.string() }),
    from: Sender,
    to: z.string(),
    subject: z.string().openapi({ description: "As sent: a same-thread reply goes under “Re: ” and the subject of the email it answers" }),
    body: z.string().openapi({
      description: "What the contact reads, plain text: the body, the mailbox's signature, the postal address and unsubscribe link",
    }),
    missing: z.array(z.string()).openapi({ description: "Variables the email uses that this contact has no value (and no fallback) for" }),
    refused: z
      .object({
        reason: z.string(),
        text: z.string(),
        test_allowed: z.boolean().openapi({
          description: "Whether a test of it may still go to you: yes when only the contact is kept from email (unsubscribed, bounced...)",
        }),
      })
      .nullable()
      .openapi({
        description:
          "Why the contact would not get it, in words: they are unsubscribed, bounced, in a Do Not Contact stage or suppressed (their run ends at the step), or the email is refused (the contact is paused on the step); null: it would go",
      }),
  })
  .openapi("StepPreview");
const StepTestResult = z
  .object({
    ok: z.boolean(),
    message: z.string(),
    kind: z.string().nullable(),
    code: z.string().nullable(),
    to: z.string().openapi({ description: "Your own address: a step's test never goes to the contact" }),
    from: Sender,
    subject: z.string(),
    contact: PreviewContact,
    variant: PreviewVariant,
  })
  .openapi("StepTestResult");

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
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/steps/{stepId}/preview",
      tags: ["Steps"],
      summary: "An automatic email step's email as one contact of the team would get it (in the sequence or not), or why it would not go",
      request: { params: StepParam, body: jsonBody(PreviewInput) },
      responses: {
        200: json(StepPreview),
        403: errorResponses[403],
        404: errorResponses[404],
        422: { ...errorResponses[422], description: "Not an automatic email step, or the contact has no email address" },
      },
    }),
    async (c) => {
      const { id, stepId } = c.req.valid("param");
      return c.json(await previewStep(c.env, c.var.db, c.get("caller"), id, stepId, c.req.valid("json")), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/steps/{stepId}/test",
      tags: ["Steps"],
      summary:
        "Send yourself the step's email as the contact would get it, through the mailbox's test-email path (its right, its 10 an hour; counted nowhere but as a test email)",
      request: { params: StepParam, body: jsonBody(TestInput) },
      responses: {
        200: json(StepTestResult),
        403: errorResponses[403],
        404: errorResponses[404],
        422: {
          ...errorResponses[422],
          description: "The email would not go (details.missing names the variables), or it is not an automatic email step",
        },
        429: { ...errorResponses[422], description: "This mailbox sent 10 test emails in the last hour: wait retry-after seconds" },
      },
    }),
    async (c) => {
      const { id, stepId } = c.req.valid("param");
      return c.json(await sendStepTest(c.env, c.var.db, c.get("caller"), id, stepId, c.req.valid("json")), 200);
    },
  );
