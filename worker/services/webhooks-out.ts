import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import { inList } from "../db/in-list";
import { WEBHOOK_EVENT_TYPES, webhookDeliveries, webhookSubscriptions } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound, validationError } from "../lib/errors";
import { newId, randomToken } from "../lib/ids";
import { privateHostProblem, resolvedHostProblem } from "../lib/private-host";
import { seal, unseal } from "../lib/seal";
import { authorize } from "./access";
import { audit } from "./audit";
import { PREVIOUS_SECRET_MS, signMeetingWebhook } from "./meetings";
import { appSecret } from "./secrets";

/**
 * Outgoing webhooks: the one module that reads and writes `webhook_subscriptions` and delivers
 * `webhook_deliveries`. The deliveries are written by triggers in the same transaction as each fact
 * (migration 0065; reply.received also when a held reply is applied to a run, 0067, and when a person
 * corrects an email into a reply, 0072, under the stored reply's event id so it is sent once), never by the
 * code that records it, and sent from here by queue messages, one subscription each (the cron sends them every minute; a message with work left sends the next at once):
 * a slow or broken receiver never holds up a reply, a bounce, a sequence's engine or another subscription. Each is signed as the inbound meetings webhook is checked (signMeetingWebhook).
 */

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Subscriptions a team may have. */
export const SUBSCRIPTIONS_PER_TEAM = 10;
/** Retries after the first attempt fails: 1 min, 5 min, 30 min, 2 h, 12 h; then the delivery is given up. */
export const RETRY_DELAYS_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 12 * 3_600_000] as const;
/** How long a receiver has to answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** A claimed delivery is not taken by another tick for this long (well past the timeout). */
const CLAIM_MS = 2 * 60_000;
/** Deliveries given up in a row that turn a subscription off. */
export const FAILURES_TO_DISABLE = 20;
/**
 * Deliveries a cron tick sends at most itself when the queue can't be reached (the rest wait for the next tick,
 * oldest due first): six rounds of AT_ONCE, so even against receivers that all hang for the 10 s timeout the
 * tick is done in about a minute, inside its claim (CLAIM_MS); 100 at once took about 170 s, and the next tick
 * claimed and sent again those still waiting.
 */
export const DELIVERIES_PER_TICK = 36;
/** Sent at once: a Worker invocation keeps at most 6 connections open, further fetches only wait for one. */
export const AT_ONCE = 6;
/** A rotated-out secret keeps signing beside the new one as long as the meetings webhook's does, so a receiver can move over without losing events. */
export { PREVIOUS_SECRET_MS };
/** Delivered and failed deliveries are kept this long (the list shows the latest). */
const KEEP_MS = 30 * 24 * 3_600_000;
/** Deliveries listed per subscription. */
export const RECENT_DELIVERIES = 20;

export const EVENT_HEADER = "Seqflare-Event";
export const DELIVERY_HEADER = "Seqflare-Delivery";
export const SIGNATURE_HEADER = "Seqflare-Signature";

type SubscriptionRow = typeof webhookSubscriptions.$inferSelect;

/** Whether a rotated-out secret still signs at `t`. */
const previousLive = (s: Pick<SubscriptionRow, "previousSealedSecret" | "previousSecretUntil">, t: number) =>
  s.previousSealedSecret !== null && s.previousSecretUntil !== null && s.previousSecretUntil > t;

const present = (s: SubscriptionRow) => ({
  id: s.id,
  url: s.url,
  events: s.events,
  enabled: s.enabled,
  secret_hint: s.hint,
  previous_secret_hint: previousLive(s, now()) ? s.previousHint : null,
  previous_secret_until: previousLive(s, now()) ? s.previousSecretUntil : null,
  disabled_reason: s.disabledReason,
  failures_in_row: s.failuresInRow,
  created_at: s.createdAt,
  updated_at: s.updatedAt,
});
export type SubscriptionView = ReturnType<typeof present>;

