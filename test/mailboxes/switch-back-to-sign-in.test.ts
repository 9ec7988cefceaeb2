// A Gmail / Microsoft 365 mailbox switched to another transport (its tokens dropped) comes back by
// signing in again with the same address: from "Connect Gmail" or from the mailbox's own sign-in.
import { describe, expect, it } from "vitest";
import { makeUser, sessionFor } from "../fixtures";
import { as, env } from "../helpers";
import { signIn, teamWith } from "./oauth-sign-in";

const row = (id: string) =>
  env.DB.prepare("SELECT transport, status, secret_ciphertext, transport_config FROM mailboxes WHERE id = ?")
    .bind(id)
    .first<{ transport: string; status: string; secret_ciphertext: string | null; transport_config: string }>();
const count = async (teamId: string, email: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM mailboxes WHERE team_id = ? AND email = ?").bind(teamId, email).first<{ n: number }>())!.n;

describe("a signed-in mailbox switched to another transport", () => {
  for (const provider of ["google", "microsoft"] as const)
    it(`${provider}: signing in again as its address converts it back, keeping the mailbox`, async () => {
      const { teamId, s, account, mailboxId } = await teamWith(provider);
      expect((await as(s, "PATCH", `/api/mailboxes/${mailboxId}`, { transport: "outbox" })).status).toBe(200);
      expect(await row(mailboxId)).toMatchObject({ transport: "outbox", secret_ciphertext: null });
      // "Connect Gmail" with the same account.
      expect(await signIn(s, provider, account)).toEqual({ id: mailboxId, error: null });
      const back = (await row(mailboxId))!;
      expect(back).toMatchObject({ transport: provider === "google" ? "gmail" : "graph", status: "connected" });
      expect(back.secret_ciphertext).not.toBeNull();
      expect(await count(teamId, account)).toBe(1);
      // And from the mailbox itself (its sign-in button), after another switch.
      expect((await as(s, "PATCH", `/api/mailboxes/${mailboxId}`, { transport: "outbox" })).status).toBe(200);
      expect(await signIn(s, provider, account, { mailbox_id: mailboxId })).toEqual({ id: mailboxId, error: null });
      expect((await row(mailboxId))!.transport).toBe(provider === "google" ? "gmail" : "graph");
    });

  it("a member who doesn't manage it can't take it over by signing in as its address", async () => {
    const { teamId, s, account, mailboxId } = await teamWith("google");
    expect((await as(s, "PATCH", `/api/mailboxes/${mailboxId}`, { transport: "outbox" })).status).toBe(200);
    const member = await makeUser(teamId);
    const r = await signIn(await sessionFor(teamId, member), "google", account);
    expect(r.id).toBeNull();
    expect(r.error).toBeTruthy();
    expect(await row(mailboxId)).toMatchObject({ transport: "outbox", secret_ciphertext: null });
  });
});
