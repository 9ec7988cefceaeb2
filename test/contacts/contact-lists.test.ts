import { describe, expect, it } from "vitest";
import { client, env, errorOf, ok } from "../helpers";
import { makeContacts, makeList, makeTeam, makeUser, sessionFor } from "../fixtures";

/** GET /api/contacts/{id}/lists: the lists a contact is on, for its profile page. */
describe("a contact's lists", () => {
  it("are the team's lists the contact is on, by name, and follow adding and removing", async () => {
    const { teamId, userId: adminId } = await makeTeam();
    const repId = await makeUser(teamId);
    const [contactId, otherContact] = await makeContacts(teamId, 2);
    const beta = await makeList(teamId, adminId, [contactId!, otherContact!], "Beta");
    const alpha = await makeList(teamId, repId, [contactId!], "Alpha");
    const later = await makeList(teamId, adminId, [otherContact!], "Gamma");
    const rep = client(await sessionFor(teamId, repId)).api;
    const listsOf = async () =>
      (await ok(rep.contacts[":id"].lists.$get({ param: { id: contactId! } }))).lists.map((l) => ({
        id: l.id,
        name: l.name,
        can_manage: l.can_manage,
      }));

    // The rep made Alpha (may rename or delete it), an admin made Beta.
    expect(await listsOf()).toEqual([
      { id: alpha, name: "Alpha", can_manage: true },
      { id: beta, name: "Beta", can_manage: false },
    ]);

    // The list endpoints the profile's Add to list and remove use.
    await ok(rep.lists[":id"].members.$post({ param: { id: later }, json: { contact_ids: [contactId!] } }));
    expect((await listsOf()).map((l) => l.name)).toEqual(["Alpha", "Beta", "Gamma"]);
    await ok(rep.lists[":id"].members.remove.$post({ param: { id: beta }, json: { contact_ids: [contactId!] } }));
    expect((await listsOf()).map((l) => l.name)).toEqual(["Alpha", "Gamma"]);
    // The other contact's memberships were not touched.
    const others = await env.DB.prepare("SELECT list_id FROM list_members WHERE contact_id = ? ORDER BY list_id")
      .bind(otherContact)
      .all<{ list_id: string }>();
    expect(others.results.map((r) => r.list_id)).toEqual([beta, later].sort());
  });

  it("never shows another team's list, and another team's, a deleted or an unknown contact is 404", async () => {
    const a = await makeTeam();
    const b = await makeTeam();
    const [contactId] = await makeContacts(a.teamId, 1);
    const own = await makeList(a.teamId, a.userId, [contactId!], "Ours");
    // A membership row putting our contact in another team's list (no route makes one; the read must not
    // trust the contact id alone).
    const theirs = await makeList(b.teamId, b.userId, [], "Theirs");
    await env.DB.prepare("INSERT INTO list_members (list_id, contact_id, team_id, added_at) VALUES (?, ?, ?, 0)")
      .bind(theirs, contactId, b.teamId)
      .run();
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM list_members WHERE contact_id = ?").bind(contactId).first<{ n: number }>())!.n,
    ).toBe(2);
    const ours = client(await sessionFor(a.teamId, a.userId)).api;
    const got = await ok(ours.contacts[":id"].lists.$get({ param: { id: contactId! } }));
    expect(got.lists.map((l) => l.id)).toEqual([own]);

    const foreign = client(await sessionFor(b.teamId, b.userId)).api;
    const res = await foreign.contacts[":id"].lists.$get({ param: { id: contactId! } });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("not_found");
    expect((await ours.contacts[":id"].lists.$get({ param: { id: "no-such-contact" } })).status).toBe(404);

    await env.DB.prepare("UPDATE contacts SET deleted_at = 1 WHERE id = ?").bind(contactId).run();
    expect((await ours.contacts[":id"].lists.$get({ param: { id: contactId! } })).status).toBe(404);
  });
});
