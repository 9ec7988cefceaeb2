import { runDurableObjectAlarm } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { mailboxStub } from "../../durable-objects/engine";
import { armedAlarms } from "../../worker/lib/alarms";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import {
  DAY,
  HOUR,
  MIN,
  enroll,
  everyDay,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  SIM_START,
  sessionFor,
  setMailboxStatus,
  startSimulation,
} from "../fixtures";

/**
 * The MailboxDO keeps its mailbox's settings between passes (durable-objects/mailbox-do.ts,
 * settingsCache). Writers tell it with refresh(); these tests write D1 the way a writer whose refresh()
 * never arrived would (another isolate, a crash right after the write): the next batch of sends must
 * still go by D1's settings, never by the kept copy.
 */
describe("mailbox settings kept by the MailboxDO", () => {
  beforeEach(() => startSimulation());

  /** A mailbox of `hourly` sends an hour, no gap, a window open all week, and `n` contacts due at once. */
  async function world(n: number, o: { daily: number; hourly: number }) {
    const { teamId, userId } = await makeTeam();
    const allDay = everyDay("00:00", "23:59");
    const scheduleId = await makeSchedule(teamId, { timeZone: "UTC", windows: allDay });
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], scheduleId);
    const mailboxId = await makeMailbox(teamId, userId, { daily: o.daily, hourly: o.hourly, gapSeconds: 0 });
    const sent: number[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      async send() {
        sent.push(Date.now());
        return { ok: true };
      },
    });
    await enroll(teamId, sequenceId, await makeContacts(teamId, n), [mailboxId]);
    return { mailboxId, sent };
  }

  it("a mailbox paused in D1 without telling its object sends nothing from its next batch on", async () => {
    const w = await world(20, { daily: 100, hourly: 5 });
    await runUntil(SIM_START + 30 * MIN);
    expect(w.sent).toHaveLength(5);
    // Paused in D1 only: the refresh() that would follow is lost.
    await env.DB.prepare("UPDATE mailboxes SET status = 'paused', status_reason = 'by hand' WHERE id = ?").bind(w.mailboxId).run();
    await runUntil(SIM_START + DAY);
    expect(w.sent).toHaveLength(5);
    setTransportOverride(w.mailboxId, null);
  });

  it("a daily limit lowered in D1 without telling its object holds from the next batch on", async () => {
    const w = await world(20, { daily: 100, hourly: 5 });
    await runUntil(SIM_START + 30 * MIN);
    expect(w.sent).toHaveLength(5);
    await env.DB.prepare("UPDATE mailboxes SET daily_limit = 7 WHERE id = ?").bind(w.mailboxId).run();
    await runUntil(SIM_START + DAY - HOUR);
    expect(w.sent).toHaveLength(7);
    setTransportOverride(w.mailboxId, null);
  });

  it("a mailbox reconnected through refresh() resumes with the settings written before it", async () => {
    const w = await world(12, { daily: 100, hourly: 5 });
    await runUntil(SIM_START + 30 * MIN);
    expect(w.sent).toHaveLength(5);
    await setMailboxStatus(w.mailboxId, "paused", "by hand");
    await runUntil(SIM_START + 5 * HOUR);
    expect(w.sent).toHaveLength(5);
    await env.DB.prepare("UPDATE mailboxes SET hourly_limit = 1 WHERE id = ?").bind(w.mailboxId).run();
    await setMailboxStatus(w.mailboxId, "connected");
    await runUntil(SIM_START + 5 * HOUR + 30 * MIN);
    // One an hour now: the reconnect brought the new limit with it.
    expect(w.sent).toHaveLength(6);
    await runUntil(SIM_START + 2 * DAY);
    expect(w.sent).toHaveLength(12);
    setTransportOverride(w.mailboxId, null);
  });

  it("settings changing under every batch of a pass still leave its sends reported and the next alarm armed", async () => {
    // The row changes during each batch (as reply polling's cursor or a token refresh write it): the pass
    // starts over with the new settings, at most three times, and then must still report and re-arm.
    const w = await world(400, { daily: 1000, hourly: 1000 });
    let n = 0;
    setTransportOverride(w.mailboxId, {
      local: true,
      async send() {
        w.sent.push(now());
        if (n++ % 100 === 0)
          await env.DB.prepare("UPDATE mailboxes SET signature = ? WHERE id = ?").bind(`Signature ${n}`, w.mailboxId).run();
        return { ok: true };
      },
    });
    await runDurableObjectAlarm(mailboxStub(env, w.mailboxId));
    expect(w.sent.length).toBeGreaterThanOrEqual(200);
    expect(w.sent.length).toBeLessThan(400);
    const recorded = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE mailbox_id = ?").bind(w.mailboxId).first<{ n: number }>())!.n;
    // Reported: D1 has each email that went out, and the rest has an alarm to send it.
    expect(await recorded()).toBe(w.sent.length);
    expect(armedAlarms.get(`mailbox:${w.mailboxId}`)?.at).toBe(now());
    await runUntil(SIM_START + HOUR);
    expect(w.sent).toHaveLength(400);
    expect(await recorded()).toBe(400);
    setTransportOverride(w.mailboxId, null);
  });

  it("reply polling's cursor moving during a pass doesn't start the pass over: one alarm sends the whole backlog its caps allow", async () => {
    const w = await world(400, { daily: 1000, hourly: 1000 });
    setTransportOverride(w.mailboxId, {
      local: true,
      async send() {
        w.sent.push(now());
        // As reply polling's saveCursor writes it, every minute, to Gmail and Microsoft 365 mailboxes.
        await env.DB.prepare("UPDATE mailboxes SET transport_config = json_set(transport_config, '$.polled_at', ?) WHERE id = ?")
          .bind(w.sent.length, w.mailboxId)
          .run();
        return { ok: true };
      },
    });
    await runDurableObjectAlarm(mailboxStub(env, w.mailboxId));
    expect(w.sent).toHaveLength(400);
    setTransportOverride(w.mailboxId, null);
  });
});

describe("a mailbox's gap between sends, changed", () => {
  beforeEach(() => startSimulation());

  it("a shorter gap counts from the last send at once: the next email doesn't wait out the old gap", async () => {
    const { teamId, userId } = await makeTeam();
    const scheduleId = await makeSchedule(teamId, { timeZone: "UTC", windows: everyDay("00:00", "23:59") });
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], scheduleId);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 3600 });
    const sent: number[] = [];
    setTransportOverride(mailboxId, { local: true, send: async () => (sent.push(Date.now()), { ok: true }) });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 2), [mailboxId]);
    await runUntil(SIM_START + 5 * MIN);
    expect(sent).toHaveLength(1);
    const api = client(await sessionFor(teamId, userId)).api;
    await ok(api.mailboxes[":id"].$patch({ param: { id: mailboxId }, json: { min_gap_seconds: 0, jitter_seconds: 0 } }));
    await runUntil(SIM_START + 10 * MIN);
    expect(sent).toHaveLength(2);
    setTransportOverride(mailboxId, null);
  });
});
