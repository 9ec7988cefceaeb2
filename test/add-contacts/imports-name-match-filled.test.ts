// A row whose email no contact has, met by name and company to an email-less contact of the team, gives that
// contact its address. It was counted as "updated" and said nowhere, so the user could not tell a contact
// filled in from one changed otherwise (or from a new one): it is counted apart (filled), said in the summary
// and noted on its row in the report, without being a warning.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

async function importFile(s: S, csv: string) {
  const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201);
  return savedImport(s, up.id);
}

describe("CSV imports: a contact matched by name and company and given its address", () => {
  it("is counted and said apart from the other updates, and noted on its row in the report", async () => {
    const { s, teamId } = await addContactsSetup();
    await importFile(s, "Email,First Name,Last Name,Company\n,Cara,Diaz,Beta Inc\nbob@stone.io,Bob,Stone,Stone Co\n");
    const done = await importFile(
      s,
      "Email,First Name,Last Name,Company,Title\ncara@beta.io,Cara,Diaz,Beta Inc,CEO\nbob@stone.io,Bob,Stone,Stone Co,CTO\nnew@person.io,New,Person,N Co,\n",
    );
    expect(done).toMatchObject({ status: "ready", saved: 3, created: 1, updated: 2, filled: 1, warned: 0, failed: 0 });
    expect(done.summary).toBe("3 contacts ready (1 new, 1 updated, 1 matched by name and company (address filled in), 0 unchanged)");

    // Read again from D1: the count, and the row's note (the address it gave, on the email column).
    const imp = await env.DB.prepare("SELECT created, updated, filled, warned FROM imports WHERE id = ?").bind(done.id).first();
    expect(imp).toEqual({ created: 1, updated: 2, filled: 1, warned: 0 });
    const rows = (
      await env.DB.prepare("SELECT row, outcome, column, value, reason FROM import_rows WHERE import_id = ? ORDER BY row")
        .bind(done.id)
        .all()
    ).results;
    expect(rows).toEqual([
      {
        row: 2,
        outcome: "updated",
        column: "email",
        value: "cara@beta.io",
        reason: "Matched by name and company to an existing contact with no email address: this address was filled in (no new contact)",
      },
      { row: 3, outcome: "updated", column: null, value: null, reason: null },
      { row: 4, outcome: "created", column: null, value: null, reason: null },
    ]);
    const cara = await env.DB.prepare("SELECT count(*) n, max(email) email FROM contacts WHERE team_id = ? AND first_name = 'Cara'")
      .bind(teamId)
      .first();
    expect(cara).toEqual({ n: 1, email: "cara@beta.io" });

    // The per-row report (download) lists it with its note, and not the plain update.
    const report = await (await client(s).api.imports[":id"]["errors.csv"].$get({ param: { id: done.id } })).text();
    const lines = report
      .replace(/^\uFEFF/, "")
      .trim()
      .split(/\r?\n/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^2,email,cara@beta\.io,Matched by name and company to an existing contact with no email address/);
  });

  it("an import that fills nobody in says nothing of it", async () => {
    const { s } = await addContactsSetup();
    const done = await importFile(s, "Email,First Name,Last Name,Company\nann@lee.io,Ann,Lee,Acme\n");
    expect(done).toMatchObject({ created: 1, filled: 0 });
    expect(done.summary).toBe("1 contacts ready (1 new, 0 updated, 0 unchanged)");
  });
});
