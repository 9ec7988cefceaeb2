import { beforeEach, describe, expect, it } from "vitest";
import { advanceClock, now } from "../../worker/lib/clock";
import { handleInbound } from "../../worker/inbound";
import { signMeetingWebhook } from "../../worker/services/meetings";
import { call, client, env, ok } from "../helpers";
import { DAY, HOUR, makeUser, runUntil, sessionFor, startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst } from "../replies/mail";

const teamReportOf = async (s: Awaited<ReturnType<typeof sentFirst>>) =>
  (await ok(client(s.session).api.reports.team.$get({ query: {} }))).report;
const sequenceReportOf = async (s: Awaited<ReturnType<typeof sentFirst>>) =>
  (await ok(client(s.session).api.sequences[":id"].report.$get({ param: { id: s.sequenceId }, query: {} }))).report;
const book = async (s: Awaited<ReturnType<typeof sentFirst>>, contactId: string) =>
  ok(client(s.session).api.contacts[":id"]["meeting-booked"].$post({ param: { id: contactId }, json: {} }));

describe("meetings in the reports", () => {
  beforeEach(() => startSimulation());

  it("counts meetings booked in the range for the run they ended or the last email, apart from positive replies", async () => {
    const s = await sentFirst({ waits: [0, 1], n: 4 });
    const [booked, interested1, finishedFirst, interested2] = s.sent;
    await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Interested', 'succeeded', 5)")
      .bind(`${s.teamId}-won`, s.teamId)
      .run();
    // Two contacts reply and are dragged to Interested: positive replies, not meetings.
    for (const m of [interested1!, interested2!]) {
      await handleInbound(env, replyTo(m));
      await env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(`${s.teamId}-won`, m.contact_id).run();
    }
    // One contact who never replied books a meeting (the button): their open run ends meeting_booked.
    await book(s, booked!.contact_id);
    expect(await enrollmentRow(booked!.enrollment_id)).toMatchObject({ status: "finished", reason: "meeting_booked" });

    let team = await teamReportOf(s);
    const seqRow = () => team.sequences.find((x) => x.sequence_id === s.sequenceId)!;
    const userRow = () => team.users.find((x) => x.user_id === s.userId)!;
    expect(seqRow()).toMatchObject({ meetings: 1, positive_replies: 2 });
    expect(userRow()).toMatchObject({ meetings: 1, positive_replies: 2 });
    expect((await sequenceReportOf(s)).totals).toMatchObject({ meetings: 1, positive_replies: 2 });

    // The last contact gets step 2 and finishes the sequence; 40 days after that email a scheduling
    // tool's booking comes in: it counts today, for the sequence and the sender of the last email.
    await runUntil(now() + 2 * DAY);
    expect(await enrollmentRow(finishedFirst!.enrollment_id)).toMatchObject({ status: "finished" });
    advanceClock(40 * DAY);
    await book(s, finishedFirst!.contact_id);
    team = await teamReportOf(s);
    // The first meeting (over 40 days ago) is out of the last 30 days; so are the replies.
    expect(seqRow()).toMatchObject({ meetings: 1, positive_replies: 0 });
    expect(userRow()).toMatchObject({ meetings: 1 });
    expect((await sequenceReportOf(s)).totals.meetings).toBe(2);
    // A meeting for a contact no sequence ever emailed is no sequence's.
    advanceClock(HOUR);
    const stranger = await env.DB.prepare(
      "INSERT INTO contacts (id, team_id, email, first_name, last_name, created_at, updated_at) VALUES (?, ?, 'new@x.test', 'N', 'N', ?, ?) RETURNING id",
    )
      .bind(crypto.randomUUID(), s.teamId, now(), now())
      .first<{ id: string }>();
    await book(s, stranger!.id);
    expect((await sequenceReportOf(s)).totals.meetings).toBe(2);
  });

  it("credits a meeting to the user who booked it, in a sequence or outside any; one the scheduling tool booked, to the sender", async () => {
    const s = await sentFirst({ n: 2 });
    const [byRep, byTool] = s.sent;
    const rep = await makeUser(s.teamId, "member");
    const repSession = await sessionFor(s.teamId, rep);
    const repBooks = (contactId: string) =>
      ok(client(repSession).api.contacts[":id"]["meeting-booked"].$post({ param: { id: contactId }, json: {} }));
    // The rep books a meeting with a contact no sequence emailed: theirs, and no sequence's.
    const stranger = await env.DB.prepare(
      "INSERT INTO contacts (id, team_id, email, first_name, last_name, created_at, updated_at) VALUES (?, ?, 'new@x.test', 'N', 'N', ?, ?) RETURNING id",
    )
      .bind(crypto.randomUUID(), s.teamId, now(), now())
      .first<{ id: string }>();
    await repBooks(stranger!.id);
    // And one with a contact of the admin's sequence: the rep can't end that run (left open), the meeting is the
    // sequence's (its last email) and the rep's, who booked it, not the sender's.
    expect(await repBooks(byRep!.contact_id)).toMatchObject({ duplicate: false, left_open: 1 });
    // The scheduling tool books the other contact: no one booked it, so it is the sender's (the mailbox's owner).
    const { secret } = await ok(client(s.session).api.webhooks.meetings.secret.$post(), 201);
    const raw = JSON.stringify({ contact_id: byTool!.contact_id, event_id: "evt-tool" });
    const ts = Math.floor(now() / 1000);
    const res = await call("/api/webhooks/meetings", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "seqflare-team": s.teamId,
        "seqflare-signature": `t=${ts},v1=${await signMeetingWebhook(secret, ts, raw)}`,
      },
      body: raw,
    });
    expect(res.status).toBe(200);
    const booked = await env.DB.prepare("SELECT created_by FROM meetings WHERE team_id = ? ORDER BY created_at, id")
      .bind(s.teamId)
      .all<{ created_by: string | null }>();
    expect(booked.results.map((m) => m.created_by)).toEqual([rep, rep, null]);

    const team = await teamReportOf(s);
    const meetingsOf = (r: typeof team, userId: string) => r.users.find((u) => u.user_id === userId)!.meetings;
    expect(meetingsOf(team, rep)).toBe(2);
    expect(meetingsOf(team, s.userId)).toBe(1);
    expect(team.sequences.find((x) => x.sequence_id === s.sequenceId)!.meetings).toBe(2);
    expect((await sequenceReportOf(s)).totals.meetings).toBe(2);

    // The rep's own report covers their sequences (none here) and meetings of no sequence: only the meeting
    // outside any sequence counts, still for them; the admin's sequence's meetings are out of sight.
    const mine = (await ok(client(repSession).api.reports.team.$get({ query: {} }))).report;
    expect(mine.all_sequences).toBe(false);
    expect(meetingsOf(mine, rep)).toBe(1);
    expect(meetingsOf(mine, s.userId)).toBe(0);
  });
});
