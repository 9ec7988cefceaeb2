// Team user management: invites (create, re-issue, revoke, accept), role changes, disabling and
// enabling, and changing one's own password. Each test has a team of its own (makeTeam).
import { describe, expect, it } from "vitest";
import { DEMO, makeTeam, sessionFor } from "../fixtures";
import { as, call, env, errorOf, fieldsOf, login, withKey, type Session } from "../helpers";

let ipSerial = 0;
/** A client address of its own for the sign-ins meant to fail (the sign-in throttle counts per address). */
const freshIp = () => `10.9.0.${++ipSerial}`;

/** A public (pre-session) JSON request, as the invite page sends it. */
function pub(method: string, path: string, body?: unknown, ip = "10.9.9.9") {
  return call(path, {
    method,
    headers: { "cf-connecting-ip": ip, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const tokenOf = (url: string) => url.split("/invite/")[1]!;

async function invite(admin: Session, email: string, role: "admin" | "member" = "member", headers: Record<string, string> = {}) {
  const res = await as(admin, "POST", "/api/invites", { email, role }, headers);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { invite: { id: string; email: string; role: string }; url: string };
}

/** Accepts an invite: the answer, and the session it signed in with. */
async function accept(token: string, password = "correct horse battery", ip = freshIp()) {
  const res = await pub("POST", `/api/invites/${token}/accept`, { name: "New Person", password }, ip);
  const body = res.status === 200 ? ((await res.json()) as { csrf_token: string; user: { id: string; role: string } }) : null;
  const cookie = res.headers.get("set-cookie")?.split(";")[0] ?? "";
  return { res, body, session: body ? ({ cookie, csrf: body.csrf_token, userId: body.user.id, teamId: "" } as Session) : null };
}

const userRow = (id: string) =>
  env.DB.prepare("SELECT id, role, disabled_at FROM users WHERE id = ?")
    .bind(id)
    .first<{ id: string; role: string; disabled_at: number | null }>();
const sessionsOf = async (userId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?").bind(userId).first<{ n: number }>())!.n;

/** A team with its admin signed in, and a second user (member unless said) with a session of theirs. */
async function team(secondRole: "admin" | "member" = "member") {
  const { teamId, userId } = await makeTeam("Team test");
  const admin = await sessionFor(teamId, userId);
  const second = `u2${teamId.slice(2)}`;
  await env.DB.prepare(
    "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Second', ?, 'x', 0)",
  )
    .bind(second, teamId, `${second}@sim.test`, secondRole)
    .run();
  return { teamId, adminId: userId, admin, secondId: second, second: await sessionFor(teamId, second) };
}

describe("invites", () => {
  it("an invited person accepts, is signed in with the invited role, and can sign in again with their password", async () => {
    const t = await team();
    const { url, invite: inv } = await invite(t.admin, "New.Person@Example.test", "admin");
    expect(inv.email).toBe("new.person@example.test");
    expect(url).toMatch(/^http:\/\/seqflare\.test\/invite\/[A-Za-z0-9_-]{40,}$/);
    // Only the token's hash is stored.
    const stored = await env.DB.prepare("SELECT token_hash FROM invites WHERE id = ?").bind(inv.id).first<{ token_hash: string }>();
    expect(stored!.token_hash).not.toContain(tokenOf(url));

    const open = await pub("GET", `/api/invites/${tokenOf(url)}`, undefined, freshIp());
    expect(open.status).toBe(200);
    expect(await open.json()).toEqual({ team_name: "Team test", email: "new.person@example.test", name: null, role: "admin" });

    const { res, body, session } = await accept(tokenOf(url));
    expect(res.status).toBe(200);
    expect(body!.user.role).toBe("admin");
    const me = await as(session!, "GET", "/api/me");
    expect(me.status).toBe(200);
    expect(((await me.json()) as { team: { id: string } }).team.id).toBe(t.teamId);
    const again = await login("new.person@example.test", "correct horse battery");
    expect(again.userId).toBe(body!.user.id);
    // Used: the link answers 404 now, and the invite is no longer pending.
    expect((await pub("GET", `/api/invites/${tokenOf(url)}`, undefined, freshIp())).status).toBe(404);
    const pending = (await (await as(t.admin, "GET", "/api/invites")).json()) as { invites: unknown[] };
    expect(pending.invites).toEqual([]);
  });

  it("a replayed create with the same Idempotency-Key does not show the link again, nor store it", async () => {
    const t = await team();
    const first = await invite(t.admin, "replay@example.test", "member", { "idempotency-key": "inv-1" });
    const replay = await as(
      t.admin,
      "POST",
      "/api/invites",
      { email: "replay@example.test", role: "member" },
      { "idempotency-key": "inv-1" },
    );
    expect(replay.status).toBe(409);
    const text = await replay.text();
    expect(text).not.toContain(tokenOf(first.url));
    expect(text).not.toContain("/invite/");
    const rows = await env.DB.prepare("SELECT body FROM idempotency_keys WHERE key = 'inv-1' AND team_id = ?")
      .bind(t.teamId)
      .all<{ body: string | null }>();
    expect(rows.results).toEqual([{ body: null }]);
  });

  it("two accepts of one token at once make exactly one user", async () => {
    const t = await team();
    const { url, invite: inv } = await invite(t.admin, "twice@example.test");
    const [a, b] = await Promise.all([accept(tokenOf(url)), accept(tokenOf(url))]);
    expect([a.res.status, b.res.status].sort()).toEqual([200, 404]);
    const users = await env.DB.prepare("SELECT id FROM users WHERE email = 'twice@example.test'").all<{ id: string }>();
    expect(users.results).toHaveLength(1);
    const row = await env.DB.prepare("SELECT accepted_at, user_id FROM invites WHERE id = ?").bind(inv.id).first<{ user_id: string }>();
    expect(row!.user_id).toBe(users.results[0]!.id);
  });

  it("an invite ends with its inviter's authority: disabled or demoted, their pending invites are revoked, and one still open then can't be accepted", async () => {
    const t = await team("admin"); // the second user is an admin who invites, then loses it
    const byDisabled = await invite(t.second, "new-admin@example.test", "admin");
    const byDemoted = await invite(t.second, "new-member@example.test");
    expect((await as(t.admin, "PATCH", `/api/users/${t.secondId}`, { disabled: true })).status).toBe(200);
    for (const u of [byDisabled.url, byDemoted.url]) {
      expect((await pub("GET", `/api/invites/${tokenOf(u)}`, undefined, freshIp())).status).toBe(404);
      expect((await accept(tokenOf(u))).res.status).toBe(404);
    }
    const revoked = await env.DB.prepare("SELECT count(*) AS n FROM invites WHERE invited_by = ? AND revoked_at IS NOT NULL")
      .bind(t.secondId)
      .first<{ n: number }>();
    expect(revoked!.n).toBe(2);
    // An invite that escaped the revoke (made by a request already under way) still can't be used.
    expect((await as(t.admin, "PATCH", `/api/users/${t.secondId}`, { disabled: false, role: "admin" })).status).toBe(200);
    const late = await invite(await sessionFor(t.teamId, t.secondId), "late@example.test", "admin");
    await env.DB.prepare("UPDATE users SET role = 'member' WHERE id = ?").bind(t.secondId).run();
    expect((await accept(tokenOf(late.url))).res.status).toBe(404);
    const made = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email LIKE '%@example.test' AND team_id = ?")
      .bind(t.teamId)
      .first<{ n: number }>();
    expect(made!.n).toBe(0);
  });

  it("a user change's audit entry is written with it, and only when it happened", async () => {
    const t = await team();
    const entries = () =>
      env.DB.prepare("SELECT details FROM audit_log WHERE action = 'user.update' AND target_id = ?")
        .bind(t.adminId)
        .all<{ details: string }>();
    // Refused (the last admin): no change, no entry.
    expect((await as(t.admin, "PATCH", `/api/users/${t.adminId}`, { role: "member" })).status).toBe(422);
    expect((await entries()).results).toHaveLength(0);
    expect((await as(t.admin, "PATCH", `/api/users/${t.secondId}`, { role: "admin" })).status).toBe(200);
    expect((await as(t.admin, "PATCH", `/api/users/${t.adminId}`, { role: "member" })).status).toBe(200);
    expect((await entries()).results.map((r) => JSON.parse(r.details))).toEqual([{ role: "member" }]);
    // The entry can't be written: the change isn't made either (it was made, then an error answered).
    await env.DB.prepare(
      "CREATE TRIGGER test_audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END",
    ).run();
    try {
      expect((await as(await sessionFor(t.teamId, t.secondId), "PATCH", `/api/users/${t.adminId}`, { disabled: true })).status).toBe(500);
    } finally {
      await env.DB.prepare("DROP TRIGGER test_audit_down").run();
    }
    expect((await userRow(t.adminId))!.disabled_at).toBeNull();
    expect(await sessionsOf(t.adminId)).toBeGreaterThan(0);
  });

  it("an expired, revoked or unknown token answers the same 404 and creates nobody", async () => {
    const t = await team();
    const expired = await invite(t.admin, "expired@example.test");
    await env.DB.prepare("UPDATE invites SET expires_at = 1 WHERE id = ?").bind(expired.invite.id).run();
    const revoked = await invite(t.admin, "revoked@example.test");
    expect((await as(t.admin, "DELETE", `/api/invites/${revoked.invite.id}`)).status).toBe(200);
    const answers = [];
    for (const token of [tokenOf(expired.url), tokenOf(revoked.url), "no-such-token-at-all"]) {
      const got = await pub("GET", `/api/invites/${token}`, undefined, freshIp());
      const acc = await accept(token);
      answers.push([got.status, (await errorOf(got)).message, acc.res.status, (await errorOf(acc.res)).message]);
    }
    expect(answers[0]![0]).toBe(404);
    expect(answers[0]![2]).toBe(404);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    const made = await env.DB.prepare(
      "SELECT count(*) AS n FROM users WHERE email IN ('expired@example.test', 'revoked@example.test')",
    ).first<{
      n: number;
    }>();
    expect(made!.n).toBe(0);
  });

  it("refuses on email an address that is already a user of the team, or already invited; re-issuing retires the old link", async () => {
    const t = await team();
    const taken = await as(t.admin, "POST", "/api/invites", { email: `${t.secondId}@sim.test`, role: "member" });
    expect(taken.status).toBe(422);
    expect(fieldsOf(await errorOf(taken)).map((f) => f.field)).toEqual(["email"]);
    const first = await invite(t.admin, "twice-invited@example.test");
    const dup = await as(t.admin, "POST", "/api/invites", { email: "Twice-Invited@example.test", role: "admin" });
    expect(dup.status).toBe(422);
    expect(fieldsOf(await errorOf(dup))[0]!.message).toMatch(/re-issue/i);
    const re = await as(t.admin, "POST", `/api/invites/${first.invite.id}/reissue`);
    expect(re.status).toBe(200);
    const { url } = (await re.json()) as { url: string };
    expect(url).not.toBe(first.url);
    expect((await pub("GET", `/api/invites/${tokenOf(first.url)}`, undefined, freshIp())).status).toBe(404);
    expect((await pub("GET", `/api/invites/${tokenOf(url)}`, undefined, freshIp())).status).toBe(200);
  });

  it("a password shorter than 8 characters is refused on password, and the invite stays open", async () => {
    const t = await team();
    const { url } = await invite(t.admin, "short@example.test");
    const res = await pub("POST", `/api/invites/${tokenOf(url)}/accept`, { name: "Short", password: "abc" }, freshIp());
    expect(res.status).toBe(422);
    expect(fieldsOf(await errorOf(res)).map((f) => f.field)).toEqual(["password"]);
    expect((await pub("GET", `/api/invites/${tokenOf(url)}`, undefined, freshIp())).status).toBe(200);
  });

  it("members, standard keys and master keys can't invite, list, re-issue or revoke invites", async () => {
    const member = await login("rep1@demo.test");
    const body = { email: "nobody@example.test", role: "member" };
    expect((await as(member, "POST", "/api/invites", body)).status).toBe(403);
    expect((await as(member, "GET", "/api/invites")).status).toBe(403);
    for (const key of ["demo-standard-key", "demo-master-key"]) {
      expect((await withKey(key, "POST", "/api/invites", body)).status, key).toBe(403);
      expect((await withKey(key, "GET", "/api/invites")).status, key).toBe(403);
    }
    const none = await env.DB.prepare("SELECT count(*) AS n FROM invites WHERE email = 'nobody@example.test'").first<{ n: number }>();
    expect(none!.n).toBe(0);
  });
});

describe("changing a user's role and status", () => {
  it("members, standard keys and master keys can't change users", async () => {
    const member = await login("rep1@demo.test");
    expect((await as(member, "PATCH", `/api/users/${DEMO.rep2}`, { role: "admin" })).status).toBe(403);
    for (const key of ["demo-standard-key", "demo-master-key"])
      expect((await withKey(key, "PATCH", `/api/users/${DEMO.rep2}`, { disabled: true })).status, key).toBe(403);
    expect(await userRow(DEMO.rep2)).toMatchObject({ role: "member", disabled_at: null });
  });

  it("another team's user answers 404 and is not changed", async () => {
    const t = await team();
    const res = await as(t.admin, "PATCH", `/api/users/${DEMO.rep1}`, { disabled: true });
    expect(res.status).toBe(404);
    expect(await userRow(DEMO.rep1)).toMatchObject({ role: "member", disabled_at: null });
  });

  it("promotes and demotes; the list shows role, status and disabled users on request", async () => {
    const t = await team();
    const up = await as(t.admin, "PATCH", `/api/users/${t.secondId}`, { role: "admin" });
    expect(up.status).toBe(200);
    expect(((await up.json()) as { user: { role: string } }).user.role).toBe("admin");
    expect((await userRow(t.secondId))!.role).toBe("admin");
    expect((await as(t.admin, "PATCH", `/api/users/${t.secondId}`, { role: "member", disabled: true })).status).toBe(200);
    const active = (await (await as(t.admin, "GET", "/api/users")).json()) as { users: { id: string }[] };
    expect(active.users.map((u) => u.id)).toEqual([t.adminId]);
    const all = (await (await as(t.admin, "GET", "/api/users?include_disabled=true")).json()) as {
      users: { id: string; status: string; role: string; created_at: number }[];
    };
    expect(all.users.find((u) => u.id === t.secondId)).toMatchObject({ status: "disabled", role: "member", created_at: 0 });
    // An audit entry for each change.
    const audits = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE team_id = ? AND action = 'user.update'")
      .bind(t.teamId)
      .first<{ n: number }>();
    expect(audits!.n).toBe(2);
  });

  it("refuses to demote or disable the last active admin (last_admin) and leaves the row as it was", async () => {
    const t = await team();
    const demote = await as(t.admin, "PATCH", `/api/users/${t.adminId}`, { role: "member" });
    expect(demote.status).toBe(422);
    const err = await errorOf(demote);
    expect(err.code).toBe("last_admin");
    expect(fieldsOf(err).map((f) => f.field)).toEqual(["role"]);
    expect(await userRow(t.adminId)).toMatchObject({ role: "admin", disabled_at: null });
    // A second admin who is disabled doesn't count.
    await env.DB.prepare("UPDATE users SET role = 'admin', disabled_at = 5 WHERE id = ?").bind(t.secondId).run();
    expect((await errorOf(await as(t.admin, "PATCH", `/api/users/${t.adminId}`, { role: "member" }))).code).toBe("last_admin");
    expect(await userRow(t.adminId)).toMatchObject({ role: "admin", disabled_at: null });
  });

  it("an admin can't disable themselves", async () => {
    const t = await team("admin");
    const res = await as(t.admin, "PATCH", `/api/users/${t.adminId}`, { disabled: true });
    expect(res.status).toBe(422);
    expect(fieldsOf(await errorOf(res)).map((f) => f.field)).toEqual(["disabled"]);
    expect((await userRow(t.adminId))!.disabled_at).toBeNull();
  });

  it("two admins demoting each other at once: exactly one succeeds, and the team keeps an admin", async () => {
    const t = await team("admin");
    const [a, b] = await Promise.all([
      as(t.admin, "PATCH", `/api/users/${t.secondId}`, { role: "member" }),
      as(t.second, "PATCH", `/api/users/${t.adminId}`, { role: "member" }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 422]);
    const admins = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE team_id = ? AND role = 'admin' AND disabled_at IS NULL")
      .bind(t.teamId)
      .first<{ n: number }>();
    expect(admins!.n).toBe(1);
  });

  it("two admins disabling each other at once: exactly one succeeds", async () => {
    const t = await team("admin");
    const [a, b] = await Promise.all([
      as(t.admin, "PATCH", `/api/users/${t.secondId}`, { disabled: true }),
      as(t.second, "PATCH", `/api/users/${t.adminId}`, { disabled: true }),
    ]);
    expect([a.status, b.status].filter((s) => s === 200)).toHaveLength(1);
    const admins = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE team_id = ? AND role = 'admin' AND disabled_at IS NULL")
      .bind(t.teamId)
      .first<{ n: number }>();
    expect(admins!.n).toBe(1);
  });

  it("disabling ends the user's sessions at once (401 on their next request) and refuses their API keys; enabling lets them sign in again", async () => {
    const t = await team();
    const { url } = await invite(t.admin, "leaver@example.test");
    const { session, body } = await accept(tokenOf(url), "leaver password");
    const leaver = body!.user.id;
    const other = await login("leaver@example.test", "leaver password");
    expect((await as(session!, "GET", "/api/me")).status).toBe(200);
    await env.DB.prepare(
      "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'k', 'standard', ?, 'lk', 0)",
    )
      .bind(`k${leaver.slice(1)}`, t.teamId, leaver, await (await import("../../worker/lib/crypto")).sha256Hex("leaver-key"))
      .run();
    expect((await withKey("leaver-key", "GET", "/api/me")).status).toBe(200);

    const res = await as(t.admin, "PATCH", `/api/users/${leaver}`, { disabled: true });
    expect(res.status).toBe(200);
    expect(await sessionsOf(leaver)).toBe(0);
    expect((await as(session!, "GET", "/api/me")).status).toBe(401);
    expect((await as(other, "POST", "/api/lists", { name: "x" })).status).toBe(401);
    expect((await withKey("leaver-key", "GET", "/api/me")).status).toBe(401);
    expect(
      (
        await call("/api/auth/login", {
          method: "POST",
          headers: { "content-type": "application/json", "cf-connecting-ip": freshIp() },
          body: JSON.stringify({ email: "leaver@example.test", password: "leaver password" }),
        })
      ).status,
    ).toBe(401);

    expect((await as(t.admin, "PATCH", `/api/users/${leaver}`, { disabled: false })).status).toBe(200);
    expect((await login("leaver@example.test", "leaver password")).userId).toBe(leaver);
  });
});

describe("changing one's own password", () => {
  it("refuses a wrong current password on current_password; the right one ends every session and signs this browser in anew", async () => {
    const t = await team();
    const { url } = await invite(t.admin, "changer@example.test");
    const { session: here } = await accept(tokenOf(url), "first password");
    const elsewhere = await login("changer@example.test", "first password");

    const wrong = await as(here!, "POST", "/api/me/password", { current_password: "not it", new_password: "second password" });
    expect(wrong.status).toBe(422);
    expect(fieldsOf(await errorOf(wrong)).map((f) => f.field)).toEqual(["current_password"]);
    expect((await as(elsewhere, "GET", "/api/me")).status).toBe(200);

    const right = await as(here!, "POST", "/api/me/password", { current_password: "first password", new_password: "second password" });
    expect(right.status).toBe(200);
    expect((await as(elsewhere, "GET", "/api/me")).status).toBe(401);
    // This session's old cookie ends too (a stolen copy of it stayed signed in); the answer's is new.
    expect((await as(here!, "GET", "/api/me")).status).toBe(401);
    const renewed = {
      ...here!,
      cookie: right.headers.get("set-cookie")!.split(";")[0]!,
      csrf: ((await right.json()) as { csrf_token: string }).csrf_token,
    };
    expect(renewed.cookie).not.toBe(here!.cookie);
    expect((await as(renewed, "POST", "/api/lists", { name: "Still signed in" })).status).toBe(201);
    expect(await sessionsOf(here!.userId)).toBe(1);
    expect((await login("changer@example.test", "second password")).userId).toBe(here!.userId);
    const old = await call("/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": freshIp() },
      body: JSON.stringify({ email: "changer@example.test", password: "first password" }),
    });
    expect(old.status).toBe(401);
  });

  it("a sign-in checked against the old password while it changed makes no session", async () => {
    const t = await team();
    const { url } = await invite(t.admin, "racer@example.test");
    const { session: here } = await accept(tokenOf(url), "first password");
    // The sign-in's password check passes, then the change lands before its session is written.
    const proto = Object.getPrototypeOf(env.DB) as { batch: (stmts: unknown[]) => Promise<unknown> };
    const batch = proto.batch;
    let changed = false;
    proto.batch = async function (this: unknown, stmts: unknown[]) {
      if (!changed && JSON.stringify((stmts[0] as { statement?: string })?.statement ?? "").includes("INSERT INTO sessions")) {
        changed = true;
        await env.DB.prepare("UPDATE users SET password_hash = 'changed-meanwhile' WHERE id = ?").bind(here!.userId).run();
      }
      return batch.call(this, stmts);
    };
    let res: Response;
    try {
      res = await call("/api/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": freshIp() },
        body: JSON.stringify({ email: "racer@example.test", password: "first password" }),
      });
    } finally {
      proto.batch = batch;
    }
    expect(changed).toBe(true);
    expect(res.status).toBe(401);
    expect(await sessionsOf(here!.userId)).toBe(1); // the invite's own session only
  });

  it("API keys can't change a password", async () => {
    expect(
      (await withKey("demo-master-key", "POST", "/api/me/password", { current_password: "demo1234", new_password: "whatever123" })).status,
    ).toBe(403);
  });
});
