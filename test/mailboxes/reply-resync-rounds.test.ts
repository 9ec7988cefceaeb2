// A Gmail resync (Gmail forgot the history point; the round lists the inbox since the last good check)
// reads at most MAX_MESSAGES_PER_TICK messages a round like any other, going on from where it stopped on
// the next tick, and only then moves to the history point taken before the listing. Reading the whole
// listing (up to GMAIL_RESYNC_MAX) in one round went past the round's cap and the tick's subrequest budget.
import { beforeEach, describe, expect, it } from "vitest";
import { advanceClock, now } from "../../worker/lib/clock";
import { MAX_MESSAGES_PER_TICK, pollReplies } from "../../worker/services/reply-polling";
import { startSimulation } from "../fixtures";
import { env } from "../helpers";
import { control, providerState, teamWith } from "./oauth-sign-in";

beforeEach(() => startSimulation());

const config = async (id: string) =>
  JSON.parse(
    (await env.DB.prepare("SELECT transport_config FROM mailboxes WHERE id = ?").bind(id).first<{ transport_config: string }>())!
      .transport_config,
  ) as Record<string, unknown>;

const news = (account: string, i: number) =>
  `From: News <news@list.test>\r\nTo: ${account}\r\nSubject: Issue ${i}\r\nMessage-ID: <n-${i}-${crypto.randomUUID()}@list.test>\r\nContent-Type: text/plain\r\n\r\nToday's news.\r\n`;

/** How many times each inbox message was fetched for the account. */
const reads = async (account: string) => {
  const counts: Record<string, number> = {};
  for (const c of (await providerState(account)).calls) {
    const m = /\/messages\/(in-\d+)/.exec(c.path);
    if (m) counts[m[1]!] = (counts[m[1]!] ?? 0) + 1;
  }
  return counts;
};

const tick = async (mailboxId: string) => {
  advanceClock(60_000);
  return (await pollReplies(env)).find((o) => o.mailboxId === mailboxId);
};

describe("a Gmail resync", () => {
  it("reads MAX_MESSAGES_PER_TICK a round, goes on over the next ticks, then from the history point taken when it started", async () => {
    const { account, mailboxId } = await teamWith("google");
    expect(await tick(mailboxId)).toMatchObject({ read: 0 });
    const forgotten = (await config(mailboxId)).history_id as string;
    const total = 2 * MAX_MESSAGES_PER_TICK + 50;
    for (let i = 0; i < total; i++) await control("inbox", { account, raw: news(account, i), receivedAt: now() });
    const point = String(1000 + 7 * total);
    // Gmail forgets the mailbox's history point (but not the newer one).
    await control("history-floor", { account, floor: Number(forgotten) + 1 });

    expect(await tick(mailboxId)).toMatchObject({ read: MAX_MESSAGES_PER_TICK });
    let cfg = await config(mailboxId);
    expect(cfg.history_id).toBe(forgotten);
    expect(cfg.resync_history_id).toBe(point);
    expect((cfg.resync_ids as string).split(",")).toHaveLength(total - MAX_MESSAGES_PER_TICK);
    const firstRead = Object.keys(await reads(account));

    // A message arriving during the resync is read after it, from the history point.
    await control("inbox", { account, raw: news(account, total), receivedAt: now() });
    expect(await tick(mailboxId)).toMatchObject({ read: MAX_MESSAGES_PER_TICK });
    expect(await tick(mailboxId)).toMatchObject({ read: 50 });
    cfg = await config(mailboxId);
    expect(cfg).toMatchObject({ history_id: point, resync_ids: null, resync_history_id: null, poll_error: null });
    expect(await tick(mailboxId)).toMatchObject({ read: 1 });
    expect(await tick(mailboxId)).toMatchObject({ read: 0 });

    // Every message read exactly once; the first round's were the oldest ones.
    const counts = await reads(account);
    expect(Object.keys(counts)).toHaveLength(total + 1);
    expect(new Set(Object.values(counts))).toEqual(new Set([1]));
    const byAge = Object.keys(counts).sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
    expect(firstRead.sort()).toEqual(byAge.slice(0, MAX_MESSAGES_PER_TICK).sort());
    expect((await config(mailboxId)).history_id).toBe(String(1000 + 7 * (total + 1)));
  });

  it("a round of it that fails midway reads the same messages again next time and moves nothing", async () => {
    const { account, mailboxId } = await teamWith("google");
    expect(await tick(mailboxId)).toMatchObject({ read: 0 });
    const forgotten = (await config(mailboxId)).history_id as string;
    const total = MAX_MESSAGES_PER_TICK + 10;
    for (let i = 0; i < total; i++) await control("inbox", { account, raw: news(account, i), receivedAt: now() });
    await control("history-floor", { account, floor: Number(forgotten) + 1 });
    expect(await tick(mailboxId)).toMatchObject({ read: MAX_MESSAGES_PER_TICK });
    const during = await config(mailboxId);
    // The second round's first message fails (a server error, after providerFetch's retries).
    await control("fail", { match: "/messages/in-", account, status: 500, times: 3 });
    expect(await tick(mailboxId)).toMatchObject({ read: 0, error: expect.any(String) });
    const failed = await config(mailboxId);
    expect(failed).toMatchObject({ history_id: forgotten, resync_ids: during.resync_ids, resync_history_id: during.resync_history_id });
    expect(failed.poll_error).toMatch(/^A message could not be read/);
    expect(await tick(mailboxId)).toMatchObject({ read: 10 });
    expect(await config(mailboxId)).toMatchObject({ history_id: String(1000 + 7 * total), resync_ids: null, poll_error: null });
    expect(Object.keys(await reads(account))).toHaveLength(total);
  });
});
