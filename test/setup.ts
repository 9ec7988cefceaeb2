import { applyD1Migrations, env } from "cloudflare:test";
import { seedDemo } from "../worker/seed/demo";

/** Small but complete demo workspace: same code path as `npm start`, fewer people. */
export const TEST_SEED = { people: 2_000, contacts: 300, rivalContacts: 40 };

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await seedDemo(env.DB, TEST_SEED);
