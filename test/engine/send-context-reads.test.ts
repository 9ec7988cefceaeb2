// A batch of sends (MailboxDO) and a batch of steps falling due (SequenceDO) read their contacts by id.
// On a D1 without planner statistics (a new database, the benches') SQLite walked the team's whole
// address book through its (team_id, email) index instead: in the sending bench each batch of 60
// emails read all 50,000 contacts, and the send path grew with the team's size.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { countingD1 } from "../../worker/middleware/d1-count";
import { loadSendContext } from "../../durable-objects/compose";
import { loadContactStates, loadSendChecks } from "../../durable-objects/eligibility";
import { env } from "../helpers";
import { makeContacts, makeSequence, makeTeam } from "../fixtures";

describe("send-time reads", () => {
  beforeEach(async () => {
    // The planner as on a database nobody has analyzed yet.
    await env.DB.prepare("DELETE FROM sqlite_stat1").run();
    await env.DB.prepare("ANALYZE sqlite_schema").run();
  });

  it("reads a batch's 60 contacts among the team's 3,000 by id, not the team's address book", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const ids = await makeContacts(teamId, 3_000);
    const batch = ids.slice(1_000, 1_060);
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const sc = await loadSendContext(
      db(counted.db),
      teamId,
      batch.map((contactId) => ({ contactId, stepId: stepIds[0]!, sequenceId })),
    );
    expect(sc.contacts.size).toBe(60);
    expect(sc.sequences.get(sequenceId)).toEqual({ active: true, archived: false });
    // 60 contacts with their stage and suppression look-ups, one sequence, its variant and the team.
    expect(counted.count.rowsRead).toBeLessThan(400);

    counted.reset();
    expect((await loadSendChecks(db(counted.db), teamId, batch, [sequenceId])).contacts.size).toBe(60);
    expect(counted.count.rowsRead).toBeLessThan(400);

    counted.reset();
    expect((await loadContactStates(db(counted.db), teamId, batch)).size).toBe(60);
    expect(counted.count.rowsRead).toBeLessThan(400);
  });

  it("reads only the team's contacts: another team's id in the batch is not found", async () => {
    const a = await makeTeam();
    const b = await makeTeam();
    const [mine] = await makeContacts(a.teamId, 1);
    const [theirs] = await makeContacts(b.teamId, 1);
    const states = await loadContactStates(db(env.DB), a.teamId, [mine!, theirs!]);
    expect([...states.keys()]).toEqual([mine]);
  });
});
