import { expect, it } from "vitest";
import { engine } from "../durable-objects/engine";
import { newId } from "../worker/lib/ids";
import { now } from "../worker/lib/clock";
import { inWindow } from "../worker/services/schedule-time";
import { armedAlarms } from "../worker/lib/alarms";
import { setTransportOverride } from "../worker/transports";
import { scheduleToWindow, type ScheduleColumns } from "../durable-objects/sequence-config";
import { env } from "../test/helpers";
import {
  DAY,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sequenceState,
  SIM_START,
  startSimulation,
} from "../test/fixtures";
import { cpuMark, report } from "./report";

/**
 * SENDING_BENCH_SCALE=0.1 (else BENCH_SCALE, else 1) runs a tenth of the load, for a quick look.
 * At 1: 50,000 enrollments x 4 email steps x 20 mailboxes x 30 simulated days.
 */
const vars = env as unknown as { BENCH_SCALE: string; SENDING_BENCH_SCALE?: string };
const SCALE = Number(vars.SENDING_BENCH_SCALE || vars.BENCH_SCALE || "1");
const ENROLLMENTS = Math.round(50_000 * SCALE);
const MAILBOXES = 20;
const DAYS = 30;
const DAILY = 500;
const HOURLY = 60;
const GAP_SECONDS = 0;
const HOUR = 3_600_000;

