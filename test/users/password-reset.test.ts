// Admin-issued password reset links: a rep who forgot their password gets a single-use link from an
// admin (no email is sent), sets a new password with it, and every old session of theirs ends.
import { describe, expect, it } from "vitest";
import { DEMO, makeTeam, sessionFor } from "../fixtures";
import { as, call, env, errorOf, fieldsOf, login, withKey, type Session } from "../helpers";
import { hashPassword } from "../../worker/lib/crypto";

let ipSerial = 0;
const freshIp = () => `10.8.0.${++ipSerial}`;

/** A public (pre-session) JSON request, as the reset page sends it. */
function pub(method: string, path: string, body?: unknown) {
  return call(path, {
    method,
    headers: { "cf-connecting-ip": freshIp(), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const tokenOf = (url: string) => url.split("/reset-password/")[1]!;
const sessionsOf = async (userId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?").bind(userId).first<{ n: number }>())!.n;
const resetsOf = (userId: string) =>
  env.DB.prepare(
    "SELECT token_hash, created_at, expires_at, used_at, revoked_at FROM password_resets WHERE user_id = ? ORDER BY created_at, id",
  )
    .bind(userId)
    .all<{ token_hash: string; created_at: number; expires_at: number; used_at: number | null; revoked_at: number | null }>()
    .then((r) => r.results);

/** A team with its admin signed in, and a member whose password is "old password" with a session of theirs. */
async function team() {
  const { teamId, userId } = await makeTeam("Reset team");
  const admin = await sessionFor(teamId, userId);
  const repId = `r${teamId.slice(1)}`;
  const email = `${repId}@sim.test`;
  await env.DB.prepare(
    "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Rep', 'member', ?, 0)",
  )
    .bind(repId, teamId, email, await hashPassword("old password", 1000))
    .run();
  return { teamId, adminId: userId, admin, repId, email, rep: await sessionFor(teamId, repId) };
}

async function issue(admin: Session, userId: string, headers: Record<string, string> = {}) {
  const res = await as(admin, "POST", `/api/users/${userId}/password-reset`, undefined, headers);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { url: string; expires_at: number; user: { id: string } };
}

const use = (token: string, password = "brand new password") => pub("POST", `/api/password-resets/${token}`, { password });

describe("password reset links", () => {
  it("a link sets a new password once, ends every old session and signs the user in", async () => {
    const t = await team();
    const { url, user } = await issue(t.admin, t.repId);
    expect(user.id).toBe(t.repId);
    expect(url).toMatch(/^http:\/\/seqflare\.test\/reset-password\/[A-Za-z0-9_-]{40,}$/);
    const [row] = await resetsOf(t.repId);
    expect(row!.token_hash).not.toContain(tokenOf(url));
    expect(row!.expires_at - row!.created_at).toBe(24 * 3600 * 1000);

    const open = await pub("GET", `/api/password-resets/${tokenOf(url)}`);
    expect(open.status).toBe(200);
    expect(await open.json()).toMatchObject({ team_name: "Reset team", email: t.email, name: "Rep" });

    const res = await use(tokenOf(url));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: { id: string } }).user.id).toBe(t.repId);
    // The old session is gone (401), the new one (this answer's cookie) is the only one left.
    expect((await as(t.rep, "GET", "/api/me")).status).toBe(401);
    expect(await sessionsOf(t.repId)).toBe(1);
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    expect((await call("/api/me", { headers: { cookie } })).status).toBe(200);
    // The new password signs in; the old one no longer does.
    expect((await login(t.email, "brand new password")).userId).toBe(t.repId);
    await expect(login(t.email, "old password")).rejects.toThrow(/401/);

    // Used: the link answers 404 and changes nothing.
    expect((await pub("GET", `/api/password-resets/${tokenOf(url)}`)).status).toBe(404);
    expect((await use(tokenOf(url), "a third password")).status).toBe(404);
    expect((await login(t.email, "brand new password")).userId).toBe(t.repId);
    const audit = await env.DB.prepare("SELECT action FROM audit_log WHERE target_id = ? ORDER BY created_at, action")
      .bind(t.repId)
      .all<{ action: string }>();
    expect(audit.results.map((r) => r.action).sort()).toEqual(["user.password_reset", "user.password_reset_issue"]);
  });

  it("two uses of one link at once: one sets the password, the other answers 404", async () => {
    const t = await team();
    const { url } = await issue(t.admin, t.repId);
    const [a, b] = await Promise.all([use(tokenOf(url), "first password!"), use(tokenOf(url), "second password!")]);
    expect([a.status, b.status].sort()).toEqual([200, 404]);
    const winner = a.status === 200 ? "first password!" : "second password!";
    expect((await login(t.email, winner)).userId).toBe(t.repId);
    expect(await sessionsOf(t.repId)).toBe(2); // the winner's answer and the sign-in just now
  });

  it("an expired link, a replaced one and an unknown one answer the same 404 and leave the password", async () => {
    const t = await team();
    const expired = await issue(t.admin, t.repId);
    await env.DB.prepare("UPDATE password_resets SET expires_at = 1 WHERE user_id = ?").bind(t.repId).run();
    const replaced = await issue(t.admin, t.repId);
    const newest = await issue(t.admin, t.repId);
    const answers = [];
    for (const token of [tokenOf(expired.url), tokenOf(replaced.url), "no-such-token-at-all"]) {
      const got = await pub("GET", `/api/password-resets/${token}`);
      const used = await use(token);
      answers.push([got.status, (await errorOf(got)).message, used.status, (await errorOf(used)).message]);
    }
    expect(answers[0]![0]).toBe(404);
    expect(answers[0]![2]).toBe(404);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect((await login(t.email, "old password")).userId).toBe(t.repId);
    expect((await as(t.rep, "GET", "/api/me")).status).toBe(200);
    // Only the newest opens.
    expect((await pub("GET", `/api/password-resets/${tokenOf(newest.url)}`)).status).toBe(200);
  });

  it("a disabled user gets no link (422 on id), and disabling one ends the link already issued, also once enabled again", async () => {
    const t = await team();
    const { url } = await issue(t.admin, t.repId);
    expect((await as(t.admin, "PATCH", `/api/users/${t.repId}`, { disabled: true })).status).toBe(200);
    expect((await use(tokenOf(url))).status).toBe(404);
    const refused = await as(t.admin, "POST", `/api/users/${t.repId}/password-reset`);
    expect(refused.status).toBe(422);
    expect(fieldsOf(await errorOf(refused)).map((f) => f.field)).toEqual(["id"]);
    expect(await resetsOf(t.repId)).toHaveLength(1);
    expect((await as(t.admin, "PATCH", `/api/users/${t.repId}`, { disabled: false })).status).toBe(200);
    expect((await use(tokenOf(url))).status).toBe(404);
    expect((await login(t.email, "old password")).userId).toBe(t.repId);
  });

  it("a link ends with its issuer's authority: demoted, their links no longer open", async () => {
    const t = await team();
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(t.repId).run();
    const other = await env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Other', 'member', 'x', 0)",
    )
      .bind(`o${t.teamId.slice(1)}`, t.teamId, `o${t.teamId.slice(1)}@sim.test`)
      .run();
    expect(other.success).toBe(true);
    const { url } = await issue(t.rep, `o${t.teamId.slice(1)}`);
    expect((await as(t.admin, "PATCH", `/api/users/${t.repId}`, { role: "member" })).status).toBe(200);
    expect((await pub("GET", `/api/password-resets/${tokenOf(url)}`)).status).toBe(404);
    expect((await use(tokenOf(url))).status).toBe(404);
  });

  it("a replayed issue with the same Idempotency-Key does not show the link again, nor store it", async () => {
    const t = await team();
    const first = await issue(t.admin, t.repId, { "idempotency-key": "reset-1" });
    const replay = await as(t.admin, "POST", `/api/users/${t.repId}/password-reset`, undefined, { "idempotency-key": "reset-1" });
    expect(await replay.clone().text()).not.toContain(tokenOf(first.url));
    const rows = await env.DB.prepare("SELECT body FROM idempotency_keys WHERE key = 'reset-1' AND team_id = ?")
      .bind(t.teamId)
      .all<{ body: string | null }>();
    expect(rows.results).toEqual([{ body: null }]);
  });

  it("a password shorter than 8 characters is refused on password, and the link stays open", async () => {
    const t = await team();
    const { url } = await issue(t.admin, t.repId);
    const res = await use(tokenOf(url), "abc");
    expect(res.status).toBe(422);
    expect(fieldsOf(await errorOf(res)).map((f) => f.field)).toEqual(["password"]);
    expect((await pub("GET", `/api/password-resets/${tokenOf(url)}`)).status).toBe(200);
  });

  it("members and API keys can't issue a link (403); another team's user answers 404; nothing is stored", async () => {
    const t = await team();
    expect((await as(t.rep, "POST", `/api/users/${t.adminId}/password-reset`)).status).toBe(403);
    for (const key of ["demo-standard-key", "demo-master-key"])
      expect((await withKey(key, "POST", `/api/users/${DEMO.rep1}/password-reset`)).status, key).toBe(403);
    const foreign = await as(t.admin, "POST", `/api/users/${DEMO.rep1}/password-reset`);
    expect(foreign.status).toBe(404);
    expect(await resetsOf(t.adminId)).toHaveLength(0);
    expect(await resetsOf(DEMO.rep1)).toHaveLength(0);
  });
});
