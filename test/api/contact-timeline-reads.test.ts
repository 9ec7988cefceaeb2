// A contact's timeline reads that contact's emails and tasks, not the team's. Neither messages nor
// tasks had an index starting with contact_id: SQLite took `team_id = ?` through a team index and
// checked every email the team ever sent, and scanned the tasks of every team, so opening one
// contact's profile read the whole outbox and task list (and grew with them).
import { describe, expect, it } from "vitest";
import { bulkInsert } from "../../worker/db/bulk";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { countedGet, env } from "../helpers";
import { makeContacts, makeMailbox, makeMessages, makeSequence, makeTeam, sessionFor } from "../fixtures";

async function addTasks(teamId: string, userId: string, contactIds: string[]) {
  const t = now();
  await bulkInsert(
    env.DB,
    "tasks",
    ["id", "team_id", "contact_id", "assignee_id", "type", "due_at", "created_at"],
    contactIds.map((c, i) => [newId(), teamId, c, userId, "call", t + i, t - i]),
  );
}

describe("a contact's timeline", () => {
  it("reads the contact's emails, not every email of the team", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const contacts = await makeContacts(teamId, 3_001);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mailboxId = await makeMailbox(teamId, userId);
    // The team's outbox: 3,000 emails to other contacts, and 3 to the one whose profile is open.
    await makeMessages(teamId, sequenceId, stepIds[0]!, mailboxId, contacts.slice(1));
    const mine = contacts[0]!;
    await makeMessages(teamId, sequenceId, stepIds[0]!, mailboxId, [mine, mine, mine]);
    // Its task list: 3,000 tasks for other contacts, 2 for this one; and another team's 1,000.
    await addTasks(teamId, userId, [...contacts.slice(1), mine, mine]);
    const other = await makeTeam();
    await addTasks(other.teamId, other.userId, await makeContacts(other.teamId, 1_000));

    const { status, body, count } = await countedGet<{ events: { kind: string }[] }>(s.cookie, `/api/contacts/${mine}/timeline`);
    expect(status).toBe(200);
    expect(body.events.filter((e) => e.kind === "email")).toHaveLength(3);
    expect(body.events.filter((e) => e.kind === "task")).toHaveLength(2);
    // Before, the emails' query walked the team's 3,003 emails and the tasks' every team's tasks.
    expect(count.rowsRead, count.statements.join("\n")).toBeLessThan(100);
  });
});
