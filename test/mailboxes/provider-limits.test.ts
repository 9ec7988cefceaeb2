// A provider's sending limit (Gmail's 429 / 403 rate limits, Graph's message limit, Cloudflare Email's
// daily limit) holds the whole mailbox: one refused call, no email failed nor charged an attempt, the
// card says when sending resumes, and sending resumes then (durable-objects/mailbox-do.ts, holdMailbox).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { apiSendFailure } from "../../worker/transports/api-failure";
import { classifySendEmailError, sendEmailTransport } from "../../worker/transports/send-email";
import {
  HOUR,
  MIN,
  enroll,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  startSimulation,
} from "../fixtures";
import { client, env, ok } from "../helpers";
import { control, mailboxRow, providerState, teamWith } from "./oauth-sign-in";

/** A signed-in Gmail mailbox without spacing, and `n` contacts whose first email is due now. */
async function gmailQueue(n: number) {
  const w = await teamWith("google");
  await env.DB.prepare("UPDATE mailboxes SET min_gap_seconds = 0, jitter_seconds = 0, hourly_limit = 500, daily_limit = 500 WHERE id = ?")
    .bind(w.mailboxId)
    .run();
  await engine.mailbox(env, w.mailboxId).refresh();
  const { sequenceId } = await makeSequence(w.teamId, w.userId, [{ wait: 0 }], null);
  await enroll(w.teamId, sequenceId, await makeContacts(w.teamId, n), [w.mailboxId]);
  const sendCalls = async () => (await providerState(w.account)).calls.filter((c) => c.path.endsWith("/messages/send")).length;
  return { ...w, sequenceId, sendCalls };
}

