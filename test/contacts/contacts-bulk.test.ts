import { beforeEach, describe, expect, it } from "vitest";
import { now, resetClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { as, client, env, errorOf, fieldsOf, ok } from "../helpers";
import { addContactsSetup, makeContacts, makeList, sessionFor } from "../fixtures";
import { REASONS } from "../../durable-objects/engine-types";

type Api = ReturnType<typeof client>["api"];
type Bulk = Parameters<Api["contacts"]["bulk"]["$post"]>[0]["json"];
const bulk = (api: Api, json: Bulk) => api.contacts.bulk.$post({ json });

async function member(teamId: string) {
  const id = newId();
  await env.DB.prepare(
    "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Member', 'member', 'x', ?)",
  )
    .bind(id, teamId, `${id}@sim.test`, now())
    .run();
  const s = await sessionFor(teamId, id);
  return { id, s, api: client(s).api };
}
const ownerOf = async (id: string) =>
  (await env.DB.prepare("SELECT owner_id FROM contacts WHERE id = ?").bind(id).first<{ owner_id: string | null }>())!.owner_id;

beforeEach(() => resetClock());

describe("contacts: bulk actions", () => {
  it("changes the owner contact by contact: a member gives away their own and takes unowned ones, and is refused the others (reported, unchanged)", async () => {
    const x = await addContactsSetup();
    const m = await member(x.teamId);
    const other = await member(x.teamId);
    const [mine, unowned, theirs] = await makeContacts(x.teamId, 3);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(m.id, mine),
      env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(other.id, theirs),
    ]);
    const b = await ok(bulk(m.api, { action: "change_owner", contact_ids: [mine!, unowned!, theirs!, "nope"], owner_id: m.id }));
    expect(b.updated).toBe(2);
    expect(b.refused.map((x) => x.contact_id)).toEqual([theirs]);
    expect(b.refused[0]!.message).toMatch(/owner or an admin/);
    expect(b.not_found).toEqual(["nope"]);
    expect(await ownerOf(mine!)).toBe(m.id);
    expect(await ownerOf(unowned!)).toBe(m.id);
    expect(await ownerOf(theirs!)).toBe(other.id);
    // an admin may give anyone's contact to anyone
    const a = await ok(bulk(client(x.s).api, { action: "change_owner", contact_ids: [theirs!], owner_id: m.id }));
    expect(a).toMatchObject({ updated: 1, refused: [] });
    expect(await ownerOf(theirs!)).toBe(m.id);
  });

  it("changes the stage, adds to a list and removes from it; a foreign list is 404 and a missing field is 422", async () => {
    const x = await addContactsSetup();
    const api = client(x.s).api;
    const ids = await makeContacts(x.teamId, 3);
    const st = await ok(bulk(api, { action: "change_stage", contact_ids: ids, stage_id: `${x.teamId}-dnc` }));
    expect(st.updated).toBe(3);
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM contacts WHERE team_id = ? AND stage_id = ?")
        .bind(x.teamId, `${x.teamId}-dnc`)
        .first<{ n: number }>())!.n,
    ).toBe(3);
    const list = await makeList(x.teamId, x.userId, []);
    const add = await ok(bulk(api, { action: "add_to_list", contact_ids: ids, list_id: list }));
    expect(add).toMatchObject({ updated: 3, already_in_list: 0 });
    // Again: nobody is new to the list, and the answer says so ("3 added" was false).
    expect(await ok(bulk(api, { action: "add_to_list", contact_ids: ids, list_id: list }))).toMatchObject({
      updated: 0,
      already_in_list: 3,
    });
    const rm = await ok(api.lists[":id"].members.remove.$post({ param: { id: list }, json: { contact_ids: [ids[0]!] } }));
    expect(rm).toMatchObject({ removed: 1 });
    expect((await env.DB.prepare("SELECT count(*) n FROM list_members WHERE list_id = ?").bind(list).first<{ n: number }>())!.n).toBe(2);
    const y = await addContactsSetup();
    const foreign = await makeList(y.teamId, y.userId, []);
    expect((await bulk(api, { action: "add_to_list", contact_ids: ids, list_id: foreign })).status).toBe(404);
    // A raw body on purpose: the typed client can't send a change_stage without its stage_id.
    const bad = await as(x.s, "POST", "/api/contacts/bulk", { action: "change_stage", contact_ids: ids });
    expect(bad.status).toBe(422);
    expect(fieldsOf(await errorOf(bad))[0]!.field).toBe("stage_id");
  });

  it("deletes contacts: they leave the contact list, their lists, and can't be opened", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 2);
    const list = await makeList(x.teamId, x.userId, ids);
    const api = client(x.s).api;
    const r = await ok(bulk(api, { action: "delete", contact_ids: [ids[0]!] }));
    expect(r.updated).toBe(1);
    expect((await api.contacts[":id"].$get({ param: { id: ids[0]! } })).status).toBe(404);
    expect((await env.DB.prepare("SELECT count(*) n FROM list_members WHERE list_id = ?").bind(list).first<{ n: number }>())!.n).toBe(1);
  });
});

