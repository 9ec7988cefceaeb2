// Rows without an email (first name + last name + company) meet the team's existing contacts by those
// three, whatever their case, as rows with one meet them by email: importing the same email-less file
// twice made every one of its people twice.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

async function importFile(s: S, csv: string) {
  const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201);
  return savedImport(s, up.id);
}

describe("CSV imports: rows without an email", () => {
  it("the same email-less file imported twice makes each contact once; the second import reports them matched", async () => {
    const { s, teamId } = await addContactsSetup();
    const csv = "First Name,Last Name,Company,Title\nGrace,Hopper,Navy,Admiral\nAlan,Turing,Bletchley,\n";
    const first = await importFile(s, csv);
    expect(first).toMatchObject({ status: "ready", saved: 2, created: 2, updated: 0 });
    // Again, in other case and with a title to fill in.
    const second = await importFile(
      s,
      "First Name,Last Name,Company,Title\ngrace,HOPPER,navy,Admiral\nAlan,Turing,Bletchley,Mathematician\n",
    );
    expect(second).toMatchObject({ status: "ready", saved: 2, created: 0, updated: 1 });
    const contacts = await env.DB.prepare(
      "SELECT first_name, last_name, company, title FROM contacts WHERE team_id = ? AND deleted_at IS NULL ORDER BY last_name",
    )
      .bind(teamId)
      .all();
    expect(contacts.results).toEqual([
      { first_name: "Grace", last_name: "Hopper", company: "Navy", title: "Admiral" },
      { first_name: "Alan", last_name: "Turing", company: "Bletchley", title: "Mathematician" },
    ]);
    const outcomes = await env.DB.prepare(
      "SELECT outcome, count(*) n FROM import_rows WHERE import_id = ? GROUP BY outcome ORDER BY outcome",
    )
      .bind(second.id)
      .all();
    expect(outcomes.results).toEqual([
      { outcome: "matched", n: 1 },
      { outcome: "updated", n: 1 },
    ]);
  });
});

describe("CSV imports: an email-less row after the same person with an email", () => {
  it("makes one contact when a row with an email and a later row without one name the same person in one part", async () => {
    const { s, teamId } = await addContactsSetup();
    const done = await importFile(
      s,
      "Email,First Name,Last Name,Company\nbob@x.io,Bob,Smith,Acme\n,bob,SMITH,acme\n,Ann,Smith,Acme\n,Bob,Smith,Other Co\n",
    );
    expect(done).toMatchObject({ status: "ready", created: 3, failed: 1 });
    const contacts = await env.DB.prepare(
      "SELECT email, first_name, company FROM contacts WHERE team_id = ? AND deleted_at IS NULL ORDER BY first_name, company",
    )
      .bind(teamId)
      .all();
    expect(contacts.results).toEqual([
      { email: null, first_name: "Ann", company: "Acme" },
      { email: "bob@x.io", first_name: "Bob", company: "Acme" },
      { email: null, first_name: "Bob", company: "Other Co" },
    ]);
    const row3 = await env.DB.prepare("SELECT outcome, reason FROM import_rows WHERE import_id = ? AND row = 3").bind(done.id).first();
    expect(row3).toEqual({ outcome: "duplicate", reason: "Same contact as row 2" });
  });
});