it(`sending simulation: ${ENROLLMENTS} enrollments, 4 steps, ${MAILBOXES} mailboxes, ${DAYS} days`, async () => {
  startSimulation();
  const { teamId, userId } = await makeTeam("Bench");
  const scheduleId = await makeSchedule(teamId, { timeZone: "America/New_York" });
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    [{ wait: 0 }, { wait: 2 }, { wait: 3, threadReply: true }, { wait: 4 }],
    scheduleId,
  );
  const mailboxes: string[] = [];
  for (let i = 0; i < MAILBOXES; i++)
    mailboxes.push(await makeMailbox(teamId, userId, { daily: DAILY, hourly: HOURLY, gapSeconds: GAP_SECONDS }));
  // Every send is counted at the transport: what went out, from which mailbox, when (simulated).
  const sends = new Map<string, number>();
  const byMailbox = new Map<string, number[]>(mailboxes.map((m) => [m, []]));
  const idsByMailbox = new Map<string, string[]>(mailboxes.map((m) => [m, []]));
  for (const m of mailboxes) {
    // A counter, like the outbox: it answers without leaving the isolate.
    setTransportOverride(m, {
      local: true,
      send: async (e) => {
        sends.set(e.messageId, (sends.get(e.messageId) ?? 0) + 1);
        byMailbox.get(m)!.push(now());
        idsByMailbox.get(m)!.push(`${e.messageId} ${now()}`);
        return { ok: true, response: "counted" };
      },
    });
  }
  const contacts = await makeContacts(teamId, ENROLLMENTS, { score: (i) => (i * 37) % 101 });
  const seq = engine.sequence(env, sequenceId, teamId);
  for (let i = 0; i < contacts.length; i += 1000) {
    await seq.enroll(
      contacts.slice(i, i + 1000).map((c, k) => ({
        enrollmentId: newId(),
        contactId: c,
        mailboxId: mailboxes[(i + k) % MAILBOXES]!,
        score: ((i + k) * 37) % 101,
        timeZone: null,
      })),
    );
  }
  // `npm run bench` reads the workerd process's CPU time between these two marks.
  await cpuMark("start");
  const t0 = Date.now();
  let events: number;
  try {
    events = await runUntil(SIM_START + DAYS * DAY);
  } finally {
    for (const m of mailboxes) setTransportOverride(m, null);
  }
  const wall = (Date.now() - t0) / 1000;
  const atTransport = [...byMailbox.values()].reduce((n, xs) => n + xs.length, 0);
  await cpuMark({ stop: "sending", count: atTransport });

  const sent = (await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ? AND status = 'sent'")
    .bind(sequenceId)
    .first<{ n: number }>())!.n;
  const finished = (await env.DB.prepare("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND status = 'finished'")
    .bind(sequenceId)
    .first<{ n: number }>())!.n;
  report("sending_wall_time", wall, "s");
  report("sending_emails_sent", atTransport, "emails");
  report("sending_per_second", atTransport / wall, "emails/s");
  report("sending_wall_ms_per_email", (wall * 1000) / Math.max(1, atTransport), "ms");
  report("sending_events", events, "alarms");
  report("sending_enrollments_finished", finished, "enrollments");

  // The invariants the property test checks, at this size: a faster engine can't be a wrong one.
  // Invariant 4: nothing twice, counted at the transport; every send recorded once in D1.
  expect(
    [...sends.values()].filter((n) => n > 1),
    "an email went out twice",
  ).toEqual([]);
  expect(sent, "sends at the transport vs messages recorded").toBe(atTransport);
  // Invariant 3: in any rolling 24 hours and any rolling hour, within the mailbox's limits.
  for (const [m, times] of byMailbox) {
    times.sort((a, b) => a - b);
    expect(maxInWindow(times, DAY), `mailbox ${m} over its daily limit`).toBeLessThanOrEqual(DAILY);
    expect(maxInWindow(times, HOUR), `mailbox ${m} over its hourly limit`).toBeLessThanOrEqual(HOURLY);
    // The minimum gap between consecutive sends.
    expect(times.filter((t, i) => i > 0 && t - times[i - 1]! < GAP_SECONDS * 1000).length, `mailbox ${m}: sends closer than the gap`).toBe(
      0,
    );
    // D1 and the transport tell the same story per mailbox: each message once, at the instant it went out.
    const recorded = (
      await env.DB.prepare("SELECT message_id_header AS id, sent_at FROM messages WHERE mailbox_id = ?")
        .bind(m)
        .all<{ id: string; sent_at: number }>()
    ).results.map((r) => `${r.id} ${r.sent_at}`);
    expect(
      recorded.sort().join("\n") === idsByMailbox.get(m)!.sort().join("\n"),
      `mailbox ${m}: D1 messages differ from the transport's calls`,
    ).toBe(true);
    // Nothing left in flight or unreported, and queued email has an alarm to send it.
    const { queue, alarm } = await mailboxLedger(m);
    expect(queue.filter((r) => r.state === "sending" || !r.reported).length, `mailbox ${m}: sends left in flight or unreported`).toBe(0);
    if (queue.some((r) => r.state === "queued")) {
      expect(alarm, `mailbox ${m} holds queued email but has no alarm`).not.toBeNull();
      expect(armedAlarms.has(`mailbox:${m}`), `mailbox ${m}: its alarm is not driven`).toBe(true);
    }
  }
  // Invariant 7: inside the schedule's window.
  const sched = (await env.DB.prepare("SELECT time_zone, windows, holidays, holiday_calendar FROM schedules WHERE id = ?")
    .bind(scheduleId)
    .first<ScheduleColumns>())!;
  const spec = scheduleToWindow(sched);
  const outside = [...byMailbox.values()].flat().filter((t) => !inWindow(t, spec, null));
  expect(outside.length, "sends outside the window").toBe(0);
  // Invariant 2: each enrollment's steps in order, each after its wait from the one before.
  const rows = (
    await env.DB.prepare("SELECT enrollment_id, step_id, sent_at, message_id_header, in_reply_to FROM messages WHERE sequence_id = ?")
      .bind(sequenceId)
      .all<{ enrollment_id: string; step_id: string; sent_at: number; message_id_header: string; in_reply_to: string | null }>()
  ).results;
  const waits = [0, 2 * DAY, 3 * DAY, 4 * DAY];
  const byEnrollment = new Map<string, (number | undefined)[]>();
  const headers = new Map<string, (typeof rows)[number][]>();
  for (const r of rows) {
    const l = byEnrollment.get(r.enrollment_id) ?? [];
    l[stepIds.indexOf(r.step_id)] = r.sent_at;
    byEnrollment.set(r.enrollment_id, l);
    const h = headers.get(r.enrollment_id) ?? [];
    h[stepIds.indexOf(r.step_id)] = r;
    headers.set(r.enrollment_id, h);
  }
  let disorder = 0;
  for (const l of byEnrollment.values()) {
    // The steps sent are the first ones, in order (no hole), each after its wait from the one before.
    for (let k = 0; k < l.length; k++) if (l[k] === undefined) disorder++;
    for (let k = 1; k < l.length; k++) if (l[k] !== undefined && (l[k - 1] === undefined || l[k]! < l[k - 1]! + waits[k]!)) disorder++;
  }
  expect(disorder, "a step before the one ahead of it, or before its wait").toBe(0);
  // The same-thread step (3) answers the first email.
  let unthreaded = 0;
  for (const h of headers.values()) if (h[2] && h[2].in_reply_to !== h[0]?.message_id_header) unthreaded++;
  expect(unthreaded, "a same-thread follow-up not in reply to the first email").toBe(0);
  // Nothing stranded: an enrollment that got every step finished with that reason; an open one waits on a
  // timer (behind the sequence's alarm) or on an email its mailbox holds queued.
  const state = await sequenceState(sequenceId);
  const timers = new Map(state.timers.map((t) => [t.enrollment_id, t.run_at]));
  const queued = new Set<string>();
  for (const m of mailboxes)
    for (const r of (await mailboxLedger(m)).queue) if (r.state === "queued") queued.add(`${r.enrollment_id}:${r.step_id}`);
  let stranded = 0;
  for (const e of state.enrollments) {
    const sentAll = (byEnrollment.get(e.id) ?? []).filter((x) => x !== undefined).length === stepIds.length;
    if (sentAll) {
      if (e.status !== "finished" || e.reason !== "completed_all_steps") stranded++;
    } else if (e.status !== "active") stranded++;
    else if (e.waiting === "timer" ? !timers.has(e.id) : e.waiting !== "mailbox" || !queued.has(`${e.id}:${e.step_id}`)) stranded++;
  }
  expect(stranded, "enrollments stranded (not finished, and waiting on nothing)").toBe(0);
  if (timers.size) expect(state.alarm, "timers but no sequence alarm").toBe(Math.min(...timers.values()));
});

/** The most timestamps (sorted) inside any window of `span` ms: (t - span, t]. */
function maxInWindow(times: number[], span: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[lo]! <= times[hi]! - span) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}
