import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody } from "../lib/schemas";
import { requirePermission, requireSession } from "../middleware/auth";
import { SECRET_ANSWER } from "../middleware/idempotency";
import {
  acceptInvite,
  createInvite,
  listPendingInvites,
  openInvite,
  reissueInvite,
  revokeInvite,
  type InviteRow,
} from "../services/invites";
import { now } from "../lib/clock";
import { MeSchema, signedIn } from "./auth";
import { NewPassword } from "./users";

const InviteSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    role: z.enum(["admin", "member"]),
    invited_by: z.string(),
    created_at: z.number(),
    expires_at: z.number(),
    expired: z.boolean(),
  })
  .openapi("Invite");

const CreateInvite = z
  .object({
    email: z.string().trim().email().max(254),
    role: z.enum(["admin", "member"]),
    name: z.string().trim().max(120).optional(),
  })
  .strict()
  .openapi("CreateInvite");

const ReissueInvite = z
  .object({
    role: z
      .enum(["admin", "member"])
      .optional()
      .openapi({ description: "The role the invite grants from now on; left out, it keeps its role" }),
  })
  .strict()
  .openapi("ReissueInvite");

const InviteLink = z.object({
  invite: InviteSchema,
  url: z.string().openapi({ description: "The invite link, shown in this answer only (Seqflare sends no email: copy it to the person)" }),
});

const TokenParam = z.object({
  token: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "token", in: "path" } }),
});

const OpenInvite = z
  .object({ team_name: z.string(), email: z.string(), name: z.string().nullable(), role: z.enum(["admin", "member"]) })
  .openapi("OpenInvite");

const AcceptInvite = z
  .object({ name: z.string().trim().min(1).max(120), password: NewPassword })
  .strict()
  .openapi("AcceptInvite");

const present = (r: InviteRow) => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role,
  invited_by: r.invitedBy,
  created_at: r.createdAt,
  expires_at: r.expiresAt,
  expired: r.expiresAt <= now(),
});

/** The link a person opens: on the app's public address, or the address this request came to. */
const linkFor = (c: Context<AppEnv>, token: string) =>
  `${(c.env.PUBLIC_URL || new URL(c.req.url).origin).replace(/\/+$/, "")}/invite/${encodeURIComponent(token)}`;

const guard = [requireSession, requirePermission("users.manage", "Only team admins can invite people")];

/**
 * The invite link's own endpoints: public (before authentication), like sign-in, and without its
 * throttle: a token is 32 random bytes (no guessing it), an unknown one costs one indexed read, and the
 * password is hashed only once the token is found open. A throttle per client address would also answer
 * 429 to one look-up and 404 to the next, telling tokens apart.
 */
export const inviteLinkRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/invites/{token}",
      tags: ["Users"],
      summary: "An open invite by its link's token (public): team, email, role. 404 alike for unknown, expired, revoked and used",
      request: { params: TokenParam },
      responses: { 200: json(OpenInvite), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const row = await openInvite(c.var.db, c.req.valid("param").token);
      return c.json({ team_name: row.teamName, email: row.email, name: row.name, role: row.role }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/invites/{token}/accept",
      tags: ["Users"],
      summary: "Accept an invite (public): creates the user with this name and password and signs them in",
      request: { params: TokenParam, body: jsonBody(AcceptInvite) },
      responses: { 200: json(MeSchema), 404: errorResponses[404], 409: errorResponses[409], 422: errorResponses[422] },
    }),
    async (c) => {
      const session = await acceptInvite(c.var.db, c.req.valid("param").token, {
        ...c.req.valid("json"),
        userAgent: c.req.header("user-agent"),
      });
      return c.json(await signedIn(c, session), 200);
    },
  );

/** Inviting, re-issuing and revoking (admins, signed in). */
export const inviteRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/invites",
      tags: ["Users"],
      summary: "The team's pending invites (admins)",
      middleware: guard,
      responses: { 200: json(z.object({ invites: z.array(InviteSchema) })), 403: errorResponses[403] },
    }),
    async (c) => c.json({ invites: (await listPendingInvites(c.var.db, c.get("caller").teamId)).map(present) }, 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/invites",
      tags: ["Users"],
      summary: "Invite someone by email with a role; the link is in this answer only (no email is sent)",
      middleware: guard,
      request: { body: jsonBody(CreateInvite) },
      responses: { 201: json(InviteLink, "Created"), 403: errorResponses[403], 422: errorResponses[422] },
    }),
    async (c) => {
      const { row, token } = await createInvite(c.var.db, c.get("caller"), c.req.valid("json"));
      // The link is shown in this answer only: never stored for an idempotent replay.
      return c.json({ invite: present(row), url: linkFor(c, token) }, 201, { [SECRET_ANSWER]: "1" });
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/invites/{id}/reissue",
      tags: ["Users"],
      summary: "A new link for a pending invite (the old one stops working), valid 7 days; in this answer only",
      description: "The invite is the re-issuer's from then on (it ends when they stop being an admin). `role` changes the role it grants.",
      middleware: guard,
      request: { params: IdParam, body: { required: false, content: { "application/json": { schema: ReissueInvite } } } },
      responses: { 200: json(InviteLink), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { row, token } = await reissueInvite(c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json") ?? {});
      return c.json({ invite: present(row), url: linkFor(c, token) }, 200, { [SECRET_ANSWER]: "1" });
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/invites/{id}",
      tags: ["Users"],
      summary: "Revoke a pending invite: its link stops working",
      middleware: guard,
      request: { params: IdParam },
      responses: {
        200: json(z.object({ invite: InviteSchema })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => c.json({ invite: present(await revokeInvite(c.var.db, c.get("caller"), c.req.valid("param").id)) }, 200),
  );
