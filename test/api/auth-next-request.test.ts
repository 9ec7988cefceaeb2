import { describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { makeTeam, makeUser, sessionFor } from "../fixtures";
import { call, client, env, errorOf, ok, type Session } from "../helpers";

// Who a request acts as is read from D1 on every request. A change made anywhere (a sign-out or a
// revoke handled by another isolate, an admin console, a script) takes effect on the very next
// request: nothing about a session or a key is kept between requests. Each change below is written
// straight to D1, as another isolate's request would leave it.

const me = (s: Session) => call("/api/me", { headers: { cookie: s.cookie } });
const byKey = (key: string) => call("/api/me", { headers: { "x-api-key": key } });

async function admin() {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  expect((await me(s)).status).toBe(200);
  return { teamId, userId, s };
}

describe("auth takes effect on the next request", () => {
  it("a session removed elsewhere (signed out in another isolate) is refused on the next request", async () => {
    const { userId, s } = await admin();
    await env.DB.prepare("DELETE FROM sessions WHERE user_id = ?").bind(userId).run();
    expect(await errorOf(await me(s))).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("a disabled user's session is refused on the next request", async () => {
    const { userId, s } = await admin();
    await env.DB.prepare("UPDATE users SET disabled_at = ? WHERE id = ?").bind(now(), userId).run();
    expect(await errorOf(await me(s))).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("an admin turned member loses admin rights on the next request", async () => {
    const { userId, s } = await admin();
    const keys = client(s).api["api-keys"];
    expect((await keys.$get()).status).toBe(200);
    await env.DB.prepare("UPDATE users SET role = 'member' WHERE id = ?").bind(userId).run();
    expect(await errorOf(await keys.$get())).toMatchObject({ status: 403, code: "forbidden" });
  });

  it("an API key revoked elsewhere is refused on the next request", async () => {
    const { s } = await admin();
    const { key } = await ok(client(s).api["api-keys"].$post({ json: { name: "Elsewhere", kind: "master" } }), 201);
    expect((await byKey(key)).status).toBe(200);
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE name = 'Elsewhere'").bind(now()).run();
    expect(await errorOf(await byKey(key))).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("a disabled user's API keys (they act as their creator) are refused on the next request, master and standard", async () => {
    const { userId, s } = await admin();
    const keys = [];
    for (const kind of ["master", "standard"] as const)
      keys.push((await ok(client(s).api["api-keys"].$post({ json: { name: `Theirs ${kind}`, kind } }), 201)).key);
    for (const key of keys) expect((await byKey(key)).status).toBe(200);
    await env.DB.prepare("UPDATE users SET disabled_at = ? WHERE id = ?").bind(now(), userId).run();
    for (const key of keys) expect(await errorOf(await byKey(key))).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("a demoted admin's master key stops (it had every admin right); their standard key goes on as them; the list says why", async () => {
    const { teamId, userId, s } = await admin();
    // Another admin stays, so the demotion is allowed through the API.
    const other = await sessionFor(teamId, await makeUser(teamId, "admin"));
    const master = (await ok(client(s).api["api-keys"].$post({ json: { name: "Theirs master", kind: "master" } }), 201)).key;
    const standard = (await ok(client(s).api["api-keys"].$post({ json: { name: "Theirs standard", kind: "standard" } }), 201)).key;
    expect((await ok(client(other).api.users[":id"].$patch({ param: { id: userId }, json: { role: "member" } }))).user.role).toBe("member");
    expect(await errorOf(await byKey(master))).toMatchObject({ status: 401, code: "unauthenticated" });
    expect((await byKey(standard)).status).toBe(200);
    const listed = await ok(client(other).api["api-keys"].$get());
    const m = listed.api_keys.find((k) => k.name === "Theirs master")!;
    expect(m.stopped).toMatch(/no longer an admin/);
    expect(listed.api_keys.find((k) => k.name === "Theirs standard")!.stopped).toBeNull();
    // A background job started with the master key stops acting too.
    const { callerNow } = await import("../../worker/services/auth");
    const { db } = await import("../../worker/db/client");
    const keyRow = (await env.DB.prepare("SELECT id FROM api_keys WHERE name = 'Theirs master' AND team_id = ?")
      .bind(teamId)
      .first<{ id: string }>())!;
    expect(
      await callerNow(db(env.DB), { teamId, userId, role: "admin", via: "api_key", apiKeyId: keyRow.id, apiKeyKind: "master" }),
    ).toBeNull();
  });
});
