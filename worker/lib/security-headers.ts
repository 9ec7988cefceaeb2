import type { MiddlewareHandler } from "hono";

/**
 * The Content-Security-Policy of everything Seqflare serves: the SPA (its scripts and styles come
 * from its own origin; Solid sets inline style attributes), the API docs (Swagger UI from the app's
 * own files, its one inline script allowed by a per-answer nonce, data: images) and the unsubscribe
 * pages (an inline <style>, a form posting to itself). Nothing may frame any of it.
 */
export function contentSecurityPolicy(scriptNonce?: string): string {
  return [
    "default-src 'self'",
    `script-src 'self'${scriptNonce ? ` 'nonce-${scriptNonce}'` : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Headers on every answer: the Worker's (middleware below) and the static SPA files (vite writes
 * them into web/dist/_headers, which Workers Static Assets and Pages apply).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": contentSecurityPolicy(),
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "strict-origin-when-cross-origin",
};

/** Adds SECURITY_HEADERS to every Worker answer, errors and static files included; a route's own CSP wins. The Worker's own answers are `no-store` unless they say otherwise. */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  const headers = c.res.headers;
  try {
    // The answer's own headers, in place: copying the answer (and Hono's copy again when c.res is set)
    // made two more Responses for every request.
    for (const k in SECURITY_HEADERS) if (!headers.has(k)) headers.set(k, SECURITY_HEADERS[k]!);
    // The Worker's own answers carry session CSRF tokens, created keys and invite links, and
    // team data: no browser or proxy cache keeps them unless a route says otherwise.
    if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
  } catch {
    // Answers from the assets binding have immutable headers: copy the answer first.
    const res = new Response(c.res.body, c.res);
    for (const k in SECURITY_HEADERS) if (!res.headers.has(k)) res.headers.set(k, SECURITY_HEADERS[k]!);
    c.res = res;
  }
};