describe("lists: rename and delete (its owner or an admin)", () => {
  it("two renames to one name at once: one is renamed, the other told the name is taken (it was a 500)", async () => {
    const x = await addContactsSetup();
    const [a, b] = [await makeList(x.teamId, x.userId, []), await makeList(x.teamId, x.userId, [])];
    const name = `Same ${newId()}`;
    const res = await Promise.all([a, b].map((id) => as(x.s, "PATCH", `/api/lists/${id}`, { name })));
    expect(res.map((r) => r.status).sort()).toEqual([200, 422]);
    const refused = await errorOf(res.find((r) => r.status === 422)!);
    expect(fieldsOf(refused)[0]!.field).toBe("name");
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM lists WHERE team_id = ? AND name = ?").bind(x.teamId, name).first<{ n: number }>())!.n,
    ).toBe(1);
  });

  it("two creates of one name at once: one creates it, the other is told the name is taken, never handed the first one's list", async () => {
    const x = await addContactsSetup();
    const m = await member(x.teamId);
    const name = `Race ${newId()}`;
    const res = await Promise.all([as(x.s, "POST", "/api/lists", { name }), as(m.s, "POST", "/api/lists", { name })]);
    expect(res.map((r) => r.status).sort()).toEqual([201, 422]);
    const made = (await res.find((r) => r.status === 201)!.json()) as { list: { id: string; owner_id: string; can_manage: boolean } };
    expect(made.list.can_manage).toBe(true);
    expect([x.userId, m.id]).toContain(made.list.owner_id);
  });

  it("a list deleted while a writer (an import part, a save) is still adding to it gets no members", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 3);
    const list = await makeList(x.teamId, x.userId, [ids[0]!]);
    expect((await as(x.s, "DELETE", `/api/lists/${list}`)).status).toBe(200);
    // The writers insert without reading the list first: here, the one the import and the API share.
    const { addToLists } = await import("../../worker/services/lists");
    const { db } = await import("../../worker/db/client");
    expect(await addToLists(db(env.DB), x.teamId, [list], ids)).toBe(0);
    expect((await env.DB.prepare("SELECT count(*) n FROM list_members WHERE list_id = ?").bind(list).first<{ n: number }>())!.n).toBe(0);
    // Nor can a list of another team's id take members.
    const y = await addContactsSetup();
    const theirs = await makeList(y.teamId, y.userId, []);
    expect(await addToLists(db(env.DB), x.teamId, [theirs], ids)).toBe(0);
  });

  it("says which lists the caller may rename or delete (can_manage): a member only their own, an admin all", async () => {
    const x = await addContactsSetup();
    const m = await member(x.teamId);
    const mine = await makeList(x.teamId, m.id, [], `Mine ${newId()}`);
    const theirs = await makeList(x.teamId, x.userId, [], `Theirs ${newId()}`);
    const asMember = (await (await as(m.s, "GET", "/api/lists?per_page=100")).json()) as { lists: { id: string; can_manage: boolean }[] };
    expect(asMember.lists.find((l) => l.id === mine)!.can_manage).toBe(true);
    expect(asMember.lists.find((l) => l.id === theirs)!.can_manage).toBe(false);
    const one = (await (await as(m.s, "GET", `/api/lists/${theirs}`)).json()) as { list: { can_manage: boolean } };
    expect(one.list.can_manage).toBe(false);
    const asAdmin = (await (await as(x.s, "GET", "/api/lists?per_page=100")).json()) as { lists: { id: string; can_manage: boolean }[] };
    expect(asAdmin.lists.filter((l) => l.id === mine || l.id === theirs).map((l) => l.can_manage)).toEqual([true, true]);
  });

  it("the owner renames and deletes; another member is refused; a clashing name is 422", async () => {
    const x = await addContactsSetup();
    const m = await member(x.teamId);
    const ids = await makeContacts(x.teamId, 2);
    const list = await makeList(x.teamId, m.id, ids, `Mine ${newId()}`);
    const other = await makeList(x.teamId, x.userId, [], `Taken ${newId()}`);
    const lists = m.api.lists[":id"];
    const clash = await lists.$patch({
      param: { id: list },
      json: { name: (await env.DB.prepare("SELECT name FROM lists WHERE id = ?").bind(other).first<{ name: string }>())!.name },
    });
    expect(clash.status).toBe(422);
    const renamed = await lists.$patch({ param: { id: list }, json: { name: "Renamed" } });
    expect(renamed.status).toBe(200);
    expect((await env.DB.prepare("SELECT name FROM lists WHERE id = ?").bind(list).first<{ name: string }>())!.name).toBe("Renamed");
    expect((await lists.$patch({ param: { id: other }, json: { name: "Not mine" } })).status).toBe(403);
    expect((await lists.$delete({ param: { id: other } })).status).toBe(403);
    expect((await lists.$delete({ param: { id: list } })).status).toBe(200);
    expect(await env.DB.prepare("SELECT 1 FROM lists WHERE id = ?").bind(list).first()).toBeNull();
    expect((await env.DB.prepare("SELECT count(*) n FROM list_members WHERE list_id = ?").bind(list).first<{ n: number }>())!.n).toBe(0);
    // the contacts stay
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM contacts WHERE id IN (?, ?) AND deleted_at IS NULL")
        .bind(ids[0], ids[1])
        .first<{ n: number }>())!.n,
    ).toBe(2);
  });
});

