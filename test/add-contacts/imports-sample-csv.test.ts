// The downloadable sample CSV goes back in as it came out: its phone "+44 …" was written with the
// export's formula guard ("'+44 …") and saved that way on the contact.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

describe("CSV imports: the sample file", () => {
  it("uploaded and saved as downloaded, makes a contact with the phone as written", async () => {
    const { s, teamId } = await addContactsSetup();
    const api = client(s).api;
    const text = await (await api.imports["sample.csv"].$get()).text();
    const { import: imp } = await ok(api.imports.$post({ form: { file: new File([text], "sample.csv") } }), 201);
    expect(imp.sample[0]!.contact!.phone).toBe("+44 20 7946 0000");
    expect((await savedImport(s, imp.id)).status).toBe("ready");
    const contact = await env.DB.prepare("SELECT email, phone, first_name, company FROM contacts WHERE team_id = ?").bind(teamId).first();
    expect(contact).toEqual({ email: "ada@example.com", phone: "+44 20 7946 0000", first_name: "Ada", company: "Analytical Engines Ltd" });
  });
});
