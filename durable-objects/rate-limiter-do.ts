import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env";
import { now } from "../worker/lib/clock";

export interface RateWindow {
  name: "minute" | "hourly" | "24_hour";
  limit: number;
  used: number;
  left: number;
  resetAt: number;
}

const SPANS = { minute: 60_000, hourly: 3_600_000, "24_hour": 86_400_000 } as const;

/**
 * RateLimiterDO — one per API key. Exact counts (one object sees every request of its key, wherever
 * it enters Cloudflare) over fixed minute, hour and day windows, like Apollo's limits.
 * A request refused by one window is not counted in any.
 */
export class RateLimiterDO extends DurableObject<Env> {
  async hit(limits: {
    minute: number;
    hourly: number;
    "24_hour": number;
  }): Promise<{ allowed: boolean; windows: RateWindow[]; retryAfter: number }> {
    const t = now();
    const windows: RateWindow[] = [];
    let allowed = true;
    let retryAfter = 0;
    const keys: [string, number][] = [];
    for (const name of ["minute", "hourly", "24_hour"] as const) {
      const span = SPANS[name];
      const bucket = Math.floor(t / span);
      const key = `${name}:${bucket}`;
      const used = (await this.ctx.storage.get<number>(key)) ?? 0;
      const resetAt = (bucket + 1) * span;
      if (used >= limits[name]) {
        allowed = false;
        retryAfter = Math.max(retryAfter, Math.ceil((resetAt - t) / 1000));
      }
      keys.push([key, used]);
      windows.push({ name, limit: limits[name], used, left: Math.max(0, limits[name] - used), resetAt });
    }
    if (allowed) {
      const puts: Record<string, number> = {};
      keys.forEach(([k, used], i) => {
        puts[k] = used + 1;
        windows[i]!.used = used + 1;
        windows[i]!.left = Math.max(0, windows[i]!.limit - used - 1);
      });
      await this.ctx.storage.put(puts);
      // Old buckets are dropped once a day's worth has passed.
      const alarm = await this.ctx.storage.getAlarm();
      if (alarm === null) await this.ctx.storage.setAlarm(t + SPANS["24_hour"] * 2);
    }
    return { allowed, windows, retryAfter };
  }

  override async alarm(): Promise<void> {
    const t = now();
    const all = await this.ctx.storage.list<number>();
    const stale: string[] = [];
    for (const k of all.keys()) {
      const [name, bucket] = k.split(":") as [keyof typeof SPANS, string];
      if ((Number(bucket) + 1) * SPANS[name] < t) stale.push(k);
    }
    if (stale.length) await this.ctx.storage.delete(stale);
  }
}
