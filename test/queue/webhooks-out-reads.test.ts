// The cron's webhook step runs every minute, and each queue message claims a subscription's deliveries round
// after round: neither may read the deliveries kept for 30 days. The cleanup's page of settled deliveries
// past their keeping time walked every delivered row through the due index (status, next_attempt_at), and a
// subscription's claim could walk every team's due deliveries; migration 0070's indexes keep both to the rows
// they touch.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { countingD1 } from "../../worker/middleware/d1-count";
import { now } from "../../worker/lib/clock";
import { deliverSubscription, dispatchDue, type Send } from "../../worker/services/webhooks-out";
import { makeTeam, sessionFor, startSimulation, withQueue } from "../fixtures";
import { as, env } from "../helpers";

const DAY = 24 * 3_600_000;

async function subscription() {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const res = await as(s, "POST", "/api/webhooks/outgoing", { url: "https://hooks.example.com/in", events: ["contact.unsubscribed"] });
  expect(res.status).toBe(201);
  return { teamId, id: ((await res.json()) as { subscription: { id: string } }).subscription.id };
}

/** `n` deliveries of `sub` in one status, created `age` ago and next due at `due` (pending) or not at all. */
async function deliveries(sub: { teamId: string; id: string }, n: number, status: string, age: number, due: number | null) {
  const t = now();
  await env.DB.prepare(
    `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
     INSERT INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at)
     SELECT lower(hex(randomblob(12))), ?, ?, 'evt_' || lower(hex(randomblob(8))), 'contact.unsubscribed', '{}', ?, 1, ?, ? FROM k`,
  )
    .bind(n, sub.teamId, sub.id, status, due, t - age)
    .run();
}

const ok: Send = async () => new Response(null, { status: 204 });

describe("outgoing webhooks read only the deliveries they touch", () => {
  beforeEach(() => startSimulation());

  it("the cron's tick reads a few rows beside 3,000 delivered ones, and deletes the expired page through its own index", async () => {
    const sub = await subscription();
    await deliveries(sub, 3_000, "delivered", DAY, null);
    await deliveries(sub, 5, "delivered", 40 * DAY, null);
    const counted = countingD1(env.DB);
    expect(await dispatchDue(withQueue([]), db(counted.db), { send: ok })).toBe(0);
    expect(counted.count.rowsRead, counted.count.statements.join("\n")).toBeLessThan(100);
    const left = await env.DB.prepare("SELECT count(*) n FROM webhook_deliveries WHERE subscription_id = ?")
      .bind(sub.id)
      .first<{ n: number }>();
    expect(left!.n).toBe(3_000);
  });

  it("a subscription's message claims its own due deliveries without walking another subscription's backlog", async () => {
    const quiet = await subscription();
    const busy = await subscription();
    // The busy one's 3,000 are due (a receiver that was down); the quiet one has 2.
    await deliveries(busy, 3_000, "pending", 10 * 60_000, now() - 60_000);
    await deliveries(quiet, 2, "pending", 60_000, now() - 1_000);
    const counted = countingD1(env.DB);
    expect(await deliverSubscription(withQueue([]), db(counted.db), quiet.id, { send: ok })).toBe(2);
    expect(counted.count.rowsRead, counted.count.statements.join("\n")).toBeLessThan(100);
  });
});
