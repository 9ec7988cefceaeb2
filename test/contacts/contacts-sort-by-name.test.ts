import { describe, expect, it } from "vitest";
import type { D1Count } from "../../worker/middleware/d1-count";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { makeContacts, makeTeam, sessionFor } from "../fixtures";
import { countedGet, env } from "../helpers";

// Sorted by name, the Contacts page (and Apollo's contacts/search) ordered the names in binary: every capital
// before every small letter and every accented letter after both, so "Élodie" came after "Zoe", "émile"
// after "zoe", "de Vries" after "Zeller" and "Özil" after everyone. It sorts by the names lower-cased with
// their accents taken off (CONTACT_LAST_NAME_FOLDED), still read down an index to the page in one round trip,
// and folds a name's rarer capitals as well (Ì, Ş, Ť: SORT_FOLDS), which the search's 77 letters leave as they are.

type Page = { contacts: { id: string }[]; pagination: { total_entries: number } };

// [first, last] in the order a person expects: by last name, then first name, whatever the case or accents.
const ORDERED: [string, string][] = [
  ["Ed", "Ávila"],
  ["Cy", "de Vries"],
  ["Di", "Dupont"],
  ["Ana", "Ìbañez"],
  ["Élodie", "Martin"],
  ["émile", "Martin"],
  ["Eva", "martin"],
  ["Şule", "Martin"],
  ["Zoe", "MARTIN"],
  ["Bo", "Olsen"],
  ["Ana", "Özil"],
  ["Ty", "Ťapák"],
  ["Gil", "Zeller"],
  ["Fay", "Zúñiga"],
];

async function seed(teamId: string) {
  const t = now();
  const ids = new Map<string, string>();
  // Inserted in reverse so neither insertion order nor id order happens to be the name order.
  for (const [first, last] of [...ORDERED].reverse()) {
    const id = newId();
    ids.set(`${first} ${last}`, id);
    await env.DB.prepare("INSERT INTO contacts (id, team_id, first_name, last_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
      .bind(id, teamId, first, last, t, t)
      .run();
  }
  return ORDERED.map(([f, l]) => ids.get(`${f} ${l}`)!);
}

/** The names of these contacts, in their order (what a failure shows). */
async function names(ids: string[]) {
  const rows = await env.DB.prepare(
    "SELECT id, first_name || ' ' || last_name AS name FROM contacts WHERE id IN (SELECT value FROM json_each(?))",
  )
    .bind(JSON.stringify(ids))
    .all<{ id: string; name: string }>();
  const byId = new Map(rows.results.map((r) => [r.id, r.name]));
  return ids.map((id) => byId.get(id));
}

/** The plan of the statement that reads the page (the one ordered by the folded names), as EXPLAIN QUERY PLAN gives it. */
async function pagePlan(count: D1Count) {
  const q = count.queries.find((x) => /order by .*replace\(/i.test(x.sql));
  expect(q, count.statements.join("\n")).toBeDefined();
  const rows = await env.DB.prepare(`EXPLAIN QUERY PLAN ${q!.sql}`)
    .bind(...q!.params)
    .all<{ detail: string }>();
  return rows.results.map((r) => r.detail).join("; ");
}

describe("contacts sorted by name", () => {
  it("sort accents and case as a person does: Élodie among the e's, not after Z", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const expected = await seed(teamId);
    const whole = await countedGet<Page>(s.cookie, "/api/contacts?sort=name&per_page=100");
    expect(whole.status).toBe(200);
    expect(await names(whole.body.contacts.map((c) => c.id))).toEqual(ORDERED.map(([f, l]) => `${f} ${l}`));
    expect(whole.body.contacts.map((c) => c.id)).toEqual(expected);
    // Page by page, the same order, no contact twice.
    const pages: string[] = [];
    for (const p of [1, 2, 3, 4, 5]) {
      const r = await countedGet<Page>(s.cookie, `/api/contacts?sort=name&page=${p}&per_page=3`);
      pages.push(...r.body.contacts.map((c) => c.id));
    }
    expect(pages).toEqual(expected);
    // A search sorted by name: the Martins, whatever their case, by first name.
    const martins = await countedGet<Page>(s.cookie, "/api/contacts?sort=name&q=MARTIN&per_page=100");
    expect(martins.body.contacts.map((c) => c.id)).toEqual(expected.slice(4, 9));

    // Apollo's contacts/search by last name, both ways.
    for (const ascending of [true, false]) {
      const r = await countedGet<{ contacts: { id: string }[] }>(
        s.cookie,
        `/apollo/api/v1/contacts/search?sort_by_field=contact_last_name&sort_ascending=${ascending}&per_page=100`,
      );
      expect(r.status).toBe(200);
      expect(
        r.body.contacts.map((c) => c.id),
        `ascending ${ascending}`,
      ).toEqual(ascending ? expected : [...expected].reverse());
    }
  });

  it("reads its page down contacts_team_folded_name_idx, in one round trip, without sorting the address book", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    await makeContacts(teamId, 2_000);
    await env.DB.prepare("UPDATE contacts SET last_name = 'Lâst' || (CAST(substr(first_name, 6) AS INTEGER) % 300) WHERE team_id = ?")
      .bind(teamId)
      .run();
    // The planner's statistics, as the migration leaves them and D1 keeps them.
    await env.DB.prepare("ANALYZE").run();
    for (const p of [1, 2]) {
      const { status, body, count } = await countedGet<Page>(s.cookie, `/api/contacts?sort=name&page=${p}&per_page=25`);
      expect(status).toBe(200);
      expect(body.contacts).toHaveLength(25);
      expect(body.pagination.total_entries).toBe(2_000);
      // The page is read in a batch with its total (the session's read may join it or go first), never on its own.
      expect(count.roundTrips, count.statements.join("\n")).toBeLessThanOrEqual(2);
      expect(count.statements.filter((x) => /order by/i.test(x))).toEqual([]);
      // The page's rows and those before it, not the 2,000 contacts sorted first.
      expect(count.rowsRead, count.statements.join("\n")).toBeLessThan(100);
      const plan = await pagePlan(count);
      expect(plan).toMatch(/USING INDEX contacts_team_folded_name_idx/);
      expect(plan).not.toMatch(/TEMP B-TREE/);
    }
    for (const ascending of [true, false]) {
      const { status, count } = await countedGet<{ contacts: { id: string }[] }>(
        s.cookie,
        `/apollo/api/v1/contacts/search?sort_by_field=contact_last_name&sort_ascending=${ascending}&page=2&per_page=25`,
      );
      expect(status).toBe(200);
      const plan = await pagePlan(count);
      expect(plan, `ascending ${ascending}`).toMatch(/USING INDEX contacts_team_folded_name_idx/);
      expect(plan, `ascending ${ascending}`).not.toMatch(/TEMP B-TREE/);
    }
  });
});
