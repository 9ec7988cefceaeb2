// The contacts page reads its page and one count, not the team's address book. Its total, when nothing
// filters it, is the team's count kept by triggers on contacts (migrations/0024_team_counts.sql): before,
// every page counted every contact. Its newest-first order breaks ties by id along the created-at index:
// before, the contacts of one instant (a CSV part's rows share it) were all sorted for every page.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { client, countedGet, env, ok } from "../helpers";
import { makeContacts, makeTeam, sessionFor } from "../fixtures";

async function stored(teamId: string) {
  return (await env.DB.prepare("SELECT contacts FROM team_counts WHERE team_id = ?").bind(teamId).first<number>("contacts")) ?? 0;
}
async function truth(teamId: string) {
  return (
    (await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE team_id = ? AND deleted_at IS NULL").bind(teamId).first<number>("n")) ??
    0
  );
}

type Contacts = { contacts: { id: string }[]; pagination: { total_entries: number } };
async function contactsPage(cookie: string, query: string) {
  const r = await countedGet<Contacts>(cookie, `/api/contacts?${query}`);
  expect(r.status).toBe(200);
  return r;
}

describe("the contacts page", () => {
  it("takes its total from the team's count, not by counting every contact, and follows deletes", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const ids = await makeContacts(teamId, 3_000);
    // Added over time, as a real address book is (the page's order breaks ties of created_at by id, which
    // sorts every contact sharing the instant: not what this test is about).
    await env.DB.prepare("UPDATE contacts SET created_at = created_at - CAST(substr(first_name, 6) AS INTEGER) WHERE team_id = ?")
      .bind(teamId)
      .run();
    // Another team's contacts count for that team only.
    const other = await makeTeam();
    await makeContacts(other.teamId, 500);

    const first = await contactsPage(s.cookie, "per_page=25");
    expect(first.body.contacts).toHaveLength(25);
    expect(first.body.pagination.total_entries).toBe(3_000);
    // Before, the total's statement walked the team's 3,000 contacts.
    expect(first.count.rowsRead, first.count.statements.join("\n")).toBeLessThan(100);

    // Deleting through the API (the real writer) takes them out of the total.
    const api = client(s);
    await ok(api.api.contacts.bulk.$post({ json: { action: "delete", contact_ids: ids.slice(0, 40) } }));
    expect((await contactsPage(s.cookie, "per_page=25")).body.pagination.total_entries).toBe(2_960);
    // A filter still counts the matching contacts: First29, First290–299, First2900–2999, less First29 deleted.
    expect((await contactsPage(s.cookie, "q=First29")).body.pagination.total_entries).toBe(110);
    expect(await stored(other.teamId)).toBe(500);
  });

  it("walks newest first to its page when thousands of contacts share one instant, as an import's do", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    await makeContacts(teamId, 3_000);
    const pages: string[][] = [];
    for (const p of [1, 2, 120]) {
      const { body, count } = await contactsPage(s.cookie, `page=${p}&per_page=25`);
      expect(body.pagination.total_entries).toBe(3_000);
      pages.push(body.contacts.map((c) => c.id));
      // The page's rows and those before it (an offset), not the 3,000 of the instant sorted first.
      if (p < 120) expect(count.rowsRead, count.statements.join("\n")).toBeLessThan(100);
    }
    // Pages follow one order: ties by id, descending, never a contact on two pages.
    const all = pages.flat();
    expect(new Set(all).size).toBe(75);
    expect(pages[0]).toEqual([...pages[0]!].sort().reverse());
    expect(pages[1]![0]! < pages[0]![24]!).toBe(true);
    expect(pages[2]).toHaveLength(25);
  });

  it("sorted by name or by score, walks an index to its page instead of sorting the address book", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    // Scores repeat (ties broken by id) and names too: ten contacts share each last name.
    await makeContacts(teamId, 3_000, { score: (i) => (i * 37) % 101 });
    await env.DB.prepare("UPDATE contacts SET last_name = 'Last' || (CAST(substr(first_name, 6) AS INTEGER) % 300) WHERE team_id = ?")
      .bind(teamId)
      .run();
    const all = (
      await env.DB.prepare("SELECT id, first_name, last_name, score FROM contacts WHERE team_id = ?")
        .bind(teamId)
        .all<{ id: string; first_name: string; last_name: string; score: number }>()
    ).results;
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const byName = [...all].sort((a, b) => cmp(a.last_name, b.last_name) || cmp(a.first_name, b.first_name) || cmp(a.id, b.id));
    const byScore = [...all].sort((a, b) => b.score - a.score || cmp(a.id, b.id));
    for (const [sort, expected] of [
      ["name", byName],
      ["score", byScore],
    ] as const) {
      for (const p of [1, 2, 40]) {
        const { body, count } = await contactsPage(s.cookie, `sort=${sort}&page=${p}&per_page=25`);
        expect(body.pagination.total_entries).toBe(3_000);
        expect(body.contacts.map((c) => c.id)).toEqual(expected.slice((p - 1) * 25, p * 25).map((c) => c.id));
        // The page's rows and those before it, not the 3,000 contacts sorted first.
        if (p < 40) expect(count.rowsRead, `${sort} page ${p}\n${count.statements.join("\n")}`).toBeLessThan(100);
      }
    }
    // Apollo's contacts/search sorted by last name, either way: the same index, read forwards or backwards.
    for (const ascending of [true, false]) {
      const { status, body, count } = await countedGet<{ contacts: { id: string }[] }>(
        s.cookie,
        `/apollo/api/v1/contacts/search?sort_by_field=contact_last_name&sort_ascending=${ascending}&page=2&per_page=25`,
      );
      expect(status).toBe(200);
      const order = ascending ? byName : [...byName].reverse();
      expect(
        body.contacts.map((c) => c.id),
        `ascending ${ascending}`,
      ).toEqual(order.slice(25, 50).map((c) => c.id));
      // The page's ids, then its 25 contacts' own rows (enrollments, lists): sorted first, the 3,000 were read.
      expect(count.rowsRead, count.statements.join("\n")).toBeLessThan(500);
    }
  });

  it("keeps the team's count equal to its live contacts under inserts, deletes, restores and removals", async () => {
    let writes = 0;
    const op = fc.oneof(
      fc.record({ kind: fc.constant("insert" as const), n: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant("softDelete" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("restore" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("rename" as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 30 }), async (ops) => {
        // A team of this run's own: a counterexample replays alone.
        const { teamId } = await makeTeam();
        const ids: string[] = [];
        for (const o of ops) {
          if (o.kind === "insert") {
            ids.push(...(await makeContacts(teamId, o.n)));
            writes += o.n;
            continue;
          }
          if (!ids.length) continue;
          const id = ids[o.pick % ids.length]!;
          if (o.kind === "softDelete") await env.DB.prepare("UPDATE contacts SET deleted_at = ? WHERE id = ?").bind(Date.now(), id).run();
          else if (o.kind === "restore") await env.DB.prepare("UPDATE contacts SET deleted_at = NULL WHERE id = ?").bind(id).run();
          else if (o.kind === "rename") await env.DB.prepare("UPDATE contacts SET first_name = 'Renamed' WHERE id = ?").bind(id).run();
          else {
            await env.DB.prepare("DELETE FROM contacts WHERE id = ?").bind(id).run();
            ids.splice(ids.indexOf(id), 1);
          }
          writes++;
        }
        expect(await stored(teamId)).toBe(await truth(teamId));
      }),
      { seed: 24, numRuns: 40 },
    );
    expect(writes).toBeGreaterThan(200);
  });
});
