// Connecting Gmail and Microsoft 365 mailboxes by signing in (OAuth 2.0 authorization code + PKCE +
// state). `start` returns the provider's sign-in URL; the provider sends the browser back to
// `callback`, which exchanges the code, verifies the connection with an authenticated call (the signed-
// in address), saves the mailbox as connected (tokens sealed) and returns to the Mailboxes screen.
import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, Id, json, jsonBody } from "../lib/schemas";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { connectFinish, connectStart, type ConnectError } from "../services/mailbox-connect";
import { missingConfig, openState, PROVIDER_NAME, PROVIDERS, redirectUriFor, TRANSPORT_OF } from "../transports/oauth";

const ProviderParam = z.object({ provider: z.enum(["google", "microsoft"]).openapi({ param: { name: "provider", in: "path" } }) });

const ProviderInfo = z.object({
  provider: z.enum(["google", "microsoft"]),
  transport: z.enum(["gmail", "graph"]),
  name: z.string(),
  configured: z.boolean(),
  missing: z.array(z.string()).openapi({ description: "Secrets to set (wrangler secret put) before this provider can be used" }),
  redirect_uri: z.string().openapi({ description: "Register this as the OAuth app's redirect URI" }),
});

export const oauthRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/oauth/providers",
      tags: ["Mailboxes"],
      summary: "Sign-in providers for Gmail and Microsoft 365 mailboxes: whether each is configured, and the redirect URL to register",
      responses: { 200: json(z.object({ providers: z.array(ProviderInfo) })) },
    }),
    (c) =>
      c.json(
        {
          providers: PROVIDERS.map((p) => {
            const missing = missingConfig(c.env, p);
            return {
              provider: p,
              transport: TRANSPORT_OF[p],
              name: PROVIDER_NAME[p],
              configured: !missing.length,
              missing,
              redirect_uri: redirectUriFor(c.env, p),
            };
          }),
        },
        200,
      ),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/oauth/{provider}/start",
      tags: ["Mailboxes"],
      summary: "Start connecting (or reconnecting) a Gmail / Microsoft 365 mailbox: the URL to send the browser to",
      request: {
        params: ProviderParam,
        body: jsonBody(z.object({ mailbox_id: Id.optional().openapi({ description: "Reconnect this mailbox (its owner or an admin)" }) })),
      },
      responses: { 200: json(z.object({ url: z.string() })), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { provider } = c.req.valid("param");
      const body = c.req.valid("json");
      return c.json({ url: await connectStart(c.env, c.var.db, caller, provider, body.mailbox_id) }, 200);
    },
  )
  // The provider's redirect back (a browser navigation, not an API call): always answers with a
  // redirect to the Mailboxes screen, carrying the new mailbox or why not as a code (never text).
  .get("/oauth/:provider/callback", async (c) => {
    const provider = c.req.param("provider");
    const back = (q: { connected: string } | { connect_error: ConnectError }) => c.redirect(`/mailboxes?${new URLSearchParams(q)}`, 302);
    if (provider !== "google" && provider !== "microsoft") return back({ connect_error: "unknown_provider" });
    const q = c.req.query();
    // Our state first: a provider error on a link anyone can craft (no state of ours) says only that.
    const state = q.state ? await openState(c.env, provider, q.state) : null;
    const caller = c.get("caller");
    if (!state) return back({ connect_error: "expired" });
    if (state.userId !== caller.userId || state.teamId !== caller.teamId) return back({ connect_error: "other_user" });
    if (q.error) return back({ connect_error: q.error === "access_denied" ? "denied" : "provider_error" });
    if (!q.code) return back({ connect_error: "no_code" });
    const r = await connectFinish(c.env, c.var.db, caller, provider, {
      code: q.code,
      verifier: state.verifier,
      mailboxId: state.mailboxId,
    });
    return back(r.ok ? { connected: r.id } : { connect_error: r.code });
  });

/**
 * The provider's redirect reached us without a session (it expired during the sign-in): the sign-in
 * page, back to the Mailboxes screen after, rather than a JSON 401 in the browser.
 */
export const callbackSignedOut = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (c.res.status === 401) c.res = c.redirect(`/login?${new URLSearchParams({ next: "/mailboxes?connect_error=session_expired" })}`, 302);
});
