// One inbox message whose read runs out of time every round (too slow for the provider to serve within
// PROVIDER_READ_TIMEOUT) must not stop the mailbox's reply check for good: after UNREADABLE_AFTER rounds
// in a row ended at it, it is skipped as unreadable, the messages after it are read and the mailbox says
// which one was skipped. The slow message is the fake provider's /control/hold; the timeout is shortened.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PROVIDER_READ_TIMEOUT } from "../../worker/transports/gmail";
import { UNREADABLE_AFTER, pollReplies } from "../../worker/services/reply-polling";
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

/** The inbox message ids fetched for the account, in order. */
const reads = async (account: string) =>
  (await providerState(account)).calls.flatMap((c) => /\/messages\/(in-\d+)/.exec(c.path)?.[1] ?? []);

/** One cron tick whose first message read is kept back past the read timeout; its outcome for the mailbox. */
async function slowTick(account: string, mailboxId: string) {
  await control("hold", { match: "/messages/in-", account });
  try {
    return (await pollReplies(env)).find((o) => o.mailboxId === mailboxId);
  } finally {
    await control("release", { account });
  }
}

describe("a message whose read always runs out of time", () => {
  for (const provider of ["google", "microsoft"] as const)
    it(`${provider}: is skipped after ${UNREADABLE_AFTER} rounds in a row, the next message is read and the mailbox names the skipped one`, async () => {
      const { account, mailboxId } = await teamWith(provider);
      const cursor = provider === "google" ? "history_id" : "delta_link";
      const before = (await config(mailboxId))[cursor];
      await control("inbox", { account, raw: news(account, 1) });
      await control("inbox", { account, raw: news(account, 2) });
      const api = provider === "google" ? "Gmail" : "Microsoft Graph";
      for (let round = 1; round < UNREADABLE_AFTER; round++) {
        expect(await slowTick(account, mailboxId)).toMatchObject({ read: 0, error: `${api} did not answer within 0.5 s` });
        const c = await config(mailboxId);
        expect(c[cursor]).toBe(before);
        expect(c.poll_error).toBe(`A message could not be read: ${api} did not answer within 0.5 s`);
        expect(c.unreadable_tries).toBe(round);
      }
      const [slow] = await reads(account);
      expect(slow).toBeTruthy();
      expect(new Set(await reads(account))).toEqual(new Set([slow]));
      // The third round in a row it runs out: passed over, the other message read, the cursor moved on.
      expect(await slowTick(account, mailboxId)).toMatchObject({ read: 1 });
      const after = await config(mailboxId);
      expect(after[cursor]).not.toBe(before);
      expect(after.poll_error).toBe(`A message could not be read and was skipped: ${slow}`);
      expect(after.unreadable_id).toBeNull();
      expect(after.unreadable_tries).toBeNull();
      const read = await reads(account);
      expect(read.filter((id) => id === slow)).toHaveLength(UNREADABLE_AFTER);
      expect(read.filter((id) => id !== slow)).toHaveLength(1);
      // The next tick has nothing new: the skipped message is not read again and the note goes.
      expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 0 });
      expect((await reads(account)).length).toBe(read.length);
      expect((await config(mailboxId)).poll_error).toBeNull();
    });

  it("google: a message that ran out of time once and then reads is not skipped, and its count starts again", async () => {
    const { account, mailboxId } = await teamWith("google");
    await control("inbox", { account, raw: news(account, 1) });
    expect(await slowTick(account, mailboxId)).toMatchObject({ read: 0 });
    expect((await config(mailboxId)).unreadable_tries).toBe(1);
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 1 });
    const c = await config(mailboxId);
    expect(c.unreadable_tries).toBeNull();
    expect(c.poll_error).toBeNull();
  });
});
