import type { Env } from "../env";

/**
 * The app secret (signs unsubscribe tokens, seals mailbox passwords). Locally `npm start` writes a
 * random one to .dev.vars; in production a missing secret is an error, never a silent default.
 */
export function appSecret(env: Env): string {
  if (env.APP_SECRET) return env.APP_SECRET;
  if (env.APP_ENV === "local" || env.APP_ENV === "test") return "local-development-secret";
  throw new Error("APP_SECRET is not set: run `wrangler secret put APP_SECRET`");
}
