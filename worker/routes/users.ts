import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq, isNull, and } from "drizzle-orm";
import { db } from "../db/client";
import { users } from "../db/schema";
import { router } from "../lib/openapi";
import { errorResponses, json, UserSchema } from "../lib/schemas";
import { requireMasterKey, requirePermission } from "../middleware/auth";

export const userRoutes = router().openapi(
  createRoute({
    method: "get",
    path: "/users",
    tags: ["Users"],
    summary: "The team's users (master key, as Apollo's users/search)",
    middleware: [requireMasterKey, requirePermission("users.view")],
    responses: { 200: json(z.object({ users: z.array(UserSchema) })), 403: errorResponses[403] },
  }),
  async (c) => {
    const rows = await db(c.env.DB)
      .select({ id: users.id, email: users.email, name: users.name, role: users.role })
      .from(users)
      .where(and(eq(users.teamId, c.get("caller").teamId), isNull(users.disabledAt)))
      .orderBy(asc(users.name));
    return c.json({ users: rows }, 200);
  },
);
