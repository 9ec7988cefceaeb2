// LinkedIn's Connections.csv (Settings → Data privacy → Get a copy of your data) starts with notes before
// its header. Taken as the header, "Notes:" made a one-column file whose every row had "more values than
// the header". The header is the first of the first lines that names at least two known columns; the
// lines before it are skipped and the preview says so. Ordinary files are read as before.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

const NOTE =
  '"When exporting your connection data, you may notice that some of the email addresses are missing. You will only see email addresses for connections who have allowed their connections to see or download it. You can learn more here: https://www.linkedin.com/help/linkedin/answer/261"';
const linkedin = (eol: string, d = ",") =>
  [
    "Notes:",
    NOTE,
    "",
    ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"].join(d),
    ["John", "Smith", "https://www.linkedin.com/in/jsmith", "", "Acme", "CEO", "01 Dec 2026"].join(d),
    ["Ann", "Lee", "https://www.linkedin.com/in/annlee", "ann@beta.io", "Beta", "CTO", "02 Dec 2026"].join(d),
  ].join(eol) + eol;

async function upload(s: S, csv: string, name = "Connections.csv") {
  return (await ok(client(s).api.imports.$post({ form: { file: new File([csv], name) } }), 201)).import;
}

describe("CSV imports: lines before the header", () => {
  for (const [name, eol] of [
    ["LF", "\n"],
    ["CRLF", "\r\n"],
  ] as const)
    it(`skips LinkedIn's notes (${name}), says so, maps the real header and saves every row`, async () => {
      const { s, teamId } = await addContactsSetup();
      const imp = await upload(s, linkedin(eol));
      expect(imp.headers).toEqual(["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"]);
      expect(imp.mapping).toEqual(["first_name", "last_name", "linkedin_url", "email", "company", "title", null]);
      expect(imp.header_warnings).toContain("Skipped 3 lines before the header");
      expect(imp.row_count).toBe(2);
      expect(imp.blank_rows).toBe(0);
      expect(imp.sample.map((r) => r.contact?.last_name)).toEqual(["Smith", "Lee"]);
      const done = await savedImport(s, imp.id);
      expect(done).toMatchObject({ status: "ready", created: 2, failed: 0 });
      const rows = await env.DB.prepare(
        "SELECT first_name, last_name, email, company, title FROM contacts WHERE team_id = ? ORDER BY last_name",
      )
        .bind(teamId)
        .all();
      expect(rows.results).toEqual([
        { first_name: "Ann", last_name: "Lee", email: "ann@beta.io", company: "Beta", title: "CTO" },
        { first_name: "John", last_name: "Smith", email: null, company: "Acme", title: "CEO" },
      ]);
    });

  it("finds the delimiter from the real header when the notes have none (semicolons, behind a BOM)", async () => {
    const { s } = await addContactsSetup();
    const imp = await upload(s, "\uFEFF" + linkedin("\r\n", ";"));
    expect(imp.delimiter).toBe(";");
    expect(imp.headers[0]).toBe("First Name");
    expect(imp.header_warnings).toContain("Skipped 3 lines before the header");
    expect(imp.row_count).toBe(2);
  });

  it("reads an ordinary file as before, whatever its first row names", async () => {
    const { s } = await addContactsSetup();
    // A header that names no known column, with a data row that does: the data row is no header.
    const odd = await upload(s, "Ref,Notes\n1,hello\nEmail,Company\n2,x\n", "odd.csv");
    expect(odd.headers).toEqual(["Ref", "Notes"]);
    expect(odd.row_count).toBe(3);
    expect(odd.header_warnings).toEqual([]);
    // A one-column file: nothing to look for.
    const single = await upload(s, "Email\na@x.io\nfirst name,company\n", "single.csv");
    expect(single.headers).toEqual(["Email"]);
    expect(single.row_count).toBe(2);
    expect(single.header_warnings).toEqual([]);
    // A title line, then a header of names the mapping doesn't know: no header found, read as before.
    const title = await upload(s, "Our leads\nFoo,Bar\n1,2\n", "title.csv");
    expect(title.headers).toEqual(["Our leads"]);
    expect(title.header_warnings).toEqual([]);
  });
});
