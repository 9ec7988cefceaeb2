// Reading a file's text: a field valid as UTF-8 is read as UTF-8 even when some other byte of the file
// isn't (one stray Windows-1252 byte turned every accented name into mojibake), and the preview's
// cells are cut at a character boundary (a cut inside "€" said the valid file was not UTF-8).
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
const upload = async (s: S, body: BlobPart) =>
  (await ok(client(s).api.imports.$post({ form: { file: new File([body], "people.csv") } }), 201)).import;

describe("CSV imports: text encodings", () => {
  it("reads a UTF-8 file with one Windows-1252 byte field by field: José and André", async () => {
    const { s, teamId } = await addContactsSetup();
    const enc = new TextEncoder();
    const bytes = new Uint8Array([
      ...enc.encode("Email,First Name\nana@x.io,Jos"),
      0xc3,
      0xa9,
      ...enc.encode("\nbob@x.io,Andr"),
      0xe9,
      ...enc.encode("\n"),
    ]);
    const imp = await upload(s, bytes);
    expect(imp.sample.map((r) => r.contact?.first_name)).toEqual(["José", "André"]);
    expect((await savedImport(s, imp.id)).status).toBe("ready");
    const names = await env.DB.prepare("SELECT email, first_name FROM contacts WHERE team_id = ? ORDER BY email").bind(teamId).all();
    expect(names.results).toEqual([
      { email: "ana@x.io", first_name: "José" },
      { email: "bob@x.io", first_name: "André" },
    ]);
  });

  it("previews a long cell of multi-byte characters, cut at a character boundary", async () => {
    const { s } = await addContactsSetup();
    // 200 × "€" = 600 bytes of UTF-8: byte 500 falls inside a character.
    const imp = await upload(s, `Email,Company\nana@x.io,${"€".repeat(200)}\n`);
    expect(imp.encoding).toBe("utf-8");
    expect(imp.sample[0]).toMatchObject({ ok: true, reason: null });
    expect(imp.sample[0]!.contact!.company).toBe("€".repeat(166));
  });
});
