// A reply check's start refused by Microsoft Graph for lack of the right to read mail was recognised by
// the words of Graph's answer (graphDelta gave no status): a 403 in other words ("AccessDenied", another
// tenant's wording) left the mailbox "connected", held and refreshed every minute with nothing for the
// owner to do. Now a 403, or a 401 to a token just refreshed, is that refusal by its status, the words
// kept for the screen. And a round's failure marks only the sign-in whose token it used: a reconnect that
// lands while the round fails is not marked "needs reconnect" (nor held) for the old grant's refusal.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { pollMailbox, pollReplies } from "../../worker/services/reply-polling";
import { startSimulation } from "../fixtures";
import { env } from "../helpers";
import { control, expireIn, mailboxRow, providerState, signIn, teamWith, transportConfig } from "./oauth-sign-in";

beforeEach(() => startSimulation());

const needsReconnectAudits = async (id: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM audit_log WHERE target_id = ? AND action = 'mailbox.needs_reconnect'")
    .bind(id)
    .first<{ n: number }>())!.n;

/** A connected Microsoft 365 mailbox whose reply cursor is gone: the next round starts it (Graph's delta). */
async function withoutCursor() {
  const t = await teamWith("microsoft");
  await env.DB.prepare("UPDATE mailboxes SET transport_config = json_remove(transport_config, '$.delta_link') WHERE id = ?")
    .bind(t.mailboxId)
    .run();
  return t;
}

describe("Graph refusing the reply check's start, told by its status", () => {
  it("a 403 in words other than ErrorAccessDenied: needs reconnect, saying to allow reading mail, with Graph's words", async () => {
    const { account, mailboxId } = await withoutCursor();
    const words = "Either the signed-in user does not have access to the requested resource, or the app lacks Mail.Read";
    await control("fail", {
      match: "/messages/delta",
      status: 403,
      account,
      times: 1000,
      body: { error: { code: "AccessDenied", message: words } },
    });
    await pollReplies(env);
    const row = await mailboxRow(mailboxId);
    expect(row!.status).toBe("needs_reconnect");
    expect(row!.status_reason).toContain("Sign in again and allow reading mail");
    expect(row!.status_reason).toContain(words.slice(0, 40));
    expect(await needsReconnectAudits(mailboxId)).toBe(1);
    // Not polled again until the owner signs in.
    expect((await pollReplies(env)).some((o) => o.mailboxId === mailboxId)).toBe(false);
  });

  it("a 401 again to the token refreshed after a 401: needs reconnect, not a refresh every minute", async () => {
    const { account, mailboxId } = await withoutCursor();
    const deltaCalls = async () => (await providerState(account)).calls.filter((c) => c.path.endsWith("/messages/delta")).length;
    const signedIn = await deltaCalls();
    await control("fail", {
      match: "/messages/delta",
      status: 401,
      account,
      times: 1000,
      body: { error: { code: "InvalidAuthenticationToken", message: "Access token validation failure." } },
    });
    await pollReplies(env);
    expect(await mailboxRow(mailboxId)).toMatchObject({
      status: "needs_reconnect",
      status_reason: expect.stringContaining("Sign in again and allow reading mail"),
    });
    // The refresh that told a live grant from a revoked one happened once, then the start was tried with its token.
    expect((await deltaCalls()) - signedIn).toBe(2);
  });
});

describe("a reconnect that lands while a round fails to start the reply check", () => {
  it("is not marked needs reconnect nor held for the old sign-in's refusal", async () => {
    const { s, account, mailboxId } = await withoutCursor();
    // The round reads the stored sign-in, and its token refresh is kept back at the provider.
    await expireIn(mailboxId, 1_000);
    await control("hold", { match: "token:refresh_token", account });
    const round = pollMailbox(env, db(env.DB), { id: mailboxId, transport: "graph" });
    for (let i = 0; i < 200 && !(await providerState(account).then((st) => (st as { held?: boolean }).held)); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect((await providerState(account)) as { held?: boolean }).toMatchObject({ held: true });
    // Meanwhile the owner signs in again: the mailbox is connected with new tokens and its cursor started.
    const before = (await mailboxRow(mailboxId))!.secret_ciphertext;
    expect((await signIn(s, "microsoft", account, { mailbox_id: mailboxId })).error).toBeNull();
    const reconnected = await mailboxRow(mailboxId);
    expect(reconnected!.secret_ciphertext).not.toBe(before);
    const cursor = (await transportConfig(mailboxId)).delta_link;
    expect(cursor).toEqual(expect.stringContaining("$deltatoken="));
    // The round goes on with the old sign-in's token, and Graph refuses it reading mail.
    await control("fail", {
      match: "/messages/delta",
      status: 403,
      account,
      times: 1,
      body: { error: { code: "ErrorAccessDenied", message: "Access is denied." } },
    });
    await control("release", { account });
    const out = await round;
    expect(out.error).toContain("Access is denied");

    expect(await mailboxRow(mailboxId)).toEqual({
      status: "connected",
      status_reason: null,
      secret_ciphertext: reconnected!.secret_ciphertext,
    });
    expect(await needsReconnectAudits(mailboxId)).toBe(0);
    const cfg = await transportConfig(mailboxId);
    expect(cfg).toMatchObject({ delta_link: cursor, poll_error: null });
    expect(cfg.release_pending).toBeUndefined();
  });
});
