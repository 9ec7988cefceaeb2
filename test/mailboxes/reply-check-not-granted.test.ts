// A reply check that can't start: refused for lack of the right to read mail (Gmail's 403 insufficient
// scopes, Graph's ErrorAccessDenied) the mailbox needs reconnecting, said as "Sign in again and allow
// reading mail" (it was held with nothing telling the owner what to do); and a team admin's "Send without
// reply check" is not undone by the next round's failed start (a new hold within a minute).
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { pollReplies } from "../../worker/services/reply-polling";
import { HOUR, enroll, makeContacts, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";
import { client, env, ok, type Session } from "../helpers";
import { control, providerState, signIn, transportConfig, uniqueAccount } from "./oauth-sign-in";

const sentBy = async (account: string) => (await providerState(account)).sent.length;
const config = transportConfig;

beforeEach(() => startSimulation());

const mailboxRow = (id: string) =>
  env.DB.prepare("SELECT status, status_reason FROM mailboxes WHERE id = ?")
    .bind(id)
    .first<{ status: string; status_reason: string | null }>();
const audited = async (id: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM audit_log WHERE target_id = ? AND action = 'mailbox.needs_reconnect'")
    .bind(id)
    .first<{ n: number }>())!.n;

describe("a reply check refused for lack of the right to read mail", () => {
  it("Microsoft's ErrorAccessDenied at the sign-in's start: the mailbox needs reconnecting, saying to allow reading mail", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const account = uniqueAccount("denied");
    await control("fail", {
      match: "/messages/delta",
      status: 403,
      account,
      times: 1000,
      body: { error: { code: "ErrorAccessDenied", message: "Access is denied. Check credentials and try again." } },
    });
    const r = await signIn(s, "microsoft", account);
    const id = r.id!;
    expect(await mailboxRow(id)).toEqual({
      status: "needs_reconnect",
      status_reason: expect.stringContaining("Sign in again and allow reading mail"),
    });
    expect(await audited(id)).toBe(1);
    // Signing in again (reading allowed) connects it and starts the cursor.
    await control("clear", { account });
    await signIn(s, "microsoft", account);
    expect(await mailboxRow(id)).toEqual({ status: "connected", status_reason: null });
    expect(await config(id)).toMatchObject({ delta_link: expect.stringContaining("$deltatoken="), poll_error: null });
  });

  it("Gmail's insufficient scopes on the cron's start: needs reconnect, not polled again", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const account = uniqueAccount("gscope");
    const id = (await signIn(s, "google", account)).id!;
    await env.DB.prepare("UPDATE mailboxes SET transport_config = json_remove(transport_config, '$.history_id') WHERE id = ?")
      .bind(id)
      .run();
    await control("fail", {
      match: "/profile",
      status: 403,
      account,
      times: 3,
      body: {
        error: {
          code: 403,
          message: "Request had insufficient authentication scopes.",
          errors: [{ message: "Insufficient Permission", domain: "global", reason: "insufficientPermissions" }],
          status: "PERMISSION_DENIED",
        },
      },
    });
    await pollReplies(env);
    expect(await mailboxRow(id)).toEqual({
      status: "needs_reconnect",
      status_reason: expect.stringContaining("Sign in again and allow reading mail"),
    });
    await pollReplies(env);
    expect(await audited(id)).toBe(1);
    expect((await pollReplies(env)).some((o) => o.mailboxId === id)).toBe(false);
  });
});

describe("an admin's send without reply check, while the check can't start", () => {
  it("is not undone by the next round's failed start; the start that succeeds ends the waiver", async () => {
    const { teamId, userId } = await makeTeam();
    const s: Session = await sessionFor(teamId, userId);
    const account = uniqueAccount("waived");
    await control("fail", { match: "/messages/delta", status: 500, account, times: 1000 });
    const id = (await signIn(s, "microsoft", account)).id!;
    expect(typeof (await config(id)).release_pending).toBe("string");
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [id]);

    await ok(client(s).api.mailboxes[":id"]["send-without-reply-check"].$post({ param: { id }, json: { confirm: true } }));
    // A round fails to start the cursor again: it says so, and holds nothing.
    await pollReplies(env);
    const cfg = await config(id);
    expect(cfg.poll_error).toEqual(expect.stringContaining("could not start"));
    expect(cfg.release_pending).toBeUndefined();
    expect((await ok(client(s).api.mailboxes[":id"].$get({ param: { id } }))).mailbox.held_for_reply_check).toBeNull();
    await runUntil(now() + HOUR);
    expect(await sentBy(account)).toBe(1);

    // The cursor starts: the waiver ends, so a later failed start (a forgotten cursor) holds again.
    await control("clear", { account });
    await pollReplies(env);
    expect(await config(id)).toMatchObject({ delta_link: expect.stringContaining("$deltatoken="), reply_check_waived_at: null });
    await env.DB.prepare("UPDATE mailboxes SET transport_config = json_remove(transport_config, '$.delta_link') WHERE id = ?")
      .bind(id)
      .run();
    await control("fail", { match: "/messages/delta", status: 500, account, times: 1000 });
    await pollReplies(env);
    expect(typeof (await config(id)).release_pending).toBe("string");
  });
});
