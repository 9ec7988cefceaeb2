import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { engine, mailboxStub, sequenceStub } from "../../durable-objects/engine";
import { PAGE } from "../../durable-objects/sequence-do";
import { ALARM_RETRY_MS, armedAlarms } from "../../worker/lib/alarms";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { env } from "../helpers";
import {
  DAY,
  HOUR,
  MIN,
  enroll,
  everyDay,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  SIM_START,
  startSimulation,
} from "../fixtures";

/**
 * D1 out of reach for a while (simulated time). The objects share this isolate's D1 binding, so
 * failing its calls fails theirs. A throwing alarm is retried by the runtime six times and then never
 * again: each object arms its own retry instead (worker/lib/alarms.ts, alarmOrRetry).
 */
function d1DownDuring(outages: [number, number][]) {
  const dbProto = Object.getPrototypeOf(env.DB) as Record<string, (...a: unknown[]) => unknown>;
  const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => unknown>;
  const originals = { batch: dbProto.batch!, raw: stmtProto.raw!, all: stmtProto.all!, first: stmtProto.first!, run: stmtProto.run! };
  const refused = { calls: 0 };
  const down = () => outages.some(([from, to]) => now() >= from && now() < to);
  const wrap = (fn: (...a: unknown[]) => unknown) =>
    function (this: unknown, ...a: unknown[]) {
      if (!down()) return fn.apply(this, a);
      refused.calls++;
      return Promise.reject(new Error("D1_ERROR: Network connection lost."));
    };
  dbProto.batch = wrap(originals.batch);
  for (const name of ["raw", "all", "first", "run"] as const) stmtProto[name] = wrap(originals[name]);
  return {
    refused,
    restore: () => {
      dbProto.batch = originals.batch;
      Object.assign(stmtProto, { raw: originals.raw, all: originals.all, first: originals.first, run: originals.run });
    },
  };
}

/** D1 answers every read of a mailbox row with an error until the returned function is called (the rest works). */
function mailboxRowsUnreadable() {
  const stmt = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => unknown>;
  const saved = { raw: stmt.raw!, all: stmt.all!, first: stmt.first!, run: stmt.run! };
  for (const name of ["raw", "all", "first", "run"] as const)
    stmt[name] = function (this: { statement: string }, ...a: unknown[]) {
      return /\bfrom "?mailboxes"?/i.test(this.statement) ? Promise.reject(new Error("D1 is down")) : saved[name].apply(this, a);
    };
  return () => Object.assign(stmt, saved);
}

/** Every send through this mailbox, counted at its transport (the outbox-like local kind): its Message-ID and when. */
function countSends(mailboxId: string) {
  const sent: { key: string; at: number }[] = [];
  setTransportOverride(mailboxId, {
    local: true,
    async send(m) {
      sent.push({ key: m.messageId, at: now() });
      return { ok: true };
    },
  });
  return sent;
}

/** What a call into an object failed with (an RPC promise under `expect().rejects` is reported unhandled as well). */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

