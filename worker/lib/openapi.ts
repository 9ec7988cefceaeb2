import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { ApiError, zodDetails } from "./errors";

/**
 * Every route file builds its sub-app with this: zod validation failures become the one error body
 * (422 `validation_failed`, each failing field named), and the routes feed the OpenAPI document.
 */
export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError("validation_failed", "Some fields are invalid", zodDetails(result.error.issues));
      }
    },
  });
}
