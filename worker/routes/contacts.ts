import { createRoute, z } from "@hono/zod-openapi";
import type { contacts } from "../db/schema";
import { csvDownload, csvFile } from "../lib/csv";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, idList, json, jsonBody, Pagination, PaginationMeta, paginationMeta, WebUrl } from "../lib/schemas";
import {
  bulkContacts,
  contactSequences,
  contactStagesOf,
  createContact,
  getContact,
  matchingContactIds,
  MAX_CUSTOM_FIELDS,
  MAX_SELECTION,
  previewStages,
  searchContacts,
  updateContact,
  updateStages,
} from "../services/contacts";
import { exportContacts, MAX_CONTACT_EXPORT } from "../services/contacts-export";
import { isValidTimeZone } from "../services/schedule-time";
import { deleteContacts } from "../services/contact-deletion";
import { contactTimeline, TIMELINE_KINDS } from "../services/timeline";
import { suppressionReasons, SUPPRESSION_WORDS, type SuppressionReason } from "../services/suppressions";
import type { Db } from "../db/client";

const SUPPRESSION_REASONS = Object.keys(SUPPRESSION_WORDS) as [SuppressionReason, ...SuppressionReason[]];

/** One contact as the API shows it, with its address's suppression (one read). */
async function presentOne(d: Db, r: typeof contacts.$inferSelect) {
  const reasons = r.email ? await suppressionReasons(d, r.teamId, [r.email]) : new Map<string, SuppressionReason>();
  return presentContact(r, (r.email && reasons.get(r.email.trim().toLowerCase())) || null);
}

export const ContactSchema = z
  .object({
    id: z.string(),
    person_id: z.string().nullable(),
    owner_id: z.string().nullable(),
    stage_id: z.string().nullable(),
    first_name: z.string(),
    last_name: z.string(),
    title: z.string().nullable(),
    company: z.string().nullable(),
    email: z.string().nullable(),
    email_status: z.enum(["verified", "unverified", "guessed", "unavailable"]),
    phone: z.string().nullable(),
    linkedin_url: z.string().nullable(),
    city: z.string().nullable(),
    country: z.string().nullable(),
    time_zone: z.string().nullable(),
    score: z.number(),
    unsubscribed_at: z.number().nullable(),
    bounced_at: z.number().nullable(),
    suppressed: z
      .boolean()
      .openapi({ description: "The address is on the team's Do not email list: never emailed, skipped when added to a sequence" }),
    suppression_reason: z
      .enum(SUPPRESSION_REASONS)
      .nullable()
      .openapi({ description: "Why it is (unsubscribed, complaint, bounced, dnc, manual); null when not suppressed" }),
    job_changed_at: z.number().nullable(),
    custom_fields: z
      .record(z.string(), z.string())
      .openapi({ description: "Values kept from CSV columns, by key: {{custom.<key>}} in templates" }),
    created_at: z.number(),
  })
  .openapi("Contact");

export function presentContact(r: typeof contacts.$inferSelect, suppression: SuppressionReason | null) {
  return {
    id: r.id,
    person_id: r.personId,
    owner_id: r.ownerId,
    stage_id: r.stageId,
    first_name: r.firstName,
    last_name: r.lastName,
    title: r.title,
    company: r.company,
    email: r.email,
    email_status: r.emailStatus,
    phone: r.phone,
    linkedin_url: r.linkedinUrl,
    city: r.city,
    country: r.country,
    time_zone: r.timeZone,
    score: r.score,
    unsubscribed_at: r.unsubscribedAt,
    bounced_at: r.bouncedAt,
    suppressed: suppression !== null,
    suppression_reason: suppression,
    job_changed_at: r.jobChangedAt,
    custom_fields: r.customFields,
    created_at: r.createdAt,
  };
}