const isLoopback = (host: string) => {
  const h = host
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "")
    .toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
};

const PRIVATE_RECEIVER = "Use the receiver's public address: local and private network addresses can't receive webhooks";

/**
 * Why `url` can't receive webhooks, or undefined. https only, to a public host (private-host.ts, every
 * spelling of an address it reads and every name that can't be public: a receiver on our own network would
 * let an admin probe it through us). On `npm start` (APP_ENV=local) a receiver on the developer's own
 * machine (http, localhost) is allowed. What the name resolves to is checked apart (receiverAddressProblem).
 */
export function webhookUrlProblem(env: Pick<Env, "APP_ENV">, url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "Give the full address of the receiver, starting with https://";
  }
  const local = env.APP_ENV === "local" && isLoopback(u.hostname);
  if (u.protocol !== "https:" && !(local && u.protocol === "http:"))
    return "Use an https:// address: deliveries carry your contacts' details";
  if (u.username || u.password) return "Leave the user name and password out of the address: deliveries are signed instead";
  if (!local && privateHostProblem(u.hostname)) return PRIVATE_RECEIVER;
  return undefined;
}

/**
 * The receiver's host name looked up now (DNS over HTTPS, private-host.ts), for a URL webhookUrlProblem let
 * through: `problem` when an answer is a local or private address or there is none, `failed` when the lookup
 * couldn't be made. The developer's own machine on `npm start` is not looked up.
 */
async function receiverAddressProblem(env: Pick<Env, "APP_ENV">, url: string): Promise<{ problem?: string; failed?: string }> {
  const host = new URL(url).hostname;
  if (env.APP_ENV === "local" && isLoopback(host)) return {};
  const r = await resolvedHostProblem(host);
  if (r.kind === "private") return { problem: `${PRIVATE_RECEIVER} (${host} resolves to ${r.address})` };
  if (r.kind === "none") return { problem: `${host} has no address in DNS: check the receiver's address` };
  if (r.kind === "failed") return { failed: `Could not look up ${host} in DNS: ${r.why}` };
  return {};
}

/**
 * A subscription's URL, on create and change: its form (webhookUrlProblem), then its host name's DNS
 * answers. A lookup that can't be made (DNS over HTTPS unreachable) doesn't refuse the URL: every send looks
 * it up again and sends nothing to a private address, and a send whose lookup fails is a failed attempt.
 */
async function checkUrl(env: Env, url: string) {
  const problem = webhookUrlProblem(env, url) ?? (await receiverAddressProblem(env, url)).problem;
  if (problem) throw validationError([{ path: ["url"], message: problem, code: "custom" }]);
}

const newSecret = () => `whsec_${randomToken(32)}`;

async function subscriptionFor(d: Db, caller: Caller, id: string): Promise<SubscriptionRow> {
  const row = await d.query.webhookSubscriptions.findFirst({
    where: and(eq(webhookSubscriptions.id, id), eq(webhookSubscriptions.teamId, caller.teamId)),
  });
  if (!row) throw notFound("Webhook subscription");
  return row;
}

const may = (caller: Caller) => authorize(caller, "outgoing_webhooks.manage", "Only an admin can manage outgoing webhooks");

export async function listSubscriptions(d: Db, caller: Caller) {
  may(caller);
  const rows = await d
    .select()
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.teamId, caller.teamId))
    .orderBy(webhookSubscriptions.createdAt, webhookSubscriptions.id);
  return { subscriptions: rows.map(present), limit: SUBSCRIPTIONS_PER_TEAM, event_types: [...WEBHOOK_EVENT_TYPES] };
}

/**
 * A new subscription and its signing secret, answered this once (the route keeps the answer out of
 * Idempotency-Key replays) and stored sealed with APP_SECRET. The limit is checked in the insert itself,
 * so two created at once can't both pass it.
 */
