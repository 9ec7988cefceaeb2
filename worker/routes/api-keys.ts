import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody } from "../lib/schemas";
import { requirePermission, requireSession } from "../middleware/auth";
import { SECRET_ANSWER } from "../middleware/idempotency";
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyView } from "../services/api-keys";

const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(["master", "standard"]),
    prefix: z.string().openapi({ description: "First characters of the key, to recognise it" }),
    created_at: z.number(),
    last_used_at: z.number().nullable(),
    revoked_at: z.number().nullable(),
    stopped: z.string().nullable().openapi({
      description:
        "Why a key that is not revoked is refused anyway (its creator was disabled, or a master key's creator is no longer an admin)",
    }),
    open_jobs: z.number().int().openapi({
      description:
        "Work this key started that is still to run (adds scheduled, queued or running; bulk actions running). Revoking the key fails the scheduled adds and skips the rest of the running work (an add's contacts as api_key_revoked)",
    }),
    created_by: z.object({ id: z.string(), name: z.string().nullable() }).openapi({
      description: "The user the key acts as. A standard key has their rights without an admin's; a master key acts as a team admin",
    }),
  })
  .openapi("ApiKey");

const CreateApiKey = z
  .object({
    name: z.string().trim().min(1).max(80),
    kind: z.enum(["master", "standard"]).openapi({
      description:
        "master: acts as a team admin (every endpoint, every user's sequences and mailboxes); standard: acts as its creator without admin rights, never does administration, and not the endpoints Apollo reserves for master keys",
    }),
  })
  .openapi("CreateApiKey");

const guard = [requireSession, requirePermission("api_keys.manage", "Only team admins can manage API keys")];

function present(k: ApiKeyView) {
  return {
    id: k.id,
    name: k.name,
    kind: k.kind,
    prefix: k.prefix,
    created_at: k.createdAt,
    last_used_at: k.lastUsedAt,
    revoked_at: k.revokedAt,
    stopped: k.stopped,
    open_jobs: k.openJobs,
    created_by: { id: k.createdBy, name: k.creatorName },
  };
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
    async (c) => c.json({ api_keys: (await listApiKeys(c.var.db, c.get("caller").teamId)).map(present) }, 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/api-keys",
      tags: ["API keys"],
      summary: "Create an API key; the key is in this answer only",
      middleware: guard,
      request: { body: jsonBody(CreateApiKey) },
      responses: {
        201: json(z.object({ api_key: ApiKeySchema, key: z.string() }), "Created"),
        403: errorResponses[403],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const { row, key } = await createApiKey(c.var.db, c.get("caller"), c.req.valid("json"));
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
    async (c) => c.json({ api_key: present(await revokeApiKey(c.var.db, c.get("caller"), c.req.valid("param").id)) }, 200),
  );
