// What an Idempotency-Key keeps, and for how long. Before, every answer was kept forever (contacts' names
// and addresses, even after their deletion), an answer past D1's row size failed its store, and a store
// that failed answered 500 after the work was done, leaving the claim to be taken over 30 seconds later:
// the client's retry ran the work a second time.
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { runCron } from "../../worker/cron";
import { db } from "../../worker/db/client";
import type { AppEnv } from "../../worker/env";
import { advanceClock, resetClock, setClock } from "../../worker/lib/clock";
import { errorResponse } from "../../worker/lib/errors";
import { newId } from "../../worker/lib/ids";
import { idempotency, MAX_KEPT_BYTES } from "../../worker/middleware/idempotency";
import { as, env, errorOf, login } from "../helpers";
import { makeTeam } from "../fixtures";

afterEach(() => resetClock());

const tick = { scheduledTime: 0, cron: "* * * * *", noRetry() {} } as ScheduledController;

const contactsWith = async (email: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE email = ?").bind(email).first<{ n: number }>())!.n;
const records = async (key: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM idempotency_keys WHERE key = ?").bind(key).first<{ n: number }>())!.n;

describe("Idempotency-Key records", () => {
  it("are replayed for 24 hours, then the cron deletes them and the key makes a new request", async () => {
    setClock(Date.now());
    const s = await login("admin@demo.test");
    const key = `keep-${newId()}`;
    const email = `keep-${newId()}@example.com`;
    const first = await as(s, "POST", "/api/contacts", { email, first_name: "Ada" }, { "idempotency-key": key });
    expect(first.status).toBe(201);
    advanceClock(23 * 3_600_000);
    await runCron(tick, env).catch(() => {}); // other steps may fail in a test world; this one must run
    const replay = await as(s, "POST", "/api/contacts", { email, first_name: "Ada" }, { "idempotency-key": key });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await contactsWith(email)).toBe(1);

    // 24 hours after the request, the tick deletes the record (another key, younger, stays).
    const younger = `young-${newId()}`;
    expect((await as(s, "POST", "/api/contacts", { email: `y-${email}` }, { "idempotency-key": younger })).status).toBe(201);
    advanceClock(3_600_000 + 60_000);
    await runCron(tick, env).catch(() => {});
    expect(await records(key)).toBe(0);
    expect(await records(younger)).toBe(1);
    const fresh = await as(s, "POST", "/api/contacts", { email, first_name: "Ada" }, { "idempotency-key": key });
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    expect(await contactsWith(email)).toBe(2);
  });

  it("an expired record the cron has not deleted yet is not replayed", async () => {
    setClock(Date.now());
    const s = await login("admin@demo.test");
    const key = `late-${newId()}`;
    const email = `late-${newId()}@example.com`;
    expect((await as(s, "POST", "/api/contacts", { email }, { "idempotency-key": key })).status).toBe(201);
    advanceClock(24 * 3_600_000 + 1);
    const again = await as(s, "POST", "/api/contacts", { email }, { "idempotency-key": key });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(await contactsWith(email)).toBe(2);
  });

  it("an answer too large to keep is not stored; its replay answers 409 and runs nothing", async () => {
    const { teamId, userId } = await makeTeam();
    let runs = 0;
    const app = new Hono<AppEnv>()
      .use("*", async (c, next) => {
        c.set("db", db(c.env.DB));
        c.set("caller", { teamId, userId, role: "admin", via: "session" });
        await next();
      })
      .use("*", idempotency)
      .onError((err, c) => errorResponse(c, err))
      .post("/big", (c) => {
        runs++;
        return c.json({ rows: "x".repeat(MAX_KEPT_BYTES + 1) }, 201);
      });
    const key = `big-${newId()}`;
    const send = () =>
      app.request("/big", { method: "POST", headers: { "idempotency-key": key, "content-type": "application/json" }, body: "{}" }, env);
    const first = await send();
    expect(first.status).toBe(201);
    expect(((await first.json()) as { rows: string }).rows).toHaveLength(MAX_KEPT_BYTES + 1);
    expect(await env.DB.prepare("SELECT status, body, withheld FROM idempotency_keys WHERE key = ?").bind(key).first()).toEqual({
      status: 201,
      body: null,
      withheld: "too_large",
    });
    const again = await send();
    expect(again.status).toBe(409);
    expect((await errorOf(again)).message).toMatch(/too large to keep/);
    expect(runs).toBe(1);
  });

  it("a store that fails still answers the client, and a retry is told the outcome is unknown, never run again", async () => {
    setClock(Date.now());
    const s = await login("admin@demo.test");
    const key = `lost-${newId()}`;
    const email = `lost-${newId()}@example.com`;
    // Storing the answer fails (as a D1 error would); the write that marks the claim goes through.
    await env.DB.exec(
      "CREATE TRIGGER fail_answer_store BEFORE UPDATE OF body ON idempotency_keys WHEN NEW.body IS NOT NULL BEGIN SELECT RAISE(ABORT, 'store failed'); END",
    );
    try {
      const first = await as(s, "POST", "/api/contacts", { email }, { "idempotency-key": key });
      expect(first.status).toBe(201);
      expect(((await first.json()) as { contact: { email: string } }).contact.email).toBe(email);
    } finally {
      await env.DB.exec("DROP TRIGGER fail_answer_store");
    }
    for (const wait of [0, 31_000]) {
      advanceClock(wait);
      const retry = await as(s, "POST", "/api/contacts", { email }, { "idempotency-key": key });
      expect(retry.status).toBe(409);
      expect((await errorOf(retry)).message).toMatch(/could not be saved/);
    }
    expect(await contactsWith(email)).toBe(1);
  });
});
