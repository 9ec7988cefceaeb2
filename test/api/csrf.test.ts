import { describe, expect, it } from "vitest";
import { as, call, env, errorOf, login } from "../helpers";

describe("CSRF protection for cookie sessions", () => {
  it("refuses a cookie mutation without the X-CSRF-Token header and changes nothing", async () => {
    const admin = await login("admin@demo.test");
    const before = await env.DB.prepare("select count(*) n from api_keys").first<{ n: number }>();
    const res = await call("/api/api-keys", {
      method: "POST",
      headers: { cookie: admin.cookie, "content-type": "application/json" },
      body: JSON.stringify({ name: "csrf", kind: "master" }),
    });
    expect(await errorOf(res)).toMatchObject({ status: 403, code: "csrf_failed" });
    const after = await env.DB.prepare("select count(*) n from api_keys").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });

  it("refuses a wrong token and another session's token", async () => {
    const a = await login("admin@demo.test");
    const b = await login("rep1@demo.test");
    expect((await as(a, "POST", "/api/auth/logout", undefined, { "x-csrf-token": "wrong" })).status).toBe(403);
    expect((await as(a, "POST", "/api/auth/logout", undefined, { "x-csrf-token": b.csrf })).status).toBe(403);
    expect((await call("/api/me", { headers: { cookie: a.cookie } })).status).toBe(200);
  });

  it("refuses a cross-site Origin even with the right token", async () => {
    const a = await login("admin@demo.test");
    const res = await as(a, "POST", "/api/api-keys", { name: "x", kind: "standard" }, { origin: "https://evil.example" });
    expect((await errorOf(res)).code).toBe("csrf_failed");
  });

  it("lets safe reads through without a token", async () => {
    const a = await login("admin@demo.test");
    expect((await call("/api/me", { headers: { cookie: a.cookie } })).status).toBe(200);
  });

  it("API-key requests need no CSRF token (no ambient credentials)", async () => {
    const res = await call("/api/me", { method: "GET", headers: { "x-api-key": "demo-master-key" } });
    expect(res.status).toBe(200);
  });
});
