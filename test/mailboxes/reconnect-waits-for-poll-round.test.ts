// A mailbox signed in again while a cron round still reads it (it holds the mailbox's lease): its held
// follow-ups stay held until a round that started after the reconnect has read to the newest point.
// Releasing them when the catch-up gave up waiting sent a follow-up to a prospect whose reply the cron
// round was still reading. The slow round is the fake provider's /control/hold on the message read.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { now } from "../../worker/lib/clock";
import { CATCH_UP_WAIT, pollMailbox, pollReplies } from "../../worker/services/reply-polling";
import { engine } from "../../durable-objects/engine";
import { DAY, HOUR, enroll, makeContacts, makeSequence, runUntil, startSimulation } from "../fixtures";
import { env } from "../helpers";
import { control, providerState, signIn, teamWith } from "./oauth-sign-in";

const DEFAULT_WAIT = CATCH_UP_WAIT.ms;
beforeEach(() => {
  startSimulation();
  CATCH_UP_WAIT.ms = 1_000;
});
afterEach(() => {
  CATCH_UP_WAIT.ms = DEFAULT_WAIT;
});

const config = async (id: string) =>
  JSON.parse(
    (await env.DB.prepare("SELECT transport_config FROM mailboxes WHERE id = ?").bind(id).first<{ transport_config: string }>())!
      .transport_config,
  ) as Record<string, unknown>;

async function waitFor(check: () => Promise<boolean>, ms = 5_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
const held = async (account: string) => ((await providerState(account)) as unknown as { held: boolean }).held;
/** The To: of each email the provider sent for the account. */
const sentTo = async (account: string) => (await providerState(account)).sent.map((m) => /^To: ?(.*)$/im.exec(m.raw)?.[1] ?? "");

describe("a reconnect while a cron round holds the mailbox", () => {
  it("releases no held email until the round's replies are applied, then the cron's next round releases the rest", async () => {
    const { teamId, userId, s, account, mailboxId } = await teamWith("google");
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    const contacts = await makeContacts(teamId, 2);
    await enroll(teamId, sequenceId, contacts, [mailboxId]);
    await runUntil(now() + 2 * HOUR);
    expect((await providerState(account)).sent).toHaveLength(2);
    const firsts = (
      await env.DB.prepare("SELECT contact_id, to_email, subject, message_id_header FROM messages WHERE sequence_id = ? ORDER BY to_email")
        .bind(sequenceId)
        .all<{ contact_id: string; to_email: string; subject: string; message_id_header: string }>()
    ).results;
    expect(firsts).toHaveLength(2);
    // The mailbox needs reconnecting (its sign-in stays usable to the round below): the follow-ups fall due and are held.
    await env.DB.prepare("UPDATE mailboxes SET status = 'needs_reconnect', status_reason = 'test' WHERE id = ?").bind(mailboxId).run();
    await engine.mailbox(env, mailboxId).refresh();
    await runUntil(now() + DAY + 2 * HOUR);
    expect((await providerState(account)).sent).toHaveLength(2);
    // The first prospect answers meanwhile.
    const [replier, other] = firsts as [(typeof firsts)[0], (typeof firsts)[0]];
    await control("inbox", {
      account,
      raw: `From: Prospect <${replier.to_email}>\r\nTo: ${account}\r\nSubject: Re: ${replier.subject}\r\nMessage-ID: <r-${crypto.randomUUID()}@mail.test>\r\nIn-Reply-To: ${replier.message_id_header}\r\nReferences: ${replier.message_id_header}\r\nContent-Type: text/plain\r\n\r\nYes, let's talk.\r\n`,
    });
    // The reconnect has saved the mailbox as connected, and a cron round takes it before the catch-up
    // does (the mailbox's last round is the oldest): the round has the reply listed, its read kept back.
    await env.DB.prepare("UPDATE mailboxes SET status = 'connected', status_reason = NULL WHERE id = ?").bind(mailboxId).run();
    await control("hold", { match: "/messages/in-", account });
    const cronRound = pollMailbox(env, db(env.DB), { id: mailboxId, transport: "gmail" });
    try {
      expect(await waitFor(() => held(account))).toBe(true);
      expect(await signIn(s, "google", account, { mailbox_id: mailboxId })).toMatchObject({ id: mailboxId, error: null });
      // The catch-up found the mailbox busy past its wait: nothing released, the reply not applied yet.
      await runUntil(now() + HOUR);
      expect((await providerState(account)).sent).toHaveLength(2);
      expect(typeof (await config(mailboxId)).release_pending).toBe("string");
    } finally {
      await control("release", { account });
    }
    expect(await cronRound).toMatchObject({ read: 1, handled: 1 });
    expect(await cronRound).not.toHaveProperty("released");
    const status = (contactId: string) =>
      env.DB.prepare("SELECT status, reason FROM enrollments WHERE contact_id = ?").bind(contactId).first();
    expect(await status(replier.contact_id)).toEqual({ status: "finished", reason: "replied" });
    // That round started before the reconnect: it releases nothing.
    await runUntil(now() + HOUR);
    expect((await providerState(account)).sent).toHaveLength(2);
    // The next cron round reads from after it, to the newest point, and releases the held follow-up.
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 0, released: true });
    expect((await config(mailboxId)).release_pending).toBeUndefined();
    await runUntil(now() + HOUR);
    const sent = await sentTo(account);
    expect(sent).toHaveLength(3);
    expect(sent.filter((to) => to.includes(other.to_email))).toHaveLength(2);
    expect(sent.filter((to) => to.includes(replier.to_email))).toHaveLength(1);
  });
});