describe("a D1 outage", () => {
  let outage: ReturnType<typeof d1DownDuring> | null = null;
  beforeEach(() => startSimulation());
  afterEach(() => outage?.restore());

  it("the mailbox and the sequence try again every ALARM_RETRY_MS while D1 is down, and everything goes out once when it is back", async () => {
    const { teamId, userId } = await makeTeam();
    // The window opens at 03:00 UTC; the second step is due a day after the first.
    const scheduleId = await makeSchedule(teamId, { timeZone: "UTC", windows: everyDay("03:00", "23:00") });
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], scheduleId);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 50, gapSeconds: 0 });
    const sent = countSends(mailboxId);
    const contacts = await makeContacts(teamId, 3);
    // Handed over at once (D1 up); the mailbox's alarm waits for 03:00.
    await enroll(teamId, sequenceId, contacts, [mailboxId]);
    await runUntil(SIM_START + 2 * HOUR);
    expect(sent).toHaveLength(0);

    // Down from 02:50 to 03:20: the mailbox's alarm at 03:00 finds it so (its settings, the send context).
    // Then down again the next day around 03:20, when the second step falls due in the sequence.
    const first: [number, number] = [SIM_START + 2 * HOUR + 50 * MIN, SIM_START + 3 * HOUR + 20 * MIN];
    const second: [number, number] = [SIM_START + DAY + 3 * HOUR + 10 * MIN, SIM_START + DAY + 3 * HOUR + 40 * MIN];
    outage = d1DownDuring([first, second]);
    const during = await runUntil(first[1] - 1, 500, { allowFailures: true });
    expect(outage.refused.calls).toBeGreaterThan(0);
    expect(sent).toHaveLength(0);
    // One try per ALARM_RETRY_MS from 03:00, not a loop at one instant, and not given up.
    expect(during).toBeLessThanOrEqual((first[1] - (SIM_START + 3 * HOUR)) / ALARM_RETRY_MS + 2);
    expect(during).toBeGreaterThanOrEqual((first[1] - (SIM_START + 3 * HOUR)) / ALARM_RETRY_MS);
    await runUntil(first[1] + ALARM_RETRY_MS);
    expect(sent).toHaveLength(3);
    expect(sent.every((s) => s.at >= first[1] && s.at <= first[1] + ALARM_RETRY_MS)).toBe(true);

    const refusedBefore = outage.refused.calls;
    const duringSecond = await runUntil(second[1] - 1, 500, { allowFailures: true });
    expect(outage.refused.calls).toBeGreaterThan(refusedBefore);
    expect(sent).toHaveLength(3);
    expect(duringSecond).toBeLessThanOrEqual((second[1] - second[0]) / ALARM_RETRY_MS + 4);
    await runUntil(SIM_START + 3 * DAY);
    outage.restore();
    outage = null;

    // Each email once, the second steps after D1 came back; D1 has every message and every enrollment finished.
    expect(sent).toHaveLength(6);
    expect(new Set(sent.map((s) => s.key)).size).toBe(6);
    expect(sent.slice(3).every((s) => s.at >= second[1])).toBe(true);
    const { results: messages } = await env.DB.prepare("SELECT step_id, status FROM messages WHERE sequence_id = ? ORDER BY step_id")
      .bind(sequenceId)
      .all<{ step_id: string; status: string }>();
    expect(messages.map((m) => [m.step_id, m.status]).sort()).toEqual(
      [...stepIds.flatMap((s) => Array(3).fill([s, "sent"]))].sort() as [string, string][],
    );
    const { results: rows } = await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?")
      .bind(sequenceId)
      .all<{ status: string; reason: string }>();
    expect(rows).toEqual(Array(3).fill({ status: "finished", reason: "completed_all_steps" }));
    setTransportOverride(mailboxId, null);
  });

  it("turning a sequence on, or resuming, while D1 refuses the mirror write still arms the alarm: the emails go out and D1 catches up", async () => {
    const { teamId, userId } = await makeTeam();
    const open = await makeSchedule(teamId, { timeZone: "UTC", windows: everyDay("00:00", "23:59") });
    // Off: its enrollments are held.
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], open, false);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 50, gapSeconds: 0 });
    const sent = countSends(mailboxId);
    const [a, b, c] = (await makeContacts(teamId, 3)) as [string, string, string];
    await enroll(teamId, sequenceId, [a, b, c], [mailboxId]);
    const seq = engine.sequence(env, sequenceId, teamId);
    const inside = () => sequenceStub(env, sequenceId).inspect();
    expect((await inside()).enrollments.map((e) => e.status)).toEqual(["held", "held", "held"]);
    const pausedId = (await inside()).enrollments.find((e) => e.contact_id === c)!.id;
    await seq.pause([pausedId]);

    // D1 refuses every enrollment write while the sequence is turned on (its row already says so).
    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(sequenceId).run();
    await env.DB.prepare("CREATE TRIGGER mirror_down BEFORE UPDATE ON enrollments BEGIN SELECT RAISE(ABORT, 'D1 is down'); END").run();
    try {
      expect(String(await failure(seq.activate()))).toMatch(/D1 is down/);
      expect(String(await failure(seq.resume([pausedId])))).toMatch(/D1 is down/);
      // Released all the same, and the alarm covers them (the sequence had no timer before).
      const now0 = now();
      const state = await inside();
      expect(state.enrollments.map((e) => e.status)).toEqual(["active", "active", "active"]);
      expect(state.alarm).not.toBeNull();
      expect(state.alarm!).toBeLessThanOrEqual(now0);
    } finally {
      await env.DB.prepare("DROP TRIGGER mirror_down").run();
    }
    await runUntil(now() + HOUR);
    expect(sent).toHaveLength(3);
    const { results } = await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?")
      .bind(sequenceId)
      .all<{ status: string; reason: string }>();
    expect(results).toEqual(Array(3).fill({ status: "finished", reason: "completed_all_steps" }));
    setTransportOverride(mailboxId, null);
  });

  it("turning on a sequence of more than a page of held contacts while D1 refuses the mirror write releases every one", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 50, gapSeconds: 0 });
    const contacts = await makeContacts(teamId, PAGE + 1);
    for (let i = 0; i < contacts.length; i += 1000) await enroll(teamId, sequenceId, contacts.slice(i, i + 1000), [mailboxId]);
    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(sequenceId).run();
    await env.DB.prepare("CREATE TRIGGER mirror_down BEFORE UPDATE ON enrollments BEGIN SELECT RAISE(ABORT, 'D1 is down'); END").run();
    try {
      // D1 says the sequence is on, and nothing calls activate again: no page may stay held.
      expect(String(await failure(engine.sequence(env, sequenceId, teamId).activate()))).toMatch(/D1 is down/);
    } finally {
      await env.DB.prepare("DROP TRIGGER mirror_down").run();
    }
    const held = await runInDurableObject(sequenceStub(env, sequenceId), (_o, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM enrollments WHERE status = 'held'").one(),
    );
    expect(held.n).toBe(0);
  });

  it("a mailbox that can't read its settings when emails are handed to it still arms an alarm for them", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 50, gapSeconds: 0 });
    const sent = countSends(mailboxId);
    const contacts = await makeContacts(teamId, 2);
    // Only the mailbox row can't be read, and only now: the hand-over's rows are stored, its planning fails.
    const restore = mailboxRowsUnreadable();
    try {
      await enroll(teamId, sequenceId, contacts, [mailboxId]).catch(() => undefined);
    } finally {
      restore();
    }
    const { queue } = await mailboxLedger(mailboxId);
    expect(queue.map((r) => r.state)).toEqual(["queued", "queued"]);
    expect(armedAlarms.get(`mailbox:${mailboxId}`)?.at).toBe(now() + ALARM_RETRY_MS);
    await runUntil(now() + HOUR);
    expect(sent).toHaveLength(2);
    setTransportOverride(mailboxId, null);
  });

  it("moving a queued email to another mailbox while the old one can't read its settings moves it, and it goes out once from the new one", async () => {
    const { teamId, userId } = await makeTeam();
    const scheduleId = await makeSchedule(teamId, { timeZone: "UTC", windows: everyDay("03:00", "23:00") });
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], scheduleId);
    const [from, to] = [
      await makeMailbox(teamId, userId, { daily: 100, hourly: 50, gapSeconds: 0 }),
      await makeMailbox(teamId, userId, { daily: 100, hourly: 50, gapSeconds: 0 }),
    ];
    const sentFrom = countSends(from);
    const sentTo = countSends(to);
    // Queued in the old mailbox, which waits for the window at 03:00.
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [from]);
    expect((await mailboxLedger(from)).queue.map((r) => r.state)).toEqual(["queued"]);
    const { id } = (await sequenceStub(env, sequenceId).inspect()).enrollments[0]!;
    // The old mailbox was evicted meanwhile (its settings no longer in memory), and D1 can't give its row
    // right now: the withdrawal takes the email out, then planning the mailbox's next alarm fails.
    await runInDurableObject(mailboxStub(env, from), (o) => {
      (o as unknown as { settingsCache: unknown }).settingsCache = undefined;
    });
    const restore = mailboxRowsUnreadable();
    try {
      const moved = await engine.sequence(env, sequenceId, teamId).changeMailbox([id], to);
      expect(moved).toEqual([{ id, outcome: "changed", from }]);
    } finally {
      restore();
    }
    expect((await mailboxLedger(from)).queue).toEqual([]);
    expect((await sequenceStub(env, sequenceId).inspect()).enrollments.map((e) => e.mailbox_id)).toEqual([to]);
    await runUntil(SIM_START + DAY);
    expect(sentFrom).toHaveLength(0);
    expect(sentTo).toHaveLength(1);
    const { results } = await env.DB.prepare("SELECT mailbox_id, status FROM enrollments WHERE id = ?").bind(id).all();
    expect(results).toEqual([{ mailbox_id: to, status: "finished" }]);
    setTransportOverride(from, null);
    setTransportOverride(to, null);
  });
});