export async function createSubscription(
  env: Env,
  d: Db,
  caller: Caller,
  b: { url: string; events: WebhookEventType[]; enabled?: boolean },
) {
  may(caller);
  await checkUrl(env, b.url);
  const secret = newSecret();
  const t = now();
  const id = newId();
  const sealed = await seal(appSecret(env), secret);
  const inserted = await d.all<{ id: string }>(sql`
    INSERT INTO webhook_subscriptions (id, team_id, url, events, enabled, sealed_secret, hint, failures_in_row, created_by, created_at, updated_at)
    SELECT ${id}, ${caller.teamId}, ${b.url}, ${JSON.stringify([...new Set(b.events)])}, ${b.enabled === false ? 0 : 1}, ${sealed},
           ${secret.slice(0, 10)}, 0, ${caller.userId}, ${t}, ${t}
     WHERE (SELECT count(*) FROM webhook_subscriptions WHERE team_id = ${caller.teamId}) < ${SUBSCRIPTIONS_PER_TEAM}
    RETURNING id`);
  if (!inserted.length)
    throw new ApiError("validation_failed", `A team can have at most ${SUBSCRIPTIONS_PER_TEAM} webhook subscriptions: delete one first`, {
      fields: [{ field: "url", label: "URL", message: `At most ${SUBSCRIPTIONS_PER_TEAM} subscriptions per team`, code: "too_many" }],
    });
  await audit(d, caller, "webhook.subscription_created", "webhook_subscription", id, { url: b.url, events: b.events });
  return { subscription: present(await subscriptionFor(d, caller, id)), secret };
}

/**
 * Changes the URL, the events or on/off. Turning it off gives up its pending deliveries (shown as
 * failed: nothing is sent to it while off); turning it on clears the count of failures and the reason
 * it was turned off.
 */
export async function updateSubscription(
  env: Env,
  d: Db,
  caller: Caller,
  id: string,
  b: { url?: string; events?: WebhookEventType[]; enabled?: boolean },
) {
  may(caller);
  const row = await subscriptionFor(d, caller, id);
  if (b.url !== undefined) await checkUrl(env, b.url);
  const t = now();
  const turnedOff = b.enabled === false && row.enabled;
  const turnedOn = b.enabled === true && !row.enabled;
  const [[updated]] = await d.batch([
    d
      .update(webhookSubscriptions)
      .set({
        ...(b.url !== undefined && { url: b.url }),
        ...(b.events !== undefined && { events: [...new Set(b.events)] }),
        ...(b.enabled !== undefined && { enabled: b.enabled }),
        ...(turnedOn && { failuresInRow: 0, disabledReason: null }),
        ...(turnedOff && { disabledReason: null }),
        updatedAt: t,
      })
      .where(and(eq(webhookSubscriptions.id, id), eq(webhookSubscriptions.teamId, caller.teamId)))
      .returning(),
    ...(turnedOff ? [giveUpPending(d, id, "The subscription was turned off")] : []),
  ]);
  await audit(d, caller, "webhook.subscription_updated", "webhook_subscription", id, {
    ...(b.url !== undefined && { url: b.url }),
    ...(b.events !== undefined && { events: b.events }),
    ...(b.enabled !== undefined && { enabled: b.enabled }),
  });
  // Deleted meanwhile: answered as if it had been gone before.
  if (!updated) throw notFound("Webhook subscription");
  return present(updated);
}

/** Pending deliveries of a subscription marked failed with `why` (only if `onlyIf` holds when it runs, when given). */
function giveUpPending(d: Db, subscriptionId: string, why: string, onlyIf?: SQL) {
  return d
    .update(webhookDeliveries)
    .set({ status: "failed", lastError: why, nextAttemptAt: null })
    .where(and(eq(webhookDeliveries.subscriptionId, subscriptionId), eq(webhookDeliveries.status, "pending"), onlyIf));
}

