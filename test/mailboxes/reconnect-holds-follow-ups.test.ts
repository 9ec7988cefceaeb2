// A reconnected mailbox's follow-ups are held until a reply check that started after the sign-in has
// read to the newest point (release_pending, worker/services/reply-polling.ts). The MailboxDO's own
// send pass must honour that hold too: any re-plan of the mailbox in the window that read its settings
// afresh (here: the owner saving the mailbox's limits) found it connected and sent every due email,
// including a follow-up to a prospect whose reply sat unread in the inbox. The mailbox sends nothing
// until the release, as while it needed reconnecting (a new prospect's first email waits too).
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { pollReplies } from "../../worker/services/reply-polling";
import { engine } from "../../durable-objects/engine";
import { DAY, HOUR, enroll, makeContacts, makeSequence, runUntil, startSimulation } from "../fixtures";
import { client, env, ok } from "../helpers";
import { control, providerState, signIn, teamWith } from "./oauth-sign-in";

beforeEach(() => startSimulation());

const config = async (id: string) =>
  JSON.parse(
    (await env.DB.prepare("SELECT transport_config FROM mailboxes WHERE id = ?").bind(id).first<{ transport_config: string }>())!
      .transport_config,
  ) as Record<string, unknown>;

/** The To: of each email the provider sent for the account. */
const sentTo = async (account: string) => (await providerState(account)).sent.map((m) => /^To: ?(.*)$/im.exec(m.raw)?.[1] ?? "");

describe("a reconnected mailbox whose reply check has not caught up", () => {
  it("sends nothing after an edit of the mailbox, and its emails go once released, none to the prospect who replied", async () => {
    const { teamId, userId, s, account, mailboxId } = await teamWith("google");
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 2), [mailboxId]);
    await runUntil(now() + 2 * HOUR);
    const firsts = (
      await env.DB.prepare("SELECT contact_id, to_email, subject, message_id_header FROM messages WHERE sequence_id = ? ORDER BY to_email")
        .bind(sequenceId)
        .all<{ contact_id: string; to_email: string; subject: string; message_id_header: string }>()
    ).results;
    expect(firsts).toHaveLength(2);
    // The mailbox needs reconnecting: the follow-ups fall due and are held.
    await env.DB.prepare("UPDATE mailboxes SET status = 'needs_reconnect', status_reason = 'test' WHERE id = ?").bind(mailboxId).run();
    await engine.mailbox(env, mailboxId).refresh();
    await runUntil(now() + DAY + 2 * HOUR);
    expect(await sentTo(account)).toHaveLength(2);
    const [replier, other] = firsts as [(typeof firsts)[0], (typeof firsts)[0]];
    await control("inbox", {
      account,
      raw: `From: Prospect <${replier.to_email}>\r\nTo: ${account}\r\nSubject: Re: ${replier.subject}\r\nMessage-ID: <r-${crypto.randomUUID()}@mail.test>\r\nIn-Reply-To: ${replier.message_id_header}\r\nReferences: ${replier.message_id_header}\r\nContent-Type: text/plain\r\n\r\nYes, let's talk.\r\n`,
    });
    // The sign-in's catch-up fails to read (every retry of its history read answers 500): the mark stays.
    await control("fail", { match: "/history", account, status: 500, retryAfter: 0, times: 3 });
    expect(await signIn(s, "google", account, { mailbox_id: mailboxId })).toMatchObject({ id: mailboxId, error: null });
    expect(typeof (await config(mailboxId)).release_pending).toBe("string");
    // Meanwhile the owner raises the mailbox's daily limit (the save re-plans its MailboxDO, reading the
    // settings afresh, as an object started again does), and a new prospect's first email is queued.
    await ok(client(s).api.mailboxes[":id"].$patch({ param: { id: mailboxId }, json: { daily_limit: 60 } }));
    const [newcomer] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [newcomer!], [mailboxId]);
    await runUntil(now() + HOUR);
    const newcomerEmail = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(newcomer).first<{ email: string }>())!
      .email;
    const during = await sentTo(account);
    expect(during.filter((to) => to.includes(replier.to_email))).toHaveLength(1);
    expect(during.filter((to) => to.includes(other.to_email))).toHaveLength(1);
    expect(during).toHaveLength(2);
    // The cron's next round reads the reply, reaches the newest point and releases the held follow-ups.
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 1, released: true });
    expect(await env.DB.prepare("SELECT status, reason FROM enrollments WHERE contact_id = ?").bind(replier.contact_id).first()).toEqual({
      status: "finished",
      reason: "replied",
    });
    await runUntil(now() + HOUR);
    const after = await sentTo(account);
    expect(after.filter((to) => to.includes(replier.to_email))).toHaveLength(1);
    expect(after.filter((to) => to.includes(other.to_email))).toHaveLength(2);
    expect(after.filter((to) => to.includes(newcomerEmail))).toHaveLength(1);
    expect(after).toHaveLength(4);
  });
});
