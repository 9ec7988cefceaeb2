import type { Context } from "hono";

/**
 * Apollo accepts parameters in the query string, a form body or a JSON body, with arrays written
 * `contact_ids[]=a&contact_ids[]=b` (or repeated keys, or JSON arrays). This merges all three into
 * one object: `name[]` keys become `name` arrays; "true"/"false" stay strings for zod to coerce.
 */
export async function apolloParams(c: Context): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const put = (rawKey: string, value: unknown) => {
    const isArray = rawKey.endsWith("[]");
    const key = isArray ? rawKey.slice(0, -2) : rawKey;
    if (isArray) out[key] = [...((out[key] as unknown[]) ?? []), ...(Array.isArray(value) ? value : [value])];
    else if (key in out && !Array.isArray(value)) out[key] = [...(Array.isArray(out[key]) ? (out[key] as unknown[]) : [out[key]]), value];
    else out[key] = value;
  };
  for (const [k, v] of new URL(c.req.url).searchParams) if (k !== "api_key") put(k, v);
  if (c.req.method !== "GET") {
    const type = c.req.header("content-type") ?? "";
    if (type.includes("application/json")) {
      const text = await c.req.text();
      if (text.trim()) {
        const body = JSON.parse(text) as Record<string, unknown>;
        for (const [k, v] of Object.entries(body)) if (k !== "api_key") put(k, v);
      }
    } else if (type.includes("application/x-www-form-urlencoded") || type.includes("multipart/form-data")) {
      const form = await c.req.formData();
      for (const [k, v] of form.entries()) if (k !== "api_key") put(k, typeof v === "string" ? v : "");
    }
  }
  return out;
}

/**
 * The `api_key` an Apollo client put in its JSON or form body (Apollo's older documented form, still
 * sent by integrations), read from a copy so the route still reads the body. Undefined when absent.
 */
export async function apiKeyInBody(req: Request): Promise<string | undefined> {
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  const type = req.headers.get("content-type") ?? "";
  try {
    if (type.includes("application/json")) {
      const body = (await req.clone().json()) as unknown;
      const key = body && typeof body === "object" ? (body as Record<string, unknown>).api_key : undefined;
      return typeof key === "string" && key ? key : undefined;
    }
    if (type.includes("application/x-www-form-urlencoded") || type.includes("multipart/form-data")) {
      const key = (await req.clone().formData()).get("api_key");
      return typeof key === "string" && key ? key : undefined;
    }
  } catch {
    // Not readable as its type says: the route answers that, with no key found here.
  }
  return undefined;
}
