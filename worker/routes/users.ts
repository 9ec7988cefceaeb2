import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, json, UserSchema } from "../lib/schemas";
import { requireMasterKey, requirePermission } from "../middleware/auth";
import { listTeamUsers } from "../services/users";

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
    const rows = await listTeamUsers(c.var.db, c.get("caller").teamId);
    return c.json({ users: rows.map((u) => ({ id: u.id, email: u.email, name: u.name, role: u.role })) }, 200);
  },
);
