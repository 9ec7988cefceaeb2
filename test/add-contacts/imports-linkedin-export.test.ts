// LinkedIn's Connections export calls each person's profile link "URL": taken as the company's website,
// every contact's domain became linkedin.com and enrichment made up addresses there.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

const LINKEDIN_HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On";

async function upload(s: S, csv: string) {
  return (await ok(client(s).api.imports.$post({ form: { file: new File([csv], "Connections.csv") } }), 201)).import;
}

describe("CSV imports: profile links are not company websites", () => {
  it("maps LinkedIn's URL column to LinkedIn URL, not to the company domain", async () => {
    const { s, teamId } = await addContactsSetup();
    const imp = await upload(s, `${LINKEDIN_HEADER}\nJane,Doe,https://www.linkedin.com/in/janedoe,,Acme,CEO,01 Jan 2024\n`);
    expect(imp.mapping[2]).toBe("linkedin_url");
    expect(imp.mapping).not.toContain("domain");
    expect(imp.sample[0]!.contact).toMatchObject({ domain: null, linkedin_url: "https://www.linkedin.com/in/janedoe" });
    const saved = await savedImport(s, imp.id);
    expect(saved).toMatchObject({ status: "ready", created: 1 });
    const row = await env.DB.prepare("SELECT domain, linkedin_url FROM contacts WHERE team_id = ? AND last_name = 'Doe'")
      .bind(teamId)
      .first();
    expect(row).toEqual({ domain: null, linkedin_url: "https://www.linkedin.com/in/janedoe" });
  });

  it("a website column holding a profile link gives the email's domain instead", async () => {
    const { s } = await addContactsSetup();
    const imp = await upload(
      s,
      "Email,First Name,Website\njane@acme.io,Jane,linkedin.com/company/acme\nbob@beta.io,Bob,https://x.com/bob\ncat@gamma.io,Cat,https://www.gamma-corp.com/about\n",
    );
    expect(imp.mapping).toEqual(["email", "first_name", "domain"]);
    expect(imp.sample.map((r) => r.contact!.domain)).toEqual(["acme.io", "beta.io", "gamma-corp.com"]);
  });
});
