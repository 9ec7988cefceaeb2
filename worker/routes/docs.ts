import { Hono } from "hono";
import type { AppEnv } from "../env";
import { contentSecurityPolicy } from "../lib/security-headers";

/**
 * Browsable API docs: Swagger UI (served from the app's own static files) over /api/openapi.json.
 * Its one inline script runs by a fresh nonce, so the page keeps the app's strict CSP.
 */
export const docsRoutes = new Hono<AppEnv>().get("/docs", (c) => {
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  c.header("Content-Security-Policy", contentSecurityPolicy(nonce));
  return c.html(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Seqflare API</title><link rel="stylesheet" href="/swagger-ui/swagger-ui.css">
<style>body{margin:0}.topbar{display:none}</style></head>
<body><div id="docs"></div>
<script src="/swagger-ui/swagger-ui-bundle.js"></script>
<script nonce="${nonce}">window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#docs", deepLinking: true, persistAuthorization: true });</script>
</body></html>`);
});