/** A contact's fields and their limits: the one definition, the Apollo facade's contact create and update check against it too. */
export const ContactInput = z
  .object({
    first_name: z.string().trim().max(100),
    last_name: z.string().trim().max(100),
    email: z.string().trim().email().max(254).nullable(),
    email_status: z.enum(["verified", "unverified", "guessed", "unavailable"]),
    title: z.string().max(200).nullable(),
    company: z.string().max(200).nullable(),
    domain: z.string().max(253).nullable(),
    phone: z.string().max(50).nullable(),
    linkedin_url: WebUrl.nullable(),
    city: z.string().max(100).nullable(),
    country: z.string().max(100).nullable(),
    time_zone: z.string().refine(isValidTimeZone, "Unknown IANA time zone").nullable(),
    owner_id: Id.nullable().openapi({ description: "The user who owns the contact (changing it: its owner or an admin)" }),
    stage_id: Id.nullable(),
    list_names: z
      .array(z.string().trim().min(1).max(120))
      .max(20)
      .openapi({ description: "Lists to add the contact to (created when missing)" }),
    custom_fields: z
      .record(
        z.string().regex(/^[a-z_][a-z0-9_]{0,59}$/, "A key is lower case letters, digits and _ (as {{custom.<key>}} in templates)"),
        z.string().max(1000).nullable(),
      )
      .refine((r) => Object.keys(r).length <= 50, "At most 50 custom fields at once")
      .openapi({
        description: `Custom fields to set (a value) or remove (null); the others stay. A contact keeps at most ${MAX_CUSTOM_FIELDS} (422 beyond)`,
      }),
  })
  .partial()
  .openapi("ContactInput");

const ContactQuery = Pagination.extend({
  q: z.string().trim().max(200).optional().openapi({ description: "Name, email or company contains" }),
  owner_id: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: "Only this user's contacts; `me` for the caller's own, `none` for the contacts nobody owns" }),
  list_id: z.string().max(64).optional().openapi({ description: "Only the members of this list" }),
  stage_id: z.string().max(64).optional(),
  sort: z.enum(["created_at", "name", "score"]).default("created_at"),
});

/** The filters with `owner_id=me` read as the caller (`none`, unowned, is read by contactConditions). */
const ownFilter = <Q extends { owner_id?: string }>(caller: { userId: string }, q: Q): Q =>
  q.owner_id === "me" ? { ...q, owner_id: caller.userId } : q;

