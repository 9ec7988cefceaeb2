import type { Env } from "../env";

const isLocal = (env: Pick<Env, "APP_ENV">) => env.APP_ENV === "local" || env.APP_ENV === "test";

/**
 * The app secret (signs unsubscribe tokens, seals mailbox passwords). Locally `npm start` writes a
 * random one to .dev.vars; in production a missing secret is an error, never a silent default.
 */
export function appSecret(env: Env): string {
  if (env.APP_SECRET) return env.APP_SECRET;
  if (isLocal(env)) return "local-development-secret";
  throw new Error("APP_SECRET is not set: run `wrangler secret put APP_SECRET`");
}

/**
 * The app's public base URL: unsubscribe links in emails and OAuth redirect URLs. Locally the dev
 * server's address; in production an https PUBLIC_URL is required, like APP_SECRET: without one every
 * email's unsubscribe link would point at localhost (nobody could opt out, and Gmail and Yahoo take
 * one-click unsubscribe only over https), so nothing is composed or redirected without it.
 */
export function publicUrl(env: Pick<Env, "PUBLIC_URL" | "APP_ENV">): string {
  const url = env.PUBLIC_URL?.replace(/\/+$/, "");
  if (isLocal(env)) return url || "http://localhost:8787";
  if (!url?.startsWith("https://"))
    throw new Error(
      "PUBLIC_URL is not the app's https:// address: emails can't carry a working unsubscribe link (deploy with PUBLIC_URL=https://…)",
    );
  return url;
}
