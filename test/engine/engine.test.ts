import { describe, expect, it, beforeEach } from "vitest";
import { inWindow } from "../../worker/services/schedule-time";
import { scheduleToWindow, type ScheduleColumns } from "../../durable-objects/sequence-config";
import { now } from "../../worker/lib/clock";
import { runInDurableObject } from "cloudflare:test";
import { mailboxStub, sequenceStub } from "../../durable-objects/engine";
import { setTransportOverride } from "../../worker/transports";
import { env } from "../helpers";
import {
  DAY,
  HOUR,
  enroll,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sentMessages,
  type SentMessage,
  SIM_START,
  startSimulation,
} from "../fixtures";

describe("sending engine", () => {
  beforeEach(() => startSimulation());

  it("runs 30 simulated days: every contact gets every step, in order, inside the window, within the caps", async () => {
    const { teamId, userId } = await makeTeam();
    const scheduleId = await makeSchedule(teamId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2, threadReply: true }, { wait: 3 }], scheduleId);
    const mb = await makeMailbox(teamId, userId, { daily: 40, hourly: 10, gapSeconds: 120 });
    // Sends are counted where they happen, at the transport (D1's messages table collapses repeats).
    const calls: string[] = [];
    setTransportOverride(mb, {
      async send(m) {
        calls.push(m.messageId);
        return { ok: true };
      },
    });
    const contacts = await makeContacts(teamId, 60);
    const res = await enroll(teamId, sequenceId, contacts, [mb]);
    expect(res.enrolled).toHaveLength(60);

    const t0 = Date.now();
    await runUntil(SIM_START + 30 * DAY);
    const wall = Date.now() - t0;

    const sent = await sentMessages(sequenceId);
    expect(sent).toHaveLength(180);
    expect(calls).toHaveLength(180);
    expect(new Set(calls).size).toBe(180);
    setTransportOverride(mb, null);
    const sched = scheduleToWindow(
      (await env.DB.prepare("select * from schedules where id = ?").bind(scheduleId).first<ScheduleColumns>())!,
    );
    for (const m of sent) expect(inWindow(m.sent_at!, sched)).toBe(true);
    // rolling caps
    const times = sent.map((m) => m.sent_at!).sort((a, b) => a - b);
    for (let i = 0; i < times.length; i++) {
      expect(times.filter((x: number) => x > times[i]! - DAY && x <= times[i]!).length).toBeLessThanOrEqual(40);
      expect(times.filter((x: number) => x > times[i]! - HOUR && x <= times[i]!).length).toBeLessThanOrEqual(10);
      if (i) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(120_000);
    }
    // order per enrollment
    const byEnrollment = new Map<string, SentMessage[]>();
    for (const m of sent) byEnrollment.set(m.enrollment_id!, [...(byEnrollment.get(m.enrollment_id!) ?? []), m]);
    for (const ms of byEnrollment.values()) {
      expect(ms.map((m) => m.position)).toEqual([1, 2, 3]);
      expect(ms[1]!.sent_at! - ms[0]!.sent_at!).toBeGreaterThanOrEqual(2 * DAY - 2 * HOUR); // 2 calendar days (DST-aware)
      expect(ms[1]!.in_reply_to).toBe(ms[0]!.message_id_header);
      expect(ms[1]!.subject).toBe(`Re: ${ms[0]!.subject}`);
    }
    const finished = await env.DB.prepare(
      "select count(*) n from enrollments where sequence_id = ? and status = 'finished' and reason = 'completed_all_steps'",
    )
      .bind(sequenceId)
      .first<{ n: number }>();
    expect(finished!.n).toBe(60);
    expect(wall).toBeLessThan(60_000);
  }, 90_000);

  it("a repeated alarm sends nothing twice", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0, daily: 100, hourly: 100 });
    const calls: string[] = [];
    setTransportOverride(mb, {
      async send(m) {
        calls.push(m.messageId);
        return { ok: true };
      },
    });
    const contacts = await makeContacts(teamId, 5);
    await enroll(teamId, sequenceId, contacts, [mb]);
    await runUntil(now() + HOUR);
    // Alarms are at-least-once: fire each object's alarm handler again, twice.
    for (let i = 0; i < 2; i++) {
      await runInDurableObject(sequenceStub(env, sequenceId), (o) => o.alarm());
      await runInDurableObject(mailboxStub(env, mb), (o) => o.alarm());
    }
    await runUntil(now() + DAY);
    setTransportOverride(mb, null);
    // Counted at the transport: a second send of a step would show here, not in `messages`.
    expect(calls).toHaveLength(5);
    expect(new Set(calls).size).toBe(5);
    expect(await sentMessages(sequenceId)).toHaveLength(5);
  });
});
