// A provider read that hangs ends the reply-poll round (cursor where it was, the error on the mailbox)
// instead of holding the cron tick until the runtime kills it; the next tick reads as usual. The hung
// provider is the fake's /control/hold (the answer kept back until released); the read timeout is
// shortened for the test.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PROVIDER_READ_TIMEOUT } from "../../worker/transports/gmail";
import { pollReplies } from "../../worker/services/reply-polling";
import { startSimulation } from "../fixtures";
import { env } from "../helpers";
import { control, providerState, teamWith } from "./oauth-sign-in";

const DEFAULT_TIMEOUT = PROVIDER_READ_TIMEOUT.ms;
beforeEach(() => {
  startSimulation();
  PROVIDER_READ_TIMEOUT.ms = 500;
});
afterEach(() => {
  PROVIDER_READ_TIMEOUT.ms = DEFAULT_TIMEOUT;
});

const config = async (id: string) =>
  JSON.parse(
    (await env.DB.prepare("SELECT transport_config FROM mailboxes WHERE id = ?").bind(id).first<{ transport_config: string }>())!
      .transport_config,
  ) as Record<string, unknown>;

const news = (account: string, i: number) =>
  `From: News <news@list.test>\r\nTo: ${account}\r\nSubject: Issue ${i}\r\nMessage-ID: <n-${i}-${crypto.randomUUID()}@list.test>\r\nContent-Type: text/plain\r\n\r\nToday's news.\r\n`;

const messageReads = async (account: string) =>
  (await providerState(account)).calls.filter((c) => /\/messages\/in-\d+/.test(c.path)).length;

/** The tick's outcome for the mailbox, or "hung" when it had not ended after `ms` (real time). */
async function tickWithin(mailboxId: string, ms: number) {
  const tick = pollReplies(env);
  const hung = new Promise<"hung">((r) => setTimeout(() => r("hung"), ms));
  const out = await Promise.race([tick, hung]);
  return { out: out === "hung" ? out : out.find((o) => o.mailboxId === mailboxId), tick };
}

describe("a provider read that hangs", () => {
  for (const provider of ["google", "microsoft"] as const)
    it(`${provider}: ends the round with the error shown and the cursor unchanged; the next tick reads normally`, async () => {
      const { account, mailboxId } = await teamWith(provider);
      await control("inbox", { account, raw: news(account, 1) });
      const before = await config(mailboxId);
      const cursor = provider === "google" ? "history_id" : "delta_link";
      expect(before[cursor]).toBeTruthy();
      await control("hold", { match: provider === "google" ? "/history" : "/delta", account });
      let first;
      try {
        first = await tickWithin(mailboxId, 5_000);
      } finally {
        await control("release", { account });
      }
      await first.tick;
      const api = provider === "google" ? "Gmail" : "Microsoft Graph";
      expect(first.out).toMatchObject({ read: 0, error: `${api} did not answer within 0.5 s` });
      const after = await config(mailboxId);
      expect(after[cursor]).toBe(before[cursor]);
      expect(after.polled_at).toBe(before.polled_at);
      expect(after.poll_error).toBe(`${api} did not answer within 0.5 s`);
      expect(await messageReads(account)).toBe(0);
      // The next tick reads from the same point, clears the error and moves the cursor on.
      const second = await tickWithin(mailboxId, 5_000);
      expect(second.out).toMatchObject({ read: 1 });
      expect(second.out).not.toHaveProperty("error");
      const done = await config(mailboxId);
      expect(done.poll_error).toBeNull();
      expect(done[cursor]).not.toBe(before[cursor]);
      expect(await messageReads(account)).toBe(1);
    });

  it("a hung message read ends the round without moving the cursor, and the message is read on the next tick", async () => {
    const { account, mailboxId } = await teamWith("google");
    await control("inbox", { account, raw: news(account, 1) });
    const before = await config(mailboxId);
    await control("hold", { match: "/messages/in-", account });
    let first;
    try {
      first = await tickWithin(mailboxId, 5_000);
    } finally {
      await control("release", { account });
    }
    await first.tick;
    expect(first.out).toMatchObject({ read: 0, error: "Gmail did not answer within 0.5 s" });
    expect((await config(mailboxId)).history_id).toBe(before.history_id);
    expect((await config(mailboxId)).poll_error).toBe("A message could not be read: Gmail did not answer within 0.5 s");
    expect((await tickWithin(mailboxId, 5_000)).out).toMatchObject({ read: 1 });
    expect(Number((await config(mailboxId)).history_id)).toBe(1000 + 7);
  });
});
