// Invariant 7 for an email already queued in its mailbox when its schedule changes: it goes out inside the
// window as it is at the moment of sending (narrowed, a holiday added, another schedule for the sequence,
// the contact's time zone turned on), not the one it was handed over with; a widened window is used at
// once, and the scheduled emails' forecast follows the change before anything is sent. Sends are counted
// at the transport; the schedule and the sequence are changed through the API, as a user does.
import { runInDurableObject } from "cloudflare:test";
import { mailboxStub } from "../../durable-objects/engine";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import {
  MONDAY_9AM_NY,
  DAY,
  HOUR,
  SIM_START,
  enroll,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  mailboxLedger,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

const WEEKDAYS = ["1", "2", "3", "4", "5"];
const windowsFrom = (start: string, end: string) => Object.fromEntries(WEEKDAYS.map((d) => [d, [[start, end] as [string, string]]]));

describe("a queued email and a schedule that changes while it waits", () => {
  const mailboxes: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const m of mailboxes.splice(0)) setTransportOverride(m, null);
  });

  /** Two contacts enrolled Sunday evening in New York: queued in the mailbox, waiting for Monday 09:00. */
  async function world() {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const scheduleId = await makeSchedule(teamId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], scheduleId);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    mailboxes.push(mailboxId);
    const sent: number[] = [];
    setTransportOverride(mailboxId, { local: true, send: async () => (sent.push(now()), { ok: true, response: "counted" }) });
    const contactIds = await makeContacts(teamId, 2);
    await enroll(teamId, sequenceId, contactIds, [mailboxId]);
    await runUntil(SIM_START + HOUR);
    const { queue } = await mailboxLedger(mailboxId);
    expect(queue.map((r) => r.state)).toEqual(["queued", "queued"]);
    expect(sent).toEqual([]);
    return { teamId, userId, api, scheduleId, sequenceId, mailboxId, contactIds, sent };
  }

  it("a narrowed window: the queued emails wait for the new opening", async () => {
    const w = await world();
    const gens = (await mailboxLedger(w.mailboxId)).queue.map((r) => r.gen);
    await ok(w.api.schedules[":id"].$patch({ param: { id: w.scheduleId }, json: { windows: windowsFrom("13:00", "17:00") } }));
    // Moved to the new window at once, on a new hand-over number: a send decided under the old window is void.
    const moved = (await mailboxLedger(w.mailboxId)).queue;
    expect(moved.map((r) => r.gen)).toEqual(gens.map((g) => g + 1));
    for (const r of moved) expect(JSON.parse(r.window).windows["1"]).toEqual([["13:00", "17:00"]]);
    await runUntil(MONDAY_9AM_NY + 6 * HOUR);
    // Both at 13:00 New York (a millisecond apart), none at 09:00 as the old window allowed.
    expect(w.sent).toHaveLength(2);
    for (const t of w.sent) expect(t - (MONDAY_9AM_NY + 4 * HOUR)).toBeLessThan(1000);
    for (const t of w.sent) expect(t).toBeGreaterThanOrEqual(MONDAY_9AM_NY + 4 * HOUR);
    // The mailbox holds them under the new window: its ledger row says so.
    const { queue } = await mailboxLedger(w.mailboxId);
    for (const r of queue) expect(JSON.parse(r.window).windows["1"]).toEqual([["13:00", "17:00"]]);
  });

  it("edits back and forth leave one window group per window in use, and the emails still go", async () => {
    const w = await world();
    const groups = () =>
      runInDurableObject(mailboxStub(env, w.mailboxId), (_o, state) =>
        state.storage.sql.exec<{ gid: number; window: string }>("SELECT gid, window FROM wgroups").toArray(),
      );
    for (const hours of [
      ["13:00", "17:00"],
      ["10:00", "17:00"],
      ["13:00", "17:00"],
    ] as const)
      await ok(w.api.schedules[":id"].$patch({ param: { id: w.scheduleId }, json: { windows: windowsFrom(hours[0], hours[1]) } }));
    // Only the group the two emails are in now: the ones they left are gone.
    const [g, ...more] = await groups();
    expect(more).toEqual([]);
    expect(JSON.parse(g!.window).windows["1"]).toEqual([["13:00", "17:00"]]);
    await runUntil(MONDAY_9AM_NY + 6 * HOUR);
    expect(w.sent).toHaveLength(2);
    for (const t of w.sent) expect(t).toBeGreaterThanOrEqual(MONDAY_9AM_NY + 4 * HOUR);
  });

  it("a change the mailbox never heard of (written to D1 alone) still holds at the send", async () => {
    const w = await world();
    await env.DB.prepare("UPDATE schedules SET windows = ? WHERE id = ?")
      .bind(JSON.stringify(windowsFrom("13:00", "17:00")), w.scheduleId)
      .run();
    await env.DB.prepare("UPDATE contacts SET time_zone = 'Asia/Tokyo' WHERE id = ?").bind(w.contactIds[0]).run();
    await env.DB.prepare("UPDATE schedules SET use_contact_time_zone = 1 WHERE id = ?").bind(w.scheduleId).run();
    await runUntil(MONDAY_9AM_NY + DAY);
    const at = new Map(
      (
        await env.DB.prepare("SELECT contact_id, sent_at FROM messages WHERE sequence_id = ?")
          .bind(w.sequenceId)
          .all<{ contact_id: string; sent_at: number }>()
      ).results.map((r) => [r.contact_id, r.sent_at]),
    );
    // The mailbox woke at 09:00 New York as planned, found both windows closed, and waited for each one:
    // 13:00 New York for the contact without a zone, 13:00 Tuesday in Tokyo (04:00 UTC) for the other.
    expect(at.get(w.contactIds[1]!)! - (MONDAY_9AM_NY + 4 * HOUR)).toBeLessThan(1000);
    expect(at.get(w.contactIds[1]!)!).toBeGreaterThanOrEqual(MONDAY_9AM_NY + 4 * HOUR);
    expect(at.get(w.contactIds[0]!)! - (SIM_START + DAY + 4 * HOUR)).toBeLessThan(1000);
    expect(at.get(w.contactIds[0]!)!).toBeGreaterThanOrEqual(SIM_START + DAY + 4 * HOUR);
  });

  it("a widened window: the queued emails go at its earlier opening, and the list says so at once", async () => {
    const w = await world();
    await ok(w.api.schedules[":id"].$patch({ param: { id: w.scheduleId }, json: { windows: windowsFrom("07:00", "17:00") } }));
    // Before anything runs, the scheduled emails' forecast already follows the change.
    const { scheduled } = await ok(w.api["scheduled-emails"].$get({ query: { sequence_id: w.sequenceId } }));
    expect(scheduled).toHaveLength(2);
    for (const x of scheduled) expect(Math.abs(x.send_at! - (MONDAY_9AM_NY - 2 * HOUR))).toBeLessThan(1000);
    await runUntil(MONDAY_9AM_NY);
    expect(w.sent).toHaveLength(2);
    for (const t of w.sent) expect(t - (MONDAY_9AM_NY - 2 * HOUR)).toBeLessThan(1000);
    for (const t of w.sent) expect(t).toBeGreaterThanOrEqual(MONDAY_9AM_NY - 2 * HOUR);
  });

  it("a holiday added for the day they were due: they go the next working day", async () => {
    const w = await world();
    const monday = new Date(MONDAY_9AM_NY).toISOString().slice(0, 10);
    await ok(w.api.schedules[":id"].$patch({ param: { id: w.scheduleId }, json: { holidays: [monday] } }));
    await runUntil(MONDAY_9AM_NY + DAY + HOUR);
    expect(w.sent).toHaveLength(2);
    for (const t of w.sent) expect(t - (MONDAY_9AM_NY + DAY)).toBeLessThan(1000);
    for (const t of w.sent) expect(t).toBeGreaterThanOrEqual(MONDAY_9AM_NY + DAY);
  });

  it("the sequence moved to another schedule: they follow the new one", async () => {
    const w = await world();
    const afternoons = await makeSchedule(w.teamId, { windows: windowsFrom("15:00", "16:00") });
    await ok(w.api.sequences[":id"].$patch({ param: { id: w.sequenceId }, json: { schedule_id: afternoons } }));
    const { scheduled } = await ok(w.api["scheduled-emails"].$get({ query: { sequence_id: w.sequenceId } }));
    for (const x of scheduled) expect(Math.abs(x.send_at! - (MONDAY_9AM_NY + 6 * HOUR))).toBeLessThan(1000);
    await runUntil(MONDAY_9AM_NY + 8 * HOUR);
    expect(w.sent).toHaveLength(2);
    for (const t of w.sent) expect(t - (MONDAY_9AM_NY + 6 * HOUR)).toBeLessThan(1000);
    for (const t of w.sent) expect(t).toBeGreaterThanOrEqual(MONDAY_9AM_NY + 6 * HOUR);
  });

  it("the schedule turned to the contact's time zone: each goes in its own zone's window", async () => {
    const w = await world();
    const [tokyo, plain] = w.contactIds as [string, string];
    await env.DB.prepare("UPDATE contacts SET time_zone = 'Asia/Tokyo' WHERE id = ?").bind(tokyo).run();
    await ok(w.api.schedules[":id"].$patch({ param: { id: w.scheduleId }, json: { use_contact_time_zone: true } }));
    // Monday 01:00 UTC is 10:00 in Tokyo, inside its window: that email can go now, and the list says so at once.
    const t0 = now();
    const { scheduled } = await ok(w.api["scheduled-emails"].$get({ query: { sequence_id: w.sequenceId } }));
    const planned = new Map(scheduled.map((x) => [x.contact.id, x.send_at!]));
    expect(Math.abs(planned.get(tokyo)! - t0)).toBeLessThan(1000);
    expect(Math.abs(planned.get(plain)! - MONDAY_9AM_NY)).toBeLessThan(1000);
    await runUntil(MONDAY_9AM_NY + DAY);
    const at = new Map<string, number>();
    const rows = (
      await env.DB.prepare("SELECT contact_id, sent_at FROM messages WHERE sequence_id = ?")
        .bind(w.sequenceId)
        .all<{ contact_id: string; sent_at: number }>()
    ).results;
    for (const r of rows) at.set(r.contact_id, r.sent_at);
    // The contact without a zone keeps the schedule's: Monday 09:00 New York.
    expect(at.get(plain)! - MONDAY_9AM_NY).toBeLessThan(1000);
    expect(at.get(plain)!).toBeGreaterThanOrEqual(MONDAY_9AM_NY);
    // The one in Tokyo went at once, inside Tokyo's 09:00–17:00 (not at 09:00 New York, 23:00 there).
    expect(at.get(tokyo)! - t0).toBeLessThan(60_000);
    expect(at.get(tokyo)!).toBeGreaterThanOrEqual(t0);
  });
});
