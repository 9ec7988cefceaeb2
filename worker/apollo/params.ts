import type { Context } from "hono";
import { ApiError } from "../lib/errors";
import { mediaTypeOf, unsupportedMediaType } from "../middleware/content-type";

/** The body types Apollo's clients send parameters in. */
const READS = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"] as const;

/**
 * The parameters in a request's body, by its media type (compared case-insensitively, RFC 9110). A JSON
 * body sent as text/plain (what `fetch` with a string body sends) or with no type is read as JSON; any
 * other non-empty body is a 415: ignoring it would create a blank contact, or search everything.
 */
async function bodyParams(
  method: string,
  header: string | undefined,
  req: { text(): Promise<string>; formData(): Promise<FormData> },
): Promise<[string, unknown][]> {
  if (method === "GET" || method === "HEAD") return [];
  const type = mediaTypeOf(header);
  if (type === "multipart/form-data") return [...(await req.formData()).entries()].map(([k, v]) => [k, typeof v === "string" ? v : ""]);
  const text = await req.text();
  if (type === "application/x-www-form-urlencoded") return [...new URLSearchParams(text)];
  if (!text.trim()) return [];
  const json = type === "application/json" || type.endsWith("+json");
  if (!json && type !== "text/plain" && type !== "") throw unsupportedMediaType(READS, header, "Apollo's parameters");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    if (!json) throw unsupportedMediaType(READS, header, "Apollo's parameters");
    throw new ApiError("invalid_json", "The request body is not valid JSON");
  }
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw new ApiError("invalid_json", "The request body must be a JSON object of parameters");
  return Object.entries(body);
}

/**
 * Apollo accepts parameters in the query string, a form body or a JSON body, with arrays written
 * `contact_ids[]=a&contact_ids[]=b` (or repeated keys, or JSON arrays). This merges all three into
 * one object: `name[]` keys become `name` arrays; "true"/"false" stay strings for zod to coerce.
 * A key repeated within the query, or within the body, is an array. Across the two, the body's value
 * replaces the query's, except a `name[]` key, which adds to it: a client posting `?page=2` with
 * `{"page":1}` asks for page 1 (taken as the array [2, 1], it was a 422 "must be a number").
 * `name[sub]=v` (Rails' nested form, Apollo's `emailer_message_date_range[min]`) is `name: { sub: v }`,
 * as a JSON body writes it.
 */
export async function apolloParams(c: Context): Promise<Record<string, unknown>> {
  // No prototype: a key named `__proto__` (`__proto__[x]=1`) is then a field the strict check sees, not the
  // object's prototype (which hid an unsupported filter from it).
  const out: Record<string, unknown> = Object.create(null);
  const fromQuery = new Set<string>();
  const put = (rawKey: string, value: unknown, inBody: boolean) => {
    const nested = /^([^[\]]+)\[([^[\]]+)\]$/.exec(rawKey);
    if (nested) {
      const [, key, sub] = nested as unknown as [string, string, string];
      // The body's replaces the query's, as for any key; within one of them, a repeated `name[sub]` is a
      // list (refused where one value is taken), not its last value with the others quietly dropped.
      if (inBody && fromQuery.delete(key)) delete out[key];
      if (!inBody) fromQuery.add(key);
      const held = out[key];
      const group: Record<string, unknown> = Object.assign(
        Object.create(null),
        held && typeof held === "object" && !Array.isArray(held) ? held : {},
      );
      group[sub] = sub in group ? [...(Array.isArray(group[sub]) ? (group[sub] as unknown[]) : [group[sub]]), value] : value;
      out[key] = group;
      return;
    }
    const isArray = rawKey.endsWith("[]");
    const key = isArray ? rawKey.slice(0, -2) : rawKey;
    if (inBody && fromQuery.delete(key) && !isArray) delete out[key];
    if (!inBody) fromQuery.add(key);
    // What was there before is kept whole: a scalar `x=abc` then `x[]=d` is ["abc", "d"], not the string's letters.
    const had = out[key] === undefined ? [] : Array.isArray(out[key]) ? (out[key] as unknown[]) : [out[key]];
    if (isArray) out[key] = [...had, ...(Array.isArray(value) ? value : [value])];
    else if (key in out && !Array.isArray(value)) out[key] = [...had, value];
    else out[key] = value;
  };
  for (const [k, v] of new URL(c.req.url).searchParams) if (k !== "api_key") put(k, v, false);
  // Through Hono's request, which keeps the body for any later reader.
  for (const [k, v] of await bodyParams(c.req.method, c.req.header("content-type"), c.req)) if (k !== "api_key") put(k, v, true);
  return out;
}

/**
 * The `api_key` an Apollo client put in its body (Apollo's older documented form, still sent by
 * integrations), read from a copy so the route still reads the body. Undefined when absent.
 */
export async function apiKeyInBody(req: Request): Promise<string | undefined> {
  try {
    const copy = req.clone();
    const key = (await bodyParams(copy.method, copy.headers.get("content-type") ?? undefined, copy)).find(([k]) => k === "api_key")?.[1];
    return typeof key === "string" && key ? key : undefined;
  } catch {
    // Not readable as its type says: the route answers that, with no key found here.
    return undefined;
  }
}
