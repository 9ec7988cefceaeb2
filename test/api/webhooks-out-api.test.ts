// Outgoing webhook subscriptions through the API: who may manage them, which URLs are refused (and
// then nothing is written), the limit per team, and where the signing secret may and may not appear.
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { QueueMessage } from "../../worker/queue/messages";
import { advanceClock } from "../../worker/lib/clock";
import {
  deliverDue,
  FAILURES_TO_DISABLE,
  sendTestEvent,
  SUBSCRIPTIONS_PER_TEAM,
  TEST_EVENTS_PER_HOUR,
  type Send,
  webhookUrlProblem,
} from "../../worker/services/webhooks-out";
import { signMeetingWebhook } from "../../worker/services/meetings";
import { makeTeam, makeUser, sessionFor, withQueue } from "../fixtures";
import { as, env, errorOf, fieldsOf, withKey } from "../helpers";

const URL_OK = "https://hooks.example.com/seqflare";
const rows = (teamId: string) =>
  env.DB.prepare("SELECT * FROM webhook_subscriptions WHERE team_id = ?")
    .bind(teamId)
    .all<{ id: string; sealed_secret: string; url: string }>()
    .then((r) => r.results);

async function adminTeam() {
  const { teamId, userId } = await makeTeam();
  return { teamId, userId, s: await sessionFor(teamId, userId) };
}

async function create(s: Awaited<ReturnType<typeof sessionFor>>, body: unknown, headers: Record<string, string> = {}) {
  return as(s, "POST", "/api/webhooks/outgoing", body, headers);
}