/**
 * A new signing secret, answered once. The one it replaces keeps signing beside it for 24 hours (a second
 * v1= in Seqflare-Signature), so a receiver still holding it verifies every delivery until it is updated.
 * Rotating again within the window keeps only the one just replaced: the one before it stops at once.
 */
export async function rotateSubscriptionSecret(env: Env, d: Db, caller: Caller, id: string) {
  may(caller);
  const row = await subscriptionFor(d, caller, id);
  const secret = newSecret();
  const t = now();
  const [rotated] = await d
    .update(webhookSubscriptions)
    .set({
      sealedSecret: await seal(appSecret(env), secret),
      hint: secret.slice(0, 10),
      previousSealedSecret: row.sealedSecret,
      previousHint: row.hint,
      previousSecretUntil: t + PREVIOUS_SECRET_MS,
      updatedAt: t,
    })
    // Only over the secret read: two rotations at once can't both keep the same old one as "previous".
    .where(
      and(
        eq(webhookSubscriptions.id, id),
        eq(webhookSubscriptions.teamId, caller.teamId),
        eq(webhookSubscriptions.sealedSecret, row.sealedSecret),
      ),
    )
    .returning();
  if (!rotated) throw new ApiError("conflict", "The secret was rotated meanwhile: reload, and rotate again if you still need a new one");
  await audit(d, caller, "webhook.subscription_secret_rotated", "webhook_subscription", id, { hint: secret.slice(0, 10) });
  return { subscription: present(rotated), secret };
}

export async function deleteSubscription(d: Db, caller: Caller, id: string) {
  may(caller);
  const row = await subscriptionFor(d, caller, id);
  await d.batch([
    d.delete(webhookDeliveries).where(eq(webhookDeliveries.subscriptionId, id)),
    d.delete(webhookSubscriptions).where(and(eq(webhookSubscriptions.id, id), eq(webhookSubscriptions.teamId, caller.teamId))),
  ]);
  await audit(d, caller, "webhook.subscription_deleted", "webhook_subscription", id, { url: row.url });
}

const presentDelivery = (r: typeof webhookDeliveries.$inferSelect) => ({
  id: r.id,
  event_id: r.eventId,
  type: r.type,
  status: r.status,
  attempts: r.attempts,
  last_status: r.lastStatus,
  last_error: r.lastError,
  last_attempt_at: r.lastAttemptAt,
  next_attempt_at: r.status === "pending" ? r.nextAttemptAt : null,
  created_at: r.createdAt,
});

export async function recentDeliveries(d: Db, caller: Caller, id: string) {
  may(caller);
  await subscriptionFor(d, caller, id);
  const rows = await d
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.subscriptionId, id), eq(webhookDeliveries.teamId, caller.teamId)))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(RECENT_DELIVERIES);
  return { deliveries: rows.map(presentDelivery) };
}

/** Test events a subscription may be sent in any rolling hour. */
export const TEST_EVENTS_PER_HOUR = 10;
const HOUR_MS = 3_600_000;

/**
 * A `ping` event for one subscription, sent now through the queue (the cron would take it within a
 * minute otherwise). Only an enabled subscription is sent anything. A test is tried once (record: no
 * retries, and its outcome never counts toward turning the subscription off), and at most
 * TEST_EVENTS_PER_HOUR go to a subscription in an hour, counted in the insert itself (as a mailbox's test
 * emails are, mailboxes.ts), so tests sent at once can't all pass; beyond: 429 with retry-after.
 */
