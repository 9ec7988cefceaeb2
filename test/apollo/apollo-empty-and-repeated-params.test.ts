// Apollo parameters as clients really send them: an empty array for a filter Seqflare can't apply narrows
// nothing (taken as not sent, not a 422), and a scalar in both the query and the body is the body's
// (`POST contacts/search?page=2` with {"page":1}); only `name[]` keys add up across the two.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeList } from "../fixtures";
import { call, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
type Page = { pagination: { page: number; per_page: number; total_entries: number } };
type People = Page & { people: { id: string }[] };
type Contacts = Page & { contacts: { id: string }[] };

const postJson = (key: string, path: string, body: unknown) =>
  call(`${BASE}${path}`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });
const get = (key: string, path: string) => call(`${BASE}${path}`, { headers: { "x-api-key": key } });

beforeEach(() => resetClock());

describe("an empty array for a filter Seqflare can't apply", () => {
  it("is taken as not sent, in JSON and in the query string; a filled one is still a 422", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const alone = (await (await postJson(key, "/mixed_people/api_search", { person_titles: ["VP of Sales"] })).json()) as People;
    expect(alone.pagination.total_entries).toBeGreaterThan(0);
    const withEmpty = await postJson(key, "/mixed_people/api_search", {
      person_titles: ["VP of Sales"],
      organization_domains: [],
      q_organization_domains_list: [],
      organization_ids: [null, ""],
    });
    expect(withEmpty.status).toBe(200);
    const a = (await withEmpty.json()) as People;
    expect(a.people.map((p) => p.id)).toEqual(alone.people.map((p) => p.id));
    expect(a.pagination.total_entries).toBe(alone.pagination.total_entries);
    const query = await get(key, "/mixed_people/api_search?person_titles[]=VP%20of%20Sales&organization_domains[]=");
    expect(query.status).toBe(200);
    expect(((await query.json()) as People).pagination.total_entries).toBe(alone.pagination.total_entries);

    const filled = await errorOf(
      await postJson(key, "/mixed_people/api_search", { person_titles: ["VP of Sales"], organization_domains: ["acme.com"] }),
    );
    expect(filled.status).toBe(422);
    expect(fieldsOf(filled).map((f) => f.field)).toEqual(["organization_domains"]);
  });

  it("refuses contact_last_activity_date, saying Seqflare keeps no such date", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const err = await errorOf(await postJson(key, "/contacts/search", { sort_by_field: "contact_last_activity_date" }));
    expect(err).toMatchObject({ status: 422, message: expect.stringMatching(/keeps no such date/) });
  });
});

describe("a parameter in both the query string and the body", () => {
  it("takes the body's scalar (page, per_page), and adds up name[] arrays", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [a, b, c] = await makeContacts(x.teamId, 3);
    const l1 = await makeList(x.teamId, x.userId, [a!]);
    const l2 = await makeList(x.teamId, x.userId, [b!]);
    await makeList(x.teamId, x.userId, [c!]);

    const res = await postJson(key, "/contacts/search?page=2&per_page=5", { page: 1, per_page: 2 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Contacts;
    expect(body.pagination).toMatchObject({ page: 1, per_page: 2, total_entries: 3 });
    expect(body.contacts).toHaveLength(2);
    const second = (await (await postJson(key, "/contacts/search?page=1&per_page=2", { page: 2 })).json()) as Contacts;
    expect(second.pagination).toMatchObject({ page: 2, per_page: 2 });
    expect(second.contacts).toHaveLength(1);

    // A form body's contact_label_ids[] adds to the query's.
    const form = await call(`${BASE}/contacts/search?contact_label_ids[]=${l1}`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/x-www-form-urlencoded" },
      body: `contact_label_ids[]=${l2}`,
    });
    expect(form.status).toBe(200);
    expect(((await form.json()) as Contacts).contacts.map((r) => r.id).sort()).toEqual([a, b].sort());
  });
});
