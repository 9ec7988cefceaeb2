// A re-issued invite is the re-issuer's (it lives and ends with their admin rights, not the first
// inviter's) and may grant another role; inviting a pending address with another role says how to get it.
import { describe, expect, it } from "vitest";
import { makeTeam, makeUser, sessionFor } from "../fixtures";
import { as, call, env, errorOf, fieldsOf } from "../helpers";

const opens = async (url: string) =>
  (await call(`/api/invites/${url.split("/invite/")[1]}`, { headers: { "cf-connecting-ip": "10.7.7.7" } })).status;
const inviteRow = (id: string) =>
  env.DB.prepare("SELECT invited_by, role, revoked_at FROM invites WHERE id = ?")
    .bind(id)
    .first<{ invited_by: string; role: string; revoked_at: number | null }>();

describe("re-issuing an invite", () => {
  it("makes it the re-issuer's: demoting the first inviter leaves the new link open, offboarding the re-issuer ends it", async () => {
    const { teamId, userId: first } = await makeTeam("Reissue team");
    const second = await makeUser(teamId, "admin");
    const third = await makeUser(teamId, "admin");
    const [a, b, c] = await Promise.all([sessionFor(teamId, first), sessionFor(teamId, second), sessionFor(teamId, third)]);
    const made = await as(a, "POST", "/api/invites", { email: "new.hire@example.test", role: "member" });
    const { invite } = (await made.json()) as { invite: { id: string } };
    const re = await as(b, "POST", `/api/invites/${invite.id}/reissue`);
    expect(re.status).toBe(200);
    const { url, invite: shown } = (await re.json()) as { url: string; invite: { invited_by: string } };
    expect(shown.invited_by).toBe(second);
    expect(await inviteRow(invite.id)).toEqual({ invited_by: second, role: "member", revoked_at: null });

    // The first inviter demoted: the link the second admin handed out still opens.
    expect((await as(c, "PATCH", `/api/users/${first}`, { role: "member" })).status).toBe(200);
    expect(await opens(url)).toBe(200);
    expect((await inviteRow(invite.id))!.revoked_at).toBeNull();
    // The second admin offboarded: their link ends with them.
    expect((await as(c, "PATCH", `/api/users/${second}`, { disabled: true })).status).toBe(200);
    expect(await opens(url)).toBe(404);
    expect((await inviteRow(invite.id))!.revoked_at).not.toBeNull();
  });

  it("takes the role asked for, and a second invite with another role says how to get it", async () => {
    const { teamId, userId } = await makeTeam("Role team");
    const admin = await sessionFor(teamId, userId);
    const made = await as(admin, "POST", "/api/invites", { email: "lead@example.test", role: "member" });
    const { invite } = (await made.json()) as { invite: { id: string } };
    const dup = await errorOf(await as(admin, "POST", "/api/invites", { email: "lead@example.test", role: "admin" }));
    expect(dup.status).toBe(422);
    expect(dup.message).toMatch(/pending invite as a member.*revoke that invite.*invite them again/);
    expect(fieldsOf(dup)[0]).toMatchObject({ field: "email", message: expect.stringMatching(/invite again as an admin/) });

    const re = await as(admin, "POST", `/api/invites/${invite.id}/reissue`, { role: "admin" });
    expect(re.status).toBe(200);
    const { url } = (await re.json()) as { url: string };
    expect((await inviteRow(invite.id))!.role).toBe("admin");
    const open = await call(`/api/invites/${url.split("/invite/")[1]}`, { headers: { "cf-connecting-ip": "10.7.7.8" } });
    expect(((await open.json()) as { role: string }).role).toBe("admin");
    const audit = await env.DB.prepare("SELECT details FROM audit_log WHERE target_id = ? AND action = 'user.invite_reissue'")
      .bind(invite.id)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ role: "admin", previous_role: "member" });
    // Left out, the role stays.
    expect((await as(admin, "POST", `/api/invites/${invite.id}/reissue`)).status).toBe(200);
    expect((await inviteRow(invite.id))!.role).toBe("admin");
    expect((await as(admin, "POST", `/api/invites/${invite.id}/reissue`, { role: "owner" })).status).toBe(422);
  });
});
