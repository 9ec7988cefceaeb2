// Connecting Gmail and Microsoft 365 mailboxes by signing in (OAuth 2.0 authorization code + PKCE +
// state). `start` returns the provider's sign-in URL; the provider sends the browser back to
// `callback`, which exchanges the code, verifies the connection with an authenticated call (the signed-
// in address), saves the mailbox as connected (tokens sealed) and returns to the Mailboxes screen.
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { db } from "../db/client";
import { auditLog, mailboxes } from "../db/schema";
import type { AppEnv, Caller } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { router } from "../lib/openapi";
import { errorResponses, Id, json, jsonBody } from "../lib/schemas";
import { engine } from "../../durable-objects/engine";
import { authorize, mailboxFor } from "../services/access";
import { auditEntry } from "../services/audit";
import { startCursor } from "../services/reply-polling";
import { gmailProfile } from "../transports/gmail";
import { graphMe } from "../transports/graph";
import {
  authorizationUrl,
  exchangeCode,
  missingConfig,
  openState,
  PROVIDER_NAME,
  PROVIDERS,
  providerConfig,
  redirectUriFor,
  sealTokens,
  TRANSPORT_OF,
  type OAuthTokens,
  type Provider,
  type ProviderConfig,
} from "../transports/oauth";

const ProviderParam = z.object({ provider: z.enum(["google", "microsoft"]).openapi({ param: { name: "provider", in: "path" } }) });

const ProviderInfo = z.object({
  provider: z.enum(["google", "microsoft"]),
  transport: z.enum(["gmail", "graph"]),
  name: z.string(),
  configured: z.boolean(),
  missing: z.array(z.string()).openapi({ description: "Secrets to set (wrangler secret put) before this provider can be used" }),
  redirect_uri: z.string().openapi({ description: "Register this as the OAuth app's redirect URI" }),
});

/** Why a provider can't be used yet, in words the connect button shows. */
export const notConfiguredMessage = (provider: Provider, missing: string[]) =>
  `${PROVIDER_NAME[provider]} sign-in is not configured on this server: an admin sets ${missing.join(" and ")} (wrangler secret put, or .dev.vars locally) and registers the redirect URL shown on the Mailboxes screen`;

/** The signed-in account: the authenticated call that verifies the connection. */
async function signedInAs(
  cfg: ProviderConfig,
  token: string,
): Promise<{ ok: true; email: string; name: string | null } | { ok: false; message: string }> {
  if (cfg.provider === "google") {
    const r = await gmailProfile(cfg.apiUrl, token);
    return r.ok
      ? { ok: true, email: r.body.emailAddress.toLowerCase(), name: null }
      : { ok: false, message: `Gmail refused the signed-in check: ${r.message}` };
  }
  const r = await graphMe(cfg.apiUrl, token);
  if (!r.ok) return { ok: false, message: `Microsoft Graph refused the signed-in check: ${r.message}` };
  return { ok: true, email: (r.body.mail ?? r.body.userPrincipalName).toLowerCase(), name: r.body.displayName ?? null };
}

