import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { now } from "../lib/clock";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";

/**
 * `Idempotency-Key` on POST: the first successful answer is stored per (team, key); the same key
 * with the same request gets that answer again (header `idempotent-replayed: true`), the same key
 * with another request is refused with 422. Failed answers are not stored, so a retry runs again.
 */
export const idempotency = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (c.req.method !== "POST" || !key) return next();
  if (key.length > 200) throw new ApiError("validation_failed", "Idempotency-Key is too long", { fields: [{ field: "Idempotency-Key", message: "At most 200 characters" }] });
  const teamId = c.get("caller").teamId;
  const hash = await sha256Hex(`${c.req.method} ${new URL(c.req.url).pathname}?${new URL(c.req.url).searchParams} ${await c.req.text()}`);
  const stored = await c.env.DB.prepare("SELECT request_hash, status, body FROM idempotency_keys WHERE team_id = ? AND key = ?").bind(teamId, key).first<{ request_hash: string; status: number; body: string }>();
  if (stored) {
    if (stored.request_hash !== hash) throw new ApiError("idempotency_key_reused", "This Idempotency-Key was used with a different request", { idempotency_key: key });
    return new Response(stored.body, { status: stored.status, headers: { "content-type": "application/json", "idempotent-replayed": "true" } });
  }
  await next();
  if (c.res.status >= 200 && c.res.status < 300 && (c.res.headers.get("content-type") ?? "").includes("json")) {
    const body = await c.res.clone().text();
    await c.env.DB.prepare("INSERT OR IGNORE INTO idempotency_keys (team_id, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .bind(teamId, key, hash, c.res.status, body, now()).run();
  }
});
