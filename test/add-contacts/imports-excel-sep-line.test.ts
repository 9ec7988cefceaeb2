// Excel's "sep=;" first line names the delimiter and is not the header (read as the header, every row
// had "more values than the header" and nothing could be mapped).
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

describe("CSV imports: Excel's sep= line", () => {
  it("takes the delimiter from it, reads the header after it, and saves every row (behind a BOM too)", async () => {
    const { s, teamId } = await addContactsSetup();
    const api = client(s).api;
    const text = "\uFEFFsep=;\r\nEmail;First Name;Company\r\nana@x.io;Ana;Acme, Inc.\r\nbob@x.io;Bob;Globex\r\n";
    const imp = (await ok(api.imports.$post({ form: { file: new File([text], "excel.csv") } }), 201)).import;
    expect(imp.delimiter).toBe(";");
    expect(imp.headers).toEqual(["Email", "First Name", "Company"]);
    expect(imp.row_count).toBe(2);
    expect(imp.sample.map((r) => r.contact?.company)).toEqual(["Acme, Inc.", "Globex"]);
    expect((await savedImport(s, imp.id)).status).toBe("ready");
    const rows = await env.DB.prepare("SELECT email, first_name, company FROM contacts WHERE team_id = ? ORDER BY email")
      .bind(teamId)
      .all();
    expect(rows.results).toEqual([
      { email: "ana@x.io", first_name: "Ana", company: "Acme, Inc." },
      { email: "bob@x.io", first_name: "Bob", company: "Globex" },
    ]);
  });
});
