// A Gmail / Microsoft 365 mailbox signed in again sends nothing until a reply check has read its inbox
// from after the sign-in (release_pending; see reconnect-holds-follow-ups.test.ts). Three things about
// that hold:
// - the mailbox's API answer says so (held_for_reply_check, since when, and the check's error when it
//   keeps failing): the Mailboxes page and the Home capacity card read it, and said it would send;
// - a check that never succeeds held the mailbox for good, silently: a team admin may let it send
//   without waiting, after confirming (its follow-ups may reach people who replied);
// - the sign-in saves "connected" and the mark in one statement: marked in a later one, a send pass in
//   between found the mailbox connected and unmarked and sent held follow-ups across an unread reply.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { now } from "../../worker/lib/clock";
import { pollReplies } from "../../worker/services/reply-polling";
import { engine } from "../../durable-objects/engine";
import { DAY, HOUR, enroll, makeContacts, makeSequence, makeUser, runUntil, sessionFor, startSimulation } from "../fixtures";
import { BASE, call, client, env, ok } from "../helpers";
import { control, providerState, signIn, teamWith } from "./oauth-sign-in";

beforeEach(() => startSimulation());

/** The To: of each email the provider sent for the account. */
const sentTo = async (account: string) => (await providerState(account)).sent.map((m) => /^To: ?(.*)$/im.exec(m.raw)?.[1] ?? "");

/** A mailbox that sent two first emails, then needed reconnecting while both follow-ups fell due. */
async function heldFollowUps() {
  const team = await teamWith("google");
  const { teamId, userId, mailboxId, account } = team;
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
  await enroll(teamId, sequenceId, await makeContacts(teamId, 2), [mailboxId]);
  await runUntil(now() + 2 * HOUR);
  const firsts = (
    await env.DB.prepare("SELECT contact_id, to_email, subject, message_id_header FROM messages WHERE sequence_id = ? ORDER BY to_email")
      .bind(sequenceId)
      .all<{ contact_id: string; to_email: string; subject: string; message_id_header: string }>()
  ).results;
  expect(firsts).toHaveLength(2);
  await env.DB.prepare("UPDATE mailboxes SET status = 'needs_reconnect', status_reason = 'test' WHERE id = ?").bind(mailboxId).run();
  await engine.mailbox(env, mailboxId).refresh();
  await runUntil(now() + DAY + 2 * HOUR);
  expect(await sentTo(account)).toHaveLength(2);
  return { ...team, sequenceId, firsts: firsts as [(typeof firsts)[0], (typeof firsts)[0]] };
}

const replyTo = (account: string, first: { to_email: string; subject: string; message_id_header: string }) =>
  control("inbox", {
    account,
    raw: `From: Prospect <${first.to_email}>\r\nTo: ${account}\r\nSubject: Re: ${first.subject}\r\nMessage-ID: <r-${crypto.randomUUID()}@mail.test>\r\nIn-Reply-To: ${first.message_id_header}\r\nReferences: ${first.message_id_header}\r\nContent-Type: text/plain\r\n\r\nYes, let's talk.\r\n`,
  });

