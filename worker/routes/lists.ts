import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, sql } from "drizzle-orm";
import { db } from "../db/client";
import { contains } from "../db/contains";
import { IN_LIST, inChunks, listParam } from "../db/in-list";
import { listMembers, lists } from "../db/schema";
import { ApiError, notFound } from "../lib/errors";
import { listFor } from "../services/access";
import { addToLists, ensureLists } from "../services/contacts";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";

const ListSchema = z
  .object({ id: z.string(), name: z.string(), owner_id: z.string(), contact_count: z.number(), created_at: z.number() })
  .openapi("List");

export const listRoutes = router()
  .openapi(
    createRoute({
      method: "patch",
      path: "/lists/{id}",
      tags: ["Lists"],
      summary: "Rename a list (its creator or an admin)",
      request: { params: IdParam, body: jsonBody(z.object({ name: z.string().trim().min(1).max(120) })) },
      responses: { 200: json(z.object({ list: ListSchema })), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const list = await listFor(c.env.DB, caller, c.req.valid("param").id);
      const { name } = c.req.valid("json");
      const d = db(c.env.DB);
      const clash = await d.query.lists.findFirst({ where: and(eq(lists.teamId, caller.teamId), eq(lists.name, name)) });
      if (clash && clash.id !== list.id) throw new ApiError("validation_failed", "A list with this name exists", { fields: [{ field: "name", message: "Pick another name" }] });
      await d.update(lists).set({ name }).where(eq(lists.id, list.id));
      const row = (await d.query.lists.findFirst({ where: eq(lists.id, list.id) }))!;
      const n = (await c.env.DB.prepare("SELECT count(*) AS n FROM list_members WHERE list_id = ?").bind(list.id).first<{ n: number }>())!.n;
      return c.json({ list: { id: row.id, name: row.name, owner_id: row.ownerId, created_at: row.createdAt, contact_count: n } }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/lists/{id}",
      tags: ["Lists"],
      summary: "Delete a list (its creator or an admin); its contacts stay",
      request: { params: IdParam },
      responses: { 200: json(z.object({ deleted: z.boolean() })), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      const list = await listFor(c.env.DB, c.get("caller"), c.req.valid("param").id);
      await c.env.DB.batch([c.env.DB.prepare("DELETE FROM list_members WHERE list_id = ?").bind(list.id), c.env.DB.prepare("DELETE FROM lists WHERE id = ?").bind(list.id)]);
      return c.json({ deleted: true }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/lists/{id}/members/remove",
      tags: ["Lists"],
      summary: "Take contacts out of a list (the contacts stay)",
      request: { params: IdParam, body: jsonBody(z.object({ contact_ids: z.array(z.string().min(1).max(64)).min(1).max(10_000) })) },
      responses: { 200: json(z.object({ removed: z.number() })), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const list = await listFor(c.env.DB, caller, c.req.valid("param").id, "contact.edit");
      const r = await c.env.DB.prepare(`DELETE FROM list_members WHERE list_id = ? AND contact_id IN ${IN_LIST}`).bind(list.id, listParam([...new Set(c.req.valid("json").contact_ids)])).run();
      return c.json({ removed: r.meta.changes ?? 0 }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/lists",
      tags: ["Lists"],
      summary: "Create a list",
      request: { body: jsonBody(z.object({ name: z.string().trim().min(1).max(120) })) },
      responses: { 201: json(z.object({ list: ListSchema }), "Created"), 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { name } = c.req.valid("json");
      const d = db(c.env.DB);
      if (await d.query.lists.findFirst({ where: and(eq(lists.teamId, caller.teamId), eq(lists.name, name)) })) {
        throw new ApiError("validation_failed", "A list with this name exists", { fields: [{ field: "name", message: "Pick another name" }] });
      }
      const ids = await ensureLists(c.env.DB, caller, [name]);
      const row = (await d.query.lists.findFirst({ where: eq(lists.id, ids[0]!) }))!;
      return c.json({ list: { id: row.id, name: row.name, owner_id: row.ownerId, created_at: row.createdAt, contact_count: 0 } }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/lists/{id}/members",
      tags: ["Lists"],
      summary: "Add contacts to a list (already there: no change)",
      request: { params: IdParam, body: jsonBody(z.object({ contact_ids: z.array(z.string()).min(1).max(10_000) })) },
      responses: { 200: json(z.object({ added: z.number(), not_found: z.array(z.string()) })), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const list = await d.query.lists.findFirst({ where: and(eq(lists.id, c.req.valid("param").id), eq(lists.teamId, caller.teamId)) });
      if (!list) throw notFound("List");
      const ids = [...new Set(c.req.valid("json").contact_ids)];
      const rows = await inChunks(ids, async (chunk) =>
        (await c.env.DB.prepare(`SELECT id FROM contacts WHERE team_id = ? AND deleted_at IS NULL AND id IN ${IN_LIST}`).bind(caller.teamId, listParam(chunk)).all<{ id: string }>()).results,
      );
      const found = new Set(rows.map((r) => r.id));
      const before = (await c.env.DB.prepare("SELECT count(*) AS n FROM list_members WHERE list_id = ?").bind(list.id).first<{ n: number }>())!.n;
      await addToLists(c.env.DB, caller.teamId, [list.id], [...found]);
      const after = (await c.env.DB.prepare("SELECT count(*) AS n FROM list_members WHERE list_id = ?").bind(list.id).first<{ n: number }>())!.n;
      return c.json({ added: after - before, not_found: ids.filter((i) => !found.has(i)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/lists",
      tags: ["Lists"],
      summary: "The team's saved lists with their sizes, by name, a page at a time",
      request: { query: Pagination.extend({ q: z.string().trim().max(120).optional().openapi({ description: "Only lists whose name contains this" }) }) },
      responses: { 200: json(z.object({ lists: z.array(ListSchema), pagination: PaginationMeta })), 422: errorResponses[422] },
    }),
    async (c) => {
      const teamId = c.get("caller").teamId;
      const q = c.req.valid("query");
      const where = and(eq(lists.teamId, teamId), q.q ? contains(lists.name, q.q) : undefined);
      const d = db(c.env.DB);
      const [rows, total] = await Promise.all([
        d
          .select({
            id: lists.id,
            name: lists.name,
            owner_id: lists.ownerId,
            created_at: lists.createdAt,
            contact_count: sql<number>`(select count(*) from ${listMembers} where ${listMembers.listId} = ${lists.id})`,
          })
          .from(lists)
          .where(where)
          .orderBy(asc(lists.name), asc(lists.id))
          .limit(q.per_page)
          .offset((q.page - 1) * q.per_page),
        d.select({ n: sql<number>`count(*)` }).from(lists).where(where),
      ]);
      return c.json({ lists: rows, pagination: paginationMeta(q.page, q.per_page, total[0]?.n ?? 0) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/lists/{id}",
      tags: ["Lists"],
      summary: "One list",
      request: { params: IdParam },
      responses: { 200: json(z.object({ list: ListSchema })), 404: errorResponses[404] },
    }),
    async (c) => {
      const d = db(c.env.DB);
      const row = await d.query.lists.findFirst({ where: and(eq(lists.id, c.req.valid("param").id), eq(lists.teamId, c.get("caller").teamId)) });
      if (!row) throw notFound("List");
      const [n] = await d.select({ n: sql<number>`count(*)` }).from(listMembers).where(eq(listMembers.listId, row.id));
      return c.json({ list: { id: row.id, name: row.name, owner_id: row.ownerId, created_at: row.createdAt, contact_count: n?.n ?? 0 } }, 200);
    },
  );
