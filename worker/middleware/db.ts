import type { MiddlewareHandler } from "hono";
import { db } from "../db/client";
import type { AppEnv } from "../env";

/**
 * One drizzle handle per request, as `c.var.db`: handlers and the resource modules they call take it
 * instead of wrapping `c.env.DB` again in every handler.
 */
export const provideDb: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("db", db(c.env.DB));
  await next();
};
