// A Cloudflare Email (send_email) mailbox has no sign-in proving the address is the team's, so it may
// only use a domain one of the team's active users signs in with: a team can't send as another company.
import { describe, expect, it } from "vitest";
import { makeMailbox, makeTeam, makeUser, sessionFor } from "../fixtures";
import { as, env, errorOf, fieldsOf } from "../helpers";

const rows = async (email: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM mailboxes WHERE email = ?").bind(email).first<{ n: number }>())!.n;

describe("Cloudflare Email mailboxes", () => {
  it("are refused on `email` for a domain none of the team's active users signs in with, and nothing is saved", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const former = await makeUser(teamId);
    await env.DB.prepare("UPDATE users SET email = ?, disabled_at = 1 WHERE id = ?").bind(`${former}@other-company.test`, former).run();
    for (const email of [`ceo-${teamId}@other-company.test`, `ceo-${teamId}@SIM.TEST.evil.test`]) {
      const err = await errorOf(await as(s, "POST", "/api/mailboxes", { email, sender_name: "CEO", transport: "send_email" }));
      expect(err).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)).toEqual([
        expect.objectContaining({ field: "email", message: expect.stringMatching(/only from your team's own domains/) }),
      ]);
      expect(await rows(email.toLowerCase())).toBe(0);
    }
    const ours = `sales-${teamId}@sim.test`;
    const res = await as(s, "POST", "/api/mailboxes", { email: ours, sender_name: "Sales", transport: "send_email" });
    expect(res.status).toBe(201);
    expect(await rows(ours)).toBe(1);
  });

  it("switching a mailbox on another domain to Cloudflare Email is refused the same way", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const mailboxId = await makeMailbox(teamId, userId); // <id>@sender.test: no user of the team signs in there
    const err = await errorOf(await as(s, "PATCH", `/api/mailboxes/${mailboxId}`, { transport: "send_email" }));
    expect(err).toMatchObject({ status: 422 });
    expect(fieldsOf(err)[0]).toMatchObject({ field: "email" });
    const row = await env.DB.prepare("SELECT transport FROM mailboxes WHERE id = ?").bind(mailboxId).first<{ transport: string }>();
    expect(row!.transport).toBe("outbox");
  });
});
