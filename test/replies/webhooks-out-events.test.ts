// Outgoing webhooks, end to end: each event is recorded once when its fact is (driven through the real
// paths: the inbound handler for a reply and a bounce, the unsubscribe link, the meetings webhook, a run
// ending), then sent signed by the cron's delivery step to a receiver standing in for the subscriber.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { handleInbound } from "../../worker/inbound";
import { advanceClock, now } from "../../worker/lib/clock";
import { signMeetingWebhook } from "../../worker/services/meetings";
import { signUnsubscribeToken } from "../../worker/services/mime";
import { deliverDue, FAILURES_TO_DISABLE, RETRY_DELAYS_MS, type Send } from "../../worker/services/webhooks-out";
import { HOUR, MIN, runUntil, startSimulation } from "../fixtures";
import { as, call, env } from "../helpers";
import { dsn, replyTo, sentFirst } from "./mail";

interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
  json: { id: string; type: string; created_at: string; team_id: string; data: Record<string, any> };
}

/** A subscriber's endpoint: records every request and answers with the next scripted status (200 once the script is used up). */
function receiver(script: number[] = []) {
  const got: Received[] = [];
  const send: Send = async (url, init) => {
    const body = String(init.body);
    got.push({ url, headers: Object.fromEntries(new Headers(init.headers).entries()), body, json: JSON.parse(body) });
    return new Response("ok", { status: script.shift() ?? 200 });
  };
  return { got, send };
}

const deliver = (send: Send) => deliverDue(env, db(env.DB), { send });

async function subscribe(s: Awaited<ReturnType<typeof sentFirst>>, events: string[]) {
  const res = await as(s.session, "POST", "/api/webhooks/outgoing", { url: "https://hooks.example.com/seqflare", events });
  expect(res.status).toBe(201);
  return (await res.json()) as { subscription: { id: string }; secret: string };
}

async function verify(secret: string, r: Received) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(r.headers["seqflare-signature"] ?? "");
  expect(m).not.toBeNull();
  return m![2] === (await signMeetingWebhook(secret, Number(m![1]), r.body));
}

const deliveryRows = (subscriptionId: string) =>
  env.DB.prepare("SELECT * FROM webhook_deliveries WHERE subscription_id = ? ORDER BY created_at, id")
    .bind(subscriptionId)
    .all<{ event_id: string; type: string; status: string; attempts: number; last_status: number | null; next_attempt_at: number | null }>()
    .then((r) => r.results);

