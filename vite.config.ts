import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { defineConfig, type Plugin } from "vite";
import solid from "vite-plugin-solid";
import { SECURITY_HEADERS } from "./worker/lib/security-headers";

/** Swagger UI's files, served at /swagger-ui/ for the API docs page (/api/docs): no CDN needed. */
function swaggerUi(): Plugin {
  return {
    name: "seqflare-swagger-ui",
    apply: "build",
    writeBundle() {
      mkdirSync("web/dist/swagger-ui", { recursive: true });
      for (const f of ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"]) {
        copyFileSync(`node_modules/swagger-ui-dist/${f}`, `web/dist/swagger-ui/${f}`);
      }
    },
  };
}

/**
 * web/dist/_headers: the Worker's security headers on the static files too (Workers Static Assets
 * and Pages serve them without running the Worker). One source: worker/lib/security-headers.ts.
 */
function securityHeadersFile(): Plugin {
  return {
    name: "seqflare-security-headers",
    apply: "build",
    writeBundle() {
      const lines = Object.entries(SECURITY_HEADERS).map(([k, v]) => `  ${k}: ${v}`);
      writeFileSync("web/dist/_headers", `/*\n${lines.join("\n")}\n`);
    },
  };
}

// The SPA lives in web/ and builds to web/dist, which the Worker serves through Workers Static Assets
// (and Pages in production). In `vite dev`, /api is proxied to a running `npm start` (wrangler, :8787).
export default defineConfig({
  root: "web",
  plugins: [solid(), swaggerUi(), securityHeadersFile()],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  server: { proxy: { "/api": process.env.SEQFLARE_URL ?? "http://localhost:8787" } },
});
