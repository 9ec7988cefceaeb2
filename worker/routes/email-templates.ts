import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import {
  createEmailTemplate,
  deleteEmailTemplate,
  getEmailTemplate,
  listEmailTemplates,
  TEMPLATE_NAME_MAX,
  updateEmailTemplate,
} from "../services/email-templates";
import { EmailBody, EmailSubject } from "../services/steps";

// Saved emails a rep inserts into a step (Apollo's and Outreach's templates): the team's shared ones and their own.

const EmailTemplateSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    subject: z.string(),
    body: z.string(),
    shared: z.boolean().openapi({ description: "true: everyone in the team sees it and can insert it; false: only its owner" }),
    owner_id: z.string(),
    owner_name: z.string().nullable(),
    created_at: z.number(),
    updated_at: z.number(),
    can_manage: z.boolean().openapi({ description: "Whether the caller may change or delete it (its owner or an admin)" }),
  })
  .openapi("EmailTemplate");

const Warnings = z.array(z.object({ field: z.string(), message: z.string() })).openapi({
  description:
    "Saved, but worth a look, as a step's save says: {{custom.<key>}} tags whose key no contact of the team has, and fallbacks left empty ({{first_name| }})",
});
const saved = json(z.object({ template: EmailTemplateSchema, warnings: Warnings }));

// No defaults here: zod's .partial() would fill them into every PATCH.
const Fields = z.object({
  name: z.string().trim().min(1, "Give the template a name").max(TEMPLATE_NAME_MAX),
  // A step's limits (steps.ts), so every template inserts into a step that saves.
  subject: EmailSubject.openapi({ description: "May be empty: for a step that replies in the same thread" }),
  body: EmailBody,
  shared: z.boolean(),
});
const CreateTemplate = Fields.extend({ subject: Fields.shape.subject.default(""), shared: z.boolean().default(false) }).openapi(
  "CreateEmailTemplate",
);
const UpdateTemplate = Fields.partial().openapi("UpdateEmailTemplate");

const notes = "Unknown variables and broken braces are refused (422, with a “did you mean” when one is close), as a step's are.";

export const emailTemplateRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/email-templates",
      tags: ["Email templates"],
      summary: "The team's shared email templates and your own, by name, a page at a time",
      request: {
        query: Pagination.extend({
          q: z.string().trim().max(TEMPLATE_NAME_MAX).optional().openapi({ description: "Only templates whose name contains this" }),
        }),
      },
      responses: {
        200: json(z.object({ templates: z.array(EmailTemplateSchema), pagination: PaginationMeta })),
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const r = await listEmailTemplates(c.var.db, c.get("caller"), q);
      return c.json({ templates: r.templates, pagination: paginationMeta(q.page, q.per_page, r.total) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/email-templates",
      tags: ["Email templates"],
      summary: "Save an email template (you own it; private unless shared)",
      description: notes,
      request: { body: jsonBody(CreateTemplate) },
      responses: { 201: { ...saved, description: "Created" }, 403: errorResponses[403], 422: errorResponses[422] },
    }),
    async (c) => c.json(await createEmailTemplate(c.var.db, c.get("caller"), c.req.valid("json")), 201),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/email-templates/{id}",
      tags: ["Email templates"],
      summary: "One email template (shared, or your own)",
      request: { params: IdParam },
      responses: { 200: json(z.object({ template: EmailTemplateSchema })), 404: errorResponses[404] },
    }),
    async (c) => c.json({ template: await getEmailTemplate(c.var.db, c.get("caller"), c.req.valid("param").id) }, 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/email-templates/{id}",
      tags: ["Email templates"],
      summary: "Change an email template (its owner or an admin); steps that took its text keep theirs",
      description: notes,
      request: { params: IdParam, body: jsonBody(UpdateTemplate) },
      responses: { 200: saved, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => c.json(await updateEmailTemplate(c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json")), 200),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/email-templates/{id}",
      tags: ["Email templates"],
      summary: "Delete an email template (its owner or an admin); steps that took its text keep theirs",
      request: { params: IdParam },
      responses: { 200: json(z.object({ deleted: z.boolean() })), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      await deleteEmailTemplate(c.var.db, c.get("caller"), c.req.valid("param").id);
      return c.json({ deleted: true }, 200);
    },
  );
