// A Gmail / Microsoft 365 mailbox must read its replies before it sends: a reply finishes the run, so a
// mailbox whose replies are never read emails people who answered. Against the local provider fakes
// (test/fixtures/oauth-providers.mjs): a sign-in with reading unticked on the consent screen is refused,
// and a reply check that can't start (the profile / delta call fails) is said on the mailbox and holds it.
import { beforeEach, describe, expect, it } from "vitest";
import { runCron } from "../../worker/cron";
import { now } from "../../worker/lib/clock";
import { pollReplies } from "../../worker/services/reply-polling";
import { HOUR, enroll, makeContacts, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";
import { client, env, ok } from "../helpers";
import { control, providerState, signIn, transportConfig, uniqueAccount } from "./oauth-sign-in";

const sentBy = async (account: string) => (await providerState(account)).sent.length;
const config = transportConfig;

beforeEach(() => startSimulation());

describe("a mailbox that can't read its replies", () => {
  it("is refused at sign-in when reading email was unticked on the consent screen, and accepted with a scope that reads", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    for (const [provider, scopes] of [
      ["google", "https://www.googleapis.com/auth/gmail.send openid email"],
      // Mail.ReadBasic has no bodies (no In-Reply-To to match), Mail.Read.Shared is other people's mail.
      [
        "microsoft",
        "offline_access https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadBasic https://graph.microsoft.com/User.Read",
      ],
      [
        "microsoft",
        "offline_access https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.Read.Shared https://graph.microsoft.com/User.Read",
      ],
    ] as const) {
      const account = uniqueAccount(`noread-${provider}`);
      const r = await signIn(s, provider, account, {}, scopes);
      expect(r, scopes).toEqual({ id: null, error: "read_not_granted" });
      expect(await env.DB.prepare("SELECT count(*) n FROM mailboxes WHERE email = ?").bind(account).first(), scopes).toEqual({ n: 0 });
    }
    for (const [provider, scopes] of [
      ["google", "https://mail.google.com/ openid email"],
      [
        "microsoft",
        "offline_access https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadWrite https://graph.microsoft.com/User.Read",
      ],
    ] as const) {
      const r = await signIn(s, provider, uniqueAccount(`reads-${provider}`), {}, scopes);
      expect(r.error, scopes).toBeNull();
      expect(await config(r.id!), scopes).toMatchObject({ poll_error: null });
    }
  });

  it("whose reply check can't start says so on the mailbox and sends nothing until it has started", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const account = uniqueAccount("nostart");
    // Microsoft answers the sign-in's check but fails the Inbox delta that starts the reply check (a 403
    // would be a grant that may not read mail: needs reconnect, reply-check-not-granted.test.ts).
    await control("fail", { match: "/messages/delta", status: 500, account, times: 1000 });
    const r = await signIn(s, "microsoft", account);
    expect(r.error).toBeNull();
    const id = r.id!;
    const cfg = await config(id);
    expect(cfg.delta_link).toBeUndefined();
    expect(cfg.poll_error).toEqual(expect.stringContaining("The reply check could not start"));
    expect(typeof cfg.release_pending).toBe("string");
    const shown = (await ok(client(s).api.mailboxes[":id"].$get({ param: { id } }))).mailbox;
    expect(shown.held_for_reply_check).toEqual({ since: expect.any(Number), error: expect.stringContaining("could not start") });
    // The cron's rounds keep failing the same way: it stays held, and nothing goes out.
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [id]);
    await pollReplies(env);
    await runUntil(now() + HOUR);
    expect(await sentBy(account)).toBe(0);
    expect(await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first()).toEqual({
      status: "active",
      reason: "queued_for_mailbox",
    });
    expect((await config(id)).poll_error).toEqual(expect.stringContaining("could not start"));
    // Microsoft answers again: the round that starts the cursor releases the mailbox, which sends.
    await control("clear", { account });
    await runCron({} as ScheduledController, env);
    const after = await config(id);
    expect(after).toMatchObject({ delta_link: expect.stringContaining("$deltatoken="), poll_error: null });
    expect(after.release_pending).toBeUndefined();
    await runUntil(now() + HOUR);
    expect(await sentBy(account)).toBe(1);
  });

  it("a Gmail mailbox whose reply cursor can't be started on the cron is held with the reason", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const account = uniqueAccount("gstart");
    const r = await signIn(s, "google", account);
    const id = r.id!;
    await env.DB.prepare("UPDATE mailboxes SET transport_config = json_remove(transport_config, '$.history_id') WHERE id = ?")
      .bind(id)
      .run();
    await control("fail", { match: "/profile", status: 403, account, times: 3 });
    await pollReplies(env);
    const cfg = await config(id);
    expect(cfg.history_id).toBeUndefined();
    expect(cfg.poll_error).toEqual(expect.stringContaining("The reply check could not start"));
    expect(typeof cfg.release_pending).toBe("string");
    await control("clear", { account });
    await pollReplies(env);
    expect(await config(id)).toMatchObject({ history_id: expect.any(String), poll_error: null });
    expect((await config(id)).release_pending).toBeUndefined();
  });
});
