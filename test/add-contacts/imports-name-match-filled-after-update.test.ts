// In one part, a row with no email met the email-less Cara by name and queued her update (a title) without an
// address; a later row with her address met her by name too and was said to fill it in, but her update was
// already queued, so the row counted nothing changed and the address was never written, while the summary said
// "address filled in". The later row rebuilds her queued update with the address.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

async function importFile(s: S, csv: string) {
  const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201);
  return savedImport(s, up.id);
}

describe("CSV imports: an email-less contact updated by one row and given an address by a later row", () => {
  it("gets the address, and the counts say what was written", async () => {
    const { s, teamId } = await addContactsSetup();
    await importFile(s, "Email,First Name,Last Name,Company\n,Cara,Diaz,Beta\n");
    const done = await importFile(s, "Email,First Name,Last Name,Company,Title\n,Cara,Diaz,Beta,CEO\ncara@beta.io,Cara,Diaz,Beta,\n");

    const cara = await env.DB.prepare(
      "SELECT count(*) n, max(email) email, max(title) title FROM contacts WHERE team_id = ? AND first_name = 'Cara'",
    )
      .bind(teamId)
      .first();
    expect(cara).toEqual({ n: 1, email: "cara@beta.io", title: "CEO" });
    const imp = await env.DB.prepare("SELECT created, updated, filled, warned, failed FROM imports WHERE id = ?").bind(done.id).first();
    expect(imp).toEqual({ created: 0, updated: 2, filled: 1, warned: 0, failed: 0 });
    const rows = (
      await env.DB.prepare("SELECT row, outcome, column, value FROM import_rows WHERE import_id = ? ORDER BY row").bind(done.id).all()
    ).results;
    expect(rows).toEqual([
      { row: 2, outcome: "updated", column: null, value: null },
      { row: 3, outcome: "updated", column: "email", value: "cara@beta.io" },
    ]);
  });
});
