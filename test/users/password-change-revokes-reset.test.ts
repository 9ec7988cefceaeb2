// Changing one's own password revokes an admin-issued reset link not yet used: the password is changed
// because it may be known, and a link still open would let whoever holds it set another one over it.
import { describe, expect, it } from "vitest";
import { makeTeam, sessionFor } from "../fixtures";
import { as, call, env, login } from "../helpers";
import { hashPassword } from "../../worker/lib/crypto";

const pub = (method: string, path: string, body?: unknown) =>
  call(path, {
    method,
    headers: { "cf-connecting-ip": "10.9.1.1", ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe("changing one's own password", () => {
  it("revokes the reset link an admin issued earlier: it neither opens nor sets a password", async () => {
    const { teamId, userId } = await makeTeam("Change team");
    const admin = await sessionFor(teamId, userId);
    const repId = `c${teamId.slice(1)}`;
    const email = `${repId}@sim.test`;
    await env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Rep', 'member', ?, 0)",
    )
      .bind(repId, teamId, email, await hashPassword("old password", 1000))
      .run();
    const issued = await as(admin, "POST", `/api/users/${repId}/password-reset`);
    expect(issued.status).toBe(201);
    const token = ((await issued.json()) as { url: string }).url.split("/reset-password/")[1]!;
    expect((await pub("GET", `/api/password-resets/${token}`)).status).toBe(200);

    const rep = await sessionFor(teamId, repId);
    const changed = await as(rep, "POST", "/api/me/password", { current_password: "old password", new_password: "my own new one" });
    expect(changed.status).toBe(200);

    expect((await pub("GET", `/api/password-resets/${token}`)).status).toBe(404);
    expect((await pub("POST", `/api/password-resets/${token}`, { password: "the link holder's" })).status).toBe(404);
    const row = await env.DB.prepare("SELECT used_at, revoked_at FROM password_resets WHERE user_id = ?")
      .bind(repId)
      .first<{ used_at: number | null; revoked_at: number | null }>();
    expect(row).toMatchObject({ used_at: null, revoked_at: expect.any(Number) });
    // The password the user chose stands; the link's never took.
    expect((await login(email, "my own new one")).userId).toBe(repId);
    await expect(login(email, "the link holder's")).rejects.toThrow(/401/);
  });
});
