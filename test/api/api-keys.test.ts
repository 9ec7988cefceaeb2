import { describe, expect, it } from "vitest";
import { advanceClock, resetClock, setClock } from "../../worker/lib/clock";
import { sha256Hex } from "../../worker/lib/crypto";
import { as, call, client, env, errorOf, login, ok } from "../helpers";

const byKey = (key: string) => client({ apiKey: key }).api;

describe("API keys", () => {
  it("an admin creates a key that is shown once and stored only as a hash", async () => {
    const admin = await login("admin@demo.test");
    const api = client(admin).api;
    const body = await ok(api["api-keys"].$post({ json: { name: "Zapier", kind: "standard" } }), 201);
    expect(body.key).toMatch(/^sf_s_/);
    expect(body.api_key).toMatchObject({ name: "Zapier", kind: "standard", revoked_at: null });
    expect(body.api_key).not.toHaveProperty("key");

    const row = await env.DB.prepare("select key_hash, team_id from api_keys where id = ?")
      .bind(body.api_key.id)
      .first<{ key_hash: string; team_id: string }>();
    expect(row!.key_hash).toBe(await sha256Hex(body.key));
    expect(row!.team_id).toBe(admin.teamId);

    const list = await ok(api["api-keys"].$get());
    const listed = list.api_keys.find((k) => k.id === body.api_key.id);
    expect(listed!.prefix).toBe(body.key.slice(0, 9));
    // Whose rights the key carries: its creator's, by name, in the list and in the answers about it.
    const me = (await env.DB.prepare("select name from users where id = ?").bind(admin.userId).first<{ name: string }>())!.name;
    expect(listed!.created_by).toEqual({ id: admin.userId, name: me });
    expect(body.api_key.created_by).toEqual({ id: admin.userId, name: me });
    expect(JSON.stringify(list)).not.toContain(body.key);

    const audit = await env.DB.prepare("select action from audit_log where target_id = ?")
      .bind(body.api_key.id)
      .first<{ action: string }>();
    expect(audit!.action).toBe("api_key.create");
  });

  it("a new key authenticates until it is revoked", async () => {
    const admin = await login("admin@demo.test");
    const api = client(admin).api;
    const { key, api_key } = await ok(api["api-keys"].$post({ json: { name: "Script", kind: "master" } }), 201);
    expect((await ok(byKey(key).me.$get())).via).toBe("api_key");

    const rev = await api["api-keys"][":id"].$delete({ param: { id: api_key.id } });
    expect(rev.status).toBe(200);
    const row = await env.DB.prepare("select revoked_at from api_keys where id = ?")
      .bind(api_key.id)
      .first<{ revoked_at: number | null }>();
    expect(row!.revoked_at).toBeGreaterThan(0);
    expect(await errorOf(await byKey(key).me.$get())).toMatchObject({ status: 401, code: "unauthenticated" });
    // revoking twice: already gone
    expect((await api["api-keys"][":id"].$delete({ param: { id: api_key.id } })).status).toBe(404);
  });

  it("members can't manage keys", async () => {
    const api = client(await login("rep1@demo.test")).api;
    expect(await errorOf(await api["api-keys"].$get())).toMatchObject({ status: 403, code: "forbidden" });
    expect((await api["api-keys"].$post({ json: { name: "x", kind: "master" } })).status).toBe(403);
  });

  it("API keys can't manage API keys, even master ones", async () => {
    expect((await byKey("demo-master-key")["api-keys"].$post({ json: { name: "x", kind: "master" } })).status).toBe(403);
  });

  it("a standard key is refused on master-only endpoints (Apollo's users/search); a master key passes", async () => {
    expect(await errorOf(await call("/apollo/v1/users/search", { headers: { "x-api-key": "demo-standard-key" } }))).toMatchObject({
      status: 403,
      code: "master_key_required",
    });
    expect((await call("/apollo/v1/users/search", { headers: { "x-api-key": "demo-master-key" } })).status).toBe(200);
    // Both kinds list the team's users (user ids for owner_id and sharing), as the permission table says.
    const { users } = await ok(byKey("demo-standard-key").users.$get({ query: {} }));
    expect(users.map((u) => u.email).sort()).toEqual(["admin@demo.test", "rep1@demo.test", "rep2@demo.test"]);
    // both kinds read contacts
    expect((await byKey("demo-standard-key").contacts.$get({ query: {} })).status).toBe(200);
  });

  it("GET /api/me says the role a key acts with: an admin's standard key acts as a member", async () => {
    const me = async (key: string) =>
      (await (await call("/api/me", { headers: { "x-api-key": key } })).json()) as { user: { role: string } };
    expect((await me("demo-standard-key")).user.role).toBe("member");
    expect((await me("demo-master-key")).user.role).toBe("admin");
  });

  it("accepts the key as an api_key query parameter, as Apollo does", async () => {
    // A raw path on purpose: the parameter is Apollo's, not part of any route's schema.
    expect((await call("/api/me?api_key=demo-standard-key")).status).toBe(200);
  });

  it("an unknown key answers 401", async () => {
    expect(await errorOf(await byKey("nope").me.$get())).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("another team's key id answers 404", async () => {
    const rival = await login("admin@rival.test");
    const demoKey = await env.DB.prepare("select id from api_keys where team_id = ? limit 1")
      .bind((await login("admin@demo.test")).teamId)
      .first<{ id: string }>();
    expect((await client(rival).api["api-keys"][":id"].$delete({ param: { id: demoKey!.id } })).status).toBe(404);
    const still = await env.DB.prepare("select revoked_at from api_keys where id = ?")
      .bind(demoKey!.id)
      .first<{ revoked_at: number | null }>();
    expect(still!.revoked_at).toBeNull();
  });

  it("a key's last use is written at most once a minute, not on every request", async () => {
    const admin = await login("admin@demo.test");
    const { key, api_key } = await ok(client(admin).api["api-keys"].$post({ json: { name: "Busy script", kind: "standard" } }), 201);
    const lastUsed = async () =>
      (await env.DB.prepare("select last_used_at v from api_keys where id = ?").bind(api_key.id).first<{ v: number | null }>())!.v;
    const settled = async (pred: (v: number | null) => boolean) => {
      for (let i = 0; i < 50 && !pred(await lastUsed()); i++) await new Promise((r) => setTimeout(r, 20));
      return lastUsed();
    };
    setClock(Date.UTC(2026, 10, 2, 9, 0, 0));
    try {
      expect((await byKey(key).me.$get()).status).toBe(200);
      const first = await settled((v) => v !== null);
      expect(first).toBe(Date.UTC(2026, 10, 2, 9, 0, 0));
      advanceClock(20_000);
      for (let i = 0; i < 3; i++) expect((await byKey(key).me.$get()).status).toBe(200);
      expect(await settled((v) => v !== first)).toBe(first);
      advanceClock(60_000);
      expect((await byKey(key).me.$get()).status).toBe(200);
      expect(await settled((v) => v !== first)).toBe(Date.UTC(2026, 10, 2, 9, 1, 20));
    } finally {
      resetClock();
    }
  });

  it("a signed-out session and a revoked key are refused on the very next request after requests that used them", async () => {
    const admin = await login("admin@demo.test");
    const s = await login("rep2@demo.test");
    const { key, api_key } = await ok(client(admin).api["api-keys"].$post({ json: { name: "Short-lived", kind: "master" } }), 201);
    for (let i = 0; i < 2; i++) {
      expect((await call("/api/me", { headers: { cookie: s.cookie } })).status).toBe(200);
      expect((await byKey(key).me.$get()).status).toBe(200);
    }
    expect((await as(s, "POST", "/api/auth/logout")).status).toBe(200);
    expect((await call("/api/me", { headers: { cookie: s.cookie } })).status).toBe(401);
    expect((await client(admin).api["api-keys"][":id"].$delete({ param: { id: api_key.id } })).status).toBe(200);
    expect(await errorOf(await byKey(key).me.$get())).toMatchObject({ status: 401, code: "unauthenticated" });
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
