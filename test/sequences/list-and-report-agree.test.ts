// "Sent" on the sequence list and on the sequence's report are one figure: the list counted emails
// whose outcome is unknown and left bounced ones out, the report the other way round (an email that
// bounced went out; one whose send may not have happened is not known to have), so the two screens
// disagreed for any sequence with a bounce. The list now also has the report's replies and reply rate.
import { describe, expect, it } from "vitest";
import { client, env, ok } from "../helpers";
import { makeContacts, makeMailbox, makeMessages, makeSequence, makeTeam, sessionFor } from "../fixtures";

describe("the sequence list and the sequence's report", () => {
  it("agree on sent, bounced, replies and reply rate whatever state the emails are in", async () => {
    const { teamId, userId } = await makeTeam("List and report");
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mailboxId = await makeMailbox(teamId, userId);
    const statuses = ["sent", "sent", "sent", "bounced", "bounced", "failed", "scheduled", "sending", "unknown", "cancelled"];
    const contacts = await makeContacts(teamId, statuses.length);
    const ids = await makeMessages(teamId, sequenceId, stepIds[0]!, mailboxId, contacts, (i) => statuses[i]!);
    // One of the sent emails is answered (as the inbound handler marks it), one gets an out-of-office.
    await env.DB.prepare("UPDATE messages SET reply_kind = 'reply', replied_at = sent_at + 1000 WHERE id = ?").bind(ids[0]).run();
    await env.DB.prepare("UPDATE messages SET reply_kind = 'out_of_office', replied_at = sent_at + 1000 WHERE id = ?").bind(ids[1]).run();

    const listed = async () => (await ok(api.sequences.$get({ query: {} }))).sequences.find((s) => s.id === sequenceId)!;
    const reported = async () => (await ok(api.sequences[":id"].report.$get({ param: { id: sequenceId }, query: {} }))).report.totals;

    let [row, totals] = await Promise.all([listed(), reported()]);
    // Three sent and two bounced went out; the failed, queued, sending, cancelled and unknown ones did not (as far as anyone knows).
    expect({ sent: totals.sent, bounced: totals.bounced, replied: totals.replied }).toEqual({ sent: 5, bounced: 2, replied: 1 });
    expect({ sent: row.sent, bounced: row.bounced, replied: row.replied, reply_rate: row.reply_rate }).toEqual({
      sent: totals.sent,
      bounced: totals.bounced,
      replied: totals.replied,
      reply_rate: totals.reply_rate,
    });
    // Replies over the emails that arrived: 1 of 3.
    expect(row.reply_rate).toBeCloseTo(1 / 3, 10);

    // The outcome of the unknown one comes in as a bounce, the queued one is sent and answered: both screens move together.
    await env.DB.prepare("UPDATE messages SET status = 'bounced' WHERE id = ?").bind(ids[8]).run();
    await env.DB.prepare(
      "UPDATE messages SET status = 'sent', sent_at = created_at, reply_kind = 'reply', replied_at = created_at + 1 WHERE id = ?",
    )
      .bind(ids[6])
      .run();
    [row, totals] = await Promise.all([listed(), reported()]);
    expect({ sent: totals.sent, bounced: totals.bounced, replied: totals.replied }).toEqual({ sent: 7, bounced: 3, replied: 2 });
    expect({ sent: row.sent, bounced: row.bounced, replied: row.replied, reply_rate: row.reply_rate }).toEqual({
      sent: totals.sent,
      bounced: totals.bounced,
      replied: totals.replied,
      reply_rate: totals.reply_rate,
    });
    expect(row.reply_rate).toBeCloseTo(2 / 4, 10);
  });
});
