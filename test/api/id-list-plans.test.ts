import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { db } from "../../worker/db/client";
import { countingD1, type D1Count } from "../../worker/middleware/d1-count";
import { loadFacts } from "../../worker/services/add-contacts/candidates";
import { DEMO } from "../../worker/seed/demo";
import { BASE, env, login, type Session } from "../helpers";

// A statement given a list of ids (one JSON array, unpacked by json_each) must look each id up. With
// `team_id = ? AND id IN (…)` SQLite may instead walk the team's index and test every row against the
// list, depending on the statistics D1 holds (sqlite_stat1): in `npm run bench -- add-contacts` the facts
// of a 2,000-contact chunk read all 105,000 contacts of the team, 70 times in a 100,000-contact add (7.4
// million of its 9.8 million D1 rows read). So the plan must not depend on them: the team is checked on
// each row found (`+team_id`, no index on it), and another team's id finds nothing.

const counted = countingD1(env.DB, { rowsOfRaw: true });
const countedEnv = { ...env, DB: counted.db };

async function call(s: Session, method: string, path: string, body: unknown) {
  const ctx = createExecutionContext();
  const res = await app.request(
    `${BASE}${path}`,
    { method, headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "application/json" }, body: JSON.stringify(body) },
    countedEnv,
    ctx,
  );
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  expect(res.status, `${method} ${path}: ${text.slice(0, 300)}`).toBe(200);
}

/** Statements that take a list of ids but don't reach that table's rows by id, with their plans. */
async function walksInsteadOfLookups(queries: D1Count["queries"]) {
  const out: string[] = [];
  for (const q of queries) {
    const text = q.sql.replace(/\s+/g, " ");
    const m = /(?:^|[^\w"])(?:"?(\w+)"?\.)?"?id"? IN \(SELECT value FROM json_each/.exec(text);
    if (!m) continue;
    // The table (or alias) the id belongs to: named before it, or the last table read or changed before it.
    const before = [...text.slice(0, m.index).matchAll(/\b(?:from|update)\s+"?(\w+)"?(?:\s+(?:AS\s+)?(\w+))?/gi)];
    const table = m[1] ?? before[before.length - 1]?.[1];
    // Only tables that grow with a team's data: a team's few lists or mailboxes are as cheap to walk as to look up.
    const base = before.find((b) => b[1] === table || b[2] === table)?.[1] ?? table;
    if (!["contacts", "enrollments"].includes(base ?? "")) continue;
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
        .bind(...q.params)
        .all<{ detail: string }>()
    ).results
      .map((r) => r.detail)
      .join("; ");
    if (!new RegExp(`SEARCH ${table} USING (COVERING )?INDEX \\w+ \\(id=\\?\\)`).test(plan))
      out.push(`${plan}\n  in: ${text.slice(0, 220)}`);
  }
  return out;
}

const ids = async (sql: string, ...b: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...b)
      .all<{ id: string }>()
  ).results.map((r) => r.id);

