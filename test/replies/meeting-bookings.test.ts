import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sequenceStub } from "../../durable-objects/engine";
import { advanceClock, now } from "../../worker/lib/clock";
import { signMeetingWebhook } from "../../worker/services/meetings";
import { call, client, env, errorOf, ok } from "../helpers";
import { DAY, enroll, HOUR, makeContacts, makeSequence, startSimulation } from "../fixtures";
import { enrollmentRow, sentFirst } from "./mail";

type Methods = Record<string, (this: unknown, ...args: unknown[]) => Promise<unknown>>;

/** Makes the sequence's SequenceDO throw on its next transition (a finish), once; returns the undo. */
async function failNextTransition(sequenceId: string): Promise<() => void> {
  const proto = await runInDurableObject(sequenceStub(env, sequenceId), (o: object) => Object.getPrototypeOf(o) as Methods);
  const orig = proto.transition!;
  let fired = false;
  proto.transition = async function (this: unknown, ...args: unknown[]) {
    if (!fired) {
      fired = true;
      throw new Error("simulated: the sequence could not be told");
    }
    return orig.apply(this, args);
  };
  return () => void (proto.transition = orig);
}

const meetingsOf = async (contactId: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM meetings WHERE contact_id = ?").bind(contactId).first<{ n: number }>())!.n;

/** A signed webhook request: the same `raw` and `signature` make a byte-identical retry. */
async function signed(teamId: string, secret: string, body: unknown) {
  const raw = JSON.stringify(body);
  const ts = Math.floor(now() / 1000);
  const signature = `t=${ts},v1=${await signMeetingWebhook(secret, ts, raw)}`;
  return () =>
    call("/api/webhooks/meetings", {
      method: "POST",
      headers: { "content-type": "application/json", "seqflare-team": teamId, "seqflare-signature": signature },
      body: raw,
    });
}

describe("a booking that fails halfway", () => {
  const restore: (() => void)[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const r of restore.splice(0)) r();
  });

  it("is completed by the scheduling tool's byte-identical retry: the contact's run finishes, one meeting", async () => {
    const s = await sentFirst();
    const { secret } = await ok(client(s.session).api.webhooks.meetings.secret.$post(), 201);
    const send = await signed(s.teamId, secret, { contact_id: s.m.contact_id, event_id: "evt-half" });
    restore.push(await failNextTransition(s.sequenceId));
    expect((await errorOf(await send())).status).toBe(500);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });

    const retry = await send();
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ duplicate: true, finished: [s.m.enrollment_id] });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "meeting_booked" });
    expect(await meetingsOf(s.m.contact_id)).toBe(1);
    // Done now, so accepted: the same bytes again are a replay.
    expect(await errorOf(await send())).toMatchObject({ status: 409, code: "replayed_signature" });
  });

  it("is completed by a retry of POST /contacts/{id}/meeting-booked with the same event_id", async () => {
    const s = await sentFirst();
    const book = () =>
      client(s.session).api.contacts[":id"]["meeting-booked"].$post({ param: { id: s.m.contact_id }, json: { event_id: "evt-manual" } });
    restore.push(await failNextTransition(s.sequenceId));
    expect((await book()).status).toBe(500);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });

    expect(await ok(book())).toMatchObject({ duplicate: true, finished: [s.m.enrollment_id], left_open: 0 });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "meeting_booked" });
    expect(await meetingsOf(s.m.contact_id)).toBe(1);
    const logged = await env.DB.prepare("SELECT count(*) n FROM audit_log WHERE team_id = ? AND action = 'contact.meeting_booked'")
      .bind(s.teamId)
      .first<{ n: number }>();
    expect(logged!.n).toBe(1);
  });
});

describe("marking a meeting booked twice", () => {
  beforeEach(() => startSimulation());

  it("without an event id, a second booking of the contact within a day is the same meeting: one row, the reports count 1", async () => {
    const s = await sentFirst();
    const book = () => client(s.session).api.contacts[":id"]["meeting-booked"].$post({ param: { id: s.m.contact_id }, json: {} });
    const first = await ok(book());
    expect(first).toMatchObject({ duplicate: false, finished: [s.m.enrollment_id] });
    advanceClock(HOUR);
    expect(await ok(book())).toMatchObject({ duplicate: true, meeting_id: first.meeting_id, finished: [] });
    expect(await meetingsOf(s.m.contact_id)).toBe(1);
    // What the contact page reads to say "Meeting recorded …"; another team's contact is a 404.
    const listed = await ok(client(s.session).api.contacts[":id"].meetings.$get({ param: { id: s.m.contact_id } }));
    expect(listed.meetings.map((m) => m.id)).toEqual([first.meeting_id]);
    const other = await sentFirst();
    expect((await client(other.session).api.contacts[":id"].meetings.$get({ param: { id: s.m.contact_id } })).status).toBe(404);
    const team = (await ok(client(s.session).api.reports.team.$get({ query: {} }))).report;
    expect(team.sequences.find((x) => x.sequence_id === s.sequenceId)).toMatchObject({ meetings: 1 });
    expect(team.users.find((x) => x.user_id === s.userId)).toMatchObject({ meetings: 1 });
    // A meeting booked two days later is another one.
    advanceClock(2 * DAY);
    expect(await ok(book())).toMatchObject({ duplicate: false });
    expect(await meetingsOf(s.m.contact_id)).toBe(2);
  });
});

