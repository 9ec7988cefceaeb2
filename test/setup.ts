import { applyD1Migrations, env } from "cloudflare:test";
import { resolver } from "../worker/lib/private-host";
import { seedDemo } from "../worker/seed/demo";

/** Small but complete demo workspace: same code path as `npm start`, fewer people. */
export const TEST_SEED = { people: 2_000, contacts: 300, rivalContacts: 40 };

/**
 * The tests have no network: every host name resolves to one public documentation address (TEST-NET-3), so
 * webhook receivers pass their DNS check. test/api/webhooks-out-dns.test.ts answers otherwise for its names.
 */
resolver.resolve = async () => ["203.0.113.10"];

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await seedDemo(env.DB, TEST_SEED);
