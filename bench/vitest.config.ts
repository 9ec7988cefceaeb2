import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { dependenciesWithoutMaps } from "../test/fixtures/dependencies-without-maps.mjs";

// Benchmarks run in workerd like the tests, with the same bindings; each prints `bench <name>: <value> <unit>`.
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      // Libraries without source maps (the app keeps its own): test/fixtures/dependencies-without-maps.mjs says why.
      await dependenciesWithoutMaps(),
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            APP_ENV: "test",
            APP_SECRET: "bench-secret",
            TEST_MIGRATIONS: migrations,
            BENCH_SCALE: process.env.BENCH_SCALE ?? "1",
            SENDING_BENCH_SCALE: process.env.SENDING_BENCH_SCALE ?? "",
            // A profile or a perf recording starts a moment after its mark: the bench pauses there (cpuMark).
            BENCH_PROFILING: process.env.BENCH_CPU_PROFILE || (process.env.BENCH_PERF && process.env.BENCH_PERF !== "0") ? "1" : "",
            BENCH_D1: process.env.BENCH_D1 ?? "",
            BENCH_DO_SQL: process.env.BENCH_DO_SQL ?? "",
          },
        },
      }),
    ],
    test: {
      include: [process.env.BENCH_FILE ?? "bench/*.bench.ts"],
      setupFiles: ["./bench/setup.ts"],
      testTimeout: 3_600_000,
      hookTimeout: 600_000,
    },
  };
});