export async function sendTestEvent(env: Env, d: Db, caller: Caller, id: string) {
  may(caller);
  const row = await subscriptionFor(d, caller, id);
  if (!row.enabled) throw new ApiError("conflict", "Turn the subscription on to send it a test event");
  const t = now();
  const eventId = `evt_ping_${newId()}`;
  const payload = JSON.stringify({
    id: eventId,
    type: "ping",
    created_at: new Date(t).toISOString(),
    team_id: caller.teamId,
    data: { subscription_id: id },
  });
  const deliveryId = newId();
  const recent = sql`FROM webhook_deliveries WHERE subscription_id = ${id} AND type = 'ping' AND created_at > ${t - HOUR_MS}`;
  const inserted = await d.run(sql`
    INSERT INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at)
    SELECT ${deliveryId}, ${caller.teamId}, ${id}, ${eventId}, 'ping', ${payload}, 'pending', 0, ${t}, ${t}
     WHERE (SELECT count(*) ${recent}) < ${TEST_EVENTS_PER_HOUR}`);
  if (!inserted.meta.changes) {
    const oldest = await d.get<{ t: number | null }>(sql`SELECT min(created_at) AS t ${recent}`);
    const retryAfter = Math.max(1, Math.ceil(((oldest?.t ?? t) + HOUR_MS - t) / 1000));
    throw new ApiError(
      "rate_limited",
      `A subscription is sent at most ${TEST_EVENTS_PER_HOUR} test events an hour: try again in ${Math.ceil(retryAfter / 60)} min`,
      { retry_after: retryAfter },
      429,
      { "retry-after": String(retryAfter) },
    );
  }
  await env.JOBS.send({ kind: "webhook_delivery", deliveryId });
  const [r] = await d.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId));
  return presentDelivery(r!);
}

/** How a delivery is sent: `fetch`, or a test's receiver. */
export type Send = (url: string, init: RequestInit) => Promise<Response>;

/**
 * The `Seqflare-Signature` header of `body` at unix second `t`: the scheme the meetings webhook checks,
 * one v1= per secret (the current one first; a rotated-out one during its 24 hours), as Stripe signs.
 */
export async function signatureHeader(secrets: string | string[], t: number, body: string) {
  const all = typeof secrets === "string" ? [secrets] : secrets;
  return `t=${t},${(await Promise.all(all.map(async (s) => `v1=${await signMeetingWebhook(s, t, body)}`))).join(",")}`;
}

type Claimed = { id: string; subscription_id: string; event_id: string; type: string; payload: string; attempts: number };
type Target = { url: string; sealed: string; previousSealedSecret: string | null; previousSecretUntil: number | null };

/**
 * Claims up to `limit` due deliveries matching `where` (one statement: two consumers, a redelivered
 * message or a tick never take one row at once). The claim moves next_attempt_at CLAIM_MS on: should the
 * sender die between claim and outcome, the row is due again then and sent again with the same
 * Seqflare-Delivery id (at-least-once).
 */
function claim(d: Db, t: number, where: ReturnType<typeof sql>, limit: number) {
  return d.all<Claimed>(sql`
    UPDATE webhook_deliveries SET next_attempt_at = ${t + CLAIM_MS}
     WHERE id IN (SELECT w.id FROM webhook_deliveries w JOIN webhook_subscriptions s ON s.id = w.subscription_id
                   WHERE w.status = 'pending' AND w.next_attempt_at <= ${t} AND s.enabled = 1 AND ${where}
                   ORDER BY w.next_attempt_at LIMIT ${limit})
    RETURNING id, subscription_id, event_id, type, payload, attempts`);
}

const targetColumns = {
  id: webhookSubscriptions.id,
  url: webhookSubscriptions.url,
  sealed: webhookSubscriptions.sealedSecret,
  previousSealedSecret: webhookSubscriptions.previousSealedSecret,
  previousSecretUntil: webhookSubscriptions.previousSecretUntil,
};

/**
 * Each receiver URL's DNS check, made once per call that sends (deliverDue, a message's deliverSubscription):
 * a lookup is two subrequests, and a message sending 180 deliveries to one URL would otherwise make 360 of
 * Workers' 1,000.
 */
type Lookups = Map<string, ReturnType<typeof receiverAddressProblem>>;

