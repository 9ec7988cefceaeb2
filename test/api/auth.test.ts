import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { advanceClock } from "../../worker/lib/clock";
import { DEMO } from "../../worker/seed/demo";
import { as, call, client, env, errorOf, fieldsOf, login, ok } from "../helpers";

const post = (body: unknown, ip = "203.0.113.9") =>
  call("/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": ip },
    body: JSON.stringify(body),
  });

describe("sign-in", () => {
  it("sets an HttpOnly, SameSite=Lax session cookie and returns the user, team and CSRF token", async () => {
    const res = await post({ email: "admin@demo.test", password: "demo1234" });
    expect(res.status).toBe(200);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^sf_session=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/); // plain http in tests; https adds Secure
    const body = (await res.json()) as { user: unknown; team: unknown; csrf_token: string };
    expect(body.user).toMatchObject({ email: "admin@demo.test", role: "admin" });
    expect(body.team).toMatchObject({ name: "Demo" });
    expect(body.csrf_token).toMatch(/^[\w-]{20,}$/);
  });

  it("marks the cookie Secure on https", async () => {
    const r = await exports.default.fetch(
      new Request("https://seqflare.test/api/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "rep1@demo.test", password: "demo1234" }),
      }),
    );
    expect(r.status).toBe(200);
    expect(r.headers.get("set-cookie")).toMatch(/Secure/);
  });

  it("signs in each demo user with the demo password", async () => {
    for (const email of ["admin@demo.test", "rep1@demo.test", "rep2@demo.test", "admin@rival.test"]) {
      const s = await login(email);
      const me = await ok(client(s).api.me.$get());
      expect(me.user.email).toBe(email);
      expect(me.team.name).toBe(email.endsWith("rival.test") ? "Rival" : "Demo");
    }
  });

  it("refuses a wrong password with invalid_credentials and stores no session", async () => {
    const before = await env.DB.prepare("select count(*) n from sessions").first<{ n: number }>();
    const res = await post({ email: "rep2@demo.test", password: "wrong" }, "198.51.100.1");
    expect(await errorOf(res)).toMatchObject({ status: 401, code: "invalid_credentials" });
    const after = await env.DB.prepare("select count(*) n from sessions").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });

  it("answers an unknown email exactly like a wrong password", async () => {
    const res = await post({ email: "nobody@demo.test", password: "demo1234" }, "198.51.100.2");
    expect(await errorOf(res)).toMatchObject({ status: 401, code: "invalid_credentials", message: "Email or password is incorrect" });
  });

  it("stores passwords as PBKDF2-SHA256 hashes with their parameters", async () => {
    const row = await env.DB.prepare("select password_hash from users where id = ?").bind(DEMO.admin).first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(row!.password_hash).not.toContain("demo1234");
  });

  it("rate-limits repeated failures for one address with 429 and retry-after", async () => {
    for (let i = 0; i < 5; i++) {
      expect((await post({ email: "rep1@demo.test", password: `bad${i}` }, `192.0.2.${i}`)).status).toBe(401);
    }
    const res = await post({ email: "rep1@demo.test", password: "demo1234" }, "192.0.2.99");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("900");
    expect((await errorOf(res)).code).toBe("rate_limited");
    // another user is not affected
    expect((await post({ email: "rep2@demo.test", password: "demo1234" }, "192.0.2.98")).status).toBe(200);
    // and the window passes
    advanceClock(16 * 60 * 1000);
    expect((await post({ email: "rep1@demo.test", password: "demo1234" }, "192.0.2.99")).status).toBe(200);
  });

  it("failures from strangers don't lock a user out of the IP they signed in from lately; that IP's own failures still do", async () => {
    const email = "rep2@demo.test";
    const home = "203.0.113.7";
    expect((await post({ email, password: "demo1234" }, home)).status).toBe(200);
    advanceClock(60_000);
    for (let i = 0; i < 5; i++) expect((await post({ email, password: `guess${i}` }, `198.18.0.${i}`)).status).toBe(401);
    // Another stranger is refused (the address's cap), the user at home is not.
    expect((await post({ email, password: "demo1234" }, "198.18.0.99")).status).toBe(429);
    expect((await post({ email, password: "demo1234" }, home)).status).toBe(200);
    // Guessing from the known IP itself is still capped at five.
    for (let i = 0; i < 5; i++) expect((await post({ email, password: `home${i}` }, home)).status).toBe(401);
    expect((await post({ email, password: "demo1234" }, home)).status).toBe(429);
    advanceClock(16 * 60 * 1000);
  });

  it("counts guesses sent at once: of 12 parallel guesses for one address, 5 are checked and 7 refused", async () => {
    const email = `burst-${crypto.randomUUID().slice(0, 8)}@demo.test`;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post({ email, password: `burst${i}` }, `198.51.100.${i}`)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    const failures = await env.DB.prepare("SELECT count(*) AS n FROM login_attempts WHERE email = ? AND success = 0")
      .bind(email)
      .first<{ n: number }>();
    expect(failures!.n).toBe(5);
  });

  it("names the invalid fields in a 422", async () => {
    const err = await errorOf(await post({ email: "not-an-email" }));
    expect(err.status).toBe(422);
    expect(err.code).toBe("validation_failed");
    expect(
      fieldsOf(err)
        .map((f) => f.field)
        .sort(),
    ).toEqual(["email", "password"]);
  });
});

describe("sessions", () => {
  it("GET /api/me answers 401 without a session or key", async () => {
    expect(await errorOf(await call("/api/me"))).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("a forged cookie is refused", async () => {
    const res = await call("/api/me", { headers: { cookie: "sf_session=forged-token" } });
    expect(res.status).toBe(401);
  });

  it("logout ends the session server-side", async () => {
    const s = await login("rep2@demo.test");
    expect((await call("/api/me", { headers: { cookie: s.cookie } })).status).toBe(200);
    const out = await as(s, "POST", "/api/auth/logout");
    expect(out.status).toBe(200);
    expect(out.headers.get("set-cookie")).toMatch(/sf_session=;/);
    expect((await call("/api/me", { headers: { cookie: s.cookie } })).status).toBe(401);
  });

  it("stores only a hash of the session token", async () => {
    const s = await login("rep1@demo.test");
    const token = s.cookie.split("=")[1]!;
    const raw = await env.DB.prepare("select count(*) n from sessions where id = ?").bind(token).first<{ n: number }>();
    expect(raw!.n).toBe(0);
  });
});
