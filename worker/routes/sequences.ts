import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { loadSequenceDetail, SequenceDetailSchema, SequenceSummarySchema } from "../services/sequence-views";
import {
  archiveSequence,
  cloneSequence,
  createSequence,
  deleteSequence,
  listSequences,
  replaceShares,
  unarchiveSequence,
  updateSequence,
} from "../services/sequences";
import { templateVariables } from "../services/template-variables";

// No .default() here: zod fills a default in for an absent optional key, so a PATCH sending one setting
// would reset the others. A new sequence gets SEQUENCE_DEFAULTS (services/sequences.ts); an update
// changes only the keys it sends.
const SequenceSettings = z
  .object({
    finish_on_reply: z.boolean().openapi({ description: "A reply finishes the contact (default true)" }),
    /** Whether contacts owned by other users may be added (Apollo's ownership permission). */
    allow_other_owners: z.boolean().openapi({ description: "Contacts owned by other users may be added (default true)" }),
    /** A reply from someone at the same company (email domain) as others in this sequence: what happens to those others. */
    colleague_reply: z
      .enum(["nothing", "pause", "finish"])
      .openapi({ description: 'A colleague\'s reply (same email domain): what happens to the others (default "nothing")' }),
  })
  .partial()
  .openapi("SequenceSettings");

const CreateSequence = z
  .object({ name: z.string().trim().min(1).max(120), schedule_id: Id.nullable().optional(), settings: SequenceSettings.optional() })
  .openapi("CreateSequence");

const UpdateSequence = z
  .object({
    name: z.string().trim().min(1).max(120),
    schedule_id: Id.nullable(),
    settings: SequenceSettings,
    active: z.boolean(),
    owner_id: Id.openapi({ description: "Give the sequence to another user of the team (its owner or an admin only)" }),
  })
  .partial()
  .openapi("UpdateSequence");

const Shares = z
  .object({ shares: z.array(z.object({ user_id: z.string(), access: z.enum(["view", "edit"]) })).max(200) })
  .openapi("SequenceShares");

const ListQuery = Pagination.extend({
  q: z.string().trim().max(120).optional(),
  status: z.enum(["active", "inactive", "archived", "all"]).default("all"),
});

const one = z.object({ sequence: SequenceDetailSchema });

export const sequenceRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/template-variables",
      tags: ["Sequences"],
      summary: "The variables email templates may use ({{name}} or {{name|fallback}}), the team's custom fields ({{custom.<key>}}) last",
      responses: { 200: json(z.object({ variables: z.array(z.object({ name: z.string(), description: z.string() })) })) },
    }),
    async (c) => c.json({ variables: await templateVariables(c.var.db, c.get("caller")) }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences",
      tags: ["Sequences"],
      summary: "Sequences you can see, with status and enrollment counts",
      request: { query: ListQuery },
      responses: { 200: json(z.object({ sequences: z.array(SequenceSummarySchema), pagination: PaginationMeta })) },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const { rows, total } = await listSequences(c.var.db, c.get("caller"), { q: q.q, status: q.status }, q.page, q.per_page);
      return c.json({ sequences: rows.map(({ schedule_id: _, ...r }) => r), pagination: paginationMeta(q.page, q.per_page, total) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences",
      tags: ["Sequences"],
      summary: "Create a sequence (inactive until you turn it on)",
      request: { body: jsonBody(CreateSequence) },
      responses: { 201: json(one, "Created"), 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const id = await createSequence(c.var.db, caller, c.req.valid("json"));
      return c.json({ sequence: await loadSequenceDetail(c.var.db, caller, id) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}",
      tags: ["Sequences"],
      summary: "A sequence with its steps, variants, schedule and sharing",
      request: { params: IdParam },
      responses: { 200: json(one), 404: errorResponses[404] },
    }),
    async (c) => c.json({ sequence: await loadSequenceDetail(c.var.db, c.get("caller"), c.req.valid("param").id) }, 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/sequences/{id}",
      tags: ["Sequences"],
      summary: "Rename, change schedule or settings, turn on/off, change owner",
      description:
        "Turning a sequence on needs a step that is on (422 on active) and the sequence not archived (409), checked again in the write itself, so an edit landing meanwhile is refused, never half-applied. An archived sequence's name, schedule and settings (and its steps and variants) are refused with 409 until it is unarchived.",
      request: { params: IdParam, body: jsonBody(UpdateSequence) },
      responses: {
        200: json(one),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id } = c.req.valid("param");
      await updateSequence(c.env, c.var.db, caller, id, c.req.valid("json"));
      return c.json({ sequence: await loadSequenceDetail(c.var.db, caller, id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/clone",
      tags: ["Sequences"],
      summary: "Copy a sequence with its steps and variants (the copy starts inactive, owned by you)",
      request: {
        params: IdParam,
        body: { content: { "application/json": { schema: z.object({ name: z.string().trim().min(1).max(120).optional() }) } } },
      },
      responses: { 201: json(one, "Created"), 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const id = await cloneSequence(c.var.db, caller, c.req.valid("param").id, c.req.valid("json")?.name);
      return c.json({ sequence: await loadSequenceDetail(c.var.db, caller, id) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/archive",
      tags: ["Sequences"],
      summary: "Archive a sequence: it turns off and its active contacts finish",
      request: { params: IdParam },
      responses: { 200: json(one), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id } = c.req.valid("param");
      await archiveSequence(c.env, c.var.db, caller, id);
      return c.json({ sequence: await loadSequenceDetail(c.var.db, caller, id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/sequences/{id}",
      tags: ["Sequences"],
      summary: "Delete a sequence nobody was ever added to, with its steps, variants and sharing (its owner or an admin)",
      description:
        "Only for a sequence, archived or not, that never had a contact added (no run, no add-contacts job, no email, no task): one with history answers 409 `sequence_has_history`, its message and details.in_use (the sequence's in_use) saying which: contacts (details.people: how many were added), add_pending (an add is scheduled or under way, nobody in it yet) or add_history (an add finished or was cancelled with nobody in it; its record stays with the sequence); archive it instead, its reports and replies stay. One a workflow adds to answers 409 `sequence_in_workflow` (details.workflows names them). Checked again in the delete itself: an add that commits meanwhile makes it a 409, and an add that reads the sequence before the delete and commits after is refused with 404.",
      request: { params: IdParam },
      responses: {
        200: json(z.object({ deleted: z.boolean() })),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
      },
    }),
    async (c) => {
      await deleteSequence(c.env, c.var.db, c.get("caller"), c.req.valid("param").id);
      return c.json({ deleted: true }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/unarchive",
      tags: ["Sequences"],
      summary: "Bring an archived sequence back (inactive)",
      request: { params: IdParam },
      responses: { 200: json(one), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id } = c.req.valid("param");
      await unarchiveSequence(c.var.db, caller, id);
      return c.json({ sequence: await loadSequenceDetail(c.var.db, caller, id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/sequences/{id}/shares",
      tags: ["Sequences"],
      summary: "Replace who the sequence is shared with (view or edit)",
      request: { params: IdParam, body: jsonBody(Shares) },
      responses: { 200: json(one), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id } = c.req.valid("param");
      await replaceShares(c.var.db, caller, id, c.req.valid("json").shares);
      return c.json({ sequence: await loadSequenceDetail(c.var.db, caller, id) }, 200);
    },
  );