/** Nothing failed or was charged a try: every email still queued with no attempt, every contact still active. */
async function allWaiting(mailboxId: string, sequenceId: string, n: number) {
  const { queue } = await mailboxLedger(mailboxId);
  expect(queue.map((r) => [r.state, r.attempts])).toEqual(Array.from({ length: n }, () => ["queued", 0]));
  const statuses = await env.DB.prepare("SELECT status, count(*) AS n FROM enrollments WHERE sequence_id = ? GROUP BY status")
    .bind(sequenceId)
    .all<{ status: string; n: number }>();
  expect(statuses.results).toEqual([{ status: "active", n }]);
  expect(
    (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n,
  ).toBe(0);
}

const sentCount = async (sequenceId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE sequence_id = ? AND status = 'sent'")
    .bind(sequenceId)
    .first<{ n: number }>())!.n;

describe("a provider's sending limit holds the mailbox", () => {
  beforeEach(() => startSimulation());

  it("Gmail 429 with Retry-After: one call for a queue of 12, nothing failed or charged a try, the card says when, and sending resumes then", async () => {
    const w = await gmailQueue(12);
    await control("fail", {
      match: "/messages/send",
      status: 429,
      retryAfter: 2 * 3600,
      account: w.account,
      body: { error: { code: 429, message: "User-rate limit exceeded (Mail sending)", status: "RESOURCE_EXHAUSTED" } },
    });
    const t0 = now();
    await runUntil(t0 + 30 * MIN);
    expect(await w.sendCalls()).toBe(1);
    await allWaiting(w.mailboxId, w.sequenceId, 12);
    expect(await mailboxRow(w.mailboxId)).toMatchObject({ status: "connected", status_reason: null });
    // The Mailboxes card reads the hold with the capacity: the provider's answer and when sending resumes.
    const { mailbox } = await ok(client(w.s).api.mailboxes[":id"].$get({ param: { id: w.mailboxId } }));
    expect(mailbox.capacity.hold).toEqual({
      until: t0 + 2 * HOUR,
      cause: "rate_limited",
      reason: expect.stringContaining("User-rate limit exceeded (Mail sending)"),
    });
    expect(mailbox.capacity.next_send_at).toBe(t0 + 2 * HOUR);
    // Held to the end: no call before the provider's time.
    await runUntil(t0 + 2 * HOUR - MIN);
    expect(await w.sendCalls()).toBe(1);
    await runUntil(t0 + 3 * HOUR);
    expect(await sentCount(w.sequenceId)).toBe(12);
    expect(await w.sendCalls()).toBe(13);
    expect((await ok(client(w.s).api.mailboxes[":id"].$get({ param: { id: w.mailboxId } }))).mailbox.capacity.hold).toBeNull();
  });

  it("Gmail 429 without Retry-After holds an hour (one send's short inline tries only); a 'Retry after <date>' in its message holds until that date", async () => {
    const w = await gmailQueue(5);
    await control("fail", { match: "/messages/send", status: 429, account: w.account, times: 3 });
    const t0 = now();
    await runUntil(t0 + 10 * MIN);
    // providerFetch's own short waits (3 tries within 1.5 s) are one send: the next emails were never tried.
    expect(await w.sendCalls()).toBe(3);
    await allWaiting(w.mailboxId, w.sequenceId, 5);
    expect((await engine.mailbox(env, w.mailboxId).usage()).hold).toMatchObject({ until: t0 + HOUR, cause: "rate_limited" });
    await runUntil(t0 + HOUR + MIN);
    expect(await sentCount(w.sequenceId)).toBe(5);

    const v = await gmailQueue(4);
    const lifts = now() + 3 * HOUR;
    await control("fail", {
      match: "/messages/send",
      status: 429,
      account: v.account,
      body: { error: { code: 429, message: `User-rate limit exceeded.  Retry after ${new Date(lifts).toISOString()}` } },
    });
    await runUntil(now() + 10 * MIN);
    expect(await v.sendCalls()).toBe(1);
    await allWaiting(v.mailboxId, v.sequenceId, 4);
    expect((await engine.mailbox(env, v.mailboxId).usage()).hold).toMatchObject({ until: lifts });
    await runUntil(lifts + MIN);
    expect(await sentCount(v.sequenceId)).toBe(4);
  });

  it("Gmail 403 userRateLimitExceeded holds the mailbox instead of pausing it with 'sign in again'", async () => {
    const w = await gmailQueue(6);
    await control("fail", {
      match: "/messages/send",
      status: 403,
      account: w.account,
      body: {
        error: {
          code: 403,
          message: "User Rate Limit Exceeded",
          errors: [{ domain: "usageLimits", reason: "userRateLimitExceeded", message: "User Rate Limit Exceeded" }],
        },
      },
    });
    const t0 = now();
    await runUntil(t0 + 10 * MIN);
    expect(await w.sendCalls()).toBe(1);
    expect(await mailboxRow(w.mailboxId)).toMatchObject({ status: "connected", status_reason: null });
    await allWaiting(w.mailboxId, w.sequenceId, 6);
    expect((await engine.mailbox(env, w.mailboxId).usage()).hold).toMatchObject({ until: t0 + HOUR, cause: "rate_limited" });
    await runUntil(t0 + 2 * HOUR);
    expect(await sentCount(w.sequenceId)).toBe(6);
  });

  describe("Cloudflare Email's daily limit", () => {
    afterEach(() => setTransportOverride(mailboxId, null));
    let mailboxId = "";
    it("E_DAILY_LIMIT_EXCEEDED holds the mailbox for an hour: one call, nothing failed", async () => {
      const { teamId, userId } = await makeTeam();
      mailboxId = await makeMailbox(teamId, userId, { daily: 500, hourly: 500, gapSeconds: 0 });
      let calls = 0;
      let limited = true;
      const binding = {
        async send() {
          calls++;
          if (limited) throw Object.assign(new Error("daily sending limit exceeded"), { code: "E_DAILY_LIMIT_EXCEEDED" });
          return { messageId: `m${calls}` };
        },
      } as unknown as SendEmail;
      setTransportOverride(mailboxId, sendEmailTransport(binding));
      const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
      await enroll(teamId, sequenceId, await makeContacts(teamId, 8), [mailboxId]);
      const t0 = now();
      await runUntil(t0 + 30 * MIN);
      expect(calls).toBe(1);
      await allWaiting(mailboxId, sequenceId, 8);
      limited = false;
      await runUntil(t0 + HOUR + MIN);
      expect(calls).toBe(9);
      expect(await sentCount(sequenceId)).toBe(8);
    });
  });
});

describe("which answers are a sending limit", () => {
  const client403 = (message: string, reasons?: string[]) =>
    apiSendFailure("Gmail", { ok: false, status: 403, kind: "client", message, ...(reasons && { reasons }) }).kind;
  it("Gmail's 403 rate limits by text or reason, Graph's message limit, Email Service's limits; a plain 403 still pauses", () => {
    expect(client403("Rate Limit Exceeded")).toBe("rate_limited");
    expect(client403("User Rate Limit Exceeded")).toBe("rate_limited");
    expect(client403("403: Daily Limit Exceeded")).toBe("rate_limited");
    expect(client403("Forbidden", ["dailyLimitExceeded"])).toBe("rate_limited");
    expect(client403("Forbidden", ["rateLimitExceeded"])).toBe("rate_limited");
    expect(
      apiSendFailure("Microsoft Graph", {
        ok: false,
        status: 403,
        kind: "client",
        message: "ErrorExceededMessageLimit: Cannot send mail. The message limit has been exceeded.",
      }).kind,
    ).toBe("rate_limited");
    expect(
      apiSendFailure("Microsoft Graph", { ok: false, status: 429, kind: "rate_limited", message: "ApplicationThrottled" }),
    ).toMatchObject({
      kind: "rate_limited",
      code: "429",
    });
    expect(classifySendEmailError(Object.assign(new Error("x"), { code: "E_RATE_LIMIT_EXCEEDED" })).kind).toBe("rate_limited");
    expect(classifySendEmailError(Object.assign(new Error("x"), { code: "E_DAILY_LIMIT_EXCEEDED" })).kind).toBe("rate_limited");
    // Not a limit: the account may not send as this address.
    expect(client403("Mail service not enabled", ["failedPrecondition"])).toBe("sender");
  });
});
