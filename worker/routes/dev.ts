import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { engine } from "../../durable-objects/engine";
import { FULL_SEED, SEEDED_SEQUENCES, seedDemo } from "../seed/demo";
import { seedInbound } from "../seed/inbound";

/** Local development only: `npm start` calls this once the Worker is up. Production answers 404. */
export const devRoutes = new Hono<AppEnv>().post("/dev/seed", async (c) => {
  if (c.env.APP_ENV !== "local") throw new ApiError("not_found", `No route for POST ${c.req.path}`);
  const result = await seedDemo(c.env.DB, FULL_SEED);
  // The seeded enrollments live in D1; their SequenceDOs take them over (idempotent) and start sending.
  for (const [sequenceId, teamId] of SEEDED_SEQUENCES) await engine.sequence(c.env, sequenceId, teamId).activate();
  // The replies inbox's examples go through the real inbound path, so they need the engine running (idempotent).
  return c.json({ ...result, inbound: await seedInbound(c.env) });
});
