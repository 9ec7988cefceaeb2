// Rotating an outgoing webhook's signing secret stopped the old one at once: a receiver still holding it
// failed every delivery until it was updated. Now the old secret signs beside the new one for 24 hours
// (Seqflare-Signature: t=…,v1=<new>,v1=<old>, as Stripe signs), and the list says until when.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { advanceClock, now } from "../../worker/lib/clock";
import { signMeetingWebhook } from "../../worker/services/meetings";
import { deliverDue, PREVIOUS_SECRET_MS, sendTestEvent, type Send } from "../../worker/services/webhooks-out";
import { makeTeam, sessionFor, startSimulation, withQueue } from "../fixtures";
import { as, env } from "../helpers";

type Hook = { id: string; secret_hint: string; previous_secret_hint: string | null; previous_secret_until: number | null };

async function setup() {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const res = await as(s, "POST", "/api/webhooks/outgoing", { url: "https://hooks.example.com/in", events: ["reply.received"] });
  expect(res.status).toBe(201);
  const { subscription, secret } = (await res.json()) as { subscription: Hook; secret: string };
  const rotate = async () => {
    const r = await as(s, "POST", `/api/webhooks/outgoing/${subscription.id}/secret`);
    expect(r.status).toBe(201);
    return ((await r.json()) as { secret: string }).secret;
  };
  const listed = async () => ((await (await as(s, "GET", "/api/webhooks/outgoing")).json()) as { subscriptions: Hook[] }).subscriptions[0]!;
  /** A test event sent through deliverDue: the v1 signatures it carried, and those `secrets` (and `others`) make of its body. */
  const ping = async (secrets: string[], others: string[] = []) => {
    const delivery = await sendTestEvent(withQueue([]), db(env.DB), { teamId, userId, role: "admin", via: "session" }, subscription.id);
    let header = "";
    let body = "";
    const send: Send = async (_url, init) => {
      header = new Headers(init.headers).get("seqflare-signature")!;
      body = String(init.body);
      return new Response(null, { status: 204 });
    };
    expect(await deliverDue(env, db(env.DB), { ids: [delivery.id], send })).toBe(1);
    const m = /^t=(\d+)((?:,v1=[0-9a-f]{64})+)$/.exec(header);
    expect(m, header).not.toBeNull();
    const v1s = m![2]!.split(",v1=").slice(1);
    const expected = await Promise.all(secrets.map((x) => signMeetingWebhook(x, Number(m![1]), body)));
    const other = await Promise.all(others.map((x) => signMeetingWebhook(x, Number(m![1]), body)));
    return { v1s, expected, other };
  };
  return { secret, subscription, rotate, listed, ping };
}

describe("rotating an outgoing webhook's secret", () => {
  beforeEach(() => startSimulation());

  it("signs with the new and the old secret for 24 hours, then with the new one only", async () => {
    const h = await setup();
    // Before any rotation: one signature.
    const first = await h.ping([h.secret]);
    expect(first.v1s).toEqual(first.expected);
    expect((await h.listed()).previous_secret_hint).toBeNull();

    const rotatedAt = now();
    const next = await h.rotate();
    const during = await h.ping([next, h.secret]);
    // Both verify, the new one first: a receiver with either secret accepts the delivery.
    expect(during.v1s).toEqual(during.expected);
    expect(during.v1s).toHaveLength(2);
    const listed = await h.listed();
    expect(listed.secret_hint).toBe(next.slice(0, 10));
    expect(listed.previous_secret_hint).toBe(h.secret.slice(0, 10));
    expect(listed.previous_secret_until).toBeGreaterThanOrEqual(rotatedAt + PREVIOUS_SECRET_MS - 60_000);

    advanceClock(PREVIOUS_SECRET_MS - 60_000);
    const late = await h.ping([next, h.secret]);
    expect(late.v1s).toEqual(late.expected);

    advanceClock(2 * 60_000);
    const after = await h.ping([next], [h.secret]);
    expect(after.v1s).not.toContain(after.other[0]);
    expect(after.v1s).toEqual(after.expected);
    expect(after.v1s).toHaveLength(1);
    expect(await h.listed()).toMatchObject({ previous_secret_hint: null, previous_secret_until: null });
  });

  it("rotated twice within the window: the secret just replaced signs beside the newest, the first stops", async () => {
    const h = await setup();
    const second = await h.rotate();
    const third = await h.rotate();
    const sig = await h.ping([third, second], [h.secret]);
    expect(sig.v1s).toEqual(sig.expected);
    expect(sig.v1s).not.toContain(sig.other[0]);
    expect((await h.listed()).previous_secret_hint).toBe(second.slice(0, 10));
  });
});
