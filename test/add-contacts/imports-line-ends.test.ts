// The upload's scan (row count, parts, preview) and saving a part read line ends the same way: the
// scan took the first line's end for the whole file, so a CRLF header over LF rows counted one row
// (saving then read them all), and a CRLF file without a final line end previewed its last row's
// quoted values with their quotes.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";
import { scanCsv } from "../../worker/services/imports/csv";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

async function upload(s: S, csv: string) {
  return (await ok(client(s).api.imports.$post({ form: { file: new File([csv], "contacts.csv") } }), 201)).import;
}
const saved = async (teamId: string) =>
  (await env.DB.prepare("SELECT email, company FROM contacts WHERE team_id = ? AND deleted_at IS NULL ORDER BY email").bind(teamId).all())
    .results;

describe("CSV imports: line ends", () => {
  it("counts, previews and saves every row of a file with a CRLF header and LF rows", async () => {
    const { s, teamId } = await addContactsSetup();
    const imp = await upload(s, "Email,Company\r\na@x.io,Alpha\nb@x.io,Beta\nc@x.io,Gamma\n");
    expect(imp.row_count).toBe(3);
    expect(imp.sample.map((r) => r.contact?.email)).toEqual(["a@x.io", "b@x.io", "c@x.io"]);
    const done = await savedImport(s, imp.id);
    expect(done).toMatchObject({ status: "ready", created: 3, failed: 0 });
    expect(await saved(teamId)).toEqual([
      { email: "a@x.io", company: "Alpha" },
      { email: "b@x.io", company: "Beta" },
      { email: "c@x.io", company: "Gamma" },
    ]);
  });

  it("reads the quoted last row of a CRLF file without a final line end as saving does", async () => {
    const { s, teamId } = await addContactsSetup();
    const imp = await upload(s, 'Email,Company\r\na@x.io,"Alpha"\r\n"b@x.io","Beta"');
    expect(imp.row_count).toBe(2);
    expect(imp.sample.map((r) => [r.ok, r.contact?.email, r.contact?.company])).toEqual([
      [true, "a@x.io", "Alpha"],
      [true, "b@x.io", "Beta"],
    ]);
    const done = await savedImport(s, imp.id);
    expect(done).toMatchObject({ status: "ready", created: 2, failed: 0 });
    expect(await saved(teamId)).toEqual([
      { email: "a@x.io", company: "Alpha" },
      { email: "b@x.io", company: "Beta" },
    ]);
  });

  it("a CRLF split between two chunks of the upload ends one row, not two", async () => {
    const enc = new TextEncoder();
    const chunks = ["Email,Company\r", "\na@x.io,Alpha\r", "\nb@x.io,Beta\r", "\n"].map((c) => enc.encode(c));
    const stream = new ReadableStream<Uint8Array>({
      pull(ctl) {
        const c = chunks.shift();
        if (c) ctl.enqueue(c);
        else ctl.close();
      },
    });
    const scan = await scanCsv(stream);
    expect({ rows: scan.rowCount, blank: scan.blankRows, sample: scan.rawSample }).toEqual({
      rows: 2,
      blank: 0,
      sample: [
        ["a@x.io", "Alpha"],
        ["b@x.io", "Beta"],
      ],
    });
  });
});
