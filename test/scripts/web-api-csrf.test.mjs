// The web app's fetch (web/src/api.ts) against a fake server: a save from a tab whose CSRF token is stale
// (another tab signed in again, so the shared session cookie is a new session's) fetches the session's
// token and is sent once more. Before, every save in that tab answered 403 csrf_failed until a reload.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { before, describe, it } from "node:test";
import { build } from "esbuild";

const origin = "http://seqflare.test";
/** What the fake server saw: method, path, token sent, body. */
let seen = [];
/** The token of the session the cookie names now. */
let sessionToken = "old";
let api;

const answer = (status, body) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

async function server(input, init) {
  const req = new Request(input, init);
  const url = new URL(req.url);
  const token = req.headers.get("x-csrf-token");
  seen.push({ method: req.method, path: url.pathname, token, body: req.method === "GET" ? null : await req.text() });
  if (url.pathname === "/api/me") return answer(200, { csrf_token: sessionToken });
  if (token !== sessionToken) return answer(403, { error: { code: "csrf_failed", message: "Missing or wrong X-CSRF-Token header" } });
  return answer(201, { list: { id: "l1", name: "Saved" } });
}

before(async () => {
  const out = join(mkdtempSync(join(tmpdir(), "api-csrf-")), "api.mjs");
  await build({ entryPoints: ["web/src/api.ts"], bundle: true, format: "esm", platform: "neutral", outfile: out, logLevel: "silent" });
  globalThis.location = new URL(`${origin}/lists`);
  globalThis.fetch = server;
  api = await import(pathToFileURL(out).href);
});

describe("web api: a stale CSRF token", () => {
  it("a save refused for a stale token fetches the session's token and is sent once more, body and all", async () => {
    api.setCsrfToken("old");
    sessionToken = "new"; // another tab signed in again
    seen = [];
    const list = await api.createList("Saved");
    assert.equal(list.name, "Saved");
    assert.deepEqual(
      seen.map((s) => [s.method, s.path, s.token]),
      [
        ["POST", "/api/lists", "old"],
        ["GET", "/api/me", null],
        ["POST", "/api/lists", "new"],
      ],
    );
    assert.equal(seen[2].body, JSON.stringify({ name: "Saved" }));
    // The next save goes out with the fresh token at once.
    seen = [];
    await api.createList("Saved");
    assert.deepEqual(
      seen.map((s) => [s.method, s.token]),
      [["POST", "new"]],
    );
  });

  it("a refusal the session's token doesn't fix is not sent again, and says why", async () => {
    api.setCsrfToken("new");
    sessionToken = "new";
    const realServer = globalThis.fetch;
    // The server refuses this token whatever: /api/me hands back the same one.
    globalThis.fetch = async (input, init) => {
      const req = new Request(input, init);
      const url = new URL(req.url);
      seen.push({ method: req.method, path: url.pathname });
      return url.pathname === "/api/me"
        ? answer(200, { csrf_token: "new" })
        : answer(403, { error: { code: "csrf_failed", message: "Missing or wrong X-CSRF-Token header" } });
    };
    seen = [];
    try {
      await assert.rejects(api.createList("Saved"), (e) => e.code === "csrf_failed" && e.status === 403);
      assert.deepEqual(
        seen.map((s) => s.path),
        ["/api/lists", "/api/me"],
      );
    } finally {
      globalThis.fetch = realServer;
    }
  });
});
