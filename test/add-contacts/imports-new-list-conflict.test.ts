// Saving into a new list makes the list only once the import holds its team's saving: made before the
// claim, a 409 (another import of the team saving) left an empty list behind each time it was tried.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

const upload = async (s: S, csv: string) =>
  (await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201)).import;
const listNames = async (teamId: string) =>
  (await env.DB.prepare("SELECT name FROM lists WHERE team_id = ? ORDER BY name").bind(teamId).all()).results.map((r) => r.name);

describe("CSV imports: saving into a new list", () => {
  it("makes no list when another import of the team is saving (409), and makes it once saving starts", async () => {
    const { s, teamId } = await addContactsSetup();
    const other = await upload(s, "Email\nz@x.io\n");
    await env.DB.prepare("UPDATE imports SET status = 'saving', updated_at = ? WHERE id = ?").bind(Date.now(), other.id).run();
    const imp = await upload(s, "Email\na@x.io\nb@x.io\n");
    await ok(client(s).api.imports[":id"].$patch({ param: { id: imp.id }, json: { settings: { list_name: "Fresh leads" } } }));

    const refused = await client(s).api.imports[":id"].save.$post({ param: { id: imp.id } });
    expect(refused.status).toBe(409);
    expect(await listNames(teamId)).toEqual([]);
    const still = await env.DB.prepare("SELECT status FROM imports WHERE id = ?").bind(imp.id).first();
    expect(still).toEqual({ status: "uploaded" });

    await env.DB.prepare("UPDATE imports SET status = 'ready' WHERE id = ?").bind(other.id).run();
    expect(await savedImport(s, imp.id)).toMatchObject({ status: "ready", created: 2 });
    expect(await listNames(teamId)).toEqual(["Fresh leads"]);
    const members = await env.DB.prepare(
      "SELECT c.email FROM list_members m JOIN lists l ON l.id = m.list_id JOIN contacts c ON c.id = m.contact_id WHERE l.team_id = ? AND l.name = 'Fresh leads' ORDER BY c.email",
    )
      .bind(teamId)
      .all();
    expect(members.results).toEqual([{ email: "a@x.io" }, { email: "b@x.io" }]);
  });
});
