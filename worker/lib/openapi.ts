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
    c.req.bodyCache.text = Promise.resolve("{}"); // what the validator's c.req.json() parses
  await next();
};

interface Operation {
  parameters?: unknown[];
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, unknown>;
}

const METHODS = ["get", "put", "post", "patch", "delete"] as const;
const errorContent = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };

/**
 * The API's answers to bad input, in the document of every operation that can give them, where the
 * route didn't list them itself: 422 for any operation with a parameter or a body (router()'s hook
 * answers every schema failure so), and 415 for one with a JSON body sent as another type. A client
 * generated from the document then knows them (the route walk found them answered but not listed).
 */
export function withInputErrors<T extends { paths?: Record<string, unknown> }>(doc: T): T {
  for (const item of Object.values(doc.paths ?? {}) as Record<string, Operation | undefined>[])
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const responses = (op.responses ??= {});
      if ((op.parameters?.length || op.requestBody) && !responses["422"])
        responses["422"] = { description: "Invalid input: each failing field named in words", content: errorContent };
      if (op.requestBody?.content?.["application/json"] && !responses["415"])
        responses["415"] = { description: "The body was not sent as JSON (Content-Type: application/json)", content: errorContent };
    }
  return doc;
}
