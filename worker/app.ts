import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./env";
import { ApiError, errorResponse } from "./lib/errors";
import { operationsOf, router, withCommonAnswers } from "./lib/openapi";
import { securityHeaders } from "./lib/security-headers";
import { authenticate } from "./middleware/auth";
import { countD1 } from "./middleware/d1-count";
import { provideDb } from "./middleware/db";
import { idempotency } from "./middleware/idempotency";
import { rateLimit } from "./middleware/rate-limit";
import { apiKeyRoutes } from "./routes/api-keys";
import { apolloRoutes, routingPath } from "./apollo/routes";
import { authRoutes, sessionRoutes } from "./routes/auth";
import { docsRoutes } from "./routes/docs";
import { contactRoutes } from "./routes/contacts";
import { devRoutes } from "./routes/dev";
import { listRoutes } from "./routes/lists";
import { passwordResetLinkRoutes, userRoutes } from "./routes/users";
import { inviteLinkRoutes, inviteRoutes } from "./routes/invites";
import { workflowRoutes } from "./routes/workflows";
import { addContactsRoutes } from "./routes/add-contacts";
import { creditRoutes } from "./routes/credits";
import { peopleRoutes } from "./routes/people";
import { enrollmentRoutes } from "./routes/enrollments";
import { mailboxRoutes } from "./routes/mailboxes";
import { callbackSignedOut, oauthRoutes } from "./routes/oauth";
import { messageRoutes } from "./routes/messages";
import { scheduleRoutes } from "./routes/schedules";
import { scheduledEmailRoutes } from "./routes/scheduled-emails";
import { reportRoutes } from "./routes/reports";
import { importRoutes, UPLOAD_PATH } from "./routes/imports";
import { sequenceRoutes } from "./routes/sequences";
import { stepRoutes } from "./routes/steps";
import { taskRoutes } from "./routes/tasks";
import { unsubscribeRoutes } from "./routes/unsubscribe";
import { replyRoutes } from "./routes/replies";
import { replyRunRoutes } from "./routes/reply-runs";
import { meetingRoutes, meetingWebhookRoutes } from "./routes/meetings";
import { outgoingWebhookRoutes } from "./routes/webhooks-out";
import { suppressionRoutes } from "./routes/suppressions";
import { emailTemplateRoutes } from "./routes/email-templates";

/** Largest JSON body the API accepts; CSV uploads have their own streaming limit. */
export const MAX_BODY_BYTES = 1024 * 1024;

const limit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError("payload_too_large", `Request body is larger than ${MAX_BODY_BYTES} bytes`, { limit_bytes: MAX_BODY_BYTES });
  },
});

const api = router();
// The API's own description, generated from the zod schemas of every route (public, before auth).
api.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
  type: "apiKey",
  in: "header",
  name: "X-Api-Key",
  description: "An API key from Settings → API keys (master or standard)",
});
api.openAPIRegistry.registerComponent("securitySchemes", "session", {
  type: "apiKey",
  in: "cookie",
  name: "sf_session",
  description: "The app's session cookie; mutations also need the X-CSRF-Token header",
});
const documentConfig = (url: string) => ({
  openapi: "3.1.0",
  info: {
    title: "Seqflare API",
    version: "1.0.0",
    description:
      "Sequences, contacts, mailboxes and the add-contacts pipeline. Authenticate with `X-Api-Key`. Errors are always `{ error: { code, message, details? } }`. Lists paginate with `page` and `per_page` (at most 100) and answer `pagination: { page, per_page, total_entries, total_pages }`. Every POST accepts an `Idempotency-Key` header. API keys are rate-limited per minute, hour and day (`x-rate-limit-*`, `x-*-requests-left`, 429 with `retry-after`). An Apollo-compatible API lives at `/apollo/api/v1`.",
  },
  // Paths in this document are relative to /api, so "Try it out" must call <origin>/api/<path>.
  servers: [{ url: `${new URL(url).origin}/api` }],
  security: [{ apiKey: [] as string[] }, { session: [] as string[] }] as Record<string, string[]>[],
});

// The document of every route, with the answers every operation can give (withCommonAnswers); the routes
// mounted before authentication below need no session or key, and say so.
api.get("/openapi.json", (c) =>
  c.json(
    withCommonAnswers(
      api.getOpenAPI31Document(documentConfig(c.req.url)),
      operationsOf(authRoutes, inviteLinkRoutes, passwordResetLinkRoutes, meetingWebhookRoutes),
    ),
  ),
);

// Chained so that AppType carries every route for the typed client (hc<AppType>).
const routes = api
  // CSV uploads are held to their own 50 MB limit in routes/imports.ts.
  .use("*", (c, next) => (c.req.method === "POST" && c.req.path === UPLOAD_PATH ? next() : limit(c, next)))
  // Public: the API's description and docs, sign-in, and the local-only demo seed.
  .route("/", docsRoutes)
  .route("/", authRoutes)
  .route("/", inviteLinkRoutes)
  .route("/", passwordResetLinkRoutes)
  .route("/", devRoutes)
  // Signed by the team's webhook secret instead of a session or key.
  .route("/", meetingWebhookRoutes)
  // A sign-in's redirect back that finds the session expired goes to the sign-in page, not a JSON 401.
  .use("/oauth/:provider/callback", callbackSignedOut)
  // Everything below needs a session or an API key.
  .use("*", authenticate)
  .use("*", rateLimit)
  .use("*", idempotency)
  .route("/", sessionRoutes)
  .route("/", userRoutes)
  .route("/", inviteRoutes)
  .route("/", apiKeyRoutes)
  .route("/", contactRoutes)
  .route("/", listRoutes)
  .route("/", sequenceRoutes)
  .route("/", stepRoutes)
  .route("/", enrollmentRoutes)
  .route("/", scheduleRoutes)
  .route("/", mailboxRoutes)
  .route("/", oauthRoutes)
  .route("/", messageRoutes)
  .route("/", taskRoutes)
  .route("/", scheduledEmailRoutes)
  .route("/", peopleRoutes)
  .route("/", addContactsRoutes)
  .route("/", creditRoutes)
  .route("/", workflowRoutes)
  .route("/", reportRoutes)
  .route("/", importRoutes)
  .route("/", replyRoutes)
  .route("/", replyRunRoutes)
  .route("/", meetingRoutes)
  .route("/", outgoingWebhookRoutes)
  .route("/", suppressionRoutes)
  .route("/", emailTemplateRoutes);

/** The Apollo-compatible API (same keys, limits and error body as /api). */
const apollo = new Hono<AppEnv>().use("*", limit).use("*", authenticate).use("*", rateLimit).use("*", idempotency).route("/", apolloRoutes);

// A plain Hono at the top: routing `api` into an OpenAPIHono would collapse AppType's route union.
export const app = new Hono<AppEnv>({ getPath: routingPath })
  .use("*", securityHeaders)
  .use("*", provideDb)
  .use("*", countD1)
  .route("/api", routes)
  .route("/apollo/api/v1", apollo)
  .route("/apollo/v1", apollo)
  .route("/", unsubscribeRoutes);
app.notFound((c) =>
  c.req.path.startsWith("/api/") || c.req.path.startsWith("/apollo/")
    ? errorResponse(c, new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`))
    : c.env.ASSETS.fetch(c.req.raw),
);
app.onError((err, c) => errorResponse(c, err));

export type AppType = typeof app;
