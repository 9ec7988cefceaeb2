// The domain an import guesses from an email (no website column) is for new contacts only: with "fill"
// or "overwrite" it was written onto existing contacts, replacing a real company website with gmail.com.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

async function importFile(s: S, csv: string, match: "fill" | "overwrite") {
  const api = client(s).api;
  const { import: up } = await ok(api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201);
  await ok(api.imports[":id"].$patch({ param: { id: up.id }, json: { settings: { match } } }));
  return savedImport(s, up.id);
}
const domains = async (teamId: string) =>
  (await env.DB.prepare("SELECT email, domain FROM contacts WHERE team_id = ? AND deleted_at IS NULL ORDER BY email").bind(teamId).all())
    .results;

describe("CSV imports: a domain guessed from the email", () => {
  for (const match of ["overwrite", "fill"] as const) {
    it(`is given to new contacts but not written onto existing ones (${match})`, async () => {
      const { s, teamId } = await addContactsSetup();
      await importFile(s, "Email,First Name,Website\nann@gmail.com,Ann,https://acme.io\nbob@gmail.com,Bob,\n", "fill");
      await env.DB.prepare("UPDATE contacts SET domain = NULL WHERE team_id = ? AND email = 'bob@gmail.com'").bind(teamId).run();
      const second = await importFile(s, "Email,First Name,Title\nann@gmail.com,Ann,CEO\nbob@gmail.com,Bob,CTO\ncat@cat.io,Cat,\n", match);
      expect(second).toMatchObject({ status: "ready", created: 1, updated: 2 });
      expect(await domains(teamId)).toEqual([
        { email: "ann@gmail.com", domain: "acme.io" },
        { email: "bob@gmail.com", domain: null },
        { email: "cat@cat.io", domain: "cat.io" },
      ]);
    });
  }

  it("a website given in the file still overwrites an existing contact's domain", async () => {
    const { s, teamId } = await addContactsSetup();
    await importFile(s, "Email,Website\nann@gmail.com,https://acme.io\n", "fill");
    await importFile(s, "Email,Website\nann@gmail.com,www.acme-group.com\n", "overwrite");
    expect(await domains(teamId)).toEqual([{ email: "ann@gmail.com", domain: "acme-group.com" }]);
  });
});
