// Scheduled emails in the contact's time zone: the list says when each goes, and a reschedule is checked,
// in the zone the engine sends that enrollment's emails in (the contact's when the schedule says so).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import type { Transport } from "../../worker/transports/types";
import { client, detailsOf, env, errorOf, ok } from "../helpers";
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
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

// SIM_START is Monday 00:00 UTC: Monday 09:00 in Tokyo (its window is open), Sunday 19:00 in New York (closed).
describe("scheduled emails in the contact's time zone", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  /**
   * A New York schedule that sends in the contact's zone, a two-step sequence on it and one mailbox
   * sending through `transport`; a Tokyo contact and one without a zone (New York's) enrolled.
   */
  async function tokyoAndNewYork(transport: Transport) {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const scheduleId = await makeSchedule(teamId, { timeZone: "America/New_York", useContactTimeZone: true });
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }], scheduleId);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    setTransportOverride(mailboxId, transport);
    const [tokyo, plain] = await makeContacts(teamId, 2);
    await env.DB.prepare("UPDATE contacts SET time_zone = 'Asia/Tokyo' WHERE id = ?").bind(tokyo).run();
    await enroll(teamId, sequenceId, [tokyo!, plain!], [mailboxId]);
    return { s, sequenceId, tokyo: tokyo!, plain: plain! };
  }

  it("the list and a reschedule use the contact's zone, as the engine sends: Tokyo goes now, New York waits for its 9:00", async () => {
    const sent: { to: string; at: number }[] = [];
    const { s, sequenceId, tokyo, plain } = await tokyoAndNewYork({
      send: async (m) => (sent.push({ to: m.to, at: now() }), { ok: true }),
    });
    const api = client(s).api;

    const list = await ok(api["scheduled-emails"].$get({ query: { sequence_id: sequenceId } }));
    const of = (c: string) => list.scheduled.find((x) => x.contact.id === c)!;
    // A first step due at once is handed to its mailbox by the enroll call itself.
    expect(of(tokyo)).toMatchObject({ send_at: SIM_START, reason: "queued_for_mailbox" });
    expect(of(plain)).toMatchObject({ send_at: MONDAY_9AM_NY, reason: "outside_window" });

    // Reschedule: Monday 20:00 UTC is 05:00 Tuesday in Tokyo (closed there) although New York is open then.
    const r = api["scheduled-emails"][":enrollment_id"][":step_id"];
    const tk = of(tokyo);
    const refused = await r.reschedule.$post({
      param: { enrollment_id: tk.enrollment_id, step_id: tk.step.id },
      json: { at: SIM_START + 20 * HOUR },
    });
    expect(refused.status).toBe(422);
    const err = await errorOf(refused);
    expect(err.message).toMatch(/outside the sequence's sending window/);
    expect(detailsOf(err).next_window_opens_at).toBe(SIM_START + DAY); // Tuesday 09:00 Tokyo

    // The engine agrees with the list: Tokyo's email went at once, New York's at its 9:00.
    await runUntil(MONDAY_9AM_NY + HOUR);
    const to = async (c: string) =>
      (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(c).first<{ email: string }>())!.email;
    const at = async (c: string) => {
      const address = await to(c);
      return sent.find((x) => x.to === address)?.at;
    };
    expect(await at(tokyo)).toBeLessThan(SIM_START + HOUR);
    expect(await at(plain)).toBeGreaterThanOrEqual(MONDAY_9AM_NY);
    const rows = await env.DB.prepare(
      "SELECT e.contact_id, m.sent_at FROM messages m JOIN enrollments e ON e.id = m.enrollment_id WHERE e.sequence_id = ?",
    )
      .bind(sequenceId)
      .all<{ contact_id: string; sent_at: number }>();
    expect(rows.results.find((x) => x.contact_id === tokyo)!.sent_at).toBeLessThan(SIM_START + HOUR);
  });

  it("the sequence's contacts list tells the next email's time in the contact's zone too, as the scheduled emails do", async () => {
    const { s, sequenceId, tokyo, plain } = await tokyoAndNewYork({ local: true, send: async () => ({ ok: true }) });
    // Both first emails go (Tokyo's at once, New York's at its 9:00); each second one waits two days.
    await runUntil(MONDAY_9AM_NY + HOUR);
    const api = client(s).api;
    const list = await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: { status: "all" } }));
    const scheduled = await ok(api["scheduled-emails"].$get({ query: { sequence_id: sequenceId } }));
    const due = async (c: string) =>
      (await env.DB.prepare("SELECT next_due_at FROM enrollments WHERE contact_id = ? AND sequence_id = ?")
        .bind(c, sequenceId)
        .first<{ next_due_at: number }>())!.next_due_at;
    for (const c of [tokyo, plain]) {
      const row = list.enrollments.find((e) => e.contact.id === c)!;
      expect(row.reason).toBe("waiting_for_step");
      expect(row.next_action_at).toBe(scheduled.scheduled.find((x) => x.contact.id === c)!.send_at);
    }
    // Tokyo's step falls due on Wednesday at 9:00 there, inside its window (Tuesday 19:00 in New York, outside).
    const tokyoRow = list.enrollments.find((e) => e.contact.id === tokyo)!;
    expect(tokyoRow.next_action_at).toBe(await due(tokyo));
  });
});
