import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody, UserSchema } from "../lib/schemas";
import { requirePermission, requireSession } from "../middleware/auth";
import { SECRET_ANSWER } from "../middleware/idempotency";
import {
  changePassword,
  createPasswordReset,
  listAllTeamUsers,
  listTeamUsers,
  openPasswordReset,
  updateUser,
  usePasswordReset,
} from "../services/users";
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

const TokenParam = z.object({
  token: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "token", in: "path" } }),
});

const PasswordResetLink = z
  .object({
    user: TeamUserSchema,
    url: z.string().openapi({ description: "The reset link, shown in this answer only (Seqflare sends no email: copy it to the person)" }),
    expires_at: z.number(),
  })
  .openapi("PasswordResetLink");

const OpenPasswordReset = z
  .object({ team_name: z.string(), email: z.string(), name: z.string(), expires_at: z.number() })
  .openapi("OpenPasswordReset");

const UsePasswordReset = z.object({ password: NewPassword }).strict().openapi("UsePasswordReset");

/** The reset link a person opens: on the app's public address, or the address this request came to. */
const resetLinkFor = (c: Context<AppEnv>, token: string) =>
  `${(c.env.PUBLIC_URL || new URL(c.req.url).origin).replace(/\/+$/, "")}/reset-password/${encodeURIComponent(token)}`;

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
      summary: "The team's users (signed in, or any API key: users.view); include_disabled=true adds disabled ones",
      middleware: [requirePermission("users.view")],
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
      const user = await updateUser(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json"));
      return c.json({ user: present(user) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/users/{id}/password-reset",
      tags: ["Users"],
      summary:
        "A single-use link that sets a new password for a user of your team (admins, signed in), valid 24 hours; in this answer only (no email is sent). A new link replaces the user's earlier one",
      middleware: [requireSession, requirePermission("users.manage", "Only team admins can reset passwords")],
      request: { params: IdParam },
      responses: { 201: json(PasswordResetLink, "Created"), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { token, expiresAt, user } = await createPasswordReset(c.var.db, c.get("caller"), c.req.valid("param").id);
      // The link is shown in this answer only: never stored for an idempotent replay.
      return c.json({ user: present(user), url: resetLinkFor(c, token), expires_at: expiresAt }, 201, { [SECRET_ANSWER]: "1" });
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

/**
 * A reset link's own endpoints: public (before authentication), like an invite's and for the same
 * reasons without the sign-in throttle: the token is 32 random bytes, an unknown one costs one indexed
 * read, and the password is hashed only once the link is found open.
 */
export const passwordResetLinkRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/password-resets/{token}",
      tags: ["Users"],
      summary:
        "An open password reset link by its token (public): whose password it sets. 404 alike for unknown, expired, replaced and used",
      request: { params: TokenParam },
      responses: { 200: json(OpenPasswordReset), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const row = await openPasswordReset(c.var.db, c.req.valid("param").token);
      return c.json({ team_name: row.team_name, email: row.email, name: row.name, expires_at: row.expires_at }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/password-resets/{token}",
      tags: ["Users"],
      summary: "Set a new password with a reset link (public, once): every session of the user ends, and this answer signs them in",
      request: { params: TokenParam, body: jsonBody(UsePasswordReset) },
      responses: { 200: json(MeSchema), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const session = await usePasswordReset(c.var.db, c.req.valid("param").token, {
        ...c.req.valid("json"),
        userAgent: c.req.header("user-agent"),
      });
      return c.json(await signedIn(c, session), 200);
    },
  );
