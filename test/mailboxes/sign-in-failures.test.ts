// Sign-in failures while sending (worker/services/mailbox-auth.ts, tokenFailure in worker/transports/gmail.ts):
// one only a new sign-in lifts (Microsoft's interaction_required, tokens sealed under a rotated APP_SECRET)
// puts the mailbox in "needs reconnect" with the reason and holds its queue, like invalid_grant; a token
// endpoint that keeps failing holds the mailbox, and no email fails or is charged a try for it.
import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { seal } from "../../worker/lib/seal";
import { openTokens } from "../../worker/transports/oauth";
import { HOUR, MIN, enroll, mailboxLedger, makeContacts, makeSequence, runUntil, startSimulation } from "../fixtures";
import { client, env, ok } from "../helpers";
import { control, expireIn, mailboxRow, providerState, teamWith } from "./oauth-sign-in";

async function queueOf(provider: "google" | "microsoft", n: number) {
  const w = await teamWith(provider);
  await env.DB.prepare("UPDATE mailboxes SET min_gap_seconds = 0, jitter_seconds = 0, hourly_limit = 500, daily_limit = 500 WHERE id = ?")
    .bind(w.mailboxId)
    .run();
  await engine.mailbox(env, w.mailboxId).refresh();
  const { sequenceId } = await makeSequence(w.teamId, w.userId, [{ wait: 0 }], null);
  await enroll(w.teamId, sequenceId, await makeContacts(w.teamId, n), [w.mailboxId]);
  const calls = async (path: string) => (await providerState(w.account)).calls.filter((c) => c.path.endsWith(path)).length;
  return { ...w, sequenceId, calls };
}

/** Every email still queued with no try spent, every contact still active, nothing recorded as sent or failed. */
async function allHeld(mailboxId: string, sequenceId: string, n: number) {
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

describe("sign-in failures while sending", () => {
  beforeEach(() => startSimulation());

  it("Microsoft's interaction_required puts the mailbox in 'needs reconnect' with the reason and holds its emails", async () => {
    const w = await queueOf("microsoft", 5);
    await expireIn(w.mailboxId, 0);
    await control("fail", {
      match: "token:refresh_token",
      account: w.account,
      status: 400,
      times: 5,
      body: {
        error: "interaction_required",
        error_description:
          "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.",
      },
    });
    await runUntil(now() + 6 * HOUR);
    expect(await mailboxRow(w.mailboxId)).toMatchObject({
      status: "needs_reconnect",
      status_reason: expect.stringMatching(
        /^Microsoft sign-in was revoked or has expired \(interaction_required: AADSTS50076.*sign in again/,
      ),
    });
    expect(await w.calls("/me/sendMail")).toBe(0);
    expect(await w.calls("token:refresh_token")).toBe(1);
    await allHeld(w.mailboxId, w.sequenceId, 5);
  });

  it("tokens sealed under another APP_SECRET put the mailbox in 'needs reconnect' instead of failing each email", async () => {
    const w = await queueOf("google", 4);
    const tokens = await openTokens(env, (await mailboxRow(w.mailboxId))!.secret_ciphertext!);
    await env.DB.prepare("UPDATE mailboxes SET secret_ciphertext = ? WHERE id = ?")
      .bind(await seal("an-app-secret-since-rotated", JSON.stringify(tokens)), w.mailboxId)
      .run();
    await runUntil(now() + 6 * HOUR);
    expect(await mailboxRow(w.mailboxId)).toMatchObject({
      status: "needs_reconnect",
      status_reason: expect.stringMatching(/^The stored Google sign-in can't be read .*sign in again to reconnect$/),
    });
    expect(await w.calls("/messages/send")).toBe(0);
    await allHeld(w.mailboxId, w.sequenceId, 4);
    const audit = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE target_id = ? AND action = 'mailbox.needs_reconnect'")
      .bind(w.mailboxId)
      .first<{ n: number }>();
    expect(audit!.n).toBe(1);
  });

  it("a token endpoint failing for hours holds the mailbox: no email fails or spends a try, the card says so, and sending resumes once it answers", async () => {
    const w = await queueOf("google", 6);
    await expireIn(w.mailboxId, 0);
    // 500 with Retry-After 0: providerFetch's inline retries take no real time.
    await control("fail", { match: "token:refresh_token", account: w.account, status: 500, retryAfter: 0, times: 100_000 });
    const t0 = now();
    // Past the ~5 h 20 min in which five retries per email used to fail every one of them.
    await runUntil(t0 + 6 * HOUR);
    expect(await w.calls("/messages/send")).toBe(0);
    expect(await mailboxRow(w.mailboxId)).toMatchObject({ status: "connected" });
    await allHeld(w.mailboxId, w.sequenceId, 6);
    // Held five minutes at a time, not per email: the endpoint was asked at most once a hold (3 tries each).
    expect(await w.calls("token:refresh_token")).toBeLessThanOrEqual(3 * (6 * 12 + 1));
    const { mailbox } = await ok(client(w.s).api.mailboxes[":id"].$get({ param: { id: w.mailboxId } }));
    expect(mailbox.capacity.hold).toMatchObject({
      cause: "sign_in",
      reason: expect.stringMatching(/^Could not refresh the Google access token/),
    });
    await control("clear", { account: w.account });
    await runUntil(now() + 10 * MIN);
    expect(
      (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE sequence_id = ? AND status = 'sent'")
        .bind(w.sequenceId)
        .first<{ n: number }>())!.n,
    ).toBe(6);
  });
});
