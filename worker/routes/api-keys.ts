import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, isNull } from "drizzle-orm";
import { db } from "../db/client";
import { apiKeys, auditLog } from "../db/schema";
import { now } from "../lib/clock";
import { sha256Hex } from "../lib/crypto";
import { notFound } from "../lib/errors";
import { newId, randomToken } from "../lib/ids";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody } from "../lib/schemas";
import { requirePermission, requireSession } from "../middleware/auth";
import { SECRET_ANSWER } from "../middleware/idempotency";
import { audit, auditEntry } from "../services/audit";

const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(["master", "standard"]),
    prefix: z.string().openapi({ description: "First characters of the key, to recognise it" }),
    created_at: z.number(),
    last_used_at: z.number().nullable(),
    revoked_at: z.number().nullable(),
  })
  .openapi("ApiKey");

const CreateApiKey = z
  .object({
    name: z.string().trim().min(1).max(80),
    kind: z.enum(["master", "standard"]).openapi({ description: "master keys reach every endpoint; standard keys not those Apollo reserves for master keys" }),
  })
  .openapi("CreateApiKey");

const guard = [requireSession, requirePermission("api_keys.manage", "Only team admins can manage API keys")];

function present(k: typeof apiKeys.$inferSelect) {
  return { id: k.id, name: k.name, kind: k.kind, prefix: k.prefix, created_at: k.createdAt, last_used_at: k.lastUsedAt, revoked_at: k.revokedAt };
}

export const apiKeyRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/api-keys",
      tags: ["API keys"],
      summary: "List the team's API keys (admins)",
      middleware: guard,
      responses: { 200: json(z.object({ api_keys: z.array(ApiKeySchema) })), 403: errorResponses[403] },
    }),
    async (c) => {
      const rows = await db(c.env.DB).select().from(apiKeys)
        .where(eq(apiKeys.teamId, c.get("caller").teamId)).orderBy(desc(apiKeys.createdAt));
      return c.json({ api_keys: rows.map(present) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/api-keys",
      tags: ["API keys"],
      summary: "Create an API key; the key is in this answer only",
      middleware: guard,
      request: { body: jsonBody(CreateApiKey) },
      responses: { 201: json(z.object({ api_key: ApiKeySchema, key: z.string() }), "Created"), 403: errorResponses[403], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const body = c.req.valid("json");
      const key = `sf_${body.kind === "master" ? "m" : "s"}_${randomToken(24)}`;
      const row = {
        id: newId(),
        teamId: caller.teamId,
        createdBy: caller.userId,
        name: body.name,
        kind: body.kind,
        keyHash: await sha256Hex(key),
        prefix: key.slice(0, 9),
        createdAt: now(),
        lastUsedAt: null,
        revokedAt: null,
      };
      const d = db(c.env.DB);
      await d.batch([d.insert(apiKeys).values(row), d.insert(auditLog).values(auditEntry(caller, "api_key.create", "api_key", row.id, { kind: body.kind }))]);
      // The key is shown in this answer only: never stored for an idempotent replay.
      return c.json({ api_key: present(row), key }, 201, { [SECRET_ANSWER]: "1" });
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/api-keys/{id}",
      tags: ["API keys"],
      summary: "Revoke an API key",
      middleware: guard,
      request: { params: IdParam },
      responses: { 200: json(z.object({ api_key: ApiKeySchema })), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const [row] = await d.update(apiKeys).set({ revokedAt: now() })
        .where(and(eq(apiKeys.id, c.req.valid("param").id), eq(apiKeys.teamId, caller.teamId), isNull(apiKeys.revokedAt)))
        .returning();
      if (!row) throw notFound("API key");
      await audit(d, caller, "api_key.revoke", "api_key", row.id);
      return c.json({ api_key: present(row) }, 200);
    },
  );
