// Outgoing webhooks went out from the cron only, 100 a minute for the whole system, 6 at a time: a team
// ending 5,000 runs at once heard of the last 50 minutes later, and one slow receiver delayed every team.
// Now the cron sends a queue message per subscription with deliveries due, each message sends a bounded
// batch (6 at a time, one message per subscription at a time) and sends on what is left at once. Rows are
// claimed as they are sent: a redelivered message sends nothing twice, and a claim left by a crash is
// retried once stale, with the same Seqflare-Delivery id.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Env } from "../../worker/env";
import { advanceClock, now } from "../../worker/lib/clock";
import { consumeQueue } from "../../worker/queue/consumer";
import type { QueueMessage } from "../../worker/queue/messages";
import { AT_ONCE, deliverSubscription, dispatchDue } from "../../worker/services/webhooks-out";
import { makeContacts, makeTeam, MIN, sessionFor, startSimulation, withQueue } from "../fixtures";
import { as, env } from "../helpers";

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** Receivers standing in for the subscribers: every request recorded by URL, and how many were open at once per URL. */
function receivers(slow: { url: string; gate: Promise<void> } | null = null) {
  const got = new Map<string, string[]>();
  const open = new Map<string, number>();
  const most = new Map<string, number>();
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    open.set(url, (open.get(url) ?? 0) + 1);
    most.set(url, Math.max(most.get(url) ?? 0, open.get(url)!));
    try {
      if (slow && url === slow.url) await slow.gate;
      else await new Promise((r) => setTimeout(r, 1));
      got.set(url, [...(got.get(url) ?? []), new Headers(init?.headers).get("seqflare-delivery")!]);
      return new Response(null, { status: 204 });
    } finally {
      open.set(url, open.get(url)! - 1);
    }
  }) as typeof fetch;
  return { got, most };
}

/** Runs the queue as Workers would: batches of up to 10, each a consumer invocation, started as messages arrive, not one after another. */
async function drain(qenv: Env, sent: QueueMessage[]) {
  const running = new Set<Promise<void>>();
  let invocations = 0;
  for (;;) {
    if (sent.length) {
      const batch = sent.splice(0, 10);
      invocations++;
      const p: Promise<void> = consumeQueue(
        {
          queue: "seqflare-jobs",
          messages: batch.map((body, i) => ({
            id: `m${invocations}-${i}`,
            body,
            attempts: 1,
            timestamp: new Date(),
            ack() {},
            retry() {},
          })),
        } as unknown as MessageBatch<QueueMessage>,
        qenv,
      ).finally(() => running.delete(p));
      running.add(p);
      continue;
    }
    if (!running.size) return invocations;
    // Woken by an invocation ending or, while one is waiting on a slow receiver, by the messages others send meanwhile.
    await Promise.race([...running, new Promise((r) => setTimeout(r, 2))]);
  }
}

async function team() {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const subscribe = async (url: string) => {
    const res = await as(s, "POST", "/api/webhooks/outgoing", { url, events: ["contact.unsubscribed"] });
    expect(res.status).toBe(201);
    return ((await res.json()) as { subscription: { id: string } }).subscription.id;
  };
  return { teamId, subscribe };
}

/** `n` contacts unsubscribed at once: the trigger records an event per contact for each subscription. */
async function unsubscribeMany(teamId: string, n: number) {
  await makeContacts(teamId, n);
  await env.DB.prepare("UPDATE contacts SET unsubscribed_at = ? WHERE team_id = ?").bind(now(), teamId).run();
}

const statuses = (subscriptionId: string) =>
  env.DB.prepare("SELECT status, count(*) n FROM webhook_deliveries WHERE subscription_id = ? GROUP BY status")
    .bind(subscriptionId)
    .all<{ status: string; n: number }>()
    .then((r) => Object.fromEntries(r.results.map((x) => [x.status, x.n])));

