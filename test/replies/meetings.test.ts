import { beforeEach, describe, expect, it } from "vitest";
import { advanceClock, now } from "../../worker/lib/clock";
import { DEMO } from "../../worker/seed/demo";
import { signMeetingWebhook } from "../../worker/services/meetings";
import { call, client, env, errorOf, ok } from "../helpers";
import { makeTeam, sessionFor, startSimulation } from "../fixtures";
import { enrollmentRow, sentFirst } from "./mail";

/** A team's meetings webhook secret, created by its admin through the API. */
async function secretOf(session: Awaited<ReturnType<typeof sessionFor>>) {
  return (await ok(client(session).api.webhooks.meetings.secret.$post(), 201)).secret;
}

// Raw on purpose: the webhook is signed over its exact body bytes and headers (HMAC), which is what these tests check.
async function webhook(teamId: string, body: unknown, o: { secret: string; at?: number; signature?: string }) {
  const raw = JSON.stringify(body);
  const ts = Math.floor((o.at ?? now()) / 1000);
  const sig = o.signature ?? `t=${ts},v1=${await signMeetingWebhook(o.secret, ts, raw)}`;
  return call("/api/webhooks/meetings", {
    method: "POST",
    headers: { "content-type": "application/json", "seqflare-team": teamId, "seqflare-signature": sig },
    body: raw,
  });
}

