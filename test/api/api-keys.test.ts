import { describe, expect, it } from "vitest";
import { advanceClock, resetClock, setClock } from "../../worker/lib/clock";
import { sha256Hex } from "../../worker/lib/crypto";
import { as, call, env, errorOf, login, withKey } from "../helpers";

describe("API keys", () => {
  it("an admin creates a key that is shown once and stored only as a hash", async () => {
    const admin = await login("admin@demo.test");
    const res = await as(admin, "POST", "/api/api-keys", { name: "Zapier", kind: "standard" });
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    expect(body.key).toMatch(/^sf_s_/);
    expect(body.api_key).toMatchObject({ name: "Zapier", kind: "standard", revoked_at: null });
    expect(body.api_key).not.toHaveProperty("key");

    const row = await env.DB.prepare("select key_hash, team_id from api_keys where id = ?").bind(body.api_key.id).first<any>();
    expect(row.key_hash).toBe(await sha256Hex(body.key));
    expect(row.team_id).toBe(admin.teamId);

    const list = (await (await as(admin, "GET", "/api/api-keys")).json()) as any;
    const listed = list.api_keys.find((k: any) => k.id === body.api_key.id);
    expect(listed.prefix).toBe(body.key.slice(0, 9));
    expect(JSON.stringify(list)).not.toContain(body.key);

    const audit = await env.DB.prepare("select action from audit_log where target_id = ?").bind(body.api_key.id).first<any>();
    expect(audit.action).toBe("api_key.create");
  });

  it("a new key authenticates until it is revoked", async () => {
    const admin = await login("admin@demo.test");
    const { key, api_key } = (await (await as(admin, "POST", "/api/api-keys", { name: "Script", kind: "master" })).json()) as any;
    const me = await withKey(key, "GET", "/api/me");
    expect(me.status).toBe(200);
    expect(((await me.json()) as any).via).toBe("api_key");

    const rev = await as(admin, "DELETE", `/api/api-keys/${api_key.id}`);
    expect(rev.status).toBe(200);
    const row = await env.DB.prepare("select revoked_at from api_keys where id = ?").bind(api_key.id).first<any>();
    expect(row.revoked_at).toBeGreaterThan(0);
    expect(await errorOf(await withKey(key, "GET", "/api/me"))).toMatchObject({ status: 401, code: "unauthenticated" });
    // revoking twice: already gone
    expect((await as(admin, "DELETE", `/api/api-keys/${api_key.id}`)).status).toBe(404);
  });

  it("members can't manage keys", async () => {
    const rep = await login("rep1@demo.test");
    expect(await errorOf(await as(rep, "GET", "/api/api-keys"))).toMatchObject({ status: 403, code: "forbidden" });
    expect((await as(rep, "POST", "/api/api-keys", { name: "x", kind: "master" })).status).toBe(403);
  });

  it("API keys can't manage API keys, even master ones", async () => {
    expect((await withKey("demo-master-key", "POST", "/api/api-keys", { name: "x", kind: "master" })).status).toBe(403);
  });

  it("a standard key is refused on master-only endpoints; a master key passes", async () => {
    expect(await errorOf(await withKey("demo-standard-key", "GET", "/api/users"))).toMatchObject({
      status: 403,
      code: "master_key_required",
    });
    const ok = await withKey("demo-master-key", "GET", "/api/users");
    expect(ok.status).toBe(200);
    const users = ((await ok.json()) as any).users.map((u: any) => u.email).sort();
    expect(users).toEqual(["admin@demo.test", "rep1@demo.test", "rep2@demo.test"]);
    // both kinds read contacts
    expect((await withKey("demo-standard-key", "GET", "/api/contacts")).status).toBe(200);
  });

  it("accepts the key as an api_key query parameter, as Apollo does", async () => {
    expect((await call("/api/me?api_key=demo-standard-key")).status).toBe(200);
  });

  it("an unknown key answers 401", async () => {
    expect(await errorOf(await withKey("nope", "GET", "/api/me"))).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("another team's key id answers 404", async () => {
    const rival = await login("admin@rival.test");
    const demoKey = await env.DB.prepare("select id from api_keys where team_id = ? limit 1")
      .bind((await login("admin@demo.test")).teamId)
      .first<any>();
    expect((await as(rival, "DELETE", `/api/api-keys/${demoKey.id}`)).status).toBe(404);
    const still = await env.DB.prepare("select revoked_at from api_keys where id = ?").bind(demoKey.id).first<any>();
    expect(still.revoked_at).toBeNull();
  });

  it("a key's last use is written at most once a minute, not on every request", async () => {
    const admin = await login("admin@demo.test");
    const { key, api_key } = (await (await as(admin, "POST", "/api/api-keys", { name: "Busy script", kind: "standard" })).json()) as any;
    const lastUsed = async () =>
      (await env.DB.prepare("select last_used_at v from api_keys where id = ?").bind(api_key.id).first<{ v: number | null }>())!.v;
    const settled = async (pred: (v: number | null) => boolean) => {
      for (let i = 0; i < 50 && !pred(await lastUsed()); i++) await new Promise((r) => setTimeout(r, 20));
      return lastUsed();
    };
    setClock(Date.UTC(2026, 10, 2, 9, 0, 0));
    try {
      expect((await withKey(key, "GET", "/api/me")).status).toBe(200);
      const first = await settled((v) => v !== null);
      expect(first).toBe(Date.UTC(2026, 10, 2, 9, 0, 0));
      advanceClock(20_000);
      for (let i = 0; i < 3; i++) expect((await withKey(key, "GET", "/api/me")).status).toBe(200);
      expect(await settled((v) => v !== first)).toBe(first);
      advanceClock(60_000);
      expect((await withKey(key, "GET", "/api/me")).status).toBe(200);
      expect(await settled((v) => v !== first)).toBe(Date.UTC(2026, 10, 2, 9, 1, 20));
    } finally {
      resetClock();
    }
  });

  it("a signed-out session and a revoked key are refused at once, though sign-ins are remembered briefly", async () => {
    const admin = await login("admin@demo.test");
    const s = await login("rep2@demo.test");
    const { key, api_key } = (await (await as(admin, "POST", "/api/api-keys", { name: "Short-lived", kind: "master" })).json()) as any;
    for (let i = 0; i < 2; i++) {
      expect((await call("/api/me", { headers: { cookie: s.cookie } })).status).toBe(200);
      expect((await withKey(key, "GET", "/api/me")).status).toBe(200);
    }
    expect((await as(s, "POST", "/api/auth/logout")).status).toBe(200);
    expect((await call("/api/me", { headers: { cookie: s.cookie } })).status).toBe(401);
    expect((await as(admin, "DELETE", `/api/api-keys/${api_key.id}`)).status).toBe(200);
    expect(await errorOf(await withKey(key, "GET", "/api/me"))).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("a session past its expiry is refused even right after a request that used it", async () => {
    const s = await login("rep1@demo.test");
    expect((await call("/api/me", { headers: { cookie: s.cookie } })).status).toBe(200);
    const { expires_at } = (await env.DB.prepare("select expires_at from sessions order by created_at desc limit 1").first<{
      expires_at: number;
    }>())!;
    setClock(expires_at + 1);
    try {
      expect((await call("/api/me", { headers: { cookie: s.cookie } })).status).toBe(401);
    } finally {
      resetClock();
    }
  });
});