describe("a contact's sequences", () => {
  it("lists the sequences the contact is in with their status, only those the caller may see", async () => {
    const x = await addContactsSetup();
    const m = await member(x.teamId);
    const [c] = await makeContacts(x.teamId, 1);
    await env.DB.prepare(
      "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, reason, created_at, updated_at) VALUES (?, ?, ?, ?, 'paused', 'paused_by_user', 0, 0)",
    )
      .bind(newId(), x.teamId, x.sequenceId, c)
      .run();
    const sequencesOf = (api: Api) => api.contacts[":id"].sequences.$get({ param: { id: c! } });
    const r = await ok(sequencesOf(client(x.s).api));
    // The reason in words (as the sequence's contacts tab says it), not its code.
    expect(r.sequences).toEqual([
      expect.objectContaining({
        sequence_id: x.sequenceId,
        status: "paused",
        reason: "paused_by_user",
        reason_text: REASONS.paused_by_user,
      }),
    ]);
    const hidden = await ok(sequencesOf(m.api));
    expect(hidden.sequences).toEqual([]);
    const y = await addContactsSetup();
    expect((await sequencesOf(client(y.s).api)).status).toBe(404);
  });
});

describe("contacts: filters", () => {
  it("lists only a list's members with list_id, and only a stage's contacts with stage_id", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 4);
    const list = await makeList(x.teamId, x.userId, ids.slice(0, 2));
    await env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(`${x.teamId}-dnc`, ids[3]).run();
    const api = client(x.s).api;
    const inList = await ok(api.contacts.$get({ query: { list_id: list } }));
    expect(inList.contacts.map((c) => c.id).sort()).toEqual(ids.slice(0, 2).sort());
    const dnc = await ok(api.contacts.$get({ query: { stage_id: `${x.teamId}-dnc` } }));
    expect(dnc.contacts.map((c) => c.id)).toEqual([ids[3]]);
    // Another team's list (or one deleted since) is not found, not an empty list of members.
    const y = await addContactsSetup();
    expect(await errorOf(await as(y.s, "GET", `/api/contacts?list_id=${list}`))).toMatchObject({ status: 404, message: "List not found" });
    expect((await as(y.s, "GET", `/api/contacts/ids?list_id=${list}`)).status).toBe(404);
    await env.DB.prepare("DELETE FROM lists WHERE id = ?").bind(list).run();
    expect((await as(x.s, "GET", `/api/contacts?list_id=${list}`)).status).toBe(404);
  });
});

describe("contacts: select all matching", () => {
  it("answers the ids of every contact matching the filters (only the caller's team), which a bulk action then takes at once", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 30);
    const list = await makeList(x.teamId, x.userId, ids.slice(0, 12));
    const api = client(x.s).api;
    const r = await ok(api.contacts.ids.$get({ query: { list_id: list } }));
    expect(r).toMatchObject({ total: 12, too_many: false });
    expect([...r.ids].sort()).toEqual(ids.slice(0, 12).sort());
    const all = await ok(api.contacts.ids.$get({ query: { q: "Last1" } }));
    expect(all.ids.length).toBe(11); // Last1, Last10..Last19
    const b = await ok(bulk(api, { action: "change_stage", contact_ids: r.ids, stage_id: `${x.teamId}-dnc` }));
    expect(b.updated).toBe(12);
    const y = await addContactsSetup();
    expect((await client(y.s).api.contacts.ids.$get({ query: { list_id: list } })).status).toBe(404);
  });
});