describe("meeting booked", () => {
  beforeEach(() => startSimulation());

  it("a signed webhook marks the meeting and finishes the contact's open enrollments with reason meeting_booked", async () => {
    const s = await sentFirst();
    const secret = await secretOf(s.session);
    const res = await webhook(s.teamId, { email: s.m.to_email.toUpperCase(), event_id: "evt-1" }, { secret });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ contact_id: s.m.contact_id, finished: [s.m.enrollment_id], duplicate: false });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "meeting_booked" });
    const meeting = await env.DB.prepare("SELECT source, external_id FROM meetings WHERE contact_id = ?").bind(s.m.contact_id).first();
    expect(meeting).toEqual({ source: "webhook", external_id: "evt-1" });
    // The same event from the tool again (a new signature) books nothing twice.
    advanceClock(1000);
    const again = await webhook(s.teamId, { email: s.m.to_email, event_id: "evt-1" }, { secret });
    expect(await again.json()).toMatchObject({ duplicate: true, finished: [] });
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM meetings WHERE contact_id = ?").bind(s.m.contact_id).first<{ n: number }>())!.n,
    ).toBe(1);
  });

  it("refuses a bad signature (401), a stale timestamp, and a replayed signature, changing nothing", async () => {
    const s = await sentFirst();
    const secret = await secretOf(s.session);
    const body = { contact_id: s.m.contact_id };
    const bad = await webhook(s.teamId, body, { secret: "whsec_not-the-secret" });
    expect(await errorOf(bad)).toMatchObject({ status: 401, code: "invalid_signature" });
    expect((await errorOf(await webhook(s.teamId, body, { secret, signature: "t=nope" }))).code).toBe("invalid_signature");
    const stale = await webhook(s.teamId, body, { secret, at: now() - 6 * 60_000 });
    expect(await errorOf(stale)).toMatchObject({ status: 401, code: "stale_signature" });
    const future = await webhook(s.teamId, body, { secret, at: now() + 6 * 60_000 });
    expect((await errorOf(future)).code).toBe("stale_signature");
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });

    const raw = JSON.stringify(body);
    const ts = Math.floor(now() / 1000);
    const signature = `t=${ts},v1=${await signMeetingWebhook(secret, ts, raw)}`;
    expect((await webhook(s.teamId, body, { secret, signature })).status).toBe(200);
    const replay = await webhook(s.teamId, body, { secret, signature });
    expect(await errorOf(replay)).toMatchObject({ status: 409, code: "replayed_signature" });
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM meetings WHERE contact_id = ?").bind(s.m.contact_id).first<{ n: number }>())!.n,
    ).toBe(1);
  });

  it("another team's secret or contact gets nowhere: 401 under the wrong team, matched: false for a contact of another team", async () => {
    const a = await sentFirst();
    const b = await sentFirst();
    const secretA = await secretOf(a.session);
    await secretOf(b.session);
    // Signed with team A's secret but claiming team B.
    expect((await errorOf(await webhook(b.teamId, { contact_id: b.m.contact_id }, { secret: secretA }))).code).toBe("invalid_signature");
    // Team A naming team B's contact: the same answer as a contact that doesn't exist.
    const foreign = await webhook(a.teamId, { contact_id: b.m.contact_id }, { secret: secretA });
    expect(foreign.status).toBe(200);
    expect(await foreign.json()).toMatchObject({ matched: false });
    expect(await enrollmentRow(b.m.enrollment_id)).toMatchObject({ status: "active" });
    // A team that never created a secret: the same 401.
    const { teamId } = await makeTeam();
    expect((await errorOf(await webhook(teamId, { contact_id: a.m.contact_id }, { secret: secretA }))).code).toBe("invalid_signature");
  });

  it("the secret is shown once: an idempotent replay of its creation answers 409 without it; members can't rotate it", async () => {
    const s = await sentFirst();
    const api = client(s.session).api;
    const rotate = () => api.webhooks.meetings.secret.$post(undefined, { headers: { "idempotency-key": "rotate-1" } });
    const { secret, hint } = await ok(rotate(), 201);
    expect(secret.startsWith(hint!)).toBe(true);
    const replay = await rotate();
    expect(replay.status).toBe(409);
    expect(await replay.text()).not.toContain(secret);
    const stored = await env.DB.prepare("SELECT sealed FROM webhook_secrets WHERE team_id = ?").bind(s.teamId).first<{ sealed: string }>();
    expect(stored!.sealed).not.toContain(secret.slice(6));
    expect(await ok(api.webhooks.meetings.secret.$get())).toMatchObject({ configured: true, hint });
    const memberId = crypto.randomUUID().replace(/-/g, "").slice(0, 24);
    await env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Member', 'member', 'x', 0)",
    )
      .bind(memberId, s.teamId, `${memberId}@sim.test`)
      .run();
    const member = await sessionFor(s.teamId, memberId);
    expect((await client(member).api.webhooks.meetings.secret.$post()).status).toBe(403);
  });

  it("a master API key can neither rotate nor read about the secret: only a signed-in admin can", async () => {
    const before = await env.DB.prepare("SELECT sealed FROM webhook_secrets WHERE team_id = ?").bind(DEMO.team).first();
    for (const method of ["POST", "GET"]) {
      const res = await call("/api/webhooks/meetings/secret", { method, headers: { "x-api-key": DEMO.masterKey } });
      expect(await errorOf(res)).toMatchObject({ status: 403, code: "forbidden" });
    }
    expect(await env.DB.prepare("SELECT sealed FROM webhook_secrets WHERE team_id = ?").bind(DEMO.team).first()).toEqual(before);
  });

  it("POST /contacts/{id}/meeting-booked finishes the enrollments, is audit-logged, and is 404 for another team", async () => {
    const s = await sentFirst();
    const book = (session: typeof s.session) =>
      client(session).api.contacts[":id"]["meeting-booked"].$post({ param: { id: s.m.contact_id }, json: {} });
    expect(await ok(book(s.session))).toMatchObject({ finished: [s.m.enrollment_id], duplicate: false });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "meeting_booked" });
    const log = await env.DB.prepare("SELECT user_id FROM audit_log WHERE team_id = ? AND action = 'contact.meeting_booked'")
      .bind(s.teamId)
      .first<{ user_id: string }>();
    expect(log!.user_id).toBe(s.userId);
    const other = await sentFirst();
    expect((await book(other.session)).status).toBe(404);
  });

  it("a member marking a meeting finishes only the sequences they can edit; a teammate's private one goes on", async () => {
    const s = await sentFirst();
    const memberId = crypto.randomUUID().replace(/-/g, "").slice(0, 24);
    await env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'M', 'member', 'x', 0)",
    )
      .bind(memberId, s.teamId, `${memberId}@sim.test`)
      .run();
    const member = await sessionFor(s.teamId, memberId);
    const r = await ok(client(member).api.contacts[":id"]["meeting-booked"].$post({ param: { id: s.m.contact_id }, json: {} }));
    expect(r).toMatchObject({ finished: [], left_open: 1, duplicate: false });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
  });
});
