import type { Context } from "hono";
import { ApiError } from "../lib/errors";

/**
 * A Content-Type's media type: `type/subtype`, lowercased, parameters dropped (RFC 9110 8.3.1: the
 * type, subtype and parameter names are case-insensitive, parameters come in any order, and the
 * whitespace around `;` is optional). What a route decides on; its parameters are the parser's business.
 */
export const mediaTypeOf = (header: string | undefined): string => (header ?? "").split(";")[0]!.trim().toLowerCase();

/** The 415 for a body of a type the route doesn't read: which types it accepts, and what it got. */
export function unsupportedMediaType(accepts: readonly string[], received: string | undefined, how: string): ApiError {
  return new ApiError(
    "unsupported_media_type",
    `This endpoint accepts ${accepts.join(" or ")} (${how}); the request was sent as ${received ? mediaTypeOf(received) || received : "no Content-Type"}`,
    { accepts: [...accepts], received: received ?? null },
  );
}

/**
 * For a route whose middleware has already parsed the multipart body (into hono's body cache): the
 * validators after it see the bare media type. zod-openapi puts a gate in front of a declared form
 * that admits `multipart/form-data` with a `boundary` of a few characters and no other parameter, so
 * real clients' legitimate headers (`; charset=utf-8`, parameters in another order, a quoted
 * boundary, two spaces) were refused with 415; the form validator itself reads the cached form.
 */
export function treatAsParsedMultipart(c: Context): void {
  const header = c.req.header.bind(c.req);
  c.req.header = ((name?: string) =>
    name?.toLowerCase() === "content-type" ? "multipart/form-data" : name === undefined ? header() : header(name)) as typeof c.req.header;
}
