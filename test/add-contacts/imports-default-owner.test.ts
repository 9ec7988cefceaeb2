// An import's default owner (chosen when mapping, or the uploader) was not checked again when its parts
// were saved: disabled in between, they were given every new contact. Each part checks them again, as it
// checks an Owner column's users: the contacts go to the uploader (or, disabled too, to nobody), and each
// is counted and reported with a warning. A failed import saved part-way can be saved again to finish
// (its settings can no longer change, so a 422 on its owner left it stuck).
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { savePart } from "../../worker/services/imports/process";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup, makeUser, sessionFor } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

const upload = async (s: S, csv: string) =>
  (await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201)).import;
const disable = (userId: string) => env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(userId).run();
const ownersOf = async (teamId: string) =>
  (await env.DB.prepare("SELECT email, owner_id FROM contacts WHERE team_id = ? ORDER BY email").bind(teamId).all()).results;
const userLabel = async (id: string) => {
  const u = (await env.DB.prepare("SELECT name, email FROM users WHERE id = ?").bind(id).first<{ name: string; email: string }>())!;
  return { label: `${u.name} (${u.email})`, email: u.email };
};
const report = async (s: S, id: string) => (await client(s).api.imports[":id"]["errors.csv"].$get({ param: { id } })).text();

describe("CSV imports: the default owner is checked again when saving", () => {
  it("gives the contacts to the uploader, with a warning, when the chosen owner is disabled after saving started", async () => {
    const { s, teamId, userId } = await addContactsSetup();
    const owner = await makeUser(teamId);
    const imp = await upload(s, "Email,Owner\na@x.io,\nb@x.io,nobody@x.io\n");
    await ok(client(s).api.imports[":id"].$patch({ param: { id: imp.id }, json: { settings: { owner_id: owner } } }));
    await env.DB.prepare("UPDATE imports SET status = 'saving' WHERE id = ?").bind(imp.id).run();
    await disable(owner);
    const { parts } = (await env.DB.prepare("SELECT parts FROM imports WHERE id = ?").bind(imp.id).first<{ parts: string }>())!;
    const [p] = JSON.parse(parts) as { from: number; to: number; row: number }[];
    await savePart(env, { kind: "import_part", importId: imp.id, part: 0, ...p! }, db(env.DB));

    expect(await ownersOf(teamId)).toEqual([
      { email: "a@x.io", owner_id: userId },
      { email: "b@x.io", owner_id: userId },
    ]);
    const done = (await ok(client(s).api.imports[":id"].$get({ param: { id: imp.id } }))).import;
    expect(done).toMatchObject({ status: "ready", created: 2, warned: 2 });
    expect(done.summary).toContain(
      "2 contacts saved with a warning: given another owner or none (their Owner, or the default owner, is not an active user",
    );
    const chosen = await userLabel(owner);
    const uploader = await userLabel(userId);
    const text = await report(s, imp.id);
    expect(text).toContain(
      `2,,${chosen.email},"The default owner ${chosen.label} is not an active user of this team; owned by ${uploader.label}"`,
    );
    expect(text).toContain(
      `3,Owner,nobody@x.io,"Owner 'nobody@x.io' is not an active user of this team, and the default owner ${chosen.label} is not an active user of this team; owned by ${uploader.label}"`,
    );
  });

  it("leaves the contacts without an owner, with a warning, when the uploader (the default owner) is disabled and an admin saves", async () => {
    const { s: admin, teamId } = await addContactsSetup();
    const member = await makeUser(teamId, "member");
    const imp = await upload(await sessionFor(teamId, member), "Email\na@x.io\n");
    await disable(member);
    const done = await savedImport(admin, imp.id);
    expect(done).toMatchObject({ status: "ready", created: 1, warned: 1 });
    expect(await ownersOf(teamId)).toEqual([{ email: "a@x.io", owner_id: null }]);
    const m = await userLabel(member);
    expect(await report(admin, imp.id)).toContain(
      `2,,${m.email},"The default owner ${m.label} is not an active user of this team; left without an owner"`,
    );
  });

  it("saves again a failed import whose chosen owner was disabled since, instead of a 422 it can't get past", async () => {
    const { s, teamId, userId } = await addContactsSetup();
    const owner = await makeUser(teamId);
    const imp = await upload(s, "Email\na@x.io\nb@x.io\n");
    await ok(client(s).api.imports[":id"].$patch({ param: { id: imp.id }, json: { settings: { owner_id: owner } } }));
    // Two parts of one row each; the first was saved (by the chosen owner), then saving stopped.
    const csv = "Email\na@x.io\nb@x.io\n";
    const parts = [
      { from: 6, to: 13, row: 2 },
      { from: 13, to: csv.length, row: 3 },
    ];
    // Saved as a file of the first part alone (savePart would go on to the second), then given both.
    await env.DB.prepare("UPDATE imports SET parts = ?, status = 'saving' WHERE id = ?")
      .bind(JSON.stringify([parts[0]]), imp.id)
      .run();
    await savePart(env, { kind: "import_part", importId: imp.id, part: 0, ...parts[0]! }, db(env.DB));
    await env.DB.prepare("UPDATE imports SET parts = ?, status = 'failed' WHERE id = ?").bind(JSON.stringify(parts), imp.id).run();
    await disable(owner);

    const done = await savedImport(s, imp.id);
    expect(done).toMatchObject({ status: "ready", created: 2, warned: 1 });
    expect(await ownersOf(teamId)).toEqual([
      { email: "a@x.io", owner_id: owner },
      { email: "b@x.io", owner_id: userId },
    ]);
  });
});
