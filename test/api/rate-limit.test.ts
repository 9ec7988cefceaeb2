import { describe, expect, it } from "vitest";
import { advanceClock, setClock, resetClock } from "../../worker/lib/clock";
import { as, client, env, errorOf, login, ok, withKey } from "../helpers";

async function newKey(kind: "master" | "standard") {
  const admin = await login("admin@demo.test");
  return (await ok(client(admin).api["api-keys"].$post({ json: { name: `rl-${crypto.randomUUID()}`, kind } }), 201)).key;
}

describe("API rate limits", () => {
  it("counts every request of a key exactly, with Apollo's headers, and answers 429 with retry-after past the minute limit", async () => {
    setClock(Date.UTC(2027, 5, 1, 12, 0, 5));
    const key = await newKey("standard");
    const first = await withKey(key, "GET", "/api/me");
    expect(first.headers.get("x-rate-limit-minute")).toBe("200");
    expect(first.headers.get("x-minute-usage")).toBe("1");
    expect(first.headers.get("x-minute-requests-left")).toBe("199");
    expect(first.headers.get("x-rate-limit-hourly")).toBe("2000");
    expect(first.headers.get("x-hourly-requests-left")).toBe("1999");
    expect(first.headers.get("x-rate-limit-24-hour")).toBe("20000");
    expect(first.headers.get("x-24-hour-requests-left")).toBe("19999");
    const results = await Promise.all(Array.from({ length: 199 }, () => withKey(key, "GET", "/api/me")));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const lefts = results.map((r) => Number(r.headers.get("x-minute-requests-left"))).sort((a, b) => a - b);
    expect(lefts).toEqual(Array.from({ length: 199 }, (_, i) => i)); // exact: no two requests saw the same count
    const over = await withKey(key, "GET", "/api/me");
    const err = await errorOf(over);
    expect(err).toMatchObject({ status: 429, code: "rate_limited" });
    expect(Number(over.headers.get("retry-after"))).toBe(55);
    expect(over.headers.get("x-minute-requests-left")).toBe("0");
    // another key is not affected; the next minute the key works again
    expect((await withKey(await newKey("standard"), "GET", "/api/me")).status).toBe(200);
    advanceClock(60_000);
    const again = await withKey(key, "GET", "/api/me");
    expect(again.status).toBe(200);
    expect(again.headers.get("x-hourly-usage")).toBe("201");
    resetClock();
  });

  it("master keys have the higher limits; browser sessions are not metered", async () => {
    resetClock();
    const key = await newKey("master");
    expect((await withKey(key, "GET", "/api/me")).headers.get("x-rate-limit-minute")).toBe("600");
    const s = await login("rep1@demo.test");
    expect((await as(s, "GET", "/api/me")).headers.get("x-rate-limit-minute")).toBeNull();
  });
});

describe("Idempotency-Key", () => {
  it("replays the stored answer for the same request and refuses the key with another body", async () => {
    const s = await login("admin@demo.test");
    const key = `idem-${crypto.randomUUID()}`;
    const name = `Idem ${crypto.randomUUID()}`;
    const a = await as(s, "POST", "/api/sequences", { name }, { "idempotency-key": key });
    const b = await as(s, "POST", "/api/sequences", { name }, { "idempotency-key": key });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    const idOf = async (r: Response) => ((await r.json()) as { sequence: { id: string } }).sequence.id;
    expect(await idOf(b)).toBe(await idOf(a));
    const n = await env.DB.prepare("SELECT count(*) n FROM sequences WHERE name = ?").bind(name).first<{ n: number }>();
    expect(n!.n).toBe(1);
    const c = await errorOf(await as(s, "POST", "/api/sequences", { name: `${name} 2` }, { "idempotency-key": key }));
    expect(c).toMatchObject({ status: 422, code: "idempotency_key_reused" });
  });

  it("does not store failures: a retry after a 422 runs again", async () => {
    const s = await login("admin@demo.test");
    const key = `idem-${crypto.randomUUID()}`;
    expect((await as(s, "POST", "/api/sequences", { name: "" }, { "idempotency-key": key })).status).toBe(422);
    expect((await as(s, "POST", "/api/sequences", { name: "" }, { "idempotency-key": key })).headers.get("idempotent-replayed")).toBeNull();
  });
});
