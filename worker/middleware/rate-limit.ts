import { createMiddleware } from "hono/factory";
import type { AppEnv, Env } from "../env";
import { ApiError } from "../lib/errors";
import { engine } from "../../durable-objects/engine";

type Limits = { minute: number; hourly: number; "24_hour": number };
const DEFAULTS: Record<"master" | "standard", Limits> = {
  master: { minute: 600, hourly: 6000, "24_hour": 60000 },
  standard: { minute: 200, hourly: 2000, "24_hour": 20000 },
};

function limitsFor(env: Env, kind: "master" | "standard"): Limits {
  try {
    return { ...DEFAULTS[kind], ...(env.RATE_LIMITS ? JSON.parse(env.RATE_LIMITS)[kind] : {}) };
  } catch {
    return DEFAULTS[kind];
  }
}

const LABEL = { minute: "minute", hourly: "hourly", "24_hour": "24-hour" } as const;

/**
 * Per-API-key rate limits, counted exactly by one RateLimiterDO per key, with Apollo's headers:
 * x-rate-limit-minute / x-minute-usage / x-minute-requests-left, and the same for hourly and 24-hour.
 * Beyond a limit: 429 `rate_limited` with retry-after. Browser sessions are not metered.
 */
export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const caller = c.get("caller");
  if (caller.via !== "api_key" || !caller.apiKeyId) return next();
  const stub = engine.rateLimiter(c.env, caller.apiKeyId);
  const r = await stub.hit(limitsFor(c.env, caller.apiKeyKind ?? "standard"));
  const headers: Record<string, string> = {};
  for (const w of r.windows) {
    const n = LABEL[w.name];
    headers[`x-rate-limit-${n}`] = String(w.limit);
    headers[`x-${n}-usage`] = String(w.used);
    headers[`x-${n}-requests-left`] = String(w.left);
  }
  if (!r.allowed) {
    const hit = r.windows.find((w) => w.left === 0);
    throw new ApiError(
      "rate_limited",
      `Rate limit reached for this API key (${hit ? LABEL[hit.name] : "window"} limit ${hit?.limit ?? ""}). Retry after ${r.retryAfter} s.`,
      { retry_after: r.retryAfter },
      429,
      { ...headers, "retry-after": String(r.retryAfter) },
    );
  }
  await next();
  for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
});
