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
