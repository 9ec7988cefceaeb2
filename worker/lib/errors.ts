import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { fieldLabel } from "./field-messages";

/** Every error code the API answers with, and its HTTP status. One table, one error body. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  forbidden: 403,
  csrf_failed: 403,
  master_key_required: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  validation_failed: 422,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** The one error type routes throw; `onError` turns it into the one error body. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode | (string & {}),
    message: string,
    readonly details?: unknown,
    readonly status: ContentfulStatusCode = ERROR_STATUS[code as ErrorCode] ?? 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError("not_found", `${what} not found`);

export function errorResponse(c: Context, err: unknown): Response {
  if (err instanceof ApiError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.details !== undefined) body.error.details = err.code === "validation_failed" ? labelled(err.details) : err.details;
    return c.json(body, err.status, err.headers);
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code =
      status === 413 ? "payload_too_large" : status === 401 ? "unauthenticated" : /malformed json/i.test(err.message) ? "invalid_json" : "bad_request";
    return c.json({ error: { code, message: err.message || "Request failed" } }, status);
  }
  console.error("unhandled error", err);
  return c.json({ error: { code: "internal", message: "Something went wrong on our side" } }, 500);
}

/**
 * Field problems written by hand in a route (`{ field: "owner_id", message: "No such user in your team" }`)
 * get the same shape as zod's: the field's name in words, and no bare "Required".
 */
function labelled(details: unknown): unknown {
  const fields = (details as { fields?: unknown } | null)?.fields;
  if (!Array.isArray(fields)) return details;
  return {
    ...(details as object),
    fields: fields.map((f: { field?: unknown; label?: unknown; message?: unknown }) => {
      if (typeof f?.field !== "string" || typeof f.label === "string") return f;
      const label = fieldLabel(f.field === "(body)" ? [] : f.field.split("."));
      return { ...f, label, message: f.message === "Required" ? `${label} is required` : f.message };
    }),
  };
}

/** zod issues → `details.fields`: one entry per failing field, with its dotted path, its name in words and a sentence. */
export function zodDetails(issues: readonly { path: PropertyKey[]; message: string; code?: string }[]) {
  return {
    fields: issues.map((i) => ({ field: i.path.map(String).join(".") || "(body)", label: fieldLabel(i.path), message: i.message, code: i.code })),
  };
}

/** The top-line message of a 422: the first problem in words, and how many more there are. */
export function validationSummary(fields: readonly { message: string }[]): string {
  if (!fields.length) return "Check the values you entered";
  const more = fields.length - 1;
  return more ? `${fields[0]!.message} (and ${more} more ${more === 1 ? "problem" : "problems"})` : fields[0]!.message;
}

/** A 422 from zod issues (route hooks, the Apollo facade): every field named in words. */
export function validationError(issues: readonly { path: PropertyKey[]; message: string; code?: string }[]): ApiError {
  const details = zodDetails(issues);
  return new ApiError("validation_failed", validationSummary(details.fields), details);
}
