// Adding a list to a sequence resolves its members through the list's own key. With planner
// statistics that show few lists (PRAGMA optimize on a young database, as the load bench's has), SQLite
// took the UNION's wish for rows ordered by contact over the key: it walked every list membership of
// every team through list_members_contact_idx and kept the list's with a bloom filter, so a preview,
// a count or a job's staging of one list read the whole table, and grew with every other team's lists.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { countingD1 } from "../../worker/middleware/d1-count";
import { candidatePage, countCandidates } from "../../worker/services/add-contacts/candidates";
import { env } from "../helpers";
import { makeContacts, makeList, makeTeam } from "../fixtures";

describe("the candidates of a list", () => {
  let teamId: string;
  let listId: string;
  let members: string[];

  beforeEach(async () => {
    const mine = await makeTeam();
    teamId = mine.teamId;
    members = await makeContacts(teamId, 200);
    listId = await makeList(teamId, mine.userId, members);
    await makeList(teamId, mine.userId, (await makeContacts(teamId, 300)).slice(0, 300));
    // Another team's lists: 4,000 memberships that no statement of this team has to read.
    const other = await makeTeam();
    const theirs = await makeContacts(other.teamId, 2_000);
    await makeList(other.teamId, other.userId, theirs);
    await makeList(other.teamId, other.userId, theirs);
    // Statistics as an optimize leaves them: a few lists holding many members each.
    await env.DB.prepare("ANALYZE").run();
  });

  it("are read by the list's key, not by walking every team's list memberships", async () => {
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const d = db(counted.db);
    const source = { list_ids: [listId] };
    const all = await env.DB.prepare("SELECT count(*) AS n FROM list_members").first<{ n: number }>();
    expect(all!.n).toBeGreaterThanOrEqual(4_500);

    expect(await countCandidates(d, teamId, source)).toBe(200);
    // The list's 200 members, each with its contact's score; never the 4,500 memberships of the table.
    expect(counted.count.rowsRead).toBeLessThan(1_000);

    counted.reset();
    const page = await candidatePage(d, teamId, source, null, 500);
    expect(page.map((r) => r.contact_id).sort()).toEqual([...members].sort());
    // A page also ranks the selection by address (one run per address: a window over the 200, sorted), about
    // 8 rows a member (1,608); still never the 4,500 memberships of the table.
    expect(counted.count.rowsRead).toBeLessThan(2_000);
  });

  it("of a few contacts chosen by id read those contacts, not the table's list memberships", async () => {
    // The add path's common case (a handful of contacts from the Contacts page): with no list at all
    // the UNION still walked every list membership of every team (bench:load's add read 9,819 rows).
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const d = db(counted.db);
    const source = { contact_ids: members.slice(0, 3) };
    expect(await countCandidates(d, teamId, source)).toBe(3);
    expect((await candidatePage(d, teamId, source, null, 500)).map((r) => r.contact_id).sort()).toEqual(members.slice(0, 3).sort());
    expect(counted.count.rowsRead).toBeLessThan(100);
  });

  it("are counted without reading a contact for its score, and the count is the candidates' number whatever the source mixes", async () => {
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const d = db(counted.db);
    expect(await countCandidates(d, teamId, { list_ids: [listId] })).toBe(200);
    // The list's 200 memberships and the UNION's own rows (407 here); before, each member's contact was read too, for a
    // score the count never used (607).
    expect(counted.count.rowsRead).toBeLessThan(500);

    // Duplicates (a contact and a person given twice), a deleted contact, another team's contact, an unknown id,
    // a saved person (its contact is a member), unsaved people.
    const other = await makeTeam();
    const [foreign] = await makeContacts(other.teamId, 1);
    const [gone] = await makeContacts(teamId, 1);
    await env.DB.prepare("UPDATE contacts SET deleted_at = 1 WHERE id = ?").bind(gone).run();
    const { results: people } = await env.DB.prepare("SELECT id FROM people ORDER BY id LIMIT 3").all<{ id: string }>();
    const [savedPerson, newA, newB] = people.map((p) => p.id);
    await env.DB.prepare("UPDATE contacts SET person_id = ? WHERE id = ?").bind(savedPerson, members[2]).run();
    const source = {
      contact_ids: [members[0]!, members[0]!, members[1]!, gone!, foreign!, "ffffffffffffffffffffffff"],
      list_ids: [listId],
      people_ids: [savedPerson!, newA!, newB!, newA!],
    };
    const all = await candidatePage(d, teamId, source, null, 1_000);
    // 200 members, the deleted, the foreign and the unknown id (reported "not found" later), two unsaved people.
    expect(all).toHaveLength(205);
    expect(await countCandidates(d, teamId, source)).toBe(all.length);
  });

  it("are the team's own: another team's list id resolves to nobody", async () => {
    const other = await makeTeam();
    const theirs = await makeContacts(other.teamId, 5);
    const theirList = await makeList(other.teamId, other.userId, theirs);
    const d = db(env.DB);
    expect(await countCandidates(d, teamId, { list_ids: [theirList] })).toBe(0);
    expect(await candidatePage(d, teamId, { list_ids: [theirList, listId] }, null, 500)).toHaveLength(200);
  });
});
