import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { CheckFailed } from "../db/riding-check";
import { fieldLabel } from "./field-messages";

/**
 * Every error code the API answers with: its HTTP status and what it means. One closed table (the
 * OpenAPI error schema and the README list it), one error body; no other code can be thrown.
 */
export const ERROR_CODES = {
  bad_request: [400, "The request is malformed in a way no field explains"],
  invalid_json: [400, "The body is not valid JSON"],
  unauthenticated: [401, "No valid session or API key"],
  invalid_credentials: [401, "Email or password is incorrect"],
  invalid_signature: [401, "A webhook's signature is missing, malformed, or doesn't match its timestamp and body under the team's secret"],
  stale_signature: [401, "A webhook's timestamp is more than 5 minutes away from now (the replay window)"],
  replayed_signature: [409, "This webhook signature was already accepted once"],
  forbidden: [403, "You may see this but not do this (see Who may do what)"],
  csrf_failed: [403, "A signed-in change without the session's X-CSRF-Token, or from another site"],
  master_key_required: [403, "An endpoint Apollo reserves for master API keys"],
  not_found: [404, "No such thing in your team, or one you may not see"],
  conflict: [409, "The thing is not in a state that allows this (already done, in use, running)"],
  mailbox_in_use: [
    409,
    "Removing a mailbox that open enrollments still send from: details names how many and in which sequences; move them (reassign_to, or Change mailbox) first. Or that an unfinished add-contacts job sends from: details.jobs names them; cancel the scheduled add or wait until it has run",
  ],
  sequence_has_history: [
    409,
    "Deleting a sequence somebody was added to or an add named (a run, an add-contacts job, an email or a task): details.in_use says which (contacts, details.people how many; add_pending, an add is scheduled or under way with nobody in it yet; add_history, an add finished or was cancelled with nobody in it), as the sequence's in_use does; archive it instead, its reports and replies stay",
  ],
  sequence_in_workflow: [
    409,
    "Deleting a sequence a workflow adds contacts to: details.workflows names them; delete them or point them elsewhere first",
  ],
  payload_too_large: [413, "The body is larger than the API accepts"],
  too_many_contacts: [413, "One add-contacts job takes at most 200,000 contacts"],
  export_too_large: [413, "An export takes at most 100,000 rows: narrow the filter"],
  unsupported_media_type: [
    415,
    "The body's Content-Type is not one the endpoint reads: details.accepts lists those it does (application/json; multipart/form-data for a CSV upload; the Apollo endpoints also read form bodies)",
  ],
  invalid_file: [
    422,
    "An uploaded file can't be read as CSV contacts (empty, binary, no data rows, an unclosed quote): the message says where",
  ],
  validation_failed: [422, "Some input is invalid: details.fields names each field and says why"],
  idempotency_key_reused: [422, "This Idempotency-Key was used with another request"],
  sequence_archived: [422, "Add contacts: the sequence is archived"],
  sequence_inactive: [422, "Add contacts: the sequence is off"],
  no_enabled_steps: [422, "Add contacts: every step of the sequence is off"],
  mailbox_not_connected: [422, "Add contacts or change mailbox: a chosen mailbox is disconnected or paused"],
  no_connected_mailbox: [422, "Add contacts: no connected mailbox you may send from"],
  insufficient_credits: [422, "The credit balance can't cover the job's maximum spend"],
  last_admin: [422, "The change would leave the team without an active admin: details.fields names role or disabled"],
  rate_limited: [429, "Too many requests: wait retry-after seconds"],
  internal: [500, "Something went wrong on our side"],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Each code's status (derived from ERROR_CODES). */
export const ERROR_STATUS = Object.fromEntries(Object.entries(ERROR_CODES).map(([k, [status]]) => [k, status])) as {
  [K in ErrorCode]: (typeof ERROR_CODES)[K][0];
};

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** The one error type routes throw; `onError` turns it into the one error body. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly status: ContentfulStatusCode = ERROR_STATUS[code],
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
    const code: ErrorCode =
      status === 413
        ? "payload_too_large"
        : status === 415
          ? "unsupported_media_type"
          : status === 401
            ? "unauthenticated"
            : /malformed json/i.test(err.message)
              ? "invalid_json"
              : "bad_request";
    const message =
      code === "unsupported_media_type" ? "Send the body as JSON with Content-Type: application/json" : err.message || "Request failed";
    // A route with a body declares one type, JSON (the CSV upload answers its own 415, with multipart/form-data).
    const details = code === "unsupported_media_type" ? { details: { accepts: ["application/json"] } } : {};
    return c.json({ error: { code, message, ...details } }, ERROR_STATUS[code] === status ? status : ERROR_STATUS[code]);
  }
  // A session check that failed (db/riding-check.ts), thrown by a D1 call, as such or wrapped by drizzle.
  const failed = err instanceof CheckFailed ? err : err instanceof Error && err.cause instanceof CheckFailed ? err.cause : null;
  if (failed) return errorResponse(c, new ApiError("unauthenticated", failed.message));
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
type Issue = { path: PropertyKey[]; message: string; code?: string; maximum?: unknown; minimum?: unknown };

/**
 * One bound per field and side: a value past two maximums (`.int()`'s safe-integer range and the field's
 * own `.max(50)`) is told the tighter one, the limit a person can act on, not "at most
 * 9,007,199,254,740,991" first and "at most 50" second.
 */
function tightestBounds(issues: readonly Issue[]): readonly Issue[] {
  const bound = (i: Issue) => (i.code === "too_big" ? Number(i.maximum) : i.code === "too_small" ? -Number(i.minimum) : NaN);
  const keyOf = (i: Issue) => `${i.code} ${i.path.map(String).join(".")}`;
  const best = new Map<string, number>();
  for (const i of issues) {
    const b = bound(i);
    if (b < (best.get(keyOf(i)) ?? Infinity)) best.set(keyOf(i), b);
  }
  const told = new Set<string>();
  return issues.filter((i) => {
    const b = bound(i);
    if (Number.isNaN(b)) return true;
    if (b !== best.get(keyOf(i)) || told.has(keyOf(i))) return false;
    told.add(keyOf(i));
    return true;
  });
}

export function zodDetails(issues: readonly Issue[]) {
  return {
    fields: tightestBounds(issues).map((i) => ({
      field: i.path.map(String).join(".") || "(body)",
      label: fieldLabel(i.path),
      message: i.message,
      code: i.code,
    })),
  };
}

/** The top-line message of a 422: the first problem in words, and how many more there are. */
export function validationSummary(fields: readonly { message: string }[]): string {
  if (!fields.length) return "Check the values you entered";
  const more = fields.length - 1;
  return more ? `${fields[0]!.message} (and ${more} more ${more === 1 ? "problem" : "problems"})` : fields[0]!.message;
}

/** A 422 from zod issues (route hooks, the Apollo facade): every field named in words. */
export function validationError(issues: readonly Issue[]): ApiError {
  const details = zodDetails(issues);
  return new ApiError("validation_failed", validationSummary(details.fields), details);
}
