import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../worker/app";
import { ERROR_CODES } from "../../worker/lib/errors";
import { as, call, detailsOf, errorOf, fieldsOf, login } from "../helpers";

describe("the one error body", () => {
  it("unknown API routes answer 404 with the error body", async () => {
    const s = await login("rep1@demo.test");
    expect(await errorOf(await as(s, "GET", "/api/nothing-here"))).toMatchObject({ status: 404, code: "not_found" });
  });

  it("oversized bodies answer 413 payload_too_large", async () => {
    const res = await call("/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "a@b.c", password: "x".repeat(MAX_BODY_BYTES) }),
    });
    const err = await errorOf(res);
    expect(err).toMatchObject({ status: 413, code: "payload_too_large" });
    expect(detailsOf(err).limit_bytes).toBe(MAX_BODY_BYTES);
  });

  it("malformed JSON answers 400 with the error body", async () => {
    const res = await call("/api/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    const err = await errorOf(res);
    expect(err.status).toBe(400);
    expect(err.code).toBe("invalid_json");
  });

  it("query validation names the field", async () => {
    const s = await login("rep1@demo.test");
    const err = await errorOf(await as(s, "GET", "/api/contacts?per_page=1000"));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("per_page");
  });

  it("a foreign-shaped id answers 404, not 500", async () => {
    const s = await login("rep1@demo.test");
    expect((await as(s, "GET", "/api/contacts/' or 1=1 --")).status).toBe(404);
  });

  it("a body that isn't JSON answers 415 unsupported_media_type, a code with that status", async () => {
    const s = await login("rep1@demo.test");
    const res = await call("/api/contacts", {
      method: "POST",
      headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "text/plain" },
      body: "first_name=Ada",
    });
    expect(await errorOf(res)).toMatchObject({ status: 415, code: "unsupported_media_type" });
  });

  it("codes are one closed list: the OpenAPI error schema enumerates it and the README lists each with its status", async () => {
    const doc = (await (await call("/api/openapi.json")).json()) as {
      components: { schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } } };
    };
    expect(doc.components.schemas.Error.properties.error.properties.code.enum.sort()).toEqual(Object.keys(ERROR_CODES).sort());
    const readme: string = (await import("../../README.md?raw")).default;
    for (const [code, [status]] of Object.entries(ERROR_CODES)) expect(readme).toContain(`| \`${code}\` | ${status} |`);
  });
});