describe("outgoing webhook subscriptions", () => {
  it("a refused URL answers 422 naming url, and nothing is written", async () => {
    const { teamId, s } = await adminTeam();
    for (const url of [
      "http://hooks.example.com/x",
      "https://localhost/x",
      "https://hooks.localhost/x",
      "https://127.0.0.1/x",
      "https://127.1/x",
      "https://0x7f.0.0.1/x",
      "https://2130706433/x",
      "https://[::1]/x",
      "https://[::ffff:127.0.0.1]/x",
      "https://10.1.2.3/x",
      "https://172.16.0.1/x",
      "https://192.168.1.1/x",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/x",
      "https://[fd00::1]/x",
      "https://0.0.0.0/x",
      "https://user:pw@hooks.example.com/x",
      "ftp://hooks.example.com/x",
    ]) {
      const res = await create(s, { url, events: ["reply.received"] });
      const err = await errorOf(res);
      expect([url, err.status]).toEqual([url, 422]);
      expect(fieldsOf(err).map((f) => f.field)).toEqual(["url"]);
    }
    expect(await rows(teamId)).toEqual([]);
    // A change to such a URL is refused the same way, the subscription left as it was.
    const ok = (await (await create(s, { url: URL_OK, events: ["reply.received"] })).json()) as { subscription: { id: string } };
    const res = await as(s, "PATCH", `/api/webhooks/outgoing/${ok.subscription.id}`, { url: "https://169.254.169.254/" });
    expect(fieldsOf(await errorOf(res)).map((f) => f.field)).toEqual(["url"]);
    expect((await rows(teamId)).map((r) => r.url)).toEqual([URL_OK]);
  });

  it("on npm start (APP_ENV=local) a receiver on the developer's machine is allowed, other private addresses are not", () => {
    expect(webhookUrlProblem({ APP_ENV: "local" }, "http://127.0.0.1:9999/hook")).toBeUndefined();
    expect(webhookUrlProblem({ APP_ENV: "local" }, "http://localhost:9999/hook")).toBeUndefined();
    expect(webhookUrlProblem({ APP_ENV: "local" }, "http://10.0.0.1/hook")).toMatch(/https/);
    expect(webhookUrlProblem({ APP_ENV: "local" }, "https://169.254.169.254/")).toMatch(/public address/);
    expect(webhookUrlProblem({ APP_ENV: "test" }, "http://127.0.0.1:9999/hook")).toMatch(/https/);
    expect(webhookUrlProblem({ APP_ENV: "production" }, URL_OK)).toBeUndefined();
  });

  it("admins and master keys manage them; a member or a standard key gets 403, another team 404", async () => {
    const { teamId, userId, s } = await adminTeam();
    const member = await sessionFor(teamId, await makeUser(teamId, "member"));
    expect((await errorOf(await create(member, { url: URL_OK, events: ["reply.received"] }))).status).toBe(403);
    expect((await errorOf(await as(member, "GET", "/api/webhooks/outgoing"))).status).toBe(403);
    const key = async (kind: string) =>
      ((await (await as(s, "POST", "/api/api-keys", { name: kind, kind })).json()) as { key: string }).key;
    const standard = await key("standard");
    const master = await key("master");
    expect((await withKey(standard, "POST", "/api/webhooks/outgoing", { url: URL_OK, events: ["reply.received"] })).status).toBe(403);
    expect((await withKey(standard, "GET", "/api/webhooks/outgoing")).status).toBe(403);
    expect(await rows(teamId)).toEqual([]);
    const byMaster = await withKey(master, "POST", "/api/webhooks/outgoing", { url: URL_OK, events: ["run.finished"] });
    expect(byMaster.status).toBe(201);
    const { subscription } = (await byMaster.json()) as { subscription: { id: string } };
    expect((await errorOf(await as(member, "DELETE", `/api/webhooks/outgoing/${subscription.id}`))).status).toBe(403);
    // Another team's admin: every route on this id is a 404, and nothing changes.
    const other = await adminTeam();
    for (const [method, path, body] of [
      ["PATCH", "", { enabled: false }],
      ["DELETE", "", undefined],
      ["POST", "/secret", undefined],
      ["POST", "/test", undefined],
      ["GET", "/deliveries", undefined],
    ] as const) {
      const res = await as(other.s, method, `/api/webhooks/outgoing/${subscription.id}${path}`, body);
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    expect((await rows(teamId)).map((r) => r.id)).toEqual([subscription.id]);
    const listed = (await (await as(other.s, "GET", "/api/webhooks/outgoing")).json()) as { subscriptions: unknown[] };
    expect(listed.subscriptions).toEqual([]);
    expect(userId).toBeTruthy();
  });

  it(`at most ${SUBSCRIPTIONS_PER_TEAM} per team: the next is a 422 and not written`, async () => {
    const { teamId, s } = await adminTeam();
    for (let i = 0; i < SUBSCRIPTIONS_PER_TEAM; i++)
      expect((await create(s, { url: `${URL_OK}/${i}`, events: ["reply.received"] })).status).toBe(201);
    const err = await errorOf(await create(s, { url: `${URL_OK}/11`, events: ["reply.received"] }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(err.message).toMatch(/at most 10/);
    expect(await rows(teamId)).toHaveLength(SUBSCRIPTIONS_PER_TEAM);
  });

  it("the secret is answered once: sealed at rest, never listed, never in a stored idempotent answer; rotation replaces it", async () => {
    const { teamId, s } = await adminTeam();
    const res = await create(s, { url: URL_OK, events: ["reply.received", "meeting.booked"] }, { "idempotency-key": "create-hook-1" });
    expect(res.status).toBe(201);
    const { subscription, secret } = (await res.json()) as { subscription: { id: string; secret_hint: string }; secret: string };
    expect(secret).toMatch(/^whsec_/);
    expect(subscription.secret_hint).toBe(secret.slice(0, 10));
    const [row] = await rows(teamId);
    expect(row!.sealed_secret).not.toContain(secret);
    const stored = await env.DB.prepare("SELECT body FROM idempotency_keys WHERE team_id = ?").bind(teamId).all<{ body: string }>();
    expect(stored.results).toHaveLength(1);
    for (const r of stored.results) expect(String(r.body)).not.toContain(secret);
    // The replay answers without the secret, and creates nothing.
    const replay = await create(s, { url: URL_OK, events: ["reply.received", "meeting.booked"] }, { "idempotency-key": "create-hook-1" });
    expect(replay.status).toBe(409);
    expect(await replay.text()).not.toContain(secret);
    expect(await rows(teamId)).toHaveLength(1);
    const list = await (await as(s, "GET", "/api/webhooks/outgoing")).text();
    expect(list).not.toContain(secret);
    expect(list).not.toContain(row!.sealed_secret);

    const rotated = await as(s, "POST", `/api/webhooks/outgoing/${subscription.id}/secret`, undefined, { "idempotency-key": "rotate-1" });
    expect(rotated.status).toBe(201);
    const next = ((await rotated.json()) as { secret: string }).secret;
    expect(next).not.toBe(secret);
    for (const r of (await env.DB.prepare("SELECT body FROM idempotency_keys WHERE team_id = ?").bind(teamId).all<{ body: string }>())
      .results)
      expect(String(r.body)).not.toContain(next);

    // A test event goes through the queue and is signed with the new secret.
    const sent: QueueMessage[] = [];
    const delivery = await sendTestEvent(
      withQueue(sent),
      db(env.DB),
      { teamId, userId: s.userId, role: "admin", via: "session" },
      subscription.id,
    );
    expect(sent).toEqual([{ kind: "webhook_delivery", deliveryId: delivery.id }]);
    const got: { headers: Headers; body: string }[] = [];
    const send: Send = async (_url, init) => {
      got.push({ headers: new Headers(init.headers), body: String(init.body) });
      return new Response(null, { status: 204 });
    };
    await deliverDue(env, db(env.DB), { ids: [delivery.id], send });
    expect(got).toHaveLength(1);
    expect(got[0]!.headers.get("seqflare-event")).toBe("ping");
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)/.exec(got[0]!.headers.get("seqflare-signature")!)!;
    expect(v1).toBe(await signMeetingWebhook(next, Number(t), got[0]!.body));
    expect(v1).not.toBe(await signMeetingWebhook(secret, Number(t), got[0]!.body));
    const listed = (await (await as(s, "GET", `/api/webhooks/outgoing/${subscription.id}/deliveries`)).json()) as {
      deliveries: { type: string; status: string; attempts: number; last_status: number }[];
    };
    expect(listed.deliveries).toEqual([expect.objectContaining({ type: "ping", status: "delivered", attempts: 1, last_status: 204 })]);
  });

  it("turned off: no test event (409), its pending deliveries given up; deleting removes it and its deliveries", async () => {
    const { teamId, s } = await adminTeam();
    const { subscription } = (await (await create(s, { url: URL_OK, events: ["reply.received"] })).json()) as {
      subscription: { id: string };
    };
    await env.DB.prepare(
      "INSERT INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at) VALUES ('p1', ?, ?, 'e1', 'reply.received', '{}', 'pending', 1, 0, 0)",
    )
      .bind(teamId, subscription.id)
      .run();
    const off = await as(s, "PATCH", `/api/webhooks/outgoing/${subscription.id}`, { enabled: false });
    expect(((await off.json()) as { subscription: { enabled: boolean } }).subscription.enabled).toBe(false);
    expect(await env.DB.prepare("SELECT status, last_error FROM webhook_deliveries WHERE id = 'p1'").first()).toEqual({
      status: "failed",
      last_error: "The subscription was turned off",
    });
    expect((await errorOf(await as(s, "POST", `/api/webhooks/outgoing/${subscription.id}/test`))).status).toBe(409);
    expect((await as(s, "DELETE", `/api/webhooks/outgoing/${subscription.id}`)).status).toBe(200);
    expect(await rows(teamId)).toEqual([]);
    expect(
      await env.DB.prepare("SELECT count(*) n FROM webhook_deliveries WHERE subscription_id = ?").bind(subscription.id).first(),
    ).toEqual({
      n: 0,
    });
  });

  // A test event had no limit (25 in a row: all 202), was retried 5 times over 14 hours, and a given-up one
  // counted toward turning the subscription off: 20 tests to a receiver that was down turned it off.
  it(`a test event: at most ${TEST_EVENTS_PER_HOUR} an hour (429 with retry-after), tried once, never counted toward turning it off`, async () => {
    const { teamId, s } = await adminTeam();
    const { subscription } = (await (await create(s, { url: URL_OK, events: ["reply.received"] })).json()) as {
      subscription: { id: string };
    };
    const test = () => as(s, "POST", `/api/webhooks/outgoing/${subscription.id}/test`);
    for (let i = 0; i < TEST_EVENTS_PER_HOUR; i++) expect((await test()).status).toBe(202);
    const refused = await test();
    const err = await errorOf(refused);
    expect(err).toMatchObject({ status: 429, code: "rate_limited" });
    expect(err.message).toMatch(/at most 10 test events an hour/);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(3_500);
    expect(retryAfter).toBeLessThanOrEqual(3_600);
    const pings = () =>
      env.DB.prepare("SELECT count(*) n FROM webhook_deliveries WHERE subscription_id = ? AND type = 'ping'")
        .bind(subscription.id)
        .first<{ n: number }>();
    expect(await pings()).toEqual({ n: TEST_EVENTS_PER_HOUR });
    advanceClock(retryAfter * 1000);
    expect((await test()).status).toBe(202);
    expect(await pings()).toEqual({ n: TEST_EVENTS_PER_HOUR + 1 });

    // Another subscription, one short of being turned off: a test to its broken receiver is tried once and
    // shown failed, and neither the run of failures nor the subscription changes.
    const other = (await (await create(s, { url: `${URL_OK}/2`, events: ["reply.received"] })).json()) as { subscription: { id: string } };
    await env.DB.prepare("UPDATE webhook_subscriptions SET failures_in_row = ? WHERE id = ?")
      .bind(FAILURES_TO_DISABLE - 1, other.subscription.id)
      .run();
    const caller = { teamId, userId: s.userId, role: "admin" as const, via: "session" as const };
    const delivery = await sendTestEvent(withQueue([]), db(env.DB), caller, other.subscription.id);
    let tries = 0;
    const down: Send = async () => {
      tries++;
      return new Response("down", { status: 503 });
    };
    await deliverDue(env, db(env.DB), { ids: [delivery.id], send: down });
    expect(tries).toBe(1);
    const listed = (await (await as(s, "GET", `/api/webhooks/outgoing/${other.subscription.id}/deliveries`)).json()) as {
      deliveries: { id: string; status: string; attempts: number; last_status: number; next_attempt_at: number | null }[];
    };
    expect(listed.deliveries).toEqual([
      expect.objectContaining({ id: delivery.id, status: "failed", attempts: 1, last_status: 503, next_attempt_at: null }),
    ]);
    advanceClock(24 * 3_600_000);
    await deliverDue(env, db(env.DB), { ids: [delivery.id], send: down });
    expect(tries).toBe(1);
    expect(
      await env.DB.prepare("SELECT enabled, failures_in_row, disabled_reason FROM webhook_subscriptions WHERE id = ?")
        .bind(other.subscription.id)
        .first(),
    ).toEqual({ enabled: 1, failures_in_row: FAILURES_TO_DISABLE - 1, disabled_reason: null });
  });
});
