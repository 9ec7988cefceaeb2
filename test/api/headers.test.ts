import { describe, expect, it } from "vitest";
import { signUnsubscribeToken } from "../../worker/services/mime";
import { call, env } from "../helpers";

/** The headers every answer carries, whoever produced it (API, Apollo facade, docs, unsubscribe page, SPA). */
function expectSecurityHeaders(res: Response, what: string) {
  const csp = res.headers.get("content-security-policy") ?? "";
  expect(csp, `${what}: Content-Security-Policy`).toMatch(/default-src 'self'|default-src 'none'/);
  expect(csp, `${what}: frame-ancestors`).toContain("frame-ancestors 'none'");
  expect(csp, `${what}: object-src`).toContain("object-src 'none'");
  expect(res.headers.get("x-content-type-options"), `${what}: nosniff`).toBe("nosniff");
  expect(res.headers.get("x-frame-options"), `${what}: X-Frame-Options`).toBe("DENY");
  expect(res.headers.get("referrer-policy"), `${what}: Referrer-Policy`).toBe("strict-origin-when-cross-origin");
}

describe("security headers", () => {
  it("are on API answers, errors included, and on the Apollo facade", async () => {
    expectSecurityHeaders(await call("/api/openapi.json"), "openapi.json");
    expectSecurityHeaders(await call("/api/me"), "401 from /api/me");
    expectSecurityHeaders(await call("/api/no-such-route"), "404 from the API");
    expectSecurityHeaders(await call("/api/me", { headers: { "x-api-key": "demo-master-key" } }), "200 from /api/me");
    expectSecurityHeaders(await call("/apollo/api/v1/email_accounts", { headers: { "x-api-key": "demo-master-key" } }), "Apollo");
  });

  it("are on the docs page, whose one inline script runs only by its nonce", async () => {
    const res = await call("/api/docs");
    expectSecurityHeaders(res, "docs");
    const csp = res.headers.get("content-security-policy")!;
    const html = await res.text();
    const nonce = /<script nonce="([^"]+)">/.exec(html)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain(`'nonce-${nonce}'`);
    expect(csp).not.toContain("'unsafe-inline' 'unsafe-eval'");
    // A fresh nonce per answer.
    const again = /<script nonce="([^"]+)">/.exec(await (await call("/api/docs")).text())?.[1];
    expect(again).not.toBe(nonce);
  });

  it("are on the unsubscribe pages and on the SPA's files", async () => {
    const token = await signUnsubscribeToken(env.APP_SECRET!, { teamId: "t", email: "x@example.test" });
    expectSecurityHeaders(await call(`/unsubscribe/${token}`), "unsubscribe page");
    expectSecurityHeaders(await call("/unsubscribe/damaged"), "unsubscribe 404");
    const spa = await call("/sequences");
    expectSecurityHeaders(spa, "SPA");
  });
});

describe("the OpenAPI document's server", () => {
  it("is the /api base, so 'Try it out' calls /api/<path>", async () => {
    const doc = (await (await call("/api/openapi.json")).json()) as { servers: { url: string }[]; paths: Record<string, unknown> };
    expect(doc.servers).toEqual([{ url: "http://seqflare.test/api" }]);
    expect(Object.keys(doc.paths)).toContain("/sequences");
    // Joining server and path reaches the route.
    const res = await call(new URL(`${doc.servers[0]!.url}/me`).pathname, { headers: { "x-api-key": "demo-master-key" } });
    expect(res.status).toBe(200);
  });
});
