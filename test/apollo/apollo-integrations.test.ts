// Contract tests in the request shapes real Apollo integrations send: list and search calls as GET with
// `api_key` in the query string, arrays written `x[]=a` or `x=a&x=b` (or one bare `x=a`), JSON or form
// bodies for writes, the key in the query or in `X-Api-Key`, at both /apollo/v1 and /apollo/api/v1.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeList } from "../fixtures";
import type { apolloCampaign, apolloContacts, apolloPagination } from "../../worker/apollo/present";
import { call, env, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

/** An Apollo answer, typed by the caller from the facade's presenters (the facade is not in AppType). */
const json = async <T>(r: Response) => (await r.json()) as T;
type Contact = Awaited<ReturnType<typeof apolloContacts>>[number];
interface Contacts {
  contacts: Contact[];
}
interface Stage {
  id: string;
  team_id: string;
  name: string;
  display_name: string;
  display_order: number;
  category: string;
}

/** GET `path` on /apollo/v1 with the key and `params` in the query string (arrays as given). */
function get(path: string, key: string, params: [string, string][] = []) {
  const qs = new URLSearchParams([["api_key", key], ...params]);
  return call(`/apollo/v1${path}?${qs}`);
}

beforeEach(() => resetClock());

describe("Apollo integrations that send GET with api_key in the query", () => {
  it("searches sequences, contacts and users by GET, as an automation platform's Apollo component does on its first calls", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const campaigns = await get("/emailer_campaigns/search", key, [
      ["q_name", "Seq"],
      ["per_page", "5"],
    ]);
    expect(campaigns.status).toBe(200);
    const cb = await json<{ emailer_campaigns: ReturnType<typeof apolloCampaign>[]; pagination: ReturnType<typeof apolloPagination> }>(
      campaigns,
    );
    expect(cb.emailer_campaigns.map((s) => s.id)).toEqual([x.sequenceId]);
    expect(cb.pagination).toEqual({ page: 1, per_page: 5, total_entries: 1, total_pages: 1 });

    const ids = await makeContacts(x.teamId, 3);
    const contacts = await json<Contacts>(await get("/contacts/search", key, [["per_page", "100"]]));
    expect(contacts.contacts.map((c) => c.id).sort()).toEqual([...ids].sort());

    const users = await json<{ users: { id: string }[] }>(await get("/users/search", key));
    expect(users.users.map((u) => u.id)).toEqual([x.userId]);
  });

  it("answers every search endpoint the same by GET (query) and by POST (JSON body)", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    await makeContacts(x.teamId, 2);
    const searches: [string, Record<string, string | string[]>][] = [
      ["/emailer_campaigns/search", { q_name: "Seq" }],
      ["/contacts/search", { q_keywords: "a", sort_ascending: "true" }],
      ["/users/search", {}],
      ["/mixed_people/search", { person_seniorities: ["director", "vp"], per_page: "5" }],
      ["/emailer_messages/search", { emailer_campaign_ids: [x.sequenceId] }],
      ["/tasks/search", {}],
    ];
    for (const [path, params] of searches) {
      const query: [string, string][] = Object.entries(params).flatMap(([k, v]) =>
        Array.isArray(v) ? v.map((one): [string, string] => [`${k}[]`, one]) : [[k, v]],
      );
      const byGet = await get(path, key, query);
      const byPost = await call(`/apollo/v1${path}`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify(params),
      });
      expect(byGet.status, `GET ${path}`).toBe(200);
      expect(byPost.status, `POST ${path}`).toBe(200);
      expect(await json<unknown>(byGet), path).toEqual(await json<unknown>(byPost));
    }
  });

  it("reads query arrays written with [], as repeated keys without [], and as one bare value", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [a, b, c] = await makeContacts(x.teamId, 3);
    const l1 = await makeList(x.teamId, x.userId, [a!], "First");
    const l2 = await makeList(x.teamId, x.userId, [b!], "Second");
    await makeList(x.teamId, x.userId, [c!], "Third");
    const found = async (params: [string, string][]) =>
      (await json<Contacts>(await get("/contacts/search", key, params))).contacts.map((r) => r.id).sort();
    expect(
      await found([
        ["label_ids[]", l1],
        ["label_ids[]", l2],
      ]),
    ).toEqual([a, b].sort());
    expect(
      await found([
        ["label_ids", l1],
        ["label_ids", l2],
      ]),
    ).toEqual([a, b].sort());
    expect(await found([["label_ids", l2]])).toEqual([b]);
    // More entries than the field takes is a 422 naming the field, whichever way they are written.
    const many: [string, string][] = Array.from({ length: 101 }, (_, i) => ["label_ids", `l${i}`]);
    const res = await get("/contacts/search", key, many);
    expect(res.status).toBe(422);
    expect(fieldsOf(await errorOf(res))[0]!.field).toBe("label_ids");
  });

  it("lists contact stages (GET contact_stages) with ids that update_stages accepts", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const res = await call("/apollo/api/v1/contact_stages", { headers: { "x-api-key": key } });
    expect(res.status).toBe(200);
    const { contact_stages } = await json<{ contact_stages: Stage[] }>(res);
    expect(contact_stages.map((s) => [s.name, s.display_name, s.display_order, s.category])).toEqual([
      ["Cold", "Cold", 0, "open"],
      ["Do Not Contact", "Do Not Contact", 1, "dnc"],
    ]);
    const [id] = await makeContacts(x.teamId, 1);
    // A form body, as older integrations post it.
    const form = new URLSearchParams([
      ["contact_ids[]", id!],
      ["contact_stage_id", contact_stages[1]!.id],
    ]);
    const staged = await call(`/apollo/v1/contacts/update_stages?api_key=${key}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    expect(staged.status).toBe(200);
    expect((await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?").bind(id).first<{ stage_id: string }>())!.stage_id).toBe(
      contact_stages[1]!.id,
    );
    // Another team's stages never show.
    const other = await addContactsSetup();
    const otherKey = await masterKey(other.teamId, other.userId);
    expect(
      (await json<{ contact_stages: Stage[] }>(await get("/contact_stages", otherKey))).contact_stages.every(
        (s) => s.team_id === other.teamId,
      ),
    ).toBe(true);
  });

  it("answers labels as a bare array", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    await makeList(x.teamId, x.userId, await makeContacts(x.teamId, 1), "Warm");
    const body = await json<unknown>(await get("/labels", key));
    expect(Array.isArray(body)).toBe(true);
    expect(body).toEqual([expect.objectContaining({ name: "Warm", modality: "contacts", cached_count: 1 })]);
  });

  it("creates a contact from a JSON body, reads it back by GET, updates it by PATCH; a foreign id answers 404", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const h = { "x-api-key": key, "content-type": "application/json" };
    const created = await json<{ contact: Contact }>(
      await call("/apollo/v1/contacts", {
        method: "POST",
        headers: h,
        body: JSON.stringify({ first_name: "Ada", last_name: "Lovelace", email: "ada@engine.test", organization_name: "Engines" }),
      }),
    );
    const id = created.contact.id;
    const read = await get(`/contacts/${id}`, key);
    expect(read.status).toBe(200);
    expect((await json<{ contact: Contact }>(read)).contact).toMatchObject({
      id,
      first_name: "Ada",
      email: "ada@engine.test",
      organization_name: "Engines",
    });
    const patched = await call(`/apollo/v1/contacts/${id}`, { method: "PATCH", headers: h, body: JSON.stringify({ title: "Analyst" }) });
    expect(patched.status).toBe(200);
    expect((await env.DB.prepare("SELECT title FROM contacts WHERE id = ?").bind(id).first<{ title: string }>())!.title).toBe("Analyst");
    const other = await addContactsSetup();
    const [foreign] = await makeContacts(other.teamId, 1);
    expect((await get(`/contacts/${foreign}`, key)).status).toBe(404);
  });

  it("shows a member's key only the sequence statuses of sequences that member may see (contacts, search, stages)", async () => {
    const x = await addContactsSetup();
    const [id] = await makeContacts(x.teamId, 1);
    const admin = await masterKey(x.teamId, x.userId);
    // The admin's sequence takes the contact; a member (not shared on it) then reads the contact.
    await call(`/apollo/v1/emailer_campaigns/${x.sequenceId}/add_contact_ids?api_key=${admin}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ contact_ids: [id] }),
    });
    expect((await json<{ contact: Contact }>(await get(`/contacts/${id}`, admin))).contact.emailer_campaign_ids).toEqual([x.sequenceId]);
    const memberId = crypto.randomUUID().replace(/-/g, "").slice(0, 24);
    await env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Member', 'member', 'x', 0)",
    )
      .bind(memberId, x.teamId, `${memberId}@sim.test`)
      .run();
    const { sha256Hex } = await import("../../worker/lib/crypto");
    const member = `s-${crypto.randomUUID()}`;
    await env.DB.prepare(
      "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'member', 'standard', ?, ?, 0)",
    )
      .bind(crypto.randomUUID(), x.teamId, memberId, await sha256Hex(member), member.slice(0, 9))
      .run();
    const seen = [
      (await json<{ contact: Contact }>(await get(`/contacts/${id}`, member))).contact,
      (await json<Contacts>(await get("/contacts/search", member, [["per_page", "100"]]))).contacts.find((c) => c.id === id),
      (
        await json<Contacts>(
          await call(`/apollo/v1/contacts/update_stages?api_key=${member}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ contact_ids: [id], contact_stage_id: `${x.teamId}-cold` }),
          }),
        )
      ).contacts[0],
    ];
    for (const c of seen) {
      expect(c!.id).toBe(id);
      expect(c!.emailer_campaign_ids).toEqual([]);
      expect(c!.contact_campaign_statuses).toEqual([]);
    }
  });

  it("checks the key with auth/health, and says 401 without one", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    expect(await json<unknown>(await get("/auth/health", key))).toEqual({ healthy: true, is_logged_in: true });
    expect((await call("/apollo/v1/auth/health")).status).toBe(401);
  });
});

describe("Apollo parameters we can't apply are refused, never dropped", () => {
  const post = (path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    call(`/apollo/v1${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  it("contacts/search filters by Apollo's contact_label_ids and by label_names (n8n); an unknown filter is a 422, not everyone", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [a, b, c] = await makeContacts(x.teamId, 3);
    const l1 = await makeList(x.teamId, x.userId, [a!], "Webinar");
    await makeList(x.teamId, x.userId, [b!], "Trade show");
    await makeList(x.teamId, x.userId, [c!], "Cold");
    const search = async (params: [string, string][]) => {
      const r = await json<Contacts & { pagination: { total_entries: number } }>(await get("/contacts/search", key, params));
      return { ids: r.contacts.map((x) => x.id), total: r.pagination.total_entries };
    };
    expect(await search([["contact_label_ids[]", l1]])).toEqual({ ids: [a], total: 1 });
    expect(await search([["label_names[]", "Trade show"]])).toEqual({ ids: [b], total: 1 });
    const unknownList = await errorOf(await get("/contacts/search", key, [["label_names[]", "Nope"]]));
    expect(unknownList).toMatchObject({ status: 422, message: 'No list named "Nope"' });
    const unknownFilter = await errorOf(await get("/contacts/search", key, [["contact_email_status_v2[]", "verified"]]));
    expect(unknownFilter.status).toBe(422);
    expect(fieldsOf(unknownFilter).map((f) => f.field)).toEqual(["contact_email_status_v2"]);
  });

  it("a contact's label_names longer than a list name may be are a 422, and no list is made", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const long = "L".repeat(121);
    const res = await call("/apollo/v1/contacts", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: JSON.stringify({ first_name: "Ada", last_name: "L", email: `ada-${crypto.randomUUID()}@x.test`, label_names: [long] }),
    });
    const err = await errorOf(res);
    expect(err.status).toBe(422);
    expect(fieldsOf(err)[0]!.field).toMatch(/^label_names/);
    expect(await env.DB.prepare("SELECT count(*) n FROM lists WHERE team_id = ? AND name = ?").bind(x.teamId, long).first()).toEqual({
      n: 0,
    });
  });

  it("add_contact_ids refuses status 'paused' (nothing enrolled) and rotates over several send_email_from_email_account_id", async () => {
    const x = await addContactsSetup({ mailboxes: [{}, {}] });
    const key = await masterKey(x.teamId, x.userId);
    const ids = await makeContacts(x.teamId, 4);
    const add = (body: Record<string, unknown>) => post(`/emailer_campaigns/${x.sequenceId}/add_contact_ids`, body, { "x-api-key": key });
    const paused = await errorOf(await add({ contact_ids: ids, status: "paused" }));
    expect(paused.status).toBe(422);
    expect(fieldsOf(paused)[0]).toMatchObject({ field: "status", message: expect.stringMatching(/adds contacts active/) });
    const enrolled = () =>
      env.DB.prepare("SELECT mailbox_id, count(*) n FROM enrollments WHERE sequence_id = ? GROUP BY mailbox_id").bind(x.sequenceId).all();
    expect((await enrolled()).results).toEqual([]);
    // Apollo's modifiers that add no condition here are taken (sequence_same_company_in_same_campaign: false is a rule now:
    // test/add-contacts/same-company.test.ts).
    const res = await add({
      contact_ids: ids,
      status: "active",
      send_email_from_email_account_id: x.mailboxIds,
      add_if_in_queue: true,
      contact_verification_skipped: false,
      contacts_without_ownership_permission: true,
      sequence_same_company_in_same_campaign: true,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await enrolled()).results.map((r) => r.mailbox_id).sort()).toEqual([...x.mailboxIds].sort());
  });

  it("mixed_people/search takes any 'min,max' employee range, and refuses a status or filter it can't apply", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    type People = { people: { organization: { estimated_num_employees: number } }[]; pagination: { total_entries: number } };
    const all = await json<People>(
      await post("/mixed_people/search", { per_page: 100, include_similar_titles: true }, { "x-api-key": key }),
    );
    const some = await json<People>(
      await post("/mixed_people/search", { per_page: 100, organization_num_employees_ranges: ["250,500"] }, { "x-api-key": key }),
    );
    expect(some.people.length).toBeGreaterThan(0);
    expect(some.pagination.total_entries).toBeLessThan(all.pagination.total_entries);
    for (const p of some.people) expect(p.organization.estimated_num_employees).toBeGreaterThanOrEqual(250);
    for (const p of some.people) expect(p.organization.estimated_num_employees).toBeLessThanOrEqual(500);
    for (const [body, field] of [
      [{ contact_email_status: ["update required"] }, "contact_email_status"],
      [{ organization_domains: ["acme.com"] }, "organization_domains"],
      [{ organization_num_employees_ranges: ["500,250"] }, "organization_num_employees_ranges"],
    ] as const) {
      const err = await errorOf(await post("/mixed_people/search", body, { "x-api-key": key }));
      expect(err.status, field).toBe(422);
      expect(fieldsOf(err)[0]!.field).toBe(field);
    }
  });

  it("takes api_key from a JSON or form body, as Apollo's documented examples send it", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const byJson = await post("/emailer_campaigns/search", { api_key: key, q_name: "Seq" });
    expect(byJson.status).toBe(200);
    expect((await json<{ emailer_campaigns: { id: string }[] }>(byJson)).emailer_campaigns.map((s) => s.id)).toEqual([x.sequenceId]);
    const byForm = await call("/apollo/v1/emailer_campaigns/search", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ api_key: key, q_name: "Seq" }).toString(),
    });
    expect(byForm.status).toBe(200);
    expect((await errorOf(await post("/emailer_campaigns/search", { api_key: "wrong" }))).status).toBe(401);
  });
});
