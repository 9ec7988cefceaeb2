import { describe, expect, it } from "vitest";
import { client, env, errorOf, withKey } from "../helpers";
import { makeTeam, makeUser, sessionFor } from "../fixtures";

// Giving a contact to another user is its owner's or an admin's call (contact.reassign). Creating a contact
// owned by someone else is giving it to them: a member or a standard key could do it at creation.

async function standardKey(teamId: string, userId: string) {
  const { sha256Hex } = await import("../../worker/lib/crypto");
  const key = `s-${crypto.randomUUID()}`;
  await env.DB.prepare(
    "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'std', 'standard', ?, ?, 0)",
  )
    .bind(crypto.randomUUID(), teamId, userId, await sha256Hex(key), key.slice(0, 9))
    .run();
  return key;
}

const ownerOf = (teamId: string, email: string) =>
  env.DB.prepare("SELECT owner_id FROM contacts WHERE team_id = ? AND email = ?").bind(teamId, email).first<{ owner_id: string | null }>();

describe("who a new contact may belong to", () => {
  it("a member creates contacts for themself, not for others; an admin may create them for anyone", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const member = await makeUser(teamId, "member");
    const asMember = client(await sessionFor(teamId, member)).api;
    const refused = await asMember.contacts.$post({ json: { first_name: "A", email: "a@x.test", owner_id: admin } });
    expect(await errorOf(refused)).toMatchObject({ status: 403, code: "forbidden" });
    expect(await ownerOf(teamId, "a@x.test")).toBeNull();
    expect((await asMember.contacts.$post({ json: { first_name: "B", email: "b@x.test", owner_id: member } })).status).toBe(201);
    expect(await ownerOf(teamId, "b@x.test")).toEqual({ owner_id: member });
    const asAdmin = client(await sessionFor(teamId, admin)).api;
    expect((await asAdmin.contacts.$post({ json: { first_name: "C", email: "c@x.test", owner_id: member } })).status).toBe(201);
    expect(await ownerOf(teamId, "c@x.test")).toEqual({ owner_id: member });
  });

  it("a standard key creates contacts for its creator only, through the API and Apollo's facade", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const member = await makeUser(teamId, "member");
    const key = await standardKey(teamId, admin);
    const viaApollo = await withKey(key, "POST", "/apollo/v1/contacts", { first_name: "E", email: "e@x.test", owner_id: member });
    expect(viaApollo.status).toBe(403);
    const res = await withKey(key, "POST", "/api/contacts", { first_name: "D", email: "d@x.test", owner_id: member });
    expect(await errorOf(res)).toMatchObject({ status: 403 });
    expect(await ownerOf(teamId, "d@x.test")).toBeNull();
    expect(await ownerOf(teamId, "e@x.test")).toBeNull();
    expect((await withKey(key, "POST", "/api/contacts", { first_name: "F", email: "f@x.test" })).status).toBe(201);
    expect(await ownerOf(teamId, "f@x.test")).toEqual({ owner_id: admin });
  });
});

describe("a disabled user as a contact's owner", () => {
  it("is refused on create, edit and bulk change with a 422 naming owner_id; a contact they own still saves", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const gone = await makeUser(teamId, "member");
    const api = client(await sessionFor(teamId, admin)).api;
    const owned = await api.contacts.$post({ json: { first_name: "G", email: "g@x.test", owner_id: gone } });
    expect(owned.status).toBe(201);
    const id = ((await owned.json()) as { contact: { id: string } }).contact.id;
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(gone).run();

    const create = await api.contacts.$post({ json: { first_name: "H", email: "h@x.test", owner_id: gone } });
    expect(await errorOf(create)).toMatchObject({
      status: 422,
      details: { fields: [{ field: "owner_id", message: "This user is disabled" }] },
    });
    expect(await ownerOf(teamId, "h@x.test")).toBeNull();

    const other = await api.contacts.$post({ json: { first_name: "I", email: "i@x.test" } });
    const otherId = ((await other.json()) as { contact: { id: string } }).contact.id;
    const patch = await api.contacts[":id"].$patch({ param: { id: otherId }, json: { owner_id: gone } });
    expect(await errorOf(patch)).toMatchObject({ status: 422, details: { fields: [{ field: "owner_id" }] } });
    const bulk = await api.contacts.bulk.$post({ json: { action: "change_owner", contact_ids: [otherId], owner_id: gone } });
    expect(await errorOf(bulk)).toMatchObject({ status: 422, details: { fields: [{ field: "owner_id" }] } });
    expect(await ownerOf(teamId, "i@x.test")).toEqual({ owner_id: admin });

    // The edit form sends back the owner a contact has: a contact of the disabled user can still be fixed.
    expect((await api.contacts[":id"].$patch({ param: { id }, json: { owner_id: gone, title: "CFO" } })).status).toBe(200);
  });
});
