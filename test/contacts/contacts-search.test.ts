import { describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { makeTeam, sessionFor } from "../fixtures";
import { client, env, ok } from "../helpers";

// "Name, email or company contains" on the Contacts page: what matches. The search reads one joined,
// lowercased text per contact (contacts_team_search_idx, migrations 0016, 0049); these hold it to matching
// exactly what a search of the full name ("first last") and of each other field on its own matches.

async function contact(
  teamId: string,
  c: { first: string; last: string; email: string | null; company: string | null; deleted?: boolean },
) {
  const id = newId();
  const t = now();
  await env.DB.prepare(
    "INSERT INTO contacts (id, team_id, first_name, last_name, email, company, created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  )
    .bind(id, teamId, c.first, c.last, c.email, c.company, t, t, c.deleted ? t : null)
    .run();
  return id;
}

async function setup() {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const ids = {
    ann: await contact(teamId, { first: "Ann", last: "Lee", email: "ann.lee@northwind.test", company: "Northwind Traders" }),
    bob: await contact(teamId, { first: "Bob", last: "Marsh", email: null, company: null }),
    cara: await contact(teamId, { first: "Cara", last: "O'Neil", email: "CARA@Fabrikam.TEST", company: "Fabrikam" }),
    gone: await contact(teamId, { first: "Annette", last: "Gone", email: null, company: null, deleted: true }),
  };
  const search = async (q: string) => {
    const r = await ok(api.contacts.$get({ query: { q, per_page: "100" } }));
    expect(r.pagination.total_entries, `total of "${q}"`).toBe(r.contacts.length);
    return r.contacts.map((c) => c.id).sort();
  };
  return { teamId, ids, search };
}

describe("contacts search", () => {
  it("finds a contact by part of its first name, last name, email or company, in any letter case", async () => {
    const { ids, search } = await setup();
    expect(await search("ann")).toEqual([ids.ann]);
    expect(await search("MARS")).toEqual([ids.bob]);
    expect(await search("fabrikam.test")).toEqual([ids.cara]);
    expect(await search("northwind TRAD")).toEqual([ids.ann]);
    expect(await search("'ne")).toEqual([ids.cara]);
  });

  it("finds contacts with no email or company by their name, and never by the missing fields", async () => {
    const { ids, search } = await setup();
    expect(await search("bob")).toEqual([ids.bob]);
    expect(await search("null")).toEqual([]);
  });

  it("finds a contact by its full name, first name then last name", async () => {
    const { ids, search } = await setup();
    expect(await search("ann lee")).toEqual([ids.ann]);
    expect(await search("Bob Marsh")).toEqual([ids.bob]);
    expect(await search("n l")).toEqual([ids.ann]);
  });

  it("never matches text that runs across two fields", async () => {
    const { search } = await setup();
    expect(await search("annlee")).toEqual([]);
    expect(await search("lee ann")).toEqual([]);
    expect(await search("leeann")).toEqual([]);
    expect(await search("lee ann.lee")).toEqual([]);
    expect(await search("marsh null")).toEqual([]);
    // The joining character itself: looked up field by field, so still nothing across fields.
    expect(await search("Ann\u0001Lee")).toEqual([]);
  });

  it("leaves out deleted contacts and other teams' contacts", async () => {
    const { ids, search } = await setup();
    const other = await makeTeam();
    await contact(other.teamId, { first: "Annabel", last: "Other", email: "ann@other.test", company: "Other" });
    expect(await search("ann")).toEqual([ids.ann]);
  });
});
