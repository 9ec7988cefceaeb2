// Every CSV we write guards formula-like cells (=, +, -, @, tab, CR first) with a leading quote. A user who
// fixed the error report and uploaded it again got phone numbers saved as "'+44 20 …": an upload reads a
// cell the guard made without its quote (the guard's exact inverse), and leaves any other quote alone.
import { describe, expect, it } from "vitest";
import { csvCell, unguardCell } from "../../worker/lib/csv";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

describe("CSV imports: the formula guard's round trip", () => {
  it("saves a fixed report's guarded phone without the quote, and a cell the guard never made as it is", async () => {
    const { s, teamId } = await addContactsSetup();
    // The first upload: a bad email on the row with the phone, so it lands in the report.
    const first = (
      await ok(
        client(s).api.imports.$post({ form: { file: new File(["Email,Phone,Title\nada@@x.io,+44 20 7946 0000,'hello\n"], "people.csv") } }),
        201,
      )
    ).import;
    expect(await savedImport(s, first.id)).toMatchObject({ status: "ready", failed: 1 });
    const report = await (await client(s).api.imports[":id"]["errors.csv"].$get({ param: { id: first.id } })).text();
    expect(report).toContain(",ada@@x.io,'+44 20 7946 0000,'hello");
    // Fixed and uploaded again, as a user does.
    const fixed = report.replace(/^\uFEFF/, "").replaceAll("ada@@x.io", "ada@x.io");
    const again = (await ok(client(s).api.imports.$post({ form: { file: new File([fixed], "fixed.csv") } }), 201)).import;
    expect(again.sample[0]!.contact).toMatchObject({ email: "ada@x.io", phone: "+44 20 7946 0000", title: "'hello" });
    expect(await savedImport(s, again.id)).toMatchObject({ status: "ready", created: 1 });
    const c = await env.DB.prepare("SELECT phone, title FROM contacts WHERE team_id = ? AND email = 'ada@x.io'").bind(teamId).first();
    expect(c).toEqual({ phone: "+44 20 7946 0000", title: "'hello" });
  });

  it("reads a fixed report's guarded header cells without the quote, so its columns keep their names and mapping", async () => {
    const { s, teamId } = await addContactsSetup();
    const first = (
      await ok(
        client(s).api.imports.$post({
          form: { file: new File(["Email,+Phone,=Score,'Note\nada@@x.io,020 7946 0000,7,x\n"], "people.csv") },
        }),
        201,
      )
    ).import;
    expect(first.headers).toEqual(["Email", "+Phone", "=Score", "'Note"]);
    expect(first.mapping).toEqual(["email", "phone", null, null]);
    expect(await savedImport(s, first.id)).toMatchObject({ status: "ready", failed: 1 });
    const report = await (await client(s).api.imports[":id"]["errors.csv"].$get({ param: { id: first.id } })).text();
    // The report guards the header row as it guards every cell.
    expect(report.replace(/^\uFEFF/, "").split("\r\n")[0]).toBe("row,column,value,reason,Email,'+Phone,'=Score,'Note");
    const fixed = report.replace(/^\uFEFF/, "").replaceAll("ada@@x.io", "ada@x.io");
    const again = (await ok(client(s).api.imports.$post({ form: { file: new File([fixed], "fixed.csv") } }), 201)).import;
    // Back as they were in the first file: a header the guard never made ("'Note") keeps its quote.
    expect(again.headers).toEqual(["row", "column", "value", "reason", "Email", "+Phone", "=Score", "'Note"]);
    expect(again.mapping.slice(4)).toEqual(["email", "phone", null, null]);
    expect(await savedImport(s, again.id)).toMatchObject({ status: "ready", created: 1 });
    const c = await env.DB.prepare("SELECT phone FROM contacts WHERE team_id = ? AND email = 'ada@x.io'").bind(teamId).first();
    expect(c).toEqual({ phone: "020 7946 0000" });
  });

  it("gives every cell back as it was written, quotes included", () => {
    const unquote = (c: string) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c);
    for (const v of ["+44 1", "=1+1", "-5", "@x", "\tx", "\rx", "'+44", "''=x", "'hello", "hello", "", "'"]) {
      expect(unguardCell(unquote(csvCell(v)))).toBe(v);
    }
  });
});
