// A Gmail / Microsoft 365 mailbox whose sign-in was revoked holds its emails and isn't polled for
// replies. When it is signed in again, the replies that arrived meanwhile are read before its held
// follow-ups are released: a prospect who answered during the outage doesn't get the next step.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { openTokens, sealTokens } from "../../worker/transports/oauth";
import { DAY, HOUR, enroll, makeContacts, makeSequence, runUntil, startSimulation } from "../fixtures";
import { pollReplies } from "../../worker/services/reply-polling";
import { client, env, ok } from "../helpers";
import { control, providerState, signIn, teamWith } from "./oauth-sign-in";

beforeEach(() => startSimulation());

const mailbox = (id: string) =>
  env.DB.prepare("SELECT status, secret_ciphertext FROM mailboxes WHERE id = ?")
    .bind(id)
    .first<{ status: string; secret_ciphertext: string }>();

describe("signing a mailbox in again", () => {
  for (const provider of ["google", "microsoft"] as const)
    it(`${provider}: reads the replies that came while it was down before a held follow-up goes out`, async () => {
      const { teamId, userId, s, account, mailboxId } = await teamWith(provider);
      const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
      const [contactId] = await makeContacts(teamId, 1);
      await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
      await runUntil(now() + HOUR);
      expect((await providerState(account)).sent).toHaveLength(1);
      const first = (await env.DB.prepare("SELECT to_email, subject, message_id_header FROM messages WHERE sequence_id = ?")
        .bind(sequenceId)
        .first<{ to_email: string; subject: string; message_id_header: string }>())!;
      // The grant is revoked: the follow-up falls due and is held.
      await control("revoke", { account });
      const tokens = await openTokens(env, (await mailbox(mailboxId))!.secret_ciphertext);
      await env.DB.prepare("UPDATE mailboxes SET secret_ciphertext = ? WHERE id = ?")
        .bind(await sealTokens(env, { ...tokens, expiresAt: now() }), mailboxId)
        .run();
      await runUntil(now() + DAY + 2 * HOUR);
      expect((await mailbox(mailboxId))!.status).toBe("needs_reconnect");
      expect((await providerState(account)).sent).toHaveLength(1);
      // Meanwhile the prospect answers.
      await control("inbox", {
        account,
        raw: `From: Prospect <${first.to_email}>\r\nTo: ${account}\r\nSubject: Re: ${first.subject}\r\nMessage-ID: <r-${crypto.randomUUID()}@mail.test>\r\nIn-Reply-To: ${first.message_id_header}\r\nReferences: ${first.message_id_header}\r\nContent-Type: text/plain\r\n\r\nYes, let's talk.\r\n`,
      });
      expect(await signIn(s, provider, account, { mailbox_id: mailboxId })).toMatchObject({ id: mailboxId, error: null });
      // Before any cron tick: the mailbox runs, the reply is already recorded, the follow-up is not sent.
      await runUntil(now() + HOUR);
      expect((await providerState(account)).sent).toHaveLength(1);
      expect(await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first()).toEqual({
        status: "finished",
        reason: "replied",
      });
      expect(
        (await env.DB.prepare("SELECT replied_at FROM messages WHERE sequence_id = ?")
          .bind(sequenceId)
          .first<{ replied_at: number | null }>())!.replied_at,
      ).not.toBeNull();
    });

  it("google: a catch-up that fails outright still completes the sign-in, says why the mailbox is held, and the held follow-up goes once the cron reads the inbox", async () => {
    const { teamId, userId, s, account, mailboxId } = await teamWith("google");
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(now() + HOUR);
    await control("revoke", { account });
    const tokens = await openTokens(env, (await mailbox(mailboxId))!.secret_ciphertext);
    await env.DB.prepare("UPDATE mailboxes SET secret_ciphertext = ? WHERE id = ?")
      .bind(await sealTokens(env, { ...tokens, expiresAt: now() }), mailboxId)
      .run();
    await runUntil(now() + DAY + 2 * HOUR);
    expect((await mailbox(mailboxId))!.status).toBe("needs_reconnect");
    expect((await providerState(account)).sent).toHaveLength(1);
    // D1 fails the catch-up's first write (taking the mailbox's reply-check lease: a blip), once. The mark
    // was saved with "connected" in the sign-in's own statement, so the follow-up stays held until a reply
    // check reads the inbox; the mailbox says why meanwhile.
    const proto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const originals = { raw: proto.raw!, all: proto.all!, first: proto.first! };
    let failed = false;
    for (const [name, fn] of Object.entries(originals))
      proto[name] = async function (this: { statement: string }, ...a: unknown[]) {
        if (!failed && /json_set\(.*'\$\.poll_lease',/is.test(this.statement)) {
          failed = true;
          throw new Error("D1_ERROR: Network connection lost.");
        }
        return fn.apply(this, a);
      };
    try {
      expect(await signIn(s, "google", account, { mailbox_id: mailboxId })).toMatchObject({ id: mailboxId, error: null });
    } finally {
      Object.assign(proto, originals);
    }
    expect(failed).toBe(true);
    expect((await mailbox(mailboxId))!.status).toBe("connected");
    const held = (await ok(client(s).api.mailboxes[":id"].$get({ param: { id: mailboxId } }))).mailbox.held_for_reply_check;
    expect(held?.error).toMatch(/^Replies could not be read after signing in: .*Network connection lost/);
    await runUntil(now() + HOUR);
    expect((await providerState(account)).sent).toHaveLength(1);
    // The cron's next round reads the inbox and releases it.
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ released: true });
    await runUntil(now() + HOUR);
    expect((await providerState(account)).sent).toHaveLength(2);
  });
});
