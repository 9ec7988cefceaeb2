import { beforeEach, describe, expect, it } from "vitest";
import { advanceClock, now } from "../../worker/lib/clock";
import { signMeetingWebhook } from "../../worker/services/meetings";
import { call, client, env, ok, type Session } from "../helpers";
import { HOUR, startSimulation } from "../fixtures";
import { sentFirst } from "./mail";

const meetingRows = async (contactId: string) =>
  (
    await env.DB.prepare("SELECT id, external_id FROM meetings WHERE contact_id = ? ORDER BY created_at")
      .bind(contactId)
      .all<{ id: string; external_id: string | null }>()
  ).results;

async function webhook(teamId: string, secret: string, body: unknown) {
  const raw = JSON.stringify(body);
  const ts = Math.floor(now() / 1000);
  const signature = `t=${ts},v1=${await signMeetingWebhook(secret, ts, raw)}`;
  const res = await call("/api/webhooks/meetings", {
    method: "POST",
    headers: { "content-type": "application/json", "seqflare-team": teamId, "seqflare-signature": signature },
    body: raw,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { duplicate: boolean; meeting_id: string };
}

/** The teams report's meeting count for the sequence (what a double booking would inflate). */
async function reportedMeetings(session: Session, sequenceId: string) {
  const team = (await ok(client(session).api.reports.team.$get({ query: {} }))).report;
  return team.sequences.find((x) => x.sequence_id === sequenceId)?.meetings;
}

describe("a meeting booked by the scheduling tool's webhook and by the button", () => {
  beforeEach(() => startSimulation());

  const setup = async () => {
    const s = await sentFirst();
    const { secret } = await ok(client(s.session).api.webhooks.meetings.secret.$post(), 201);
    const button = () => ok(client(s.session).api.contacts[":id"]["meeting-booked"].$post({ param: { id: s.m.contact_id }, json: {} }));
    return { s, secret, button };
  };

  it("webhook then button within a day: one meeting, counted once", async () => {
    const { s, secret, button } = await setup();
    const first = await webhook(s.teamId, secret, { contact_id: s.m.contact_id, event_id: "evt-1" });
    expect(first.duplicate).toBe(false);
    advanceClock(2 * HOUR);
    expect(await button()).toMatchObject({ duplicate: true, meeting_id: first.meeting_id });
    expect(await meetingRows(s.m.contact_id)).toEqual([{ id: first.meeting_id, external_id: "evt-1" }]);
    expect(await reportedMeetings(s.session, s.sequenceId)).toBe(1);
  });

  it("button then webhook within a day: one meeting, which takes the event id", async () => {
    const { s, secret, button } = await setup();
    const first = await button();
    expect(first.duplicate).toBe(false);
    advanceClock(2 * HOUR);
    expect(await webhook(s.teamId, secret, { contact_id: s.m.contact_id, event_id: "evt-2" })).toMatchObject({
      duplicate: true,
      meeting_id: first.meeting_id,
    });
    expect(await meetingRows(s.m.contact_id)).toEqual([{ id: first.meeting_id, external_id: "evt-2" }]);
    expect(await reportedMeetings(s.session, s.sequenceId)).toBe(1);
    // The tool's repeat of the same event is still that meeting.
    advanceClock(HOUR);
    expect(await webhook(s.teamId, secret, { contact_id: s.m.contact_id, event_id: "evt-2" })).toMatchObject({ duplicate: true });
    expect(await meetingRows(s.m.contact_id)).toHaveLength(1);
  });

  it("two webhooks with different event ids within a day are two meetings; a click after them adds none", async () => {
    const { s, secret, button } = await setup();
    const a = await webhook(s.teamId, secret, { contact_id: s.m.contact_id, event_id: "evt-a" });
    advanceClock(HOUR);
    const b = await webhook(s.teamId, secret, { contact_id: s.m.contact_id, event_id: "evt-b" });
    expect(b.duplicate).toBe(false);
    expect(b.meeting_id).not.toBe(a.meeting_id);
    advanceClock(HOUR);
    expect(await button()).toMatchObject({ duplicate: true });
    expect((await meetingRows(s.m.contact_id)).map((m) => m.external_id)).toEqual(["evt-a", "evt-b"]);
    expect(await reportedMeetings(s.session, s.sequenceId)).toBe(2);
  });
});