describe("outgoing webhooks through the queue", () => {
  beforeEach(() => startSimulation());

  it("2,000 events drain within the minute through chained messages, 6 at a time, each sent once, while a slow receiver waits alone", async () => {
    const { teamId, subscribe } = await team();
    const fast = await subscribe("https://fast.example.com/in");
    const slowSub = await subscribe("https://slow.example.com/in");
    await unsubscribeMany(teamId, 2_000);
    let release!: () => void;
    const rx = receivers({ url: "https://slow.example.com/in", gate: new Promise<void>((r) => (release = r)) });
    const sent: QueueMessage[] = [];
    const qenv = withQueue(sent);
    // The cron's tick: one message per subscription with some due, carrying only its id.
    expect(await dispatchDue(qenv, db(env.DB))).toBe(2);
    expect(sent.map((m) => JSON.stringify(m)).sort()).toEqual(
      [fast, slowSub].map((id) => JSON.stringify({ kind: "webhook_deliveries", subscriptionId: id })).sort(),
    );
    const started = Date.now();
    const draining = drain(qenv, sent);
    // The fast subscriber hears of all 2,000 while the slow one's first 6 are still waiting for an answer.
    while ((rx.got.get("https://fast.example.com/in")?.length ?? 0) < 2_000) await new Promise((r) => setTimeout(r, 5));
    const ms = Date.now() - started;
    expect(await statuses(fast)).toEqual({ delivered: 2_000 });
    expect(rx.got.get("https://slow.example.com/in") ?? []).toEqual([]);
    const ids = rx.got.get("https://fast.example.com/in")!;
    expect(new Set(ids).size).toBe(2_000);
    release();
    const invocations = await draining;
    expect(await statuses(slowSub)).toEqual({ delivered: 2_000 });
    expect(new Set(rx.got.get("https://slow.example.com/in")!).size).toBe(2_000);
    expect(rx.got.get("https://slow.example.com/in")).toHaveLength(2_000);
    // Never more than 6 open to one receiver, however many messages were about.
    expect(rx.most.get("https://fast.example.com/in")).toBeLessThanOrEqual(AT_ONCE);
    expect(rx.most.get("https://slow.example.com/in")).toBeLessThanOrEqual(AT_ONCE);
    // 4,000 deliveries at 180 a lone message: about 23 invocations, not 40 cron minutes.
    expect(invocations).toBeLessThanOrEqual(30);
    console.log(`outgoing webhooks: 2,000 events to one subscription delivered in ${ms} ms; 4,000 over two in ${invocations} invocations`);
    expect(ms).toBeLessThan(60_000);
  }, 30_000);

  it("a redelivered message sends nothing twice; a claim left by a crash is retried when stale, with the same delivery id", async () => {
    const { teamId, subscribe } = await team();
    const sub = await subscribe("https://hooks.example.com/in");
    await unsubscribeMany(teamId, 3);
    // The first message's sends never answer: the invocation died after claiming and sending.
    const seen: string[] = [];
    globalThis.fetch = (async (_input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get("seqflare-delivery")!);
      return new Promise<Response>(() => {});
    }) as typeof fetch;
    const sent: QueueMessage[] = [];
    const qenv = withQueue(sent);
    void deliverSubscription(qenv, db(env.DB), sub);
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 5));
    const first = [...seen].sort();
    const rx = receivers();
    // The same message again (Queues redelivers it): the subscription is held, nothing is sent.
    expect(await deliverSubscription(qenv, db(env.DB), sub)).toBe(0);
    // The dead message's hold lapses, but its claims are still fresh: nothing sent yet, and the cron dispatches nothing more.
    advanceClock(MIN);
    expect(await deliverSubscription(qenv, db(env.DB), sub)).toBe(0);
    expect(await dispatchDue(qenv, db(env.DB))).toBe(0);
    expect(rx.got.size).toBe(0);
    // Stale claims: the cron's next tick dispatches them, and the receiver gets the same ids again.
    advanceClock(MIN + 1_000);
    expect(await dispatchDue(qenv, db(env.DB))).toBe(1);
    await drain(qenv, sent);
    expect([...rx.got.get("https://hooks.example.com/in")!].sort()).toEqual(first);
    expect(await statuses(sub)).toEqual({ delivered: 3 });
    const rows = await env.DB.prepare("SELECT attempts FROM webhook_deliveries WHERE subscription_id = ?")
      .bind(sub)
      .all<{ attempts: number }>();
    expect(rows.results.map((r) => r.attempts)).toEqual([1, 1, 1]);
  });
});
