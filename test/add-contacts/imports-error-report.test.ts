// The rejected-rows report is a file a user can fix and upload again: each row's own cells follow its
// reason, read back from the stored file (across parts), and it starts with a UTF-8 BOM as every other
// report does (Excel on Windows otherwise reads "Müller" as ANSI).
import { describe, expect, it } from "vitest";
import { client, countD1Statements, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

describe("CSV imports: the error report", () => {
  it("starts with a BOM and gives each rejected row's own cells under the file's headers, in every part", async () => {
    const { s } = await addContactsSetup();
    const lines = ["Email,Name,Company"];
    for (let i = 0; i < 5_001; i++) lines.push(`p${i}@x.io,P${i} Müller,Co`);
    lines[3] = 'not-an-email,Zoë Müller,"Acme, Inc"'; // row 4
    lines.push("p3@x.io,Again,Co"); // row 5003, in the second part: the same contact as row 5
    const csv = lines.join("\r\n") + "\r\n";
    const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201);
    expect(up.progress.parts).toBe(2);
    const done = await savedImport(s, up.id);
    expect(done).toMatchObject({ status: "ready", failed: 2 });

    const res = await client(s).api.imports[":id"]["errors.csv"].$get({ param: { id: up.id } });
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder().decode(bytes.subarray(3));
    expect(text.split("\r\n")).toEqual([
      "row,column,value,reason,Email,Name,Company",
      '4,Email,not-an-email,Not a valid email address,not-an-email,Zoë Müller,"Acme, Inc"',
      "5003,,p3@x.io,Same contact as row 5,p3@x.io,Again,Co",
      "",
    ]);
  });

  it("reads import_rows once for a 100-part import with errors in one part (it read once per part, and once more for that part)", async () => {
    const { s } = await addContactsSetup();
    const header = "Email,Name\n";
    const lines = Array.from({ length: 100 }, (_, i) => (i === 49 ? "bad-address,Zoë\n" : `p${i}@x.io,P${i}\n`));
    const csv = header + lines.join("");
    const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201);
    // One row per part: 100 parts (the file is ASCII but for "ë", two bytes).
    const bytes = (t: string) => new TextEncoder().encode(t).length;
    let from = bytes(header);
    const parts = lines.map((l, i) => {
      const p = { from, to: from + bytes(l), row: i + 2 };
      from = p.to;
      return p;
    });
    await env.DB.prepare("UPDATE imports SET parts = ? WHERE id = ?").bind(JSON.stringify(parts), up.id).run();
    const done = await savedImport(s, up.id);
    expect(done).toMatchObject({ status: "ready", failed: 1, progress: { parts: 100, parts_done: 100 } });

    const reads = countD1Statements(/from "import_rows"/i);
    try {
      const text = await (await client(s).api.imports[":id"]["errors.csv"].$get({ param: { id: up.id } })).text();
      expect(text.replace(/^\uFEFF/, "").split("\r\n")).toEqual([
        "row,column,value,reason,Email,Name",
        "51,Email,bad-address,Not a valid email address,bad-address,Zoë",
        "",
      ]);
    } finally {
      reads.restore();
    }
    expect(reads.n).toBe(1);
  });
});
