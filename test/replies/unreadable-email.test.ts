// One crafted email must never stop reply checking: an HTML-only email with a character reference
// beyond U+10FFFF (String.fromCodePoint threw) or headers over postal-mime's 2 MB limit (PostalMime.parse
// threw) made every polling round die at the same message, every minute, with later replies never read.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { pollReplies } from "../../worker/services/reply-polling";
import { classifyInbound } from "../../worker/services/reply-classify";
import { HOUR, enroll, makeContacts, makeSequence, runUntil, startSimulation } from "../fixtures";
import { client, env, ok } from "../helpers";
import { control, teamWith } from "../mailboxes/oauth-sign-in";
import { replyTo, sentFirst, type Sent } from "./mail";

const t = Date.UTC(2027, 2, 1);
const m: Sent = {
  id: "m1",
  enrollment_id: "e1",
  contact_id: "c1",
  to_email: "ana@acme.test",
  subject: "Quick question",
  message_id_header: `<sf.${"a".repeat(24)}.${"b".repeat(24)}@sender.test>`,
};

const htmlOnly = (s: Sent, body: string) => replyTo(s, { body }).replace("Content-Type: text/plain", "Content-Type: text/html");
/** A reply whose headers alone are over postal-mime's 2 MB limit. */
const hugeHeaders = (s: Sent) =>
  replyTo(s, { extra: Array.from({ length: 2200 }, (_, i) => `X-Filler-${i}: ${"x".repeat(1000)}\r\n`).join("") });

const config = async (id: string) =>
  JSON.parse(
    (await env.DB.prepare("SELECT transport_config FROM mailboxes WHERE id = ?").bind(id).first<{ transport_config: string }>())!
      .transport_config,
  ) as Record<string, unknown>;

describe("an email that can't be read as it is", () => {
  beforeEach(() => startSimulation());

  it("an HTML-only reply with a character reference beyond U+10FFFF is read, the reference as U+FFFD", async () => {
    const c = await classifyInbound(htmlOnly(m, "<p>Sounds good &#99999999; &#x110000; &#0; call me</p>"), t);
    expect(c).toMatchObject({ kind: "reply", ids: [m.message_id_header] });
    expect(c.body.text).toBe("Sounds good \ufffd \ufffd \ufffd call me");
  });

  it("an email postal-mime refuses (headers over 2 MB) is ignored as unreadable, on the email() path too", async () => {
    const c = await classifyInbound(hugeHeaders(m), t);
    expect(c).toMatchObject({ kind: "ignored", ids: [], evidence: { rule: "unreadable" } });
    expect(c.evidence.phrase).toMatch(/header size/i);
    const s = await sentFirst();
    expect(await handleInbound(env, hugeHeaders(s.m))).toMatchObject({ kind: "ignored", inboundId: null });
    expect(await env.DB.prepare("SELECT count(*) n FROM inbound_messages WHERE team_id = ?").bind(s.teamId).first()).toEqual({ n: 0 });
  });

  for (const provider of ["google", "microsoft"] as const)
    it(`${provider}: polling reads on past such emails: the replies after them are acted on and the cursor moves`, async () => {
      const { teamId, userId, account, mailboxId } = await teamWith(provider);
      const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 3, unit: "days" }], null);
      await enroll(teamId, sequenceId, await makeContacts(teamId, 2), [mailboxId]);
      await runUntil(now() + HOUR);
      await pollReplies(env);
      const before = await config(mailboxId);
      const sent = (await env.DB.prepare("SELECT * FROM messages WHERE sequence_id = ? ORDER BY to_email").bind(sequenceId).all<Sent>())
        .results;
      expect(sent).toHaveLength(2);
      // The first contact answers in HTML with a bad reference; a 2 MB-header email; the second contact answers.
      for (const raw of [htmlOnly(sent[0]!, "<p>Yes &#99999999; let's talk</p>"), hugeHeaders(sent[1]!), replyTo(sent[1]!)])
        await control("inbox", { account, raw });
      const out = (await pollReplies(env)).find((o) => o.mailboxId === mailboxId);
      expect(out).toMatchObject({ mailboxId, read: 3, handled: 2 });
      expect(out!.error).toBeUndefined();
      const runs = await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?").bind(sequenceId).all();
      expect(runs.results).toEqual([
        { status: "finished", reason: "replied" },
        { status: "finished", reason: "replied" },
      ]);
      const after = await config(mailboxId);
      expect(after.poll_error).toBeNull();
      if (provider === "google") expect(after.history_id).not.toBe(before.history_id);
      else expect(after.delta_link).not.toBe(before.delta_link);
    });

  it("a round that fails (D1 refused a write) says so on the mailbox, and the next good round clears it", async () => {
    const { teamId, userId, s, account, mailboxId } = await teamWith("google");
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 3, unit: "days" }], null);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mailboxId]);
    await runUntil(now() + HOUR);
    await pollReplies(env);
    const first = (await env.DB.prepare("SELECT * FROM messages WHERE sequence_id = ?").bind(sequenceId).first<Sent>())!;
    await control("inbox", { account, raw: replyTo(first) });
    await env.DB.prepare(
      "CREATE TRIGGER unreadable_test_refuse BEFORE INSERT ON inbound_messages BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    ).run();
    const cursor = (await config(mailboxId)).history_id;
    try {
      const out = (await pollReplies(env)).find((o) => o.mailboxId === mailboxId);
      expect(out!.error).toBeTruthy();
    } finally {
      await env.DB.prepare("DROP TRIGGER unreadable_test_refuse").run();
    }
    const failed = await config(mailboxId);
    expect(failed.history_id).toBe(cursor);
    expect(failed.poll_error).toMatch(/^The check failed: .*disk full/);
    // What the Mailboxes screen's "Replies could not be checked" banner shows.
    const { mailbox } = await ok(client(s).api.mailboxes[":id"].$get({ param: { id: mailboxId } }));
    expect(mailbox.reply_check?.error).toMatch(/disk full/);
    // The same round again reads the reply it had not stored.
    await pollReplies(env);
    expect(await env.DB.prepare("SELECT status, reason FROM enrollments WHERE id = ?").bind(first.enrollment_id).first()).toEqual({
      status: "finished",
      reason: "replied",
    });
    expect((await config(mailboxId)).poll_error).toBeNull();
  });
});
