import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody, UserSchema } from "../lib/schemas";
import { requireMasterKey, requirePermission, requireSession } from "../middleware/auth";
import { changePassword, listAllTeamUsers, listTeamUsers, updateUser } from "../services/users";
import { clientIp, MeSchema, signedIn } from "./auth";

/** A password a user sets (accepting an invite, changing their own): the one rule for them. */
export const NewPassword = z
  .string()
  .min(8, "Use at least 8 characters")
  .max(200, "Use at most 200 characters")
  .refine((v) => v.trim().length > 0, "A password can't be only spaces");

/** A team user with what Settings → Team shows (the Apollo-style fields first). */
const TeamUserSchema = UserSchema.extend({
  status: z.enum(["active", "disabled"]),
  created_at: z.number(),
}).openapi("TeamUser");

const UsersQuery = z.object({
  include_disabled: z.enum(["true", "false"]).optional().openapi({
    description: "true: disabled users too (Settings → Team); by default only active users, who can own and be assigned things",
  }),
});

const UpdateUser = z
  .object({
    role: z.enum(["admin", "member"]).optional(),
    disabled: z.boolean().optional().openapi({ description: "true disables the user (their sessions end now); false enables them again" }),
  })
  .strict()
  .refine((b) => b.role !== undefined || b.disabled !== undefined, { message: "Send role or disabled", path: ["role"] })
  .openapi("UpdateUser");

const ChangePassword = z
  .object({ current_password: z.string().min(1).max(200), new_password: NewPassword })
  .strict()
  .openapi("ChangePassword");

const present = (u: {
  id: string;
  email: string;
  name: string;
  role: "admin" | "member";
  createdAt: number;
  disabledAt?: number | null;
}) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  status: u.disabledAt ? ("disabled" as const) : ("active" as const),
  created_at: u.createdAt,
});

export const userRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/users",
      tags: ["Users"],
      summary: "The team's users (signed in, or a master key as Apollo's users/search); include_disabled=true adds disabled ones",
      middleware: [requireMasterKey, requirePermission("users.view")],
      request: { query: UsersQuery },
      responses: { 200: json(z.object({ users: z.array(TeamUserSchema) })), 403: errorResponses[403], 422: errorResponses[422] },
    }),
    async (c) => {
      const teamId = c.get("caller").teamId;
      const rows =
        c.req.valid("query").include_disabled === "true" ? await listAllTeamUsers(c.var.db, teamId) : await listTeamUsers(c.var.db, teamId);
      return c.json({ users: rows.map(present) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/users/{id}",
      tags: ["Users"],
      summary: "Change a user's role, or disable or enable them (admins, signed in); the team always keeps an active admin",
      middleware: [requireSession, requirePermission("users.manage", "Only team admins can change users")],
      request: { params: IdParam, body: jsonBody(UpdateUser) },
      responses: {
        200: json(z.object({ user: TeamUserSchema })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const user = await updateUser(c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json"));
      return c.json({ user: present(user) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/me/password",
      tags: ["Auth"],
      summary:
        "Change your own password (signed in). Every session of yours ends, this one too: the answer signs you in again (a new session cookie and CSRF token)",
      middleware: [requireSession],
      request: { body: jsonBody(ChangePassword) },
      responses: { 200: json(MeSchema), 403: errorResponses[403], 422: errorResponses[422] },
    }),
    async (c) => {
      const session = await changePassword(
        c.var.db,
        c.get("caller"),
        { ...c.req.valid("json"), ip: clientIp(c) },
        c.req.header("user-agent"),
      );
      return c.json(await signedIn(c, session), 200);
    },
  );