/** Saves the signed-in mailbox as connected: a new one, or the one being reconnected. Returns its id. */
async function saveMailbox(
  c: Context<AppEnv>,
  caller: Caller,
  provider: Provider,
  mailboxId: string | null,
  account: { email: string; name: string | null },
  tokens: OAuthTokens,
): Promise<string> {
  const d = db(c.env.DB);
  const transport = TRANSPORT_OF[provider];
  const t = now();
  const sealed = await sealTokens(c.env, tokens);
  let existing = mailboxId
    ? await mailboxFor(d, caller, mailboxId, "mailbox.manage")
    : await d.query.mailboxes.findFirst({ where: and(eq(mailboxes.teamId, caller.teamId), eq(mailboxes.email, account.email)) });
  if (existing && !mailboxId) {
    // Signing in again as an address the team already has: a reconnect, if it is that kind and theirs.
    if (existing.transport !== transport)
      throw new ApiError("validation_failed", `${account.email} is already connected as a ${existing.transport} mailbox`);
    existing = await mailboxFor(d, caller, existing.id, "mailbox.manage");
  }
  if (existing) {
    if (existing.email !== account.email)
      throw new ApiError(
        "validation_failed",
        `You signed in as ${account.email}, but this mailbox is ${existing.email}: sign in with that account`,
      );
    await d.batch([
      d
        .update(mailboxes)
        .set({ transport, secretCiphertext: sealed, status: "connected", statusReason: null, updatedAt: t })
        .where(eq(mailboxes.id, existing.id)),
      d.insert(auditLog).values(auditEntry(caller, "mailbox.reconnect", "mailbox", existing.id, { via: provider })),
    ]);
    return existing.id;
  }
  authorize(caller, "mailbox.connect", "You can't connect mailboxes");
  const id = newId();
  await d.batch([
    d.insert(mailboxes).values({
      id,
      teamId: caller.teamId,
      userId: caller.userId,
      email: account.email,
      senderName: account.name || account.email.split("@")[0]!,
      signature: "",
      transport,
      transportConfig: { account: account.email },
      secretCiphertext: sealed,
      dailyLimit: 50,
      hourlyLimit: 20,
      minGapSeconds: 60,
      jitterSeconds: 30,
      status: "connected",
      createdAt: t,
      updatedAt: t,
    }),
    d.insert(auditLog).values(auditEntry(caller, "mailbox.create", "mailbox", id, { email: account.email, transport, via: provider })),
  ]);
  return id;
}

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
      let loginHint: string | undefined;
      if (body.mailbox_id) {
        const mb = await mailboxFor(db(c.env.DB), caller, body.mailbox_id, "mailbox.manage");
        if (mb.transport !== TRANSPORT_OF[provider])
          throw new ApiError("validation_failed", `${mb.email} is not a ${PROVIDER_NAME[provider]} mailbox`, {
            fields: [{ field: "mailbox_id", message: `Not a ${PROVIDER_NAME[provider]} mailbox` }],
          });
        loginHint = mb.email;
      } else authorize(caller, "mailbox.connect", "You can't connect mailboxes");
      const cfg = providerConfig(c.env, provider);
      if (!cfg) {
        const message = notConfiguredMessage(provider, missingConfig(c.env, provider));
        throw new ApiError("validation_failed", message, { fields: [{ field: "provider", message }] });
      }
      return c.json(
        {
          url: await authorizationUrl(
            c.env,
            cfg,
            { teamId: caller.teamId, userId: caller.userId, mailboxId: body.mailbox_id ?? null },
            loginHint,
          ),
        },
        200,
      );
    },
  )
  // The provider's redirect back (a browser navigation, not an API call): always answers with a
  // redirect to the Mailboxes screen, carrying the new mailbox or what went wrong in words.
  .get("/oauth/:provider/callback", async (c) => {
    const provider = c.req.param("provider");
    const back = (q: Record<string, string>) => c.redirect(`/mailboxes?${new URLSearchParams(q)}`, 302);
    if (provider !== "google" && provider !== "microsoft") return back({ connect_error: `Unknown sign-in provider "${provider}"` });
    const name = PROVIDER_NAME[provider];
    const q = c.req.query();
    if (q.error) return back({ connect_error: `${name} sign-in did not complete: ${q.error_description || q.error}` });
    const state = q.state ? await openState(c.env, provider, q.state) : null;
    const caller = c.get("caller");
    if (!state) return back({ connect_error: `${name} sign-in expired or was not started here; try Connect again` });
    if (state.userId !== caller.userId || state.teamId !== caller.teamId)
      return back({ connect_error: `This ${name} sign-in was started by another user; try Connect again` });
    if (!q.code) return back({ connect_error: `${name} sent no authorization code; try Connect again` });
    const cfg = providerConfig(c.env, provider);
    if (!cfg) return back({ connect_error: notConfiguredMessage(provider, missingConfig(c.env, provider)) });
    const tokens = await exchangeCode(cfg, q.code, state.verifier);
    if (!tokens.ok) return back({ connect_error: `${name} refused the sign-in: ${tokens.message}` });
    const account = await signedInAs(cfg, tokens.tokens.accessToken);
    if (!account.ok) return back({ connect_error: account.message });
    let id: string;
    try {
      id = await saveMailbox(c, caller, provider, state.mailboxId, account, tokens.tokens);
    } catch (e) {
      if (e instanceof ApiError) return back({ connect_error: e.message });
      throw e;
    }
    // A reconnected mailbox keeps its reply cursor, so replies that arrived while it was down are still
    // read (a cursor the provider has forgotten restarts by itself); a new one starts from now.
    const cursor = await c.env.DB.prepare(
      "SELECT json_extract(transport_config, '$.history_id') AS h, json_extract(transport_config, '$.delta_link') AS d FROM mailboxes WHERE id = ?",
    )
      .bind(id)
      .first<{ h: string | null; d: string | null }>();
    if (!cursor?.h && !cursor?.d)
      await startCursor(c.env, { id, transport: TRANSPORT_OF[provider] }, cfg.apiUrl, tokens.tokens.accessToken);
    await engine.mailbox(c.env, id).refresh();
    return back({ connected: id });
  });
