// A token endpoint that hangs (the fake's control/hold on an account's refresh) runs out after
// PROVIDER_READ_TIMEOUT, shortened here, like a provider read: the mailbox's send alarm and the reply-poll
// round end instead of waiting on it, the mailbox stays connected (only a refusal such as invalid_grant
// asks for a new sign-in), and its emails wait, queued with no try spent, then go once, when it answers.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { PROVIDER_READ_TIMEOUT } from "../../worker/transports/gmail";
import { pollReplies } from "../../worker/services/reply-polling";
import { MIN, enroll, mailboxLedger, makeContacts, makeSequence, runUntil, startSimulation } from "../fixtures";
import { env } from "../helpers";
import { control, expireIn, mailboxRow, providerState, teamWith } from "./oauth-sign-in";

const DEFAULT_TIMEOUT = PROVIDER_READ_TIMEOUT.ms;
beforeEach(() => {
  startSimulation();
  PROVIDER_READ_TIMEOUT.ms = 500;
});
afterEach(() => {
  PROVIDER_READ_TIMEOUT.ms = DEFAULT_TIMEOUT;
});

const API = { google: "Google", microsoft: "Microsoft" } as const;
const SEND_PATH = { google: "/messages/send", microsoft: "/me/sendMail" } as const;

/** `p`'s outcome, or "hung" when it had not ended after `ms` of real time. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | "hung"> {
  return Promise.race([p, new Promise<"hung">((r) => setTimeout(() => r("hung"), ms))]);
}

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

describe("a token endpoint that hangs", () => {
  for (const provider of ["google", "microsoft"] as const)
    it(`${provider}: the send alarm ends within the timeout, the mailbox stays connected, and its emails go once when the endpoint answers`, async () => {
      const w = await queueOf(provider, 3);
      await expireIn(w.mailboxId, 0);
      await control("hold", { match: "token:refresh_token", account: w.account });
      let first: number | "hung";
      try {
        // The enrollment's first sends are due now: the mailbox's alarm asks for a token, which hangs.
        first = await within(runUntil(now() + 1 * MIN), 5_000);
      } finally {
        await control("release", { account: w.account });
      }
      expect(first).not.toBe("hung");
      expect(await w.calls("token:refresh_token")).toBe(1);
      expect(await w.calls(SEND_PATH[provider])).toBe(0);
      expect(await mailboxRow(w.mailboxId)).toMatchObject({ status: "connected", status_reason: null });
      const { queue } = await mailboxLedger(w.mailboxId);
      expect(queue.map((r) => [r.state, r.attempts])).toEqual([
        ["queued", 0],
        ["queued", 0],
        ["queued", 0],
      ]);
      const audit = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE target_id = ? AND action = 'mailbox.needs_reconnect'")
        .bind(w.mailboxId)
        .first<{ n: number }>();
      expect(audit!.n).toBe(0);
      // The endpoint answers again: after the mailbox's hold, every email goes, each once.
      await runUntil(now() + 15 * MIN);
      expect(await w.calls(SEND_PATH[provider])).toBe(3);
      expect((await providerState(w.account)).sent).toHaveLength(3);
      const sent = await env.DB.prepare("SELECT status, count(*) AS n FROM messages WHERE sequence_id = ? GROUP BY status")
        .bind(w.sequenceId)
        .all<{ status: string; n: number }>();
      expect(sent.results).toEqual([{ status: "sent", n: 3 }]);
      expect(await mailboxRow(w.mailboxId)).toMatchObject({ status: "connected" });
    });

  it("the reply-poll round ends within the timeout with the error, the mailbox stays connected, and the next round reads", async () => {
    const w = await teamWith("microsoft");
    await expireIn(w.mailboxId, 0);
    await control("hold", { match: "token:refresh_token", account: w.account });
    let first;
    try {
      first = await within(pollReplies(env), 5_000);
    } finally {
      await control("release", { account: w.account });
    }
    expect(first).not.toBe("hung");
    const mine = (first as Awaited<ReturnType<typeof pollReplies>>).find((o) => o.mailboxId === w.mailboxId);
    expect(mine).toMatchObject({
      read: 0,
      error: expect.stringContaining(`${API.microsoft}'s token endpoint did not answer within 0.5 s`),
    });
    expect(await mailboxRow(w.mailboxId)).toMatchObject({ status: "connected", status_reason: null });
    // The lease was given back: the next round is not "busy" and gets its token.
    const second = (await pollReplies(env)).find((o) => o.mailboxId === w.mailboxId);
    expect(second).not.toHaveProperty("busy");
    expect(second).not.toHaveProperty("error");
  });
});
