import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { FULL_SEED, seedDemo } from "../seed/demo";

/** Local development only: `npm start` calls this once the Worker is up. Production answers 404. */
export const devRoutes = new Hono<AppEnv>().post("/dev/seed", async (c) => {
  if (c.env.APP_ENV !== "local") throw new ApiError("not_found", `No route for POST ${c.req.path}`);
  return c.json(await seedDemo(c.env.DB, FULL_SEED));
});
