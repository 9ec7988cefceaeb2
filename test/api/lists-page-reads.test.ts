// The lists page shows each list's size from the count kept with the list by triggers on list_members
// (migrations/0028_list_contact_count.sql). Before, it counted every member of every list on the page,
// so the page read more with every contact saved to a list.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { client, countedGet, env, ok } from "../helpers";
import { makeContacts, makeList, makeTeam, sessionFor } from "../fixtures";

type Lists = { lists: { id: string; contact_count: number }[] };

describe("the lists page", () => {
  it("reads each list's size, not its members, and follows adds and removals through the API", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const contacts = await makeContacts(teamId, 3_000);
    const big = await makeList(teamId, userId, contacts.slice(0, 2_000), "Big");
    const small = await makeList(teamId, userId, contacts.slice(2_000, 2_010), "Small");

    const { status, body, count } = await countedGet<Lists>(s.cookie, "/api/lists");
    expect(status).toBe(200);
    const size = (b: Lists, id: string) => b.lists.find((l) => l.id === id)?.contact_count;
    expect([size(body, big), size(body, small)]).toEqual([2_000, 10]);
    // Before, the page counted the 2,010 members.
    expect(count.rowsRead, count.statements.join("\n")).toBeLessThan(100);

    // The real writers: add (some already members: no change for those), remove, delete contacts.
    const api = client(s);
    await ok(api.api.lists[":id"].members.$post({ param: { id: small }, json: { contact_ids: contacts.slice(2_005, 2_020) } }));
    await ok(api.api.lists[":id"].members.remove.$post({ param: { id: big }, json: { contact_ids: contacts.slice(0, 100) } }));
    await ok(api.api.contacts.bulk.$post({ json: { action: "delete", contact_ids: contacts.slice(100, 150) } }));
    const after = (await countedGet<Lists>(s.cookie, "/api/lists")).body;
    expect([size(after, big), size(after, small)]).toEqual([1_850, 20]);
    const one = (await countedGet<{ list: { contact_count: number } }>(s.cookie, `/api/lists/${big}`)).body;
    expect(one.list.contact_count).toBe(1_850);
  });

  it("keeps each list's count equal to its members under any mix of adds, repeats and removals", async () => {
    const { teamId, userId } = await makeTeam();
    const contacts = await makeContacts(teamId, 20);
    let writes = 0;
    const op = fc.record({ add: fc.boolean(), list: fc.nat(1), contact: fc.nat(19) });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        // Two lists of this run's own: a counterexample replays alone.
        const ls = [await makeList(teamId, userId, []), await makeList(teamId, userId, [])];
        for (const o of ops) {
          const [list, contact] = [ls[o.list]!, contacts[o.contact]!];
          if (o.add)
            await env.DB.prepare("INSERT OR IGNORE INTO list_members (list_id, contact_id, team_id, added_at) VALUES (?, ?, ?, 0)")
              .bind(list, contact, teamId)
              .run();
          else await env.DB.prepare("DELETE FROM list_members WHERE list_id = ? AND contact_id = ?").bind(list, contact).run();
          writes++;
        }
        for (const id of ls) {
          const row = await env.DB.prepare(
            "SELECT contact_count AS kept, (SELECT count(*) FROM list_members WHERE list_id = lists.id) AS n FROM lists WHERE id = ?",
          )
            .bind(id)
            .first<{ kept: number; n: number }>();
          expect(row!.kept).toBe(row!.n);
        }
      }),
      { seed: 28, numRuns: 40 },
    );
    expect(writes).toBeGreaterThan(200);
  });
});