/** Sends claimed deliveries AT_ONCE at a time and writes each outcome (only while the claim made at `t` holds). */
async function sendClaimed(
  env: Env,
  d: Db,
  send: Send,
  claimed: Claimed[],
  subs: Map<string, Target>,
  t: number,
  lookups: Lookups = new Map(),
) {
  const waiting = [...claimed];
  const work = async () => {
    for (let c = waiting.shift(); c; c = waiting.shift()) {
      const sub = subs.get(c.subscription_id);
      if (!sub) continue;
      const outcome = await attempt(env, send, sub, c, lookups);
      await record(d, c, t + CLAIM_MS, outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, waiting.length) }, work));
}

/**
 * Sends due deliveries in this call (a test event's through the queue, `ids`; the cron's when the queue
 * can't be reached; tests): each is claimed first, POSTed signed, and its outcome written. A 2xx is
 * delivered; anything else, a redirect or no answer within 10 s is tried again after 1 min, 5 min, 30 min,
 * 2 h and 12 h, then given up. A subscription whose deliveries are given up 20 times in a row is turned
 * off, with the reason shown. Returns how many were sent.
 */
export async function deliverDue(env: Env, d: Db, o: { ids?: string[]; send?: Send; limit?: number } = {}): Promise<number> {
  const t = now();
  const send: Send = o.send ?? ((url, init) => fetch(url, init));
  const claimed = await claim(d, t, o.ids ? inList(sql`w.id`, o.ids) : sql`1 = 1`, o.limit ?? DELIVERIES_PER_TICK);
  if (!claimed.length) return 0;
  const subs = new Map(
    (
      await d
        .select(targetColumns)
        .from(webhookSubscriptions)
        .where(inList(webhookSubscriptions.id, [...new Set(claimed.map((c) => c.subscription_id))]))
    ).map((s) => [s.id, s]),
  );
  await sendClaimed(env, d, send, claimed, subs, t);
  return claimed.length;
}

/**
 * Deliveries one consumer invocation sends at most, shared by its messages (a batch of one sends 180, of
 * 10 sends 18 each): each is a fetch and one to three D1 calls, so an invocation stays under Workers'
 * 1,000 subrequests, with room for the batch's other messages.
 */
export const DELIVERIES_PER_INVOCATION = 180;
/**
 * A message starts no new round of AT_ONCE once this long has passed since its consumer invocation began:
 * with the 10 s timeout of the round under way, the invocation ends within Workers' 30 s.
 */
export const MESSAGE_BUDGET_MS = 15_000;
/** How long a message holds its subscription: past its budget and one round's timeout, so a lease left by a crash lapses within a tick. */
const LEASE_MS = 45_000;

/**
 * The queue's part (a `webhook_deliveries` message): sends `subscriptionId`'s due deliveries, AT_ONCE at a
 * time, in rounds until `limit` (its share of DELIVERIES_PER_INVOCATION) or the invocation's budget (`startedAt`, real time) is used,
 * while holding the subscription's lease, so one subscription is sent to by one message at a time and a
 * slow receiver holds up only its own. Another message already holding it: this one does nothing (the
 * holder goes on). Work left over is sent on as a new message at once; should that send fail, the cron
 * dispatches it within a minute. Returns how many were sent.
 */
