// Match mode "leave" leaves existing contacts as they are. A row with an email no contact has, whose name and
// company are an email-less contact's, still gave that contact the file's address: the name match wrote to an
// existing contact the importer had asked not to touch. Under "leave" the row is matched by email only.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

async function importFile(s: S, csv: string, match?: "leave" | "fill") {
  const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201);
  if (match) await ok(client(s).api.imports[":id"].$patch({ param: { id: up.id }, json: { settings: { match } } }));
  return savedImport(s, up.id);
}

describe("CSV imports with match mode leave", () => {
  it("gives no address to an email-less contact met by name and company", async () => {
    const { s, teamId } = await addContactsSetup();
    await importFile(s, "First Name,Last Name,Company,Title\nCara,Diaz,Beta Inc,CTO\n");
    const before = await env.DB.prepare(
      "SELECT id, email, email_status, title, updated_at FROM contacts WHERE team_id = ? AND email IS NULL",
    )
      .bind(teamId)
      .first();
    const done = await importFile(s, "Email,First Name,Last Name,Company,Title\ncara@beta.io,Cara,Diaz,Beta Inc,CEO\n", "leave");
    expect(done).toMatchObject({ status: "ready", updated: 0 });
    // The email-less contact is exactly as it was.
    const after = await env.DB.prepare("SELECT id, email, email_status, title, updated_at FROM contacts WHERE id = ?")
      .bind(before!.id)
      .first();
    expect(after).toEqual(before);
    expect(after).toMatchObject({ email: null, email_status: "unavailable", title: "CTO" });
    const row = await env.DB.prepare("SELECT outcome, contact_id FROM import_rows WHERE import_id = ?").bind(done.id).first();
    expect(row).toMatchObject({ outcome: "created" });
    expect(row!.contact_id).not.toBe(before!.id);
  });
});
