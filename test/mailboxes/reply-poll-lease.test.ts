// Reply polling holds a per-mailbox lease: a cron tick still reading a mailbox (a slow provider, a full
// round) and the next tick never read it at the same time, a tick that crashed holding it gives it up
// when the lease runs out, and one slow mailbox doesn't hold up the others' rounds in a tick. The slow
// provider is the fake's /control/hold: the answer is computed when asked and delivered on release.
import { beforeEach, describe, expect, it } from "vitest";
import { advanceClock, now } from "../../worker/lib/clock";
import { POLL_LEASE_MS, pollReplies } from "../../worker/services/reply-polling";
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

/** Waits (real time) until `check` holds, or `ms` passed; answers whether it held. */
async function waitFor(check: () => Promise<boolean>, ms = 5_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
const held = async (account: string) => ((await providerState(account)) as unknown as { held: boolean }).held;

describe("reply polling leases a mailbox to one round at a time", () => {
  it("a tick overlapping a slow one leaves the mailbox to it: each message is read once and the cursor ends at the newest point", async () => {
    const { account, mailboxId } = await teamWith("google");
    await control("inbox", { account, raw: news(account, 1) });
    // The first tick's history call is answered with message 1 and kept back; message 2 arrives meanwhile.
    await control("hold", { match: "/history", account });
    const first = pollReplies(env);
    try {
      expect(await waitFor(() => held(account))).toBe(true);
      await control("inbox", { account, raw: news(account, 2) });
      // The next minute's tick while the first still reads the mailbox.
      const second = (await pollReplies(env)).find((o) => o.mailboxId === mailboxId);
      expect(second).toMatchObject({ read: 0, busy: true });
    } finally {
      await control("release", { account });
    }
    expect((await first).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 1 });
    // The lease is given back; the following tick reads message 2 from the first tick's cursor.
    expect(await config(mailboxId)).not.toHaveProperty("poll_lease");
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 1 });
    const counts = await reads(account);
    expect(Object.keys(counts)).toHaveLength(2);
    expect(Object.values(counts)).toEqual([1, 1]);
    // The newest point: the fake's history id after its two messages (1000, then 7 a message), and nothing left to read.
    expect(Number((await config(mailboxId)).history_id)).toBe(1000 + 7 * 2);
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 0 });
    expect(Object.values(await reads(account))).toEqual([1, 1]);
  });

  it("a lease left by a crashed tick keeps others off the mailbox until it runs out, then polling resumes", async () => {
    const { account, mailboxId } = await teamWith("microsoft");
    await control("inbox", { account, raw: news(account, 1) });
    // What a tick that died mid-round leaves behind: its lease, never released.
    await env.DB.prepare(
      "UPDATE mailboxes SET transport_config = json_set(transport_config, '$.poll_lease', 'crashed-tick', '$.poll_lease_until', ?) WHERE id = ?",
    )
      .bind(now() + POLL_LEASE_MS, mailboxId)
      .run();
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 0, busy: true });
    expect(await reads(account)).toEqual({});
    advanceClock(POLL_LEASE_MS - 1_000);
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 0, busy: true });
    advanceClock(1_000);
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 1, handled: 0 });
    expect(Object.values(await reads(account))).toEqual([1]);
    const after = await config(mailboxId);
    expect(after).toMatchObject({ polled_at: now(), poll_error: null });
    expect(after).not.toHaveProperty("poll_lease");
  });

  it("with one mailbox's provider slow, the tick's other mailboxes are polled meanwhile", async () => {
    const boxes = [];
    for (let i = 0; i < 5; i++) boxes.push(await teamWith(i % 2 ? "microsoft" : "google"));
    // The slow one is the one polled first (lowest id; none polled yet).
    boxes.sort((a, b) => (a.mailboxId < b.mailboxId ? -1 : 1));
    const [slow, ...others] = boxes;
    for (const b of boxes) await control("inbox", { account: b.account, raw: news(b.account, 0) });
    await control("hold", { match: slow!.account.startsWith("google") ? "/history" : "/delta", account: slow!.account });
    const tick = pollReplies(env);
    let othersReadMeanwhile = false;
    try {
      expect(await waitFor(() => held(slow!.account))).toBe(true);
      othersReadMeanwhile = await waitFor(async () => {
        for (const o of others) if (Object.keys(await reads(o.account)).length !== 1) return false;
        return true;
      });
    } finally {
      await control("release", { account: slow!.account });
    }
    const outcomes = await tick;
    expect(othersReadMeanwhile).toBe(true);
    for (const b of boxes)
      expect(
        outcomes.find((o) => o.mailboxId === b.mailboxId),
        b.account,
      ).toMatchObject({ read: 1 });
  });
});

describe("a round that lost its lease", () => {
  it("stops without moving the cursor once another round took the mailbox over (its lease ran out during a hung call)", async () => {
    const { account, mailboxId } = await teamWith("google");
    await control("inbox", { account, raw: news(account, 1) });
    await control("inbox", { account, raw: news(account, 2) });
    // The first round's read of message 1 hangs past its lease.
    await control("hold", { match: "/messages/in-", account });
    const first = pollReplies(env);
    let second;
    try {
      expect(await waitFor(() => held(account))).toBe(true);
      advanceClock(POLL_LEASE_MS);
      // A later tick takes the mailbox over and reads both messages (its message 3 arrives after it).
      second = (await pollReplies(env)).find((o) => o.mailboxId === mailboxId);
    } finally {
      await control("release", { account });
    }
    expect(second).toMatchObject({ read: 2 });
    expect(Number((await config(mailboxId)).history_id)).toBe(1000 + 7 * 2);
    await control("inbox", { account, raw: news(account, 3) });
    // The first round, back, finds its lease gone before its next message: it reads no more and saves nothing.
    expect((await first).find((o) => o.mailboxId === mailboxId)).toMatchObject({
      read: 1,
      error: "Another reply check took this mailbox over",
    });
    expect(Number((await config(mailboxId)).history_id)).toBe(1000 + 7 * 2);
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 1 });
    expect(Number((await config(mailboxId)).history_id)).toBe(1000 + 7 * 3);
  });
});
