import { z } from "@hono/zod-openapi";
import { ERROR_CODES, type ErrorCode } from "./errors";
import { isWebAddress, MAX_WEB_ADDRESS } from "./web-address";

/** Shared request and response schemas: the one contract for the worker, the OpenAPI document and the SPA. */

/** An id in a request body: never empty (an empty owner or schedule id would be stored and lock people out). */
export const Id = z.string().trim().min(1, "Choose one: an empty id isn't allowed").max(64);

/**
 * A list of ids of which at most `max` different ones (an id repeated counts once, as the README's limits say):
 * repeats are dropped before the limit is checked, so a selection sent with duplicates isn't refused for them.
 */
export const idList = (max: number, o: { tooMany?: string; empty?: string; min?: 0 | 1 } = {}) =>
  z.preprocess(
    // Typed as the array it documents (a client's request type), though anything else still reaches the check and is refused.
    (v: string[]) => (Array.isArray(v) ? [...new Set(v)] : v),
    z
      .array(Id)
      .min(o.min ?? 1, o.empty)
      .max(max, o.tooMany),
  );
export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

/** A day as YYYY-MM-DD that exists in the calendar (2026-02-30 and 2026-13-45 are refused, not stored to never match). */
export const CalendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Use YYYY-MM-DD")
  .refine((v) => {
    const [y, m, d] = v.split("-").map(Number) as [number, number, number];
    const t = new Date(Date.UTC(y, m - 1, d));
    return y >= 1 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
  }, "Not a day in the calendar: use YYYY-MM-DD, such as 2026-12-25");

/** An instant in milliseconds since the epoch, up to the year 2243 (a date every reader can show). */
export const EpochMs = z.number().int().min(0).max(8_640_000_000_000).openapi({ description: "Epoch milliseconds" });

/** A web address a screen may link to (lib/web-address.ts). */
export const WebUrl = z.string().url().max(MAX_WEB_ADDRESS).refine(isWebAddress, "Use a web address that starts with http:// or https://");

export const Pagination = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(25),
});

export const PaginationMeta = z
  .object({ page: z.number(), per_page: z.number(), total_entries: z.number(), total_pages: z.number() })
  .openapi("Pagination");

export function paginationMeta(page: number, perPage: number, total: number) {
  return { page, per_page: perPage, total_entries: total, total_pages: Math.max(1, Math.ceil(total / perPage)) };
}

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z
        .enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]])
        .openapi({ description: "One of the API's error codes (README: Errors)" }),
      message: z.string().openapi({ description: "In words, for a person: for a 422, the first refused field's message" }),
      details: z.unknown().optional().openapi({
        description:
          "For a 422 (validation_failed): { fields: [{ field, label, message }] }: field is the dotted path (smtp.host), label its name in words (SMTP host), message a sentence (SMTP host can't be empty)",
      }),
    }),
  })
  .openapi("Error");

export const errorResponses = {
  401: { description: "No valid session or API key", content: { "application/json": { schema: ErrorSchema } } },
  403: { description: "Not allowed", content: { "application/json": { schema: ErrorSchema } } },
  404: { description: "Not found (or another team's id)", content: { "application/json": { schema: ErrorSchema } } },
  409: { description: "Conflicts with the current state", content: { "application/json": { schema: ErrorSchema } } },
  422: { description: "Invalid input", content: { "application/json": { schema: ErrorSchema } } },
} as const;

export const json = <T extends z.ZodType>(schema: T, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const UserSchema = z
  .object({ id: z.string(), email: z.string(), name: z.string(), role: z.enum(["admin", "member"]) })
  .openapi("User");

export const TeamSchema = z.object({ id: z.string(), name: z.string(), credit_balance: z.number() }).openapi("Team");