export async function deliverSubscription(
  env: Env,
  d: Db,
  subscriptionId: string,
  o: { send?: Send; startedAt?: number; budgetMs?: number; limit?: number } = {},
): Promise<number> {
  const limit = o.limit ?? DELIVERIES_PER_INVOCATION / 10;
  const started = o.startedAt ?? Date.now();
  const budget = o.budgetMs ?? MESSAGE_BUDGET_MS;
  const send: Send = o.send ?? ((url, init) => fetch(url, init));
  const t0 = now();
  const lease = t0 + LEASE_MS;
  const [sub] = await d
    .update(webhookSubscriptions)
    .set({ deliveringUntil: lease })
    .where(
      and(
        eq(webhookSubscriptions.id, subscriptionId),
        eq(webhookSubscriptions.enabled, true),
        sql`coalesce(${webhookSubscriptions.deliveringUntil}, 0) < ${t0}`,
      ),
    )
    .returning(targetColumns);
  if (!sub) return 0;
  const subs = new Map([[sub.id, sub]]);
  const lookups: Lookups = new Map();
  let sent = 0;
  let more = false;
  try {
    while (sent < limit) {
      if (Date.now() - started >= budget) {
        more = true;
        break;
      }
      const t = now();
      const want = Math.min(AT_ONCE, limit - sent);
      const claimed = await claim(d, t, sql`w.subscription_id = ${subscriptionId}`, want);
      if (claimed.length) await sendClaimed(env, d, send, claimed, subs, t, lookups);
      sent += claimed.length;
      // A round short of what it asked for emptied the backlog; a full one may have left more.
      more = claimed.length === want;
      if (!more) break;
    }
  } finally {
    await d
      .update(webhookSubscriptions)
      .set({ deliveringUntil: null })
      .where(and(eq(webhookSubscriptions.id, subscriptionId), eq(webhookSubscriptions.deliveringUntil, lease)));
  }
  if (more) await env.JOBS.send({ kind: "webhook_deliveries", subscriptionId });
  return sent;
}

/** Subscriptions one tick sends a message for at most (a page of Queues' sendBatch each 100). */
const DISPATCH_PER_TICK = 1_000;

/**
 * The cron's part, every minute, the safety net: a `webhook_deliveries` message for each enabled
 * subscription with deliveries due (new events, retries come due, claims left by a crash) and no message
 * at work on it. Should the queue refuse, up to DELIVERIES_PER_TICK are sent from the tick itself. Then a
 * page of delivered and given-up deliveries past their keeping time is deleted. Returns how many
 * subscriptions were sent a message.
 */
export async function dispatchDue(env: Env, d: Db, o: { send?: Send } = {}): Promise<number> {
  const t = now();
  const due = await d.all<{ id: string }>(sql`
    SELECT s.id FROM webhook_subscriptions s
     WHERE s.enabled = 1 AND coalesce(s.delivering_until, 0) < ${t}
       AND EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.subscription_id = s.id AND w.status = 'pending' AND w.next_attempt_at <= ${t})
     LIMIT ${DISPATCH_PER_TICK}`);
  try {
    for (let i = 0; i < due.length; i += 100)
      await env.JOBS.sendBatch(due.slice(i, i + 100).map((s) => ({ body: { kind: "webhook_deliveries" as const, subscriptionId: s.id } })));
  } catch (err) {
    console.error("outgoing webhooks: the queue refused, sending from the tick", err);
    await deliverDue(env, d, { send: o.send });
  }
  // Delivered and given-up deliveries past their keeping time, a page a tick: the table doesn't grow forever.
  // Named index: by the status term alone the planner takes the due index and walks every settled row kept.
  await d.run(sql`DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries INDEXED BY webhook_deliveries_settled_idx
                   WHERE status IN ('delivered', 'failed') AND created_at < ${t - KEEP_MS} LIMIT 500)`);
  return due.length;
}

