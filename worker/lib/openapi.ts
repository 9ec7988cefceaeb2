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
