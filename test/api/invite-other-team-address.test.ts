// Inviting an address that has an account in another team answers as for any fresh address: a 422
// there told any admin whether someone uses Seqflare elsewhere. Accepting that invite is refused in
// words and creates nothing: no user, no session, the other team's user untouched.
import { describe, expect, it } from "vitest";
import { makeTeam, sessionFor } from "../fixtures";
import { as, call, env, errorOf } from "../helpers";

const pub = (method: string, path: string, body?: unknown) =>
  call(path, {
    method,
    headers: { "cf-connecting-ip": "10.9.2.1", ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const count = async (q: string, ...args: unknown[]) =>
  (await env.DB.prepare(q)
    .bind(...args)
    .first<{ n: number }>())!.n;

describe("inviting an address that has an account in another team", () => {
  it("answers like a fresh address; accepting is refused in words and creates nothing", async () => {
    const rival = await makeTeam("Rival");
    const rivalEmail = `taken-${rival.teamId.slice(1, 9)}@rival.test`.toLowerCase();
    await env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Rival Rep', 'member', 'x', 0)",
    )
      .bind(`rv${rival.teamId.slice(2)}`, rival.teamId, rivalEmail)
      .run();
    const { teamId, userId } = await makeTeam("Inviters");
    const admin = await sessionFor(teamId, userId);

    const fresh = await as(admin, "POST", "/api/invites", { email: `nobody-${teamId.slice(1, 9)}@fresh.test`, role: "member" });
    const taken = await as(admin, "POST", "/api/invites", { email: rivalEmail.toUpperCase(), role: "member" });
    expect(taken.status).toBe(fresh.status);
    expect(taken.status).toBe(201);
    const a = (await fresh.json()) as { invite: Record<string, unknown>; url: string };
    const b = (await taken.json()) as { invite: Record<string, unknown>; url: string };
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    expect(Object.keys(b.invite).sort()).toEqual(Object.keys(a.invite).sort());
    expect(b.invite.email).toBe(rivalEmail);

    const token = b.url.split("/invite/")[1]!;
    const res = await pub("POST", `/api/invites/${token}/accept`, { name: "Someone", password: "long enough password" });
    expect(res.status).toBe(409);
    // Signing in opens their own team, never this one: the answer says what can work instead.
    const message = (await errorOf(res)).message;
    expect(message).toBe("This address already has a Seqflare account in another team; ask for an invite to a different address");
    expect(message).not.toMatch(/sign in/i);
    // Nothing was created: one user with the address, still in the rival team; no session; the invite is not used.
    expect(await count("SELECT count(*) AS n FROM users WHERE lower(email) = ?", rivalEmail)).toBe(1);
    expect(await count("SELECT count(*) AS n FROM users WHERE lower(email) = ? AND team_id = ?", rivalEmail, rival.teamId)).toBe(1);
    expect(await count("SELECT count(*) AS n FROM users WHERE team_id = ?", teamId)).toBe(1);
    expect(await count("SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?", rivalEmail)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM invites WHERE email = ? AND accepted_at IS NULL AND user_id IS NULL", rivalEmail)).toBe(
      1,
    );
    expect(await count("SELECT count(*) AS n FROM audit_log WHERE action = 'user.invite_accept' AND team_id = ?", teamId)).toBe(0);
  });
});
