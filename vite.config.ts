import { defineConfig } from "vite";
import solid from "vite-plugin-solid";

// The SPA lives in web/ and builds to web/dist, which the Worker serves through Workers Static Assets
// (and Pages in production). In `vite dev`, /api is proxied to a running `npm start` (wrangler, :8787).
export default defineConfig({
  root: "web",
  plugins: [solid()],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  server: { proxy: { "/api": process.env.SEQFLARE_URL ?? "http://localhost:8787" } },
});
