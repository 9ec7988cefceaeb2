import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { validationError } from "./errors";

/**
 * Every route file builds its sub-app with this: zod validation failures become the one error body
 * (422 `validation_failed`, each failing field named in words: see field-messages.ts), and the routes feed the OpenAPI document.
 */
export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationError(result.error.issues);
      }
    },
  });
}

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