describe("a booking by email when several contacts share the address", () => {
  beforeEach(() => startSimulation());

  it("finishes the open runs of every live contact with that address; the meeting is recorded once, on the one emailed", async () => {
    const s = await sentFirst();
    // The same person saved twice (another case), in another sequence, not emailed yet (its step waits a day).
    const [twin] = await makeContacts(s.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(s.m.to_email.toUpperCase(), twin!).run();
    const { sequenceId: seq2 } = await makeSequence(s.teamId, s.userId, [{ wait: 1, unit: "days" }], null);
    await enroll(s.teamId, seq2, [twin!], [s.mailboxId]);
    const twinRun = (await env.DB.prepare("SELECT id FROM enrollments WHERE contact_id = ?").bind(twin!).first<{ id: string }>())!.id;
    // A deleted contact with the address is nobody's meeting.
    const [gone] = await makeContacts(s.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET email = ?, deleted_at = ? WHERE id = ?").bind(s.m.to_email, now(), gone!).run();
    const { secret } = await ok(client(s.session).api.webhooks.meetings.secret.$post(), 201);

    const res = await (await signed(s.teamId, secret, { email: s.m.to_email, event_id: "evt-twins" }))();
    expect(res.status).toBe(200);
    const r = await res.json<{ contact_id: string; finished: string[] }>();
    expect(r.contact_id).toBe(s.m.contact_id);
    expect(r.finished.sort()).toEqual([s.m.enrollment_id, twinRun].sort());
    for (const id of [s.m.enrollment_id, twinRun])
      expect(await enrollmentRow(id)).toMatchObject({ status: "finished", reason: "meeting_booked" });
    expect(await meetingsOf(s.m.contact_id)).toBe(1);
    expect(await meetingsOf(twin!)).toBe(0);
  });
});

describe("the meetings webhook for the scheduling tool", () => {
  beforeEach(() => startSimulation());

  it("a booking by someone who isn't a contact answers 200 matched: false, and the admin sees each delivery", async () => {
    const s = await sentFirst();
    const api = client(s.session).api;
    const { secret } = await ok(api.webhooks.meetings.secret.$post(), 201);
    const stranger = await (await signed(s.teamId, secret, { email: "nobody@elsewhere.test", event_id: "evt-stranger" }))();
    expect(stranger.status).toBe(200);
    expect(await stranger.json()).toMatchObject({ matched: false });
    advanceClock(1000);
    const booked = await (await signed(s.teamId, secret, { contact_id: s.m.contact_id, event_id: "evt-known" }))();
    expect(await booked.json()).toMatchObject({ matched: true, duplicate: false, finished: [s.m.enrollment_id] });
    advanceClock(1000);
    expect((await (await signed(s.teamId, secret, { event_id: "no-contact-named" }))()).status).toBe(422);
    const info = await ok(api.webhooks.meetings.secret.$get());
    expect(info.deliveries.map((x) => [x.result, x.status, x.named, x.contact_id])).toEqual([
      ["invalid", 422, null, null],
      ["booked", 200, s.m.contact_id, s.m.contact_id],
      ["no_contact", 200, "nobody@elsewhere.test", null],
    ]);
    // Nothing of it is another team's to see.
    const other = await sentFirst();
    expect((await ok(client(other.session).api.webhooks.meetings.secret.$get())).deliveries).toEqual([]);
  });

  it("after a rotation the replaced secret is still accepted for 24 hours, then refused", async () => {
    const s = await sentFirst({ n: 2 });
    const api = client(s.session).api;
    const { secret: old } = await ok(api.webhooks.meetings.secret.$post(), 201);
    const rotated = await ok(api.webhooks.meetings.secret.$post(), 201);
    expect(rotated.previous_valid_until).toBe(now() + DAY);
    expect((await ok(api.webhooks.meetings.secret.$get())).previous_valid_until).toBe(now() + DAY);
    const [a, b] = s.sent;
    const withOld = await (await signed(s.teamId, old, { contact_id: a!.contact_id }))();
    expect(await withOld.json()).toMatchObject({ matched: true, finished: [a!.enrollment_id] });
    advanceClock(DAY + 1000);
    expect(await errorOf(await (await signed(s.teamId, old, { contact_id: b!.contact_id }))())).toMatchObject({
      status: 401,
      code: "invalid_signature",
    });
    expect(await enrollmentRow(b!.enrollment_id)).toMatchObject({ status: "active" });
    const withNew = await (await signed(s.teamId, rotated.secret, { contact_id: b!.contact_id }))();
    expect(await withNew.json()).toMatchObject({ matched: true, finished: [b!.enrollment_id] });
    expect((await ok(api.webhooks.meetings.secret.$get())).previous_valid_until).toBeNull();
  });
});
