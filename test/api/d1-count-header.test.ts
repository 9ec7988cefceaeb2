// `npm run bench:load` reads each route's D1 round trips and rows read from the Server-Timing header
// the app answers when started with D1_COUNT. drizzle runs a select through `raw()`, which answers no
// rows_read: the sequence list (one drizzle select after the caller's) said 0 rows per request.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { countingD1 } from "../../worker/middleware/d1-count";
import { BASE, env, login } from "../helpers";

async function d1Of(path: string, withCount: boolean) {
  const s = await login("admin@demo.test");
  const ctx = createExecutionContext();
  const res = await app.request(`${BASE}${path}`, { headers: { cookie: s.cookie } }, withCount ? { ...env, D1_COUNT: "1" } : env, ctx);
  await res.text();
  await waitOnExecutionContext(ctx);
  expect(res.status).toBe(200);
  return res.headers.get("server-timing");
}

describe("the D1 figures of bench:load", () => {
  it("count the rows of drizzle's selects", async () => {
    const m = /d1;desc="trips=(\d+) rows=(\d+)"/.exec((await d1Of("/api/sequences?per_page=50", true)) ?? "");
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(2);
    // The caller's row and the sequences with their counts: far more than nothing.
    expect(Number(m![2])).toBeGreaterThan(10);
  });

  it("are not answered without D1_COUNT", async () => {
    expect(await d1Of("/api/sequences?per_page=50", false)).toBeNull();
  });

  it("never run a write twice to learn its rows, a WITH that inserts included", async () => {
    await env.DB.prepare("CREATE TABLE IF NOT EXISTS d1_count_probe (n INTEGER)").run();
    await env.DB.prepare("DELETE FROM d1_count_probe").run();
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    await counted.db.prepare("WITH v(n) AS (SELECT 1) INSERT INTO d1_count_probe SELECT n FROM v RETURNING n").raw();
    await counted.db.prepare("INSERT INTO d1_count_probe VALUES (2) RETURNING n").raw();
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM d1_count_probe").first<{ n: number }>())!;
    expect(n).toBe(2);
    expect(counted.count.roundTrips).toBe(2);
  });
});
