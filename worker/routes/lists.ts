import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, idList, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import {
  addMembers,
  contactLists,
  createList,
  deleteList,
  getList,
  LIST_NAME_MAX,
  removeMembers,
  renameList,
  searchLists,
} from "../services/lists";

const ListSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner_id: z.string(),
    contact_count: z.number(),
    created_at: z.number(),
    can_manage: z.boolean().openapi({ description: "Whether the caller may rename or delete it (its creator or an admin)" }),
  })
  .openapi("List");

const ListName = z.object({ name: z.string().trim().min(1).max(LIST_NAME_MAX) });
const ContactIds = z.object({
  contact_ids: idList(10_000).openapi({ description: "The contacts (at most 10,000 different ones; an id repeated counts once)" }),
});

export const listRoutes = router()
  .openapi(
    createRoute({
      method: "patch",
      path: "/lists/{id}",
      tags: ["Lists"],
      summary: "Rename a list (its creator or an admin)",
      request: { params: IdParam, body: jsonBody(ListName) },
      responses: {
        200: json(z.object({ list: ListSchema })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => c.json({ list: await renameList(c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json").name) }, 200),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/lists/{id}",
      tags: ["Lists"],
      summary: "Delete a list (its creator or an admin); its contacts stay",
      description: "Refused (409, naming them) while a workflow's trigger filters on the list.",
      request: { params: IdParam },
      responses: {
        200: json(z.object({ deleted: z.boolean() })),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      await deleteList(c.var.db, c.get("caller"), c.req.valid("param").id);
      return c.json({ deleted: true }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/lists/{id}/members/remove",
      tags: ["Lists"],
      summary: "Take contacts out of a list (the contacts stay)",
      request: { params: IdParam, body: jsonBody(ContactIds) },
      responses: { 200: json(z.object({ removed: z.number() })), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => c.json(await removeMembers(c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json").contact_ids), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/lists",
      tags: ["Lists"],
      summary: "Create a list",
      request: { body: jsonBody(ListName) },
      responses: { 201: json(z.object({ list: ListSchema }), "Created"), 422: errorResponses[422] },
    }),
    async (c) => c.json({ list: await createList(c.var.db, c.get("caller"), c.req.valid("json").name) }, 201),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/lists/{id}/members",
      tags: ["Lists"],
      summary: "Add contacts to a list (already there: no change)",
      request: { params: IdParam, body: jsonBody(ContactIds) },
      responses: {
        200: json(z.object({ added: z.number(), not_found: z.array(z.string()) })),
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => c.json(await addMembers(c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json").contact_ids), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/lists",
      tags: ["Lists"],
      summary: "The team's saved lists with their sizes, by name, a page at a time",
      request: {
        query: Pagination.extend({
          q: z.string().trim().max(120).optional().openapi({ description: "Only lists whose name contains this" }),
        }),
      },
      responses: { 200: json(z.object({ lists: z.array(ListSchema), pagination: PaginationMeta })), 422: errorResponses[422] },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const r = await searchLists(c.var.db, c.get("caller"), q);
      return c.json({ lists: r.lists, pagination: paginationMeta(q.page, q.per_page, r.total) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/lists/{id}",
      tags: ["Lists"],
      summary: "One list",
      request: { params: IdParam },
      responses: { 200: json(z.object({ list: ListSchema })), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => c.json({ list: await getList(c.var.db, c.get("caller"), c.req.valid("param").id) }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/contacts/{id}/lists",
      tags: ["Lists"],
      summary: "The lists a contact is on, by name (add with POST /lists/{id}/members, take off with POST /lists/{id}/members/remove)",
      request: { params: IdParam },
      responses: { 200: json(z.object({ lists: z.array(ListSchema) })), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => c.json({ lists: await contactLists(c.var.db, c.get("caller"), c.req.valid("param").id) }, 200),
  );