async function attempt(
  env: Env,
  send: Send,
  sub: Target,
  c: { event_id: string; type: string; payload: string },
  lookups: Lookups,
): Promise<{ status: number | null; error: string | null }> {
  // Checked again at send time: a row written before a rule changed, or by hand, still goes nowhere private.
  // The name is looked up again when sent to (once per URL per call, Lookups): its answers may have changed since it was saved.
  const form = webhookUrlProblem(env, sub.url);
  if (form) return { status: null, error: form };
  if (!lookups.has(sub.url)) lookups.set(sub.url, receiverAddressProblem(env, sub.url));
  const dns = await lookups.get(sub.url)!;
  const refused = dns.problem ?? dns.failed;
  if (refused) return { status: null, error: refused };
  try {
    const secrets = [await unseal(appSecret(env), sub.sealed)];
    if (previousLive(sub, now())) secrets.push(await unseal(appSecret(env), sub.previousSealedSecret!));
    const res = await send(sub.url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      headers: {
        "content-type": "application/json",
        "user-agent": "Seqflare-Webhooks/1",
        [EVENT_HEADER]: c.type,
        [DELIVERY_HEADER]: c.event_id,
        [SIGNATURE_HEADER]: await signatureHeader(secrets, Math.floor(now() / 1000), c.payload),
      },
      body: c.payload,
    });
    // The answer's body is not read (a receiver may stream anything back), only released.
    await res.body?.cancel();
    return { status: res.status, error: res.status >= 200 && res.status < 300 ? null : `The receiver answered ${res.status}` };
  } catch (err) {
    const timeout = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return { status: null, error: timeout ? "No answer within 10 seconds" : `Could not reach the receiver: ${String(err).slice(0, 200)}` };
  }
}

/**
 * A delivery's outcome written, only while this call's claim still holds it; the subscription's run of
 * failures with it. A test event (ping) is tried once and leaves the run alone: a person checking a receiver
 * that is down must not turn the subscription off, nor one that answers a test end a run of real failures.
 */
async function record(
  d: Db,
  c: { id: string; subscription_id: string; type: string; attempts: number },
  claim: number,
  o: { status: number | null; error: string | null },
) {
  const t = now();
  const attempts = c.attempts + 1;
  const mine = and(eq(webhookDeliveries.id, c.id), eq(webhookDeliveries.status, "pending"), eq(webhookDeliveries.nextAttemptAt, claim));
  const base = { attempts, lastStatus: o.status, lastError: o.error, lastAttemptAt: t };
  if (c.type === "ping") {
    await d
      .update(webhookDeliveries)
      .set({ ...base, status: o.error === null ? "delivered" : "failed", nextAttemptAt: null })
      .where(mine);
    return;
  }
  if (o.error === null) {
    await d.batch([
      d
        .update(webhookDeliveries)
        .set({ ...base, status: "delivered", nextAttemptAt: null })
        .where(mine),
      // Written only when there is a run to end: most deliveries succeed after one that did.
      d
        .update(webhookSubscriptions)
        .set({ failuresInRow: 0 })
        .where(and(eq(webhookSubscriptions.id, c.subscription_id), sql`${webhookSubscriptions.failuresInRow} <> 0`)),
    ]);
    return;
  }
  const delay = RETRY_DELAYS_MS[attempts - 1];
  if (delay !== undefined) {
    await d
      .update(webhookDeliveries)
      .set({ ...base, nextAttemptAt: t + delay })
      .where(mine);
    return;
  }
  // Given up: one more in the subscription's run; at FAILURES_TO_DISABLE it is turned off, its pending deliveries with it.
  const reason = `Turned off after ${FAILURES_TO_DISABLE} deliveries in a row failed every retry (the last: ${o.error})`;
  await batchSql(d, [
    d
      .update(webhookDeliveries)
      .set({ ...base, status: "failed", nextAttemptAt: null })
      .where(mine),
    sql`UPDATE webhook_subscriptions SET failures_in_row = failures_in_row + 1,
          enabled = CASE WHEN failures_in_row + 1 >= ${FAILURES_TO_DISABLE} THEN 0 ELSE enabled END,
          disabled_reason = CASE WHEN failures_in_row + 1 >= ${FAILURES_TO_DISABLE} AND enabled = 1 THEN ${reason} ELSE disabled_reason END
        WHERE id = ${c.subscription_id}`,
    // Off now (turned off just above, or before): nothing more of it is sent.
    giveUpPending(
      d,
      c.subscription_id,
      "The subscription was turned off after repeated failures",
      sql`EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = ${c.subscription_id} AND enabled = 0)`,
    ),
  ]);
}
