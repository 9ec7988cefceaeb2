// The OpenAPI document says what every operation can answer, and which need no session or key. Before,
// sign-in and the invite and password-reset links inherited the document's security (a client generated
// from it sent a key to sign in), 429 was listed on one route only, a POST's 409 for an Idempotency-Key
// still running on none, and 413 nowhere.
import { describe, expect, it } from "vitest";
import { call } from "../helpers";

type Op = { security?: unknown[]; requestBody?: { content?: Record<string, unknown> }; responses: Record<string, { description: string }> };
type Doc = { security: unknown[]; paths: Record<string, Record<string, Op>> };

const load = async () => (await (await call("/api/openapi.json")).json()) as Doc;
const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => ["get", "put", "post", "patch", "delete"].includes(m))
      .map(([method, op]) => ({ method, path, op })),
  );

describe("the OpenAPI document's common answers", () => {
  it("public operations need no session or key; the others keep the document's security", async () => {
    const doc = await load();
    expect(doc.security.length).toBeGreaterThan(0);
    const open = operations(doc)
      .filter((o) => Array.isArray(o.op.security) && o.op.security.length === 0)
      .map((o) => `${o.method} ${o.path}`)
      .sort();
    expect(open).toEqual(
      [
        "get /auth/options",
        "get /invites/{token}",
        "get /password-resets/{token}",
        "post /auth/login",
        "post /invites/{token}/accept",
        "post /password-resets/{token}",
        "post /webhooks/meetings",
      ].sort(),
    );
    expect(doc.paths["/contacts"]!.get!.security).toBeUndefined();
  });

  it("every operation lists 429, every JSON body 413, every authenticated POST 409 for a key still running", async () => {
    const doc = await load();
    for (const { method, path, op } of operations(doc)) {
      const name = `${method} ${path}`;
      expect(op.responses["429"], name).toBeTruthy();
      if (op.requestBody?.content?.["application/json"]) expect(op.responses["413"], name).toBeTruthy();
      if (method === "post" && op.security === undefined)
        expect(op.responses["409"]?.description, name).toMatch(/Idempotency-Key is still running/);
    }
    // A route's own 409 keeps its meaning, with the key's beside it, once however often the document is read.
    const again = await load();
    const finish = again.paths["/tasks/{id}/{action}"]!.post!.responses["409"]!.description;
    expect(finish.match(/Idempotency-Key/g)).toHaveLength(1);
    expect(finish).toMatch(/^Conflicts with the current state; or: /);
  });
});