export const contactRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/contacts/ids",
      tags: ["Contacts"],
      summary: `Ids of every contact matching the filters ("select all matching"), at most ${MAX_SELECTION.toLocaleString("en-US")}; too_many says when more match`,
      request: { query: ContactQuery.omit({ page: true, per_page: true, sort: true }) },
      responses: { 200: json(z.object({ ids: z.array(z.string()), total: z.number(), too_many: z.boolean() })), 422: errorResponses[422] },
    }),
    async (c) => c.json(await matchingContactIds(c.var.db, c.get("caller"), ownFilter(c.get("caller"), c.req.valid("query"))), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/contacts/export",
      tags: ["Contacts"],
      summary: `The contacts matching the list's filters as CSV (streamed, UTF-8 with BOM, spreadsheet-formula safe), at most ${MAX_CONTACT_EXPORT.toLocaleString("en-US")} rows (413 export_too_large beyond: narrow the filters)`,
      request: { query: ContactQuery.omit({ page: true, per_page: true, sort: true }) },
      responses: {
        200: csvFile(),
        404: errorResponses[404],
        413: { ...errorResponses[422], description: "export_too_large: more contacts match than one export takes" },
        422: errorResponses[422],
      },
    }),
    async (c) =>
      csvDownload("contacts.csv", await exportContacts(c.var.db, c.get("caller"), ownFilter(c.get("caller"), c.req.valid("query")))),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/contacts",
      tags: ["Contacts"],
      summary: "Create a contact (no credits: you supply the data). `dedupe` returns an existing contact with the same email.",
      request: { body: jsonBody(ContactInput.extend({ dedupe: z.boolean().default(false) })) },
      responses: {
        201: json(z.object({ contact: ContactSchema }), "Created"),
        200: json(z.object({ contact: ContactSchema }), "An existing contact (dedupe)"),
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { dedupe, ...input } = c.req.valid("json");
      const r = await createContact(c.var.db, caller, input, { dedupe });
      return c.json({ contact: await presentOne(c.var.db, await getContact(c.var.db, caller, r.id)) }, r.created ? 201 : 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/contacts/{id}",
      tags: ["Contacts"],
      summary: "Update a contact",
      request: { params: IdParam, body: jsonBody(ContactInput) },
      responses: {
        200: json(z.object({ contact: ContactSchema })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const id = c.req.valid("param").id;
      await updateContact(c.env, c.var.db, caller, id, c.req.valid("json"));
      return c.json({ contact: await presentOne(c.var.db, await getContact(c.var.db, caller, id)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/contacts/stage",
      tags: ["Contacts"],
      summary: "Move contacts to a stage (a Do Not Contact stage stops all emails to them)",
      request: { body: jsonBody(z.object({ contact_ids: idList(1000), stage_id: Id })) },
      responses: {
        200: json(
          z.object({
            updated: z.number(),
            not_found: z.array(z.string()).openapi({ description: "Ids that matched no contact of your team (nothing changed for them)" }),
            runs_ended: z.number().openapi({
              description:
                "Do Not Contact: contacts whose open sequence runs it ended (their address's other contacts too). Refused (403, nothing changed) when one is in a sequence you can't edit",
            }),
          }),
        ),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      return c.json(await updateStages(c.env, c.var.db, c.get("caller"), body.contact_ids, body.stage_id), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/contacts/stage/preview",
      tags: ["Contacts"],
      summary:
        "What moving contacts to a stage would do, before doing it (nothing is written): how many contacts, and for Do Not Contact how many open sequence runs end",
      request: {
        body: jsonBody(z.object({ contact_ids: idList(MAX_SELECTION), stage_id: Id }).openapi("ContactsStagePreview")),
      },
      responses: {
        200: json(
          z.object({
            contacts: z.number().openapi({ description: "Contacts of your team among the ids: those the move would change" }),
            not_found: z.array(z.string()).openapi({ description: "Ids that matched no contact of your team" }),
            runs_ending: z.number().openapi({ description: "Do Not Contact: open sequence runs it would end (0 for another stage)" }),
            contacts_with_runs: z.number().openapi({ description: "Do Not Contact: contacts whose runs those are" }),
            other_contacts: z.number().openapi({
              description:
                "Of contacts_with_runs, other contacts with the same address as one chosen (Do Not Contact holds for the address)",
            }),
          }),
        ),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      return c.json(await previewStages(c.var.db, c.get("caller"), body.contact_ids, body.stage_id), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/contacts/bulk",
      tags: ["Contacts"],
      summary:
        "One action over many contacts: change owner (checked contact by contact; refused ones are reported and left unchanged), change stage, add to a list, delete",
      request: {
        body: jsonBody(
          z
            .discriminatedUnion("action", [
              z.object({ action: z.literal("change_owner"), contact_ids: idList(MAX_SELECTION), owner_id: Id.nullable() }),
              z.object({ action: z.literal("change_stage"), contact_ids: idList(MAX_SELECTION), stage_id: Id }),
              z.object({ action: z.literal("add_to_list"), contact_ids: idList(MAX_SELECTION), list_id: Id }),
              z.object({ action: z.literal("delete"), contact_ids: idList(MAX_SELECTION) }),
            ])
            .openapi("ContactsBulk"),
        ),
      },
      responses: {
        200: json(
          z.object({
            updated: z.number(),
            refused: z.array(z.object({ contact_id: z.string(), message: z.string() })),
            not_found: z.array(z.string()),
            already_in_list: z
              .number()
              .optional()
              .openapi({ description: "add_to_list: contacts that were in the list already (not counted in updated)" }),
            runs_ended: z.number().optional().openapi({
              description:
                "change_stage to Do Not Contact: contacts whose open sequence runs it ended (their address's other contacts too). Refused (403, nothing changed) when one is in a sequence you can't edit",
            }),
            removed_from_sequences: z
              .number()
              .optional()
              .openapi({ description: "delete: open enrollments removed (nothing more is sent to them)" }),
            suppressed: z
              .number()
              .optional()
              .openapi({ description: "delete: addresses added to the suppression list (unsubscribed, bounced, Do Not Contact)" }),
          }),
        ),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const { contact_ids, ...action } = c.req.valid("json");
      // Deleting also takes the contacts out of their sequences and keeps their suppressions.
      if (action.action === "delete") return c.json(await deleteContacts(c.env, c.var.db, c.get("caller"), contact_ids), 200);
      return c.json(await bulkContacts(c.env, c.var.db, c.get("caller"), contact_ids, action), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/contacts/{id}",
      tags: ["Contacts"],
      summary:
        "Delete a contact: it leaves its lists and its sequences (nothing more is sent); its suppressions (unsubscribed, bounced, Do Not Contact) stay, so the address is not saved again",
      request: { params: IdParam },
      responses: {
        200: json(z.object({ deleted: z.literal(true), removed_from_sequences: z.number(), suppressed: z.number() })),
        403: errorResponses[403],
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const id = c.req.valid("param").id;
      await getContact(c.var.db, c.get("caller"), id);
      const r = await deleteContacts(c.env, c.var.db, c.get("caller"), [id]);
      return c.json({ deleted: true as const, removed_from_sequences: r.removed_from_sequences, suppressed: r.suppressed }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/contacts/{id}/timeline",
      tags: ["Contacts"],
      summary:
        "A contact's timeline, newest first: emails (step, mailbox), tasks, calls (outcome, notes), replies and bounces, status changes and who made them",
      request: {
        params: IdParam,
        query: Pagination.extend({
          per_page: z.coerce.number().int().min(1).max(100).default(50),
          page: z.coerce.number().int().min(1).max(50).default(1),
        }),
      },
      responses: {
        200: json(
          z.object({
            events: z.array(
              z
                .object({
                  id: z.string(),
                  kind: z.enum(TIMELINE_KINDS),
                  at: z.number(),
                  title: z.string(),
                  detail: z.string().nullable(),
                  status: z.string().nullable(),
                  sequence: z.object({ id: z.string(), name: z.string() }).nullable(),
                  step: z.number().nullable(),
                  mailbox: z.string().nullable().openapi({ description: "The sending mailbox's address" }),
                  by: z
                    .object({ id: z.string(), name: z.string() })
                    .nullable()
                    .openapi({ description: "Who did it; null when the engine did (a send, a reply finishing it)" }),
                  data: z.record(z.string(), z.unknown()),
                })
                .openapi("TimelineEvent"),
            ),
            has_more: z.boolean(),
          }),
        ),
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      return c.json(await contactTimeline(c.var.db, c.get("caller"), c.req.valid("param").id, q.page, q.per_page), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/contacts/{id}/sequences",
      tags: ["Contacts"],
      summary: "The sequences a contact is in (those you may see), with their status in each",
      request: { params: IdParam },
      responses: {
        200: json(
          z.object({
            sequences: z.array(
              z.object({
                id: z.string().openapi({ description: "The contact's run in the sequence (the enrollment actions' `enrollment_ids`)" }),
                sequence_id: z.string(),
                name: z.string(),
                active: z.boolean(),
                status: z.string(),
                reason: z.string().nullable(),
                reason_text: z.string().nullable().openapi({ description: "The reason in words, as the sequence's contacts tab says it" }),
                current_step: z.number(),
                next_due_at: z.number().nullable(),
                added_at: z.number(),
                can_edit: z.boolean().openapi({
                  description: "Whether you may pause, resume, finish or remove this run (edit access to the sequence)",
                }),
              }),
            ),
          }),
        ),
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => c.json({ sequences: await contactSequences(c.var.db, c.get("caller"), c.req.valid("param").id) }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/contacts",
      tags: ["Contacts"],
      summary: "The team's saved contacts",
      request: { query: ContactQuery },
      responses: { 200: json(z.object({ contacts: z.array(ContactSchema), pagination: PaginationMeta })), 422: errorResponses[422] },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const r = await searchContacts(c.var.db, c.get("caller"), ownFilter(c.get("caller"), q));
      return c.json(
        { contacts: r.contacts.map((x) => presentContact(x, x.suppression)), pagination: paginationMeta(q.page, q.per_page, r.total) },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/contacts/{id}",
      tags: ["Contacts"],
      summary: "One contact",
      request: { params: IdParam },
      responses: { 200: json(z.object({ contact: ContactSchema })), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => c.json({ contact: await presentOne(c.var.db, await getContact(c.var.db, c.get("caller"), c.req.valid("param").id)) }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/contact-stages",
      tags: ["Contacts"],
      summary: "The team's contact stages",
      responses: {
        200: json(
          z.object({ contact_stages: z.array(z.object({ id: z.string(), name: z.string(), category: z.string(), position: z.number() })) }),
        ),
      },
    }),
    async (c) => c.json({ contact_stages: await contactStagesOf(c.var.db, c.get("caller").teamId) }, 200),
  );
