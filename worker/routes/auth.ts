import { createRoute, z } from "@hono/zod-openapi";
import { deleteCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { router } from "../lib/openapi";
import { errorResponses, json, jsonBody, TeamSchema, UserSchema } from "../lib/schemas";
import { loadMe, login, logout, SESSION_COOKIE, SESSION_TTL_MS } from "../services/auth";
import { outboxAllowed } from "../transports";

const LoginBody = z.object({ email: z.string().trim().email().max(254), password: z.string().min(1).max(200) }).openapi("LoginRequest");

export const MeSchema = z
  .object({ user: UserSchema, team: TeamSchema, csrf_token: z.string().nullable(), via: z.enum(["session", "api_key"]) })
  .openapi("Me");

const loginRoute = createRoute({
  method: "post",
  path: "/auth/login",
  tags: ["Auth"],
  summary: "Sign in with email and password; sets the session cookie",
  request: { body: jsonBody(LoginBody) },
  responses: { 200: json(MeSchema), 401: errorResponses[401], 422: errorResponses[422] },
});

const logoutRoute = createRoute({
  method: "post",
  path: "/auth/logout",
  tags: ["Auth"],
  summary: "Sign out (ends the session)",
  responses: { 200: json(z.object({ ok: z.boolean() })), 401: errorResponses[401] },
});

const optionsRoute = createRoute({
  method: "get",
  path: "/auth/options",
  tags: ["Auth"],
  summary: "What this server offers (public): demo_accounts is true only on a local server, the one place the demo workspace is seeded",
  responses: {
    200: json(
      z
        .object({
          demo_accounts: z.boolean(),
          outbox_transport: z.boolean().openapi({
            description:
              "Whether a mailbox may use the outbox transport (nothing leaves Seqflare): only on a local server and in tests, never deployed",
          }),
        })
        .openapi("SignInOptions"),
    ),
  },
});

const meRoute = createRoute({
  method: "get",
  path: "/me",
  tags: ["Auth"],
  summary: "The signed-in user (or API key's owner) and team",
  responses: { 200: json(MeSchema), 401: errorResponses[401] },
});

/**
 * The answer that signs someone in: the session cookie, and who they are with the session's CSRF
 * token. Sign-in and accepting an invite both answer with it.
 */
export async function signedIn(
  c: Context<AppEnv>,
  s: { token: string; csrfToken: string; user: { id: string; teamId: string; role: "admin" | "member" } },
) {
  setCookie(c, SESSION_COOKIE, s.token, {
    httpOnly: true,
    sameSite: "Lax",
    secure: new URL(c.req.url).protocol === "https:",
    path: "/",
    maxAge: SESSION_TTL_MS / 1000,
  });
  const me = await loadMe(c.var.db, { teamId: s.user.teamId, userId: s.user.id, role: s.user.role, via: "session" });
  return { ...me, csrf_token: s.csrfToken, via: "session" as const };
}

/** The client's address, for the sign-in throttle. */
export const clientIp = (c: Context<AppEnv>) => c.req.header("cf-connecting-ip") ?? "local";

export const authRoutes = router()
  .openapi(loginRoute, async (c) => {
    const body = c.req.valid("json");
    const session = await login(c.var.db, { ...body, ip: clientIp(c), userAgent: c.req.header("user-agent") });
    return c.json(await signedIn(c, session), 200);
  })
  // The demo accounts (and their shared password) exist only where the demo seed runs (routes/dev.ts):
  // a deployment's sign-in page listed them too, to anyone.
  .openapi(optionsRoute, (c) => c.json({ demo_accounts: c.env.APP_ENV === "local", outbox_transport: outboxAllowed(c.env) }, 200));

/** Behind authentication (and rate limits): sign-out and who am I. */
export const sessionRoutes = router()
  .openapi(logoutRoute, async (c) => {
    const caller = c.get("caller");
    if (caller.sessionId) await logout(c.var.db, caller.sessionId);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.json({ ok: true }, 200);
  })
  .openapi(meRoute, async (c) => {
    const caller = c.get("caller");
    const me = await loadMe(c.var.db, caller);
    return c.json({ ...me, csrf_token: caller.csrfToken ?? null, via: caller.via }, 200);
  });