describe("outgoing webhook events", () => {
  beforeEach(() => startSimulation());

  it("a reply sends reply.received and run.finished once each, signed, with the contact, sequence, run and email", async () => {
    const s = await sentFirst();
    const { subscription, secret } = await subscribe(s, ["reply.received", "run.finished"]);
    const r = await handleInbound(env, replyTo(s.m));
    expect(r.kind).toBe("reply");
    await runUntil(now() + MIN);
    const rx = receiver();
    await deliver(rx.send);
    const byType = Object.fromEntries(rx.got.map((g) => [g.json.type, g]));
    expect(rx.got.map((g) => g.json.type).sort()).toEqual(["reply.received", "run.finished"]);
    const reply = byType["reply.received"]!;
    expect(reply.url).toBe("https://hooks.example.com/seqflare");
    expect(reply.headers["content-type"]).toBe("application/json");
    expect(reply.headers["seqflare-event"]).toBe("reply.received");
    expect(reply.headers["seqflare-delivery"]).toBe(reply.json.id);
    expect(await verify(secret, reply)).toBe(true);
    expect(reply.json).toMatchObject({
      type: "reply.received",
      team_id: s.teamId,
      data: {
        contact: { id: s.m.contact_id, email: s.m.to_email },
        sequence: { id: s.sequenceId },
        run: { id: s.m.enrollment_id },
        message: { id: s.m.id },
        reply: { id: r.inboundId },
      },
    });
    expect(new Date(reply.json.created_at).toISOString()).toBe(reply.json.created_at);
    expect(byType["run.finished"]!.json.data).toMatchObject({ run: { id: s.m.enrollment_id, status: "finished", reason: "replied" } });
    // Sent once: nothing more on the next ticks, and the rows say delivered.
    advanceClock(HOUR);
    await deliver(rx.send);
    expect(rx.got).toHaveLength(2);
    expect((await deliveryRows(subscription.id)).map((d) => [d.type, d.status, d.attempts, d.last_status])).toEqual(
      expect.arrayContaining([
        ["reply.received", "delivered", 1, 200],
        ["run.finished", "delivered", 1, 200],
      ]),
    );
  });

  it("an out-of-office sends nothing; a hard bounce sends email.bounced once, even when the report comes twice", async () => {
    const s = await sentFirst();
    const { subscription } = await subscribe(s, ["reply.received", "email.bounced"]);
    await handleInbound(
      env,
      replyTo(s.m, { extra: "Auto-Submitted: auto-replied\r\n", subject: "Out of office", body: "I am out of the office until Monday." }),
    );
    const report = dsn(s.m, "5.1.1", "failed", "same-report");
    await handleInbound(env, report);
    await handleInbound(env, report);
    const rx = receiver();
    await deliver(rx.send);
    expect(rx.got.map((g) => g.json.type)).toEqual(["email.bounced"]);
    expect(rx.got[0]!.json.data).toMatchObject({
      contact: { id: s.m.contact_id },
      message: { id: s.m.id },
      run: { id: s.m.enrollment_id },
    });
    expect(await deliveryRows(subscription.id)).toHaveLength(1);
  });

  it("the unsubscribe link sends contact.unsubscribed once (a second click sends nothing)", async () => {
    const s = await sentFirst();
    await subscribe(s, ["contact.unsubscribed"]);
    const token = await signUnsubscribeToken(env.APP_SECRET!, { teamId: s.teamId, email: s.m.to_email });
    for (let i = 0; i < 2; i++) expect((await call(`/unsubscribe/${token}`, { method: "POST" })).status).toBe(200);
    const rx = receiver();
    await deliver(rx.send);
    expect(rx.got.map((g) => g.json)).toEqual([
      expect.objectContaining({
        type: "contact.unsubscribed",
        data: { contact: expect.objectContaining({ id: s.m.contact_id, email: s.m.to_email }) },
      }),
    ]);
  });

  it("the meetings webhook sends meeting.booked once; the same event again sends nothing", async () => {
    const s = await sentFirst();
    await subscribe(s, ["meeting.booked"]);
    const { secret } = (await (await as(s.session, "POST", "/api/webhooks/meetings/secret")).json()) as { secret: string };
    for (let i = 0; i < 2; i++) {
      advanceClock(MIN);
      const raw = JSON.stringify({ contact_id: s.m.contact_id, event_id: "cal-1" });
      const ts = Math.floor(now() / 1000);
      const res = await call("/api/webhooks/meetings", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "seqflare-team": s.teamId,
          "seqflare-signature": `t=${ts},v1=${await signMeetingWebhook(secret, ts, raw)}`,
        },
        body: raw,
      });
      expect(res.status).toBe(200);
    }
    const rx = receiver();
    await deliver(rx.send);
    expect(rx.got.map((g) => g.json.type)).toEqual(["meeting.booked"]);
    expect(rx.got[0]!.json.data).toMatchObject({ contact: { id: s.m.contact_id }, meeting: { event_id: "cal-1", source: "webhook" } });
  });

  it("a run that goes through every step sends run.finished with its reason; a subscription to other events gets nothing", async () => {
    const s = await sentFirst();
    await subscribe(s, ["run.finished"]);
    const other = await subscribe(s, ["meeting.booked"]);
    await runUntil(now() + 2 * 24 * HOUR);
    const rx = receiver();
    await deliver(rx.send);
    const [row] = (
      await env.DB.prepare("SELECT status, reason FROM enrollments WHERE id = ?")
        .bind(s.m.enrollment_id)
        .all<{ status: string; reason: string }>()
    ).results;
    expect(row!.status).toBe("finished");
    expect(rx.got.map((g) => [g.json.type, g.json.data.run])).toEqual([
      ["run.finished", { id: s.m.enrollment_id, status: "finished", reason: row!.reason }],
    ]);
    expect(await deliveryRows(other.subscription.id)).toEqual([]);
  });

  it("a 500 then a 200: delivered once more a minute later, with the same delivery id and body", async () => {
    const s = await sentFirst();
    const { subscription, secret } = await subscribe(s, ["reply.received"]);
    await handleInbound(env, replyTo(s.m));
    const rx = receiver([500]);
    await deliver(rx.send);
    expect(rx.got).toHaveLength(1);
    expect((await deliveryRows(subscription.id))[0]).toMatchObject({
      status: "pending",
      attempts: 1,
      last_status: 500,
      next_attempt_at: now() + RETRY_DELAYS_MS[0],
    });
    // Not due yet.
    advanceClock(RETRY_DELAYS_MS[0] - 1_000);
    await deliver(rx.send);
    expect(rx.got).toHaveLength(1);
    advanceClock(1_000);
    await deliver(rx.send);
    expect(rx.got).toHaveLength(2);
    expect(rx.got[1]!.headers["seqflare-delivery"]).toBe(rx.got[0]!.headers["seqflare-delivery"]);
    expect(rx.got[1]!.body).toBe(rx.got[0]!.body);
    expect(await verify(secret, rx.got[1]!)).toBe(true);
    advanceClock(HOUR);
    await deliver(rx.send);
    expect(rx.got).toHaveLength(2);
    expect((await deliveryRows(subscription.id))[0]).toMatchObject({ status: "delivered", attempts: 2, last_status: 200 });
  });

  it("given up after the last retry (1 min, 5, 30, 2 h, 12 h); 20 given up in a row turn the subscription off", async () => {
    const s = await sentFirst();
    const { subscription } = await subscribe(s, ["reply.received"]);
    await handleInbound(env, replyTo(s.m));
    const rx = receiver(Array(100).fill(503));
    await deliver(rx.send);
    for (const wait of RETRY_DELAYS_MS) {
      advanceClock(wait);
      await deliver(rx.send);
    }
    expect(rx.got).toHaveLength(1 + RETRY_DELAYS_MS.length);
    expect((await deliveryRows(subscription.id))[0]).toMatchObject({
      status: "failed",
      attempts: 6,
      last_status: 503,
      next_attempt_at: null,
    });
    advanceClock(24 * HOUR);
    await deliver(rx.send);
    expect(rx.got).toHaveLength(6);
    const sub = () =>
      env.DB.prepare("SELECT enabled, failures_in_row, disabled_reason FROM webhook_subscriptions WHERE id = ?")
        .bind(subscription.id)
        .first<{ enabled: number; failures_in_row: number; disabled_reason: string | null }>();
    expect(await sub()).toMatchObject({ enabled: 1, failures_in_row: 1 });
    // With 19 given up in a row, the 20th (its last attempt due now) turns it off, with the reason shown.
    await env.DB.prepare("UPDATE webhook_subscriptions SET failures_in_row = ? WHERE id = ?")
      .bind(FAILURES_TO_DISABLE - 1, subscription.id)
      .run();
    await env.DB.prepare(
      `INSERT INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at)
       VALUES ('last-try', ?, ?, 'evt-x', 'reply.received', '{}', 'pending', 5, ?, ?), ('waiting', ?, ?, 'evt-y', 'reply.received', '{}', 'pending', 0, ?, ?)`,
    )
      .bind(s.teamId, subscription.id, now(), now(), s.teamId, subscription.id, now() + HOUR, now())
      .run();
    await deliver(rx.send);
    expect(await sub()).toMatchObject({ enabled: 0, failures_in_row: FAILURES_TO_DISABLE });
    expect((await sub())!.disabled_reason).toMatch(/Turned off after 20 deliveries/);
    // The one still waiting is given up with it, and nothing more is sent.
    expect((await deliveryRows(subscription.id)).find((d) => d.event_id === "evt-y")).toMatchObject({ status: "failed" });
    advanceClock(2 * HOUR);
    const before = rx.got.length;
    await deliver(rx.send);
    expect(rx.got).toHaveLength(before);
  });
});
