import { OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { validationError } from "./errors";

/**
 * Every route file builds its sub-app with this: zod validation failures become the one error body
 * (422 `validation_failed`, each failing field named in words: see field-messages.ts), and the routes feed the OpenAPI document.
 */
export function router() {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationError(result.error.issues);
      }
    },
  });
  // Every route with an optional JSON body reads an empty one as {} (emptyJsonBody), before its validators.
  const openapi = app.openapi;
  app.openapi = ((route: RouteConfig, handler: never, hook?: never) => {
    const body = route.request?.body;
    if (!body?.content?.["application/json"] || body.required === true) return openapi(route, handler, hook);
    const own = route.middleware ? [route.middleware].flat() : [];
    return openapi({ ...route, middleware: [...own, emptyJsonBody] as RouteConfig["middleware"] }, handler, hook);
  }) as typeof app.openapi;
  return app;
}

/**
 * An optional JSON body sent empty reads as {} (no options), as if it had not been sent: many clients send
 * Content-Type: application/json on every POST, and the validator answered 400 invalid_json to "".
 */
const emptyJsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (/^application\/([a-z-.]+\+)?json/i.test(c.req.header("content-type") ?? "") && (await c.req.text()).trim() === "")
    // What the validator's c.req.json() parses: hono caches a body's text as a promise (its type says otherwise).
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve("{}");
  await next();
};

interface Operation {
  parameters?: unknown[];
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, { description?: string } | undefined>;
  security?: unknown[];
}

const METHODS = ["get", "put", "post", "patch", "delete"] as const;
const errorContent = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };

/** "post /auth/login": each operation the routers register (the paths as the document writes them). */
export function operationsOf(...apps: OpenAPIHono<AppEnv>[]): Set<string> {
  return new Set(
    apps.flatMap((a) => a.openAPIRegistry.definitions.flatMap((d) => (d.type === "route" ? [`${d.route.method} ${d.route.path}`] : []))),
  );
}

/**
 * The answers every operation can give whatever its route, in the document where the route didn't list
 * them itself, so a client generated from it knows them (the route walk found them answered but not
 * listed): 422 for any operation with a parameter or a body (router()'s hook answers every schema failure
 * so); 415 and 413 for one with a JSON body (sent as another type, or past the body limit); 429 for all
 * (API keys are rate-limited, sign-in and links throttled); on a POST behind authentication, 409 for an
 * Idempotency-Key whose first request is still running. Operations in `open` need no session or key:
 * `security: []` (they inherited the document's, which says every operation needs one).
 */
export function withCommonAnswers<T extends { paths?: Record<string, unknown> }>(doc: T, open: ReadonlySet<string> = new Set()): T {
  for (const [path, item] of Object.entries(doc.paths ?? {}) as [string, Record<string, Operation | undefined>][])
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const isOpen = open.has(`${method} ${path}`);
      if (isOpen) op.security = [];
      const responses = (op.responses ??= {});
      const add = (status: string, description: string) => void (responses[status] ??= { description, content: errorContent } as never);
      if (op.parameters?.length || op.requestBody) add("422", "Invalid input: each failing field named in words");
      if (op.requestBody?.content?.["application/json"]) {
        add("415", "The body was not sent as JSON (Content-Type: application/json)");
        add("413", "The body is larger than the API takes (its limit in details.limit_bytes)");
      }
      add("429", "Too many requests: wait `retry-after` seconds");
      if (method === "post" && !isOpen) {
        const idem = "A request with this Idempotency-Key is still running: retry after `retry-after` seconds for its answer";
        const own = responses["409"];
        // A new object: the route's own 409 may be shared by many routes (errorResponses), and this runs per request.
        if (own && !own.description?.includes(idem))
          responses["409"] = { ...own, description: `${own.description ?? "Conflict"}; or: ${idem}` };
        else add("409", idem);
      }
    }
  return doc;
}
