import { describe, expect, it } from "vitest";
import { advanceClock, resetClock, setClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { as, env, errorOf, login } from "../helpers";

const keysNamed = async (name: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE name = ?").bind(name).first<{ n: number }>())!.n;

describe("Idempotency-Key", () => {
  it("two requests sent at once with one key do the work once: the other is told it is in progress", async () => {
    const admin = await login("admin@demo.test");
    const key = `k-${newId()}`;
    const req = { name: "CRM sync (at once)", kind: "master" };
    const [a, b] = await Promise.all([
      as(admin, "POST", "/api/api-keys", req, { "idempotency-key": key }),
      as(admin, "POST", "/api/api-keys", req, { "idempotency-key": key }),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const loser = a.status === 409 ? a : b;
    expect((await errorOf(loser)).message).toMatch(/still being processed/);
    // One key exists, and it is the one the winner showed.
    expect(await keysNamed(req.name)).toBe(1);
    // Once done, the key answers as a finished secret answer: 409 without the key, nothing new made.
    const again = await as(admin, "POST", "/api/api-keys", req, { "idempotency-key": key });
    expect((await errorOf(again)).message).toMatch(/shown only once/);
    expect(await keysNamed(req.name)).toBe(1);
  });

  it("a failed request gives its key back, and a claim left by a request that died is taken over after 30 seconds", async () => {
    const admin = await login("admin@demo.test");
    const key = `k-${newId()}`;
    // A 422 is not stored: the same key with a fixed body goes through.
    const bad = await as(admin, "POST", "/api/api-keys", { name: "", kind: "master" }, { "idempotency-key": key });
    expect(bad.status).toBe(422);
    const fixed = await as(admin, "POST", "/api/api-keys", { name: "fixed", kind: "master" }, { "idempotency-key": key });
    expect(fixed.status).toBe(201);

    // A claim as a request that died mid-handler leaves it.
    const other = `k-${newId()}`;
    const req = { name: "after a crash", kind: "standard" };
    const first = await as(admin, "POST", "/api/api-keys", req, { "idempotency-key": other });
    expect(first.status).toBe(201);
    await env.DB.prepare("UPDATE idempotency_keys SET status = 0, body = NULL WHERE key = ?").bind(other).run();
    const t0 = Date.now();
    setClock(t0);
    try {
      await env.DB.prepare("UPDATE idempotency_keys SET created_at = ? WHERE key = ?").bind(t0, other).run();
      advanceClock(29_000);
      const busy = await as(admin, "POST", "/api/api-keys", req, { "idempotency-key": other });
      expect(busy.status).toBe(409);
      expect(busy.headers.get("retry-after")).toBe("30");
      advanceClock(1_001);
      expect((await as(admin, "POST", "/api/api-keys", req, { "idempotency-key": other })).status).toBe(201);
    } finally {
      resetClock();
    }
  });

  it("a replayed sign-out still signs this session out", async () => {
    const key = `logout-${newId()}`;
    const first = await login("rep1@demo.test");
    expect((await as(first, "POST", "/api/auth/logout", undefined, { "idempotency-key": key })).status).toBe(200);
    const second = await login("rep1@demo.test");
    const out = await as(second, "POST", "/api/auth/logout", undefined, { "idempotency-key": key });
    expect(out.status).toBe(200);
    expect(out.headers.get("idempotent-replayed")).toBeNull();
    expect((await as(second, "GET", "/api/me")).status).toBe(401);
  });

  it("a password change with a key stores nothing about its body (a fast hash of two passwords)", async () => {
    const key = `pw-${newId()}`;
    const rep = await login("rep2@demo.test");
    const res = await as(
      rep,
      "POST",
      "/api/me/password",
      { current_password: "not it", new_password: "whatever-123" },
      { "idempotency-key": key },
    );
    expect(res.status).toBe(422);
    const ok = await as(
      rep,
      "POST",
      "/api/me/password",
      { current_password: "demo1234", new_password: "demo1234" },
      { "idempotency-key": key },
    );
    expect(ok.status).toBe(200);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM idempotency_keys WHERE key = ?").bind(key).first()).toEqual({ n: 0 });
  });

  it("the marker of a secret answer never reaches the client, and API answers are not cached", async () => {
    const admin = await login("admin@demo.test");
    const created = await as(admin, "POST", "/api/api-keys", { name: "no marker", kind: "standard" });
    expect(created.status).toBe(201);
    expect(created.headers.get("x-seqflare-secret-answer")).toBeNull();
    expect(created.headers.get("cache-control")).toBe("no-store");
    expect((await as(admin, "GET", "/api/me")).headers.get("cache-control")).toBe("no-store");
  });
});
