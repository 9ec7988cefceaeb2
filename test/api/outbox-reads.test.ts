// The outbox's total, for someone who sees every email and filters by status at most, comes from the
// team's counts by status kept by triggers on messages (migrations/0026_team_message_counts.sql).
// Before, every page counted every email the team ever sent. A member, who sees only some sequences'
// emails, still has them counted.
import { describe, expect, it } from "vitest";
import { countedGet, env } from "../helpers";
import { newId } from "../../worker/lib/ids";
import { makeContacts, makeMailbox, makeMessages, makeSequence, makeTeam, sessionFor } from "../fixtures";

type Outbox = {
  messages: { status: string; mailbox: { email: string } | null; sequence: { name: string } | null; contact: { name: string } | null }[];
  pagination: { total_entries: number };
};

async function outbox(cookie: string, query: string) {
  const r = await countedGet<Outbox>(cookie, `/api/messages?${query}`);
  expect(r.status).toBe(200);
  return r;
}

describe("the outbox", () => {
  it("takes its total from the team's counts by status, not by counting every email", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const contacts = await makeContacts(teamId, 3_000);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mailboxId = await makeMailbox(teamId, userId);
    const statuses = ["sent", "sent", "bounced", "scheduled", "failed"];
    await makeMessages(teamId, sequenceId, stepIds[0]!, mailboxId, contacts, (i) => statuses[i % statuses.length]!);
    // Another team's emails count for that team only.
    const other = await makeTeam();
    const o = await makeSequence(other.teamId, other.userId, [{ wait: 0 }], null, false);
    await makeMessages(
      other.teamId,
      o.sequenceId,
      o.stepIds[0]!,
      await makeMailbox(other.teamId, other.userId),
      await makeContacts(other.teamId, 50),
    );

    const all = await outbox(s.cookie, "per_page=25");
    expect(all.body.pagination.total_entries).toBe(3_000);
    expect(all.body.messages).toHaveLength(25);
    // The page's rows are whole: joined mailbox, sequence and contact.
    const first = all.body.messages[0]!;
    expect(first.mailbox?.email).toBe(`${mailboxId}@sender.test`);
    expect(first.sequence?.name).toBeTruthy();
    expect(first.contact?.name).toMatch(/^First\d+ Last\d+$/);
    // No walk over the 3,000 emails for the total. (Each of the page's 25 rows also reads its run's emails,
    // an index entry and a row here, for its Replied mark: 138 and 184 rows before it, 190 and 236 with it.)
    expect(all.count.rowsRead, all.count.statements.join("\n")).toBeLessThan(260);

    const bounced = await outbox(s.cookie, "status=bounced&per_page=25");
    expect(bounced.body.pagination.total_entries).toBe(600);
    expect(bounced.body.messages.every((m) => m.status === "bounced")).toBe(true);
    expect(bounced.count.rowsRead, bounced.count.statements.join("\n")).toBeLessThan(260);

    // After a status change (a bounce reported later), the totals follow.
    await env.DB.prepare("UPDATE messages SET status = 'bounced' WHERE team_id = ? AND status = 'failed'").bind(teamId).run();
    expect((await outbox(s.cookie, "status=bounced&per_page=25")).body.pagination.total_entries).toBe(1_200);
    expect((await outbox(s.cookie, "per_page=25")).body.pagination.total_entries).toBe(3_000);
    // A filter the counts don't hold is still counted.
    expect((await outbox(s.cookie, `mailbox_id=${mailboxId}&status=sent&per_page=25`)).body.pagination.total_entries).toBe(1_200);
  });

  it("counts what a member may see, not the team's total", async () => {
    const { teamId, userId } = await makeTeam();
    const rep = newId();
    await env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Rep', 'member', 'x', 0)",
    )
      .bind(rep, teamId, `${rep}@sim.test`)
      .run();
    const s = await sessionFor(teamId, rep);
    const mailboxId = await makeMailbox(teamId, userId);
    const contacts = await makeContacts(teamId, 30);
    // The admin's sequence (a member sees it only when shared) and one the member owns.
    const hidden = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mine = await makeSequence(teamId, rep, [{ wait: 0 }], null, false);
    await makeMessages(teamId, hidden.sequenceId, hidden.stepIds[0]!, mailboxId, contacts.slice(0, 20));
    await makeMessages(teamId, mine.sequenceId, mine.stepIds[0]!, mailboxId, contacts.slice(20));
    const r = await outbox(s.cookie, "per_page=25");
    expect(r.body.pagination.total_entries).toBe(10);
    expect(r.body.messages).toHaveLength(10);
  });
});
