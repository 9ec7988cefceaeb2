import { applyD1Migrations, env } from "cloudflare:test";
import { installD1Tally } from "./d1-tally";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
if ((env as unknown as { BENCH_D1?: string }).BENCH_D1) installD1Tally(env.DB);
