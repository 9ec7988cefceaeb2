import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { dependenciesWithoutMaps } from "./test/fixtures/dependencies-without-maps.mjs";
import { startOAuthProviders } from "./test/fixtures/oauth-providers.mjs";

// Tests run inside workerd with the Worker's real bindings (D1, Durable Objects, queues) from
// wrangler.toml; the D1 migrations are the same files wrangler applies.
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  // Local stand-ins for Google's and Microsoft's OAuth / Gmail / Graph endpoints; the Worker is pointed
  // at them through its configurable provider URLs (test/mailboxes/oauth-mailboxes.test.ts).
  const providers = await startOAuthProviders();
  return {
    plugins: [
      // Libraries without source maps (the app keeps its own): test/fixtures/dependencies-without-maps.mjs says why.
      await dependenciesWithoutMaps(),
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            APP_ENV: "test",
            APP_SECRET: "test-secret-not-for-production",
            TEST_MIGRATIONS: migrations,
            ENGINE_MODEL_RUNS: process.env.ENGINE_MODEL_RUNS ?? "",
            ENGINE_PROPERTY_RUNS: process.env.ENGINE_PROPERTY_RUNS ?? "",
            ROUTE_WALK_RUNS: process.env.ROUTE_WALK_RUNS ?? "",
            ROUTE_WALK_SEED: process.env.ROUTE_WALK_SEED ?? "",
            ...providers.bindings,
          },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      setupFiles: ["./test/setup.ts"],
      globalSetup: ["./test/global-setup.ts"],
      // Vitest runs one file at a time on a 2-core machine by default (cores − 1): most of a file's time is
      // starting its workerd runtime and storage, which overlaps well, so one per core (two here) took the suite from
      // 18.8 to 11.9 minutes here (CI must finish in 30). Every file has its own storage, so none share state.
      maxWorkers: "100%",
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
});
