import { describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor } from "../fixtures";
import { client, env, ok } from "../helpers";

describe("positive replies in the reports", () => {
  it("count on the day the email they answer was sent, the same in the team report and the sequence report", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mb = await makeMailbox(teamId, userId);
    const [contact] = await makeContacts(teamId, 1);
    await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Interested', 'succeeded', 5)")
      .bind(`${teamId}-won`, teamId)
      .run();
    await env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(`${teamId}-won`, contact).run();
    // Sent on November 28th, answered on December 3rd.
    const sentAt = Date.parse("2026-11-28T10:00:00Z");
    const repliedAt = Date.parse("2026-12-03T10:00:00Z");
    await env.DB.prepare(
      "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, replied_at, reply_kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'x@example.test', 's', 'b', ?, 'sent', ?, ?, 'reply', ?)",
    )
      .bind(newId(), teamId, newId(), sequenceId, stepIds[0], mb, contact, `<sf.${newId()}@sender.test>`, sentAt, repliedAt, sentAt)
      .run();

    const figures = async (from: string, to: string) => {
      const team = (await ok(api.reports.team.$get({ query: { from, to } }))).report;
      const seqRow = team.sequences.find((s) => s.sequence_id === sequenceId)!;
      const userRow = team.users.find((u) => u.user_id === userId)!;
      const seq = (await ok(api.sequences[":id"].report.$get({ param: { id: sequenceId }, query: { from, to } }))).report;
      return {
        teamReplies: seqRow.replies,
        teamPositive: seqRow.positive_replies,
        userReplies: userRow.replies,
        userPositive: userRow.positive_replies,
        seqReplies: seq.totals.replied,
        seqPositive: seq.totals.positive_replies,
      };
    };
    // The week of the reply: the email wasn't sent in it, so neither its reply nor its positive reply is counted, on either screen.
    expect(await figures("2026-12-01", "2026-12-07")).toEqual({
      teamReplies: 0,
      teamPositive: 0,
      userReplies: 0,
      userPositive: 0,
      seqReplies: 0,
      seqPositive: 0,
    });
    // The week of the email: one reply, and it is positive, on both screens.
    expect(await figures("2026-11-24", "2026-11-30")).toEqual({
      teamReplies: 1,
      teamPositive: 1,
      userReplies: 1,
      userPositive: 1,
      seqReplies: 1,
      seqPositive: 1,
    });
  });
});
