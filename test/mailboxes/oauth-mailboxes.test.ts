// Gmail and Microsoft 365 mailboxes, end to end against local servers implementing Google's and
// Microsoft's documented endpoints (test/fixtures/oauth-providers.mjs, started by vitest.config.ts):
// sign-in with PKCE + state, verify on connect, sending through the Gmail API / Graph sendMail (MIME),
// replies found by polling Gmail history / Graph delta on the cron, token refresh before expiry, revoked
// grants → "needs reconnect" (held, owner told), 429 with Retry-After and 5xx retries.
import { beforeEach, describe, expect, inject, it } from "vitest";
import { app } from "../../worker/app";
import { runCron } from "../../worker/cron";
import { now } from "../../worker/lib/clock";
import { mailboxStub } from "../../durable-objects/engine";
import { loadMailbox } from "../../worker/transports/mailbox-settings";
import { db } from "../../worker/db/client";
import { MAX_MESSAGES_PER_TICK, pollReplies } from "../../worker/services/reply-polling";
import { accessTokenFor } from "../../worker/services/mailbox-auth";
import { gmailTransport, tokenFailure } from "../../worker/transports/gmail";
import { graphTransport } from "../../worker/transports/graph";
import { openTokens, sealTokens } from "../../worker/transports/oauth";
import { HOUR, enroll, makeContacts, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";
import type { InferResponseType } from "hono/client";
import { call, client, env, errorOf, fieldsOf, ok, type Session } from "../helpers";

const FAKE = env.GMAIL_API_URL!;
const control = (path: string, body: unknown) =>
  fetch(`${FAKE}/control/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const state = async (account: string) =>
  (await (await fetch(`${FAKE}/control/state?account=${encodeURIComponent(account)}`)).json()) as {
    sent: { raw: string; threadId?: string; requestedThreadId?: string | null }[];
    calls: { method: string; path: string }[];
  };
const uniqueAccount = (p: string) => `${p}-${crypto.randomUUID().slice(0, 8)}@acme.test`;
interface MailboxRow {
  status: string;
  status_reason: string | null;
  secret_ciphertext: string;
  transport_config: string;
}
const row = (id: string) => env.DB.prepare("SELECT * FROM mailboxes WHERE id = ?").bind(id).first<MailboxRow>();
/** The columns of a sent email these tests read. */
interface MessageRow {
  id: string;
  status: string;
  message_id_header: string;
  to_email: string;
  subject: string;
}
type Providers = InferResponseType<ReturnType<typeof client>["api"]["oauth"]["providers"]["$get"], 200>;

/** Start → the provider's consent screen (as `account`) → our callback, as the signed-in browser would. */
async function signIn(
  s: Session,
  provider: "google" | "microsoft",
  account: string,
  body: { mailbox_id?: string } = {},
  consent: Record<string, string> = {},
) {
  const start = await ok(client(s).api.oauth[":provider"].start.$post({ param: { provider }, json: body }));
  const url = new URL(start.url);
  url.searchParams.set("test_account", account);
  for (const [k, v] of Object.entries(consent)) url.searchParams.set(k, v);
  const consented = await fetch(url, { redirect: "manual" });
  if (consented.status !== 302) throw new Error(`consent ${consented.status} ${await consented.text()}`);
  const back = new URL(consented.headers.get("location")!);
  const res = await call(`${back.pathname}${back.search}`, { headers: { cookie: s.cookie }, redirect: "manual" });
  if (res.status !== 302) throw new Error(`callback ${back} ${res.status} ${(await res.text()).slice(0, 300)}`);
  const to = new URL(res.headers.get("location")!, "http://x");
  return { url, to, id: to.searchParams.get("connected"), error: to.searchParams.get("connect_error") };
}

/** A team whose user connected a mailbox by signing in, with a two-step sequence. */
async function teamWith(provider: "google" | "microsoft") {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const account = uniqueAccount(provider);
  const r = await signIn(s, provider, account);
  expect(r.error).toBeNull();
  return { teamId, userId, s, account, mailboxId: r.id! };
}

/** Make the stored access token expire in `ms` (the refresh token stays). */
async function expireIn(mailboxId: string, ms: number) {
  const t = await openTokens(env, (await row(mailboxId))!.secret_ciphertext);
  await env.DB.prepare("UPDATE mailboxes SET secret_ciphertext = ? WHERE id = ?")
    .bind(await sealTokens(env, { ...t, expiresAt: now() + ms }), mailboxId)
    .run();
}

const rawMail = (from: string, to: string, messageId: string, extra = "") =>
  `From: Sender <${from}>\r\nTo: ${to}\r\nSubject: Hello\r\nMessage-ID: ${messageId}\r\n${extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi there\r\n`;

beforeEach(() => startSimulation());

describe("connecting by signing in", () => {
  it("connects a Gmail mailbox with PKCE and state, verifies it with an authenticated call, and keeps the tokens sealed", async () => {
    const { s, account, mailboxId } = await teamWith("google");
    const mb = (await ok(client(s).api.mailboxes[":id"].$get({ param: { id: mailboxId } }))).mailbox;
    expect(mb).toMatchObject({ email: account, transport: "gmail", status: "connected", status_reason: null });
    const r = (await row(mailboxId))!;
    expect(r.secret_ciphertext).not.toContain("google-");
    expect(JSON.parse(r.transport_config)).toMatchObject({ account, history_id: expect.any(String) });
    const calls = (await state(account)).calls.map((c) => c.path);
    expect(calls).toContain("token:authorization_code");
    expect(calls).toContain("/gmail/v1/users/me/profile");
    const audit = await env.DB.prepare("SELECT action, details FROM audit_log WHERE target_id = ?")
      .bind(mailboxId)
      .first<{ action: string }>();
    expect(audit!.action).toBe("mailbox.create");
  });

  it("asks Google for offline access with an S256 challenge, sending-and-reading scopes and a sealed state", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { url } = await signIn(s, "google", uniqueAccount("scopes"));
    expect(url.origin + url.pathname).toBe(env.GOOGLE_AUTH_URL);
    const q = url.searchParams;
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("access_type")).toBe("offline");
    expect(q.get("scope")!.split(" ")).toEqual(
      expect.arrayContaining(["https://www.googleapis.com/auth/gmail.send", "https://www.googleapis.com/auth/gmail.readonly"]),
    );
    expect(q.get("redirect_uri")).toBe("http://localhost:8787/api/oauth/google/callback");
    // The state carries the PKCE verifier sealed: nothing readable in it.
    expect(q.get("state")).not.toMatch(/verifier|teamId/);
  });

  it("connects a Microsoft 365 mailbox the same way", async () => {
    const { s, account, mailboxId } = await teamWith("microsoft");
    const mb = (await ok(client(s).api.mailboxes[":id"].$get({ param: { id: mailboxId } }))).mailbox;
    expect(mb).toMatchObject({ email: account, transport: "graph", status: "connected", sender_name: `Fake ${account.split("@")[0]}` });
    expect(JSON.parse((await row(mailboxId))!.transport_config).delta_link).toContain("$deltatoken=");
  });

  it("says what went wrong when the sign-in is refused, tampered with, or someone else's", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const denied = await signIn(s, "google", uniqueAccount("deny"), {}, { test_deny: "1" });
    expect(denied.error).toBe("denied");
    // Granular consent with sending unticked: refused in words, no mailbox saved (it would pause on its first email).
    for (const [provider, scopes] of [
      ["google", "https://www.googleapis.com/auth/gmail.readonly openid email"],
      ["microsoft", "offline_access https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read"],
    ] as const) {
      const account = uniqueAccount(`nosend-${provider}`);
      const readOnly = await signIn(s, provider, account, {}, { test_scopes: scopes });
      expect(readOnly.error, provider).toBe("refused");
      expect(await env.DB.prepare("SELECT count(*) n FROM mailboxes WHERE email = ?").bind(account).first(), provider).toEqual({ n: 0 });
    }
    const tampered = await call(`/api/oauth/google/callback?code=x&state=not-a-sealed-state`, {
      headers: { cookie: s.cookie },
      redirect: "manual",
    });
    expect(new URL(tampered.headers.get("location")!, "http://x").searchParams.get("connect_error")).toBe("expired");
    // A state started by one user can't be completed in another user's session.
    const start = await ok(client(s).api.oauth[":provider"].start.$post({ param: { provider: "google" }, json: {} }));
    const other = await makeTeam();
    const os = await sessionFor(other.teamId, other.userId);
    const st = new URL(start.url).searchParams.get("state")!;
    const res = await call(`/api/oauth/google/callback?code=x&state=${encodeURIComponent(st)}`, {
      headers: { cookie: os.cookie },
      redirect: "manual",
    });
    expect(new URL(res.headers.get("location")!, "http://x").searchParams.get("connect_error")).toBe("other_user");
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM mailboxes WHERE team_id IN (?, ?)").bind(teamId, other.teamId).first<{ n: number }>())!
        .n,
    ).toBe(0);
  });

  it("without client ids the buttons explain what to configure", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const bare = { ...env, GOOGLE_CLIENT_ID: undefined, GOOGLE_CLIENT_SECRET: undefined };
    // Raw app.request on purpose: the point is an env without Google's client id and secret.
    const providers = (await (await app.request("/api/oauth/providers", { headers: { cookie: s.cookie } }, bare)).json()) as Providers;
    expect(providers.providers[0]).toMatchObject({
      provider: "google",
      configured: false,
      missing: ["GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"],
      redirect_uri: "http://localhost:8787/api/oauth/google/callback",
    });
    expect(providers.providers[1]).toMatchObject({ provider: "microsoft", configured: true, missing: [] });
    const res = await app.request(
      "/api/oauth/google/start",
      { method: "POST", headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "application/json" }, body: "{}" },
      bare,
    );
    expect(res.status).toBe(422);
    expect((await errorOf(res)).message).toMatch(/GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET \(wrangler secret put/);
  });
});

describe("sending and replies", () => {
  it("Gmail: a sequence sends through users.messages.send, the follow-up stays in the thread, and a reply found by history polling finishes the contact", async () => {
    const { teamId, userId, account, mailboxId } = await teamWith("google");
    await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Replied', 'in_progress', 2)")
      .bind(`${teamId}-replied`, teamId)
      .run();
    const { sequenceId } = await makeSequence(
      teamId,
      userId,
      [{ wait: 0 }, { wait: 1, unit: "days", threadReply: true }, { wait: 5, unit: "days" }],
      null,
    );
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(now() + HOUR);
    const sent = (await state(account)).sent;
    expect(sent).toHaveLength(1);
    const m = await env.DB.prepare("SELECT * FROM messages WHERE sequence_id = ?").bind(sequenceId).first<MessageRow>();
    expect(m!.status).toBe("sent");
    expect(sent[0]!.raw).toContain(`Message-ID: ${m!.message_id_header}`);
    // Follow-up a day later (the access token expired meanwhile: refreshed before the send).
    await runUntil(now() + 26 * HOUR);
    const after = await state(account);
    expect(after.sent).toHaveLength(2);
    expect(after.sent[1]!.requestedThreadId).toBe(after.sent[0]!.threadId);
    expect(after.calls.filter((c) => c.path === "token:refresh_token").length).toBeGreaterThan(0);
    // The prospect answers; the cron's poll finds it through history and classifies it like email().
    await control("inbox", {
      account,
      raw: `From: Prospect <${m!.to_email}>\r\nTo: ${account}\r\nSubject: Re: ${m!.subject}\r\nMessage-ID: <r-${crypto.randomUUID()}@mail.test>\r\nIn-Reply-To: ${m!.message_id_header}\r\nReferences: ${m!.message_id_header}\r\nContent-Type: text/plain\r\n\r\nSounds good.\r\n`,
    });
    await runCron({} as ScheduledController, env);
    expect(
      await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?")
        .bind(sequenceId)
        .first<{ status: string; reason: string | null }>(),
    ).toEqual({
      status: "finished",
      reason: "replied",
    });
    // The cursor moved: the same reply isn't read again.
    const before = (await state(account)).calls.filter((c) => c.path.includes("/messages/in-")).length;
    await pollReplies(env);
    expect((await state(account)).calls.filter((c) => c.path.includes("/messages/in-")).length).toBe(before);
  });

  it("Microsoft 365: sends the MIME message through Graph sendMail and finds replies and bounces through the Inbox delta", async () => {
    const { teamId, userId, account, mailboxId } = await teamWith("microsoft");
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(now() + HOUR);
    const m = await env.DB.prepare("SELECT * FROM messages WHERE sequence_id = ?").bind(sequenceId).first<MessageRow>();
    expect(m!.status).toBe("sent");
    expect((await state(account)).sent[0]!.raw).toContain(`Message-ID: ${m!.message_id_header}`);
    const dsn = `From: Mail Delivery System <MAILER-DAEMON@mx.test>\r\nTo: ${account}\r\nSubject: Undeliverable\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; ${m!.to_email}\r\nAction: failed\r\nStatus: 5.1.1\r\n--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: ${m!.message_id_header}\r\n--b1--\r\n`;
    await control("inbox", { account, raw: dsn });
    const [out] = (await pollReplies(env)).filter((o) => o.mailboxId === mailboxId);
    expect(out).toMatchObject({ read: 1, handled: 1 });
    expect((await env.DB.prepare("SELECT status FROM messages WHERE id = ?").bind(m!.id).first<{ status: string }>())!.status).toBe(
      "bounced",
    );
    expect(
      (await env.DB.prepare("SELECT reason FROM suppressions WHERE team_id = ? AND email = lower(?)")
        .bind(teamId, m!.to_email)
        .first<{ reason: string }>())!.reason,
    ).toBe("bounced");
  });

  it("an expired Graph delta link (410) or Gmail history point (404) with no good check to resync from restarts the reply check from now", async () => {
    const g = await teamWith("microsoft");
    await env.DB.prepare(
      "UPDATE mailboxes SET transport_config = json_set(transport_config, '$.delta_link', ?, '$.polled_at', NULL) WHERE id = ?",
    )
      .bind(`${env.GRAPH_API_URL}/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=expired`, g.mailboxId)
      .run();
    await pollReplies(env);
    expect(JSON.parse((await row(g.mailboxId))!.transport_config)).toMatchObject({
      delta_link: null,
      poll_error: expect.stringContaining("Reply check restarted"),
    });
    // The Mailboxes screen shows it.
    const shown = (await ok(client(g.s).api.mailboxes[":id"].$get({ param: { id: g.mailboxId } }))).mailbox;
    expect(shown.reply_check).toEqual({
      checked_at: null,
      error: expect.stringContaining("Reply check restarted: SyncStateNotFound"),
    });
    await pollReplies(env);
    expect(JSON.parse((await row(g.mailboxId))!.transport_config).delta_link).toContain("$deltatoken=");
    const h = await teamWith("google");
    await env.DB.prepare("UPDATE mailboxes SET transport_config = json_set(transport_config, '$.polled_at', NULL) WHERE id = ?")
      .bind(h.mailboxId)
      .run();
    await control("history-floor", { account: h.account, floor: 10_000 });
    await pollReplies(env);
    expect(JSON.parse((await row(h.mailboxId))!.transport_config)).toMatchObject({ history_id: null });
  });
});

describe("tokens and provider errors", () => {
  it("refreshes the access token before it expires and stores the new one sealed", async () => {
    const { account, mailboxId } = await teamWith("microsoft");
    await expireIn(mailboxId, 60_000); // inside the 5-minute margin
    const before = (await row(mailboxId))!.secret_ciphertext;
    const mb = (await loadMailbox(db(env.DB), mailboxId))!;
    expect(
      await graphTransport(env, mb).send({
        from: { email: account, name: "A" },
        to: "p@x.test",
        raw: rawMail(account, "p@x.test", "<a1@acme.test>"),
        messageId: "<a1@acme.test>",
      }),
    ).toMatchObject({ ok: true });
    const calls = (await state(account)).calls.map((c) => c.path);
    expect(calls.indexOf("token:refresh_token")).toBeLessThan(calls.lastIndexOf("/graph/v1.0/me/sendMail"));
    const after = (await row(mailboxId))!.secret_ciphertext;
    expect(after).not.toBe(before);
    // Microsoft rotated the refresh token; the rotated one is what's stored.
    expect((await openTokens(env, after)).refreshToken).not.toBe((await openTokens(env, before)).refreshToken);
  });

  it("an access token refused before its expiry is refreshed once and the send retried", async () => {
    const { account, mailboxId } = await teamWith("google");
    await control("expire", { account });
    const mb = (await loadMailbox(db(env.DB), mailboxId))!;
    const r = await gmailTransport(env, mb).send({
      from: { email: account, name: "A" },
      to: "p@x.test",
      raw: rawMail(account, "p@x.test", "<b1@acme.test>"),
      messageId: "<b1@acme.test>",
    });
    expect(r).toMatchObject({ ok: true });
    expect((await state(account)).sent).toHaveLength(1);
  });

  it("a revoked grant puts the mailbox in 'needs reconnect' with the reason, holds its emails, tells the owner, and signing in again resumes", async () => {
    const { teamId, userId, s, account, mailboxId } = await teamWith("google");
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const [contactId] = await makeContacts(teamId, 1);
    const cursorBefore = JSON.parse((await row(mailboxId))!.transport_config).history_id;
    await control("revoke", { account });
    await expireIn(mailboxId, 0);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(now() + HOUR);
    const r = (await row(mailboxId))!;
    expect(r.status).toBe("needs_reconnect");
    expect(r.status_reason).toMatch(
      /^Google sign-in was revoked or has expired \(invalid_grant: Token has been expired or revoked\.\); sign in again to reconnect$/,
    );
    expect((await state(account)).sent).toHaveLength(0);
    // Held, not failed: the email waits in the mailbox's queue and no message row exists.
    expect(
      (await env.DB.prepare("SELECT status FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first<{ status: string }>())!.status,
    ).toBe("active");
    expect(await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>()).toEqual({
      n: 0,
    });
    expect((await mailboxStub(env, mailboxId).usage(mailboxId)).queued).toBe(1);
    const audit = await env.DB.prepare("SELECT details FROM audit_log WHERE target_id = ? AND action = 'mailbox.needs_reconnect'")
      .bind(mailboxId)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ owner_id: userId, email: account });
    // The plain reconnect button can't bring it back (verify fails); signing in again does.
    expect((await client(s).api.mailboxes[":id"].reconnect.$post({ param: { id: mailboxId } })).status).toBe(422);
    const again = await signIn(s, "google", account, { mailbox_id: mailboxId });
    expect(again).toMatchObject({ id: mailboxId, error: null });
    expect((await row(mailboxId))!).toMatchObject({ status: "connected", status_reason: null });
    // Replies that came while it was down are still read: the reply cursor was kept.
    expect(JSON.parse((await row(mailboxId))!.transport_config).history_id).toBe(cursorBefore);
    await runUntil(now() + HOUR);
    expect((await state(account)).sent).toHaveLength(1);
    expect(
      (await env.DB.prepare("SELECT status FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ status: string }>())!.status,
    ).toBe("sent");
  });

  it("a token that can't be read at all (D1 out of reach) fails the send as transient before anything goes out, never as a throw", async () => {
    for (const provider of ["google", "microsoft"] as const) {
      const { account, mailboxId } = await teamWith(provider);
      const mb = (await loadMailbox(db(env.DB), mailboxId))!;
      const send = (id: string) =>
        (provider === "google" ? gmailTransport : graphTransport)(env, mb).send({
          from: { email: account, name: "A" },
          to: "p@x.test",
          raw: rawMail(account, "p@x.test", id),
          messageId: id,
        });
      // A throw reads as "the server may have taken it" (delivery unknown), and such an email is never sent again.
      const stmt = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, unknown>;
      const saved = { raw: stmt.raw, all: stmt.all, first: stmt.first, run: stmt.run };
      const down = () => Promise.reject(new Error("D1_ERROR: Network connection lost."));
      Object.assign(stmt, { raw: down, all: down, first: down, run: down });
      let r: unknown;
      try {
        r = await send(`<t-${provider}@acme.test>`).catch((e: unknown) => ({ threw: String(e) }));
      } finally {
        Object.assign(stmt, saved);
      }
      expect(r).toMatchObject({
        ok: false,
        kind: "transient",
        message: expect.stringMatching(/^Could not get an access token: .*Network connection lost/),
      });
      expect((await state(account)).sent).toHaveLength(0);
      // D1 back: the same email goes out.
      expect(await send(`<t-${provider}@acme.test>`)).toMatchObject({ ok: true });
      expect((await state(account)).sent).toHaveLength(1);
    }
  });

  it("reconnecting with a different account is refused (wrong_account)", async () => {
    const { s, mailboxId } = await teamWith("google");
    const r = await signIn(s, "google", uniqueAccount("other"), { mailbox_id: mailboxId });
    expect(r.error).toBe("wrong_account");
  });

  it("429 with a short Retry-After is waited out and retried; a long one is a sending limit with the provider's wait (the mailbox holds)", async () => {
    const { account, mailboxId } = await teamWith("google");
    const mb = (await loadMailbox(db(env.DB), mailboxId))!;
    await control("fail", { match: "/messages/send", status: 429, retryAfter: 1, account });
    const t0 = Date.now();
    expect(
      await gmailTransport(env, mb).send({
        from: { email: account, name: "A" },
        to: "p@x.test",
        raw: rawMail(account, "p@x.test", "<c1@acme.test>"),
        messageId: "<c1@acme.test>",
      }),
    ).toMatchObject({ ok: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect((await state(account)).calls.filter((c) => c.path.endsWith("/messages/send"))).toHaveLength(2);
    await control("fail", { match: "/messages/send", status: 429, retryAfter: 120, account });
    const r = await gmailTransport(env, mb).send({
      from: { email: account, name: "A" },
      to: "p@x.test",
      raw: rawMail(account, "p@x.test", "<c2@acme.test>"),
      messageId: "<c2@acme.test>",
    });
    expect(r).toMatchObject({ ok: false, kind: "rate_limited", code: "429", retryAfterMs: 120_000 });
    expect((r as { message: string }).message).toContain("retry after 120 s");
    expect((await state(account)).sent).toHaveLength(1);
  });

  it("5xx: reads and token calls are retried; a send that got a 500 is recorded as unknown, never resent", async () => {
    const { account, mailboxId } = await teamWith("microsoft");
    await control("fail", { match: "/messages/delta", status: 503, account });
    await control("fail", { match: "/messages/delta", status: 500, account });
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 0, handled: 0 });
    expect(JSON.parse((await row(mailboxId))!.transport_config).poll_error).toBeNull();
    const mb = (await loadMailbox(db(env.DB), mailboxId))!;
    await control("fail", { match: "/me/sendMail", status: 500, account });
    const r = await graphTransport(env, mb).send({
      from: { email: account, name: "A" },
      to: "p@x.test",
      raw: rawMail(account, "p@x.test", "<d1@acme.test>"),
      messageId: "<d1@acme.test>",
    });
    expect(r).toMatchObject({ ok: false, kind: "unknown", code: "500" });
    expect((await state(account)).calls.filter((c) => c.path.endsWith("/me/sendMail"))).toHaveLength(1);
  });
});

describe("switching a signed-in mailbox to SMTP", () => {
  const smtp = inject("smtp");
  it("drops the sealed tokens (they are never an SMTP password) and needs every connection setting", async () => {
    const { s, mailboxId } = await teamWith("google");
    const mailbox = client(s).api.mailboxes[":id"];
    const missing = await errorOf(
      await mailbox.$patch({ param: { id: mailboxId }, json: { transport: "smtp", smtp: { host: smtp.host, port: smtp.ports.plain } } }),
    );
    expect(missing.status).toBe(422);
    expect(fieldsOf(missing).map((f) => f.field)).toEqual(["smtp.security"]);
    expect((await row(mailboxId))!.secret_ciphertext).not.toBeNull();
    const { mailbox: mb } = await ok(
      mailbox.$patch({
        param: { id: mailboxId },
        json: { transport: "smtp", smtp: { host: smtp.host, port: smtp.ports.plain, security: "none" } },
      }),
    );
    expect(mb.smtp).toMatchObject({ host: smtp.host, security: "none", has_password: false });
    expect((await row(mailboxId))!.secret_ciphertext).toBeNull();
  });
});

describe("reply polling keeps its place", () => {
  const unrelated = (account: string, i: number) =>
    `From: News <news@list.test>\r\nTo: ${account}\r\nSubject: Issue ${i}\r\nMessage-ID: <n-${i}-${crypto.randomUUID()}@list.test>\r\nContent-Type: text/plain\r\n\r\nToday's news.\r\n`;
  const replyFor = (account: string, m: MessageRow) =>
    `From: Prospect <${m.to_email}>\r\nTo: ${account}\r\nSubject: Re: ${m.subject}\r\nMessage-ID: <r-${crypto.randomUUID()}@mail.test>\r\nIn-Reply-To: ${m.message_id_header}\r\nContent-Type: text/plain\r\n\r\nSounds good.\r\n`;
  async function sentOne(provider: "google" | "microsoft") {
    const w = await teamWith(provider);
    const { sequenceId } = await makeSequence(w.teamId, w.userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await enroll(w.teamId, sequenceId, await makeContacts(w.teamId, 1), [w.mailboxId]);
    await runUntil(now() + HOUR);
    const m = (await env.DB.prepare("SELECT * FROM messages WHERE sequence_id = ?").bind(sequenceId).first<MessageRow>())!;
    const enrollment = () => env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first();
    const reads = async () => (await state(w.account)).calls.filter((c) => c.path.includes("/messages/in-")).length;
    return { ...w, m, enrollment, reads };
  }

  for (const provider of ["google", "microsoft"] as const)
    it(`${provider}: a backlog of more than a round (230 new messages) is read in rounds, each message once, and the reply after it is found`, async () => {
      const w = await sentOne(provider);
      for (let i = 0; i < 230; i++) await control("inbox", { account: w.account, raw: unrelated(w.account, i) });
      await control("inbox", { account: w.account, raw: replyFor(w.account, w.m) });
      const rounds = [];
      for (let i = 0; i < 3; i++) rounds.push((await pollReplies(env)).find((o) => o.mailboxId === w.mailboxId)!.read);
      expect(rounds.reduce((a, b) => a + b)).toBe(231);
      expect(Math.max(...rounds)).toBeLessThanOrEqual(MAX_MESSAGES_PER_TICK);
      expect(await w.reads()).toBe(231);
      expect(await w.enrollment()).toEqual({ status: "finished", reason: "replied" });
    });

  it("a message the provider will never serve (400) is passed over: polling doesn't stop on it, the reply after it is found", async () => {
    const w = await sentOne("google");
    await control("inbox", { account: w.account, raw: unrelated(w.account, 0) });
    await control("inbox", { account: w.account, raw: replyFor(w.account, w.m) });
    // The oldest (the unrelated one) is fetched first and refused for good.
    await control("fail", {
      match: "/messages/in-",
      status: 400,
      body: { error: { code: 400, message: "Invalid id value" } },
      account: w.account,
    });
    expect((await pollReplies(env)).find((o) => o.mailboxId === w.mailboxId)).toMatchObject({ read: 1, handled: 1 });
    expect(await w.enrollment()).toEqual({ status: "finished", reason: "replied" });
    expect(JSON.parse((await row(w.mailboxId))!.transport_config).poll_error).toBeNull();
  });

  it("a message that can't be read now (throttled) keeps the round for the next tick instead of skipping the reply", async () => {
    const w = await sentOne("google");
    await control("inbox", { account: w.account, raw: replyFor(w.account, w.m) });
    await control("fail", {
      match: "/messages/in-",
      status: 403,
      body: { error: { code: 403, message: "User-rate limit exceeded" } },
      account: w.account,
    });
    expect((await pollReplies(env)).find((o) => o.mailboxId === w.mailboxId)).toMatchObject({ read: 0, error: expect.any(String) });
    expect(JSON.parse((await row(w.mailboxId))!.transport_config).poll_error).toMatch(/^A message could not be read/);
    expect(await w.enrollment()).toMatchObject({ status: "active" });
    expect((await pollReplies(env)).find((o) => o.mailboxId === w.mailboxId)).toMatchObject({ read: 1, handled: 1 });
    expect(await w.enrollment()).toEqual({ status: "finished", reason: "replied" });
    expect(JSON.parse((await row(w.mailboxId))!.transport_config).poll_error).toBeNull();
  });
});

describe("the provider refusing the app itself", () => {
  it("an expired or rotated client secret (invalid_client) is a sender problem that pauses the mailbox, not a retry that fails every email", async () => {
    const { mailboxId } = await teamWith("microsoft");
    const mb = (await loadMailbox(db(env.DB), mailboxId))!;
    const rotated = { ...env, MICROSOFT_CLIENT_SECRET: "an-old-secret" };
    const tok = await accessTokenFor(rotated, mb, { force: true });
    expect(tok).toMatchObject({ ok: false, revoked: false, unconfigured: true, message: expect.stringMatching(/invalid_client/) });
    if (tok.ok) throw new Error("unreachable");
    expect(tokenFailure(tok)).toMatchObject({ ok: false, kind: "sender" });
    expect((await row(mailboxId))!.status).toBe("connected");
  });
});
