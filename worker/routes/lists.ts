import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, sql } from "drizzle-orm";
import { db } from "../db/client";
import { listMembers, lists } from "../db/schema";
import { notFound } from "../lib/errors";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json } from "../lib/schemas";

const ListSchema = z
  .object({ id: z.string(), name: z.string(), owner_id: z.string(), contact_count: z.number(), created_at: z.number() })
  .openapi("List");

export const listRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/lists",
      tags: ["Lists"],
      summary: "The team's saved lists, with their sizes",
      responses: { 200: json(z.object({ lists: z.array(ListSchema) })) },
    }),
    async (c) => {
      const teamId = c.get("caller").teamId;
      const rows = await db(c.env.DB)
        .select({
          id: lists.id,
          name: lists.name,
          owner_id: lists.ownerId,
          created_at: lists.createdAt,
          contact_count: sql<number>`(select count(*) from ${listMembers} where ${listMembers.listId} = ${lists.id})`,
        })
        .from(lists)
        .where(eq(lists.teamId, teamId))
        .orderBy(asc(lists.name));
      return c.json({ lists: rows }, 200);
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