describe("statements given a list of ids", () => {
  let admin: Session;
  let contacts: string[];
  beforeAll(async () => {
    // Statistics as D1 may hold them once teams have thousands of rows (each index led by the team or the
    // sequence: half the table per value, its other columns unselective), loaded: with them SQLite walked a team's contacts
    // for a list of 20 ids, as it did in the bench.
    const stats = await env.DB.prepare(
      "SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl IN ('contacts', 'enrollments', 'lists') AND (idx LIKE '%team%' OR idx LIKE '%sequence%')",
    ).all<{ tbl: string; idx: string; stat: string }>();
    expect(stats.results.length).toBeGreaterThan(3);
    for (const r of stats.results) {
      const columns = r.stat.split(" ").length - 1;
      await env.DB.prepare("UPDATE sqlite_stat1 SET stat = ? WHERE tbl = ? AND idx = ?")
        .bind(["20000", ...Array.from({ length: columns }, (_, i) => (i === columns - 1 ? "1" : "10000"))].join(" "), r.tbl, r.idx)
        .run();
    }
    await env.DB.prepare("ANALYZE sqlite_schema").run();
    admin = await login("admin@demo.test");
    contacts = await ids("SELECT id FROM contacts WHERE team_id = ? AND deleted_at IS NULL ORDER BY id LIMIT 40", DEMO.team);
  });

  it("the add-contacts facts of a chunk read its contacts, not the team's", async () => {
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE team_id = ?").bind(DEMO.team).first<{ n: number }>())!;
    expect(n).toBeGreaterThan(200);
    const seq = (await ids("SELECT id FROM sequences WHERE team_id = ? LIMIT 1", DEMO.team))[0]!;
    counted.reset();
    const factsOf = (d: D1Database, teamId: string, ids: string[]) =>
      loadFacts(
        db(d),
        teamId,
        seq,
        ids.map((contactId) => ({ contactId, personId: null })),
        Date.now(),
      );
    const facts = await factsOf(counted.db, DEMO.team, contacts.slice(0, 20));
    expect(facts.filter((f) => f.found)).toHaveLength(20);
    expect(await walksInsteadOfLookups(counted.count.queries)).toEqual([]);
    // Each contact, its stage, its suppression (two probes: its address and its domain, a blocked domain being
    // '@' + the domain), its enrollments, and the live contacts sharing its address with their stages and open
    // runs here (one address, one run; Do Not Contact is the address's): 13 rows each at most (the team has
    // hundreds here); plus each one's inbound emails, probed by contact for a reply here (the seeded history's replies
    // and out-of-offices are inbound emails too).
    const inbound = (await env.DB.prepare(
      `SELECT count(*) AS n FROM inbound_messages WHERE contact_id IN (${contacts
        .slice(0, 20)
        .map(() => "?")
        .join(",")})`,
    )
      .bind(...contacts.slice(0, 20))
      .first<{ n: number }>())!.n;
    // Each such email costs two rows read (the contact index's entry and the row its columns are checked in).
    expect(counted.count.rowsRead).toBeLessThan(20 * 13 + 2 * inbound);
    // Another team's contact ids find nothing.
    const rival = await factsOf(env.DB, DEMO.rival, contacts.slice(0, 3));
    expect(rival.filter((f) => f.found)).toEqual([]);
  });

  it("bulk actions, list members, saving people, enrollment actions and an add preview look each id up", async () => {
    const list = (await ids("SELECT id FROM lists WHERE team_id = ? LIMIT 1", DEMO.team))[0]!;
    const stage = (await ids("SELECT id FROM contact_stages WHERE team_id = ? LIMIT 1", DEMO.team))[0]!;
    const people = await ids(
      "SELECT p.id FROM people p WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.team_id = ? AND c.person_id = p.id) LIMIT 5",
      DEMO.team,
    );
    counted.reset();
    const some = contacts.slice(0, 10);
    await call(admin, "POST", "/api/contacts/bulk", { action: "change_owner", contact_ids: some, owner_id: DEMO.rep1 });
    await call(admin, "POST", "/api/contacts/bulk", { action: "change_stage", contact_ids: some, stage_id: stage });
    await call(admin, "POST", "/api/contacts/bulk", { action: "add_to_list", contact_ids: some, list_id: list });
    await call(admin, "POST", `/api/lists/${list}/members`, { contact_ids: contacts.slice(10, 20) });
    await call(admin, "POST", "/api/people/save", { people_ids: people, list_id: list });
    await call(admin, "POST", "/api/contacts/bulk", { action: "delete", contact_ids: contacts.slice(30, 32) });
    const [seq, ...picked] = await ids(
      "SELECT sequence_id AS id FROM (SELECT sequence_id, count(*) n FROM enrollments WHERE team_id = ? AND status = 'active' GROUP BY 1 ORDER BY n DESC LIMIT 1)",
      DEMO.team,
    );
    expect(picked).toEqual([]);
    const active = await ids("SELECT id FROM enrollments WHERE sequence_id = ? AND status = 'active' LIMIT 5", seq);
    expect(active).toHaveLength(5);
    await call(admin, "POST", `/api/sequences/${seq}/enrollments/pause`, { enrollment_ids: active });
    await call(admin, "POST", `/api/sequences/${seq}/enrollments/resume`, { enrollment_ids: active });
    // A preview of adding a list: the lists checked by id, then the facts of its contacts.
    await call(admin, "POST", `/api/sequences/${seq}/add-contacts/preview`, { source: { list_ids: [list] } });
    expect(counted.count.queries.length).toBeGreaterThan(10);
    expect(await walksInsteadOfLookups(counted.count.queries)).toEqual([]);
  });
});