describe("a mailbox held for its reply check after a reconnect", () => {
  it("answers held_for_reply_check with since and the check's error, and an admin's send-without-reply-check releases it", async () => {
    const { teamId, s, account, mailboxId, firsts } = await heldFollowUps();
    const signedInAt = now();
    // Every read of the inbox's history fails, in the sign-in's catch-up and in the cron's rounds.
    await control("fail", { match: "/history", account, status: 500, retryAfter: 0, times: 1000 });
    expect(await signIn(s, "google", account, { mailbox_id: mailboxId })).toMatchObject({ id: mailboxId, error: null });
    await pollReplies(env);
    await runUntil(now() + HOUR);
    expect(await sentTo(account)).toHaveLength(2);
    const { mailbox } = await ok(client(s).api.mailboxes[":id"].$get({ param: { id: mailboxId } }));
    expect(mailbox.status).toBe("connected");
    expect(mailbox.held_for_reply_check).toEqual({ since: signedInAt, error: expect.stringMatching(/500/) });
    // The list the Mailboxes page and the Home card read says the same.
    const listed = (await ok(client(s).api.mailboxes.$get())).mailboxes.find((m) => m.id === mailboxId)!;
    expect(listed.held_for_reply_check).toEqual(mailbox.held_for_reply_check);

    // Without confirming: refused, nothing sent.
    const unconfirmed = await call(`/api/mailboxes/${mailboxId}/send-without-reply-check`, {
      method: "POST",
      headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "application/json" },
      body: JSON.stringify({}),
    });
    expect(unconfirmed.status).toBe(422);
    // A member (not an admin) owning no such mailbox can't; an admin's teammate mailbox is not theirs to release.
    const member = await sessionFor(teamId, await makeUser(teamId, "member"));
    const byMember = await client(member).api.mailboxes[":id"]["send-without-reply-check"].$post({
      param: { id: mailboxId },
      json: { confirm: true },
    });
    expect([403, 404]).toContain(byMember.status);
    await runUntil(now() + HOUR);
    expect(await sentTo(account)).toHaveLength(2);

    const released = await ok(
      client(s).api.mailboxes[":id"]["send-without-reply-check"].$post({ param: { id: mailboxId }, json: { confirm: true } }),
    );
    expect(released.mailbox.held_for_reply_check).toBeNull();
    await runUntil(now() + HOUR);
    const after = await sentTo(account);
    expect(after).toHaveLength(4);
    for (const f of firsts) expect(after.filter((to) => to.includes(f.to_email))).toHaveLength(2);
    expect(
      await env.DB.prepare("SELECT details FROM audit_log WHERE target_id = ? AND action = 'mailbox.send_without_reply_check'")
        .bind(mailboxId)
        .all<{ details: string }>(),
    ).toMatchObject({ results: [{ details: expect.stringContaining(`"held_since":${signedInAt}`) }] });
    // Nothing is held any more: a second release is refused.
    const again = await client(s).api.mailboxes[":id"]["send-without-reply-check"].$post({
      param: { id: mailboxId },
      json: { confirm: true },
    });
    expect(again.status).toBe(409);
  });

  it("the sequence's contacts and the scheduled emails say the follow-ups wait for the check, with no send time", async () => {
    const { s, account, mailboxId, sequenceId } = await heldFollowUps();
    await control("fail", { match: "/history", account, status: 500, retryAfter: 0, times: 1000 });
    await signIn(s, "google", account, { mailbox_id: mailboxId });
    await pollReplies(env);
    await runUntil(now() + HOUR);
    expect(await sentTo(account)).toHaveLength(2);
    // Before, both said the follow-ups were queued and gave a send time the mailbox would not keep.
    const { scheduled: emails } = await ok(client(s).api["scheduled-emails"].$get({ query: { sequence_id: sequenceId } }));
    expect(emails).toHaveLength(2);
    for (const e of emails)
      expect(e).toMatchObject({
        state: "held",
        send_at: null,
        reason: "mailbox_reply_check",
        reason_text: expect.stringMatching(/reply check/),
      });
    const { enrollments } = await ok(
      client(s).api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: { status: "active" } }),
    );
    expect(enrollments).toHaveLength(2);
    for (const e of enrollments) expect(e).toMatchObject({ next_action_at: null, reason: "mailbox_reply_check" });
    // The "Not sent" chip counts them, and its reason filter finds them.
    const notSent = await ok(
      client(s).api.sequences[":id"].enrollments.$get({
        param: { id: sequenceId },
        query: { status: "not_sent", reason: "mailbox_reply_check" },
      }),
    );
    expect(notSent.enrollments).toHaveLength(2);
    expect(notSent.counts).toMatchObject({ not_sent: 2 });
    // The contact's page says the same of the run.
    const [contactId] = enrollments.map((e) => e.contact.id);
    const { sequences: runs } = await ok(client(s).api.contacts[":id"].sequences.$get({ param: { id: contactId! } }));
    expect(runs).toMatchObject([{ sequence_id: sequenceId, reason: "mailbox_reply_check" }]);
    // Send now promises a time the held mailbox wouldn't keep: refused in words, nothing sent.
    const e0 = emails[0]!;
    const sendNow = await client(s).api["scheduled-emails"][":enrollment_id"][":step_id"]["send-now"].$post({
      param: { enrollment_id: e0.enrollment_id, step_id: e0.step.id },
    });
    expect(sendNow.status).toBe(409);
    expect(((await sendNow.json()) as { error: { message: string } }).error.message).toMatch(/reply check/);
    await runUntil(now() + HOUR);
    expect(await sentTo(account)).toHaveLength(2);
  });

  it("answers held_for_reply_check null once the check catches up", async () => {
    const { s, account, mailboxId } = await heldFollowUps();
    await control("fail", { match: "/history", account, status: 500, retryAfter: 0, times: 3 });
    await signIn(s, "google", account, { mailbox_id: mailboxId });
    expect((await ok(client(s).api.mailboxes[":id"].$get({ param: { id: mailboxId } }))).mailbox.held_for_reply_check).not.toBeNull();
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ released: true });
    expect((await ok(client(s).api.mailboxes[":id"].$get({ param: { id: mailboxId } }))).mailbox.held_for_reply_check).toBeNull();
    await runUntil(now() + HOUR);
    expect(await sentTo(account)).toHaveLength(4);
  });

  it("no send pass sees the mailbox connected without the mark: one run right after the sign-in's write sends nothing", async () => {
    const { s, account, mailboxId, firsts } = await heldFollowUps();
    const [replier, other] = firsts;
    await replyTo(account, replier);
    // The sign-in's callback, through the app with a D1 that runs the mailbox's send pass right after
    // the sign-in's first batch (the one that saves it connected), before anything else the sign-in writes.
    const start = await ok(
      client(s).api.oauth[":provider"].start.$post({ param: { provider: "google" }, json: { mailbox_id: mailboxId } }),
    );
    const url = new URL(start.url);
    url.searchParams.set("test_account", account);
    const back = new URL((await fetch(url, { redirect: "manual" })).headers.get("location")!);
    let during: string[] | null = null;
    const racing = new Proxy(env.DB, {
      get(target, key) {
        if (key === "batch")
          return async (statements: D1PreparedStatement[]) => {
            const out = await target.batch(statements);
            if (during === null) {
              await engine.mailbox(env, mailboxId).refresh();
              await runUntil(now() + 10 * 60_000);
              during = await sentTo(account);
            }
            return out;
          };
        const v = Reflect.get(target, key) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const ctx = createExecutionContext();
    const res = await app.request(
      `${BASE}${back.pathname}${back.search}`,
      { headers: { cookie: s.cookie }, redirect: "manual" },
      { ...env, DB: racing },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.headers.get("location")).toContain(`connected=${mailboxId}`);
    expect(during).toHaveLength(2);
    // The catch-up read the reply and released the rest: the prospect who replied gets no follow-up.
    await runUntil(now() + HOUR);
    const after = await sentTo(account);
    expect(after.filter((to) => to.includes(replier.to_email))).toHaveLength(1);
    expect(after.filter((to) => to.includes(other.to_email))).toHaveLength(2);
    expect(after).toHaveLength(3);
  });
});
