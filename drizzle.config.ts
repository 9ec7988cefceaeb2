import { defineConfig } from "drizzle-kit";

// One migrations folder shared by drizzle-kit (generation), wrangler (local and remote apply) and tests.
export default defineConfig({
  dialect: "sqlite",
  schema: "./worker/db/schema.ts",
  out: "./migrations",
});
