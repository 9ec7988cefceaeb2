// A row with an email no contact has is the same person as an email-less one (same first name, last name and
// company) met before it: in this part, in an earlier part, or already in the team. That contact is given the
// address; matched by email alone, "Cara Diaz, Beta Inc" then "cara@beta.io, Cara Diaz, Beta Inc" made Cara twice.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";
import { PART_ROWS } from "../../worker/services/imports/csv";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

async function importFile(s: S, csv: string) {
  const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201);
  return savedImport(s, up.id);
}
const people = async (teamId: string) =>
  (
    await env.DB.prepare(
      "SELECT first_name, last_name, email, email_status, title, phone FROM contacts WHERE team_id = ? AND deleted_at IS NULL ORDER BY first_name, email",
    )
      .bind(teamId)
      .all()
  ).results;

describe("CSV imports: an email-less row before the same person with an email", () => {
  it("makes one contact, given the address, when both rows are in one part", async () => {
    const { s, teamId } = await addContactsSetup();
    const done = await importFile(
      s,
      "Email,First Name,Last Name,Company,Title,Phone\n,Ann,Lee,Acme,,\n,Cara,Diaz,Beta Inc,CTO,\ncara@beta.io,cara,DIAZ,beta inc,CEO,555-0101\n",
    );
    expect(done).toMatchObject({ status: "ready", created: 2, updated: 1, failed: 0 });
    expect(await people(teamId)).toEqual([
      { first_name: "Ann", last_name: "Lee", email: null, email_status: "unavailable", title: null, phone: null },
      { first_name: "Cara", last_name: "Diaz", email: "cara@beta.io", email_status: "unverified", title: "CTO", phone: "555-0101" },
    ]);
  });

  it("gives the address to an email-less contact the team already has, once", async () => {
    const { s, teamId } = await addContactsSetup();
    await importFile(s, "First Name,Last Name,Company\nCara,Diaz,Beta Inc\n");
    const done = await importFile(
      s,
      "Email,First Name,Last Name,Company,Title\ncara@beta.io,Cara,Diaz,Beta Inc,CEO\ncara.d@beta.io,Cara,Diaz,Beta Inc,\n",
    );
    expect(done).toMatchObject({ status: "ready", created: 1, updated: 1 });
    expect(await people(teamId)).toEqual([
      { first_name: "Cara", last_name: "Diaz", email: "cara.d@beta.io", email_status: "unverified", title: null, phone: null },
      { first_name: "Cara", last_name: "Diaz", email: "cara@beta.io", email_status: "unverified", title: "CEO", phone: null },
    ]);
    const byName = await env.DB.prepare("SELECT count(*) n FROM contacts WHERE team_id = ? AND email IS NULL").bind(teamId).first();
    expect(byName).toEqual({ n: 0 });
  });

  it("meets the email-less row of an earlier part", async () => {
    const { s, teamId } = await addContactsSetup();
    const filler = Array.from({ length: PART_ROWS - 1 }, (_, i) => `p${i}@fill.io,P${i},Fill,Fill Co`);
    const csv = ["Email,First Name,Last Name,Company", ",Cara,Diaz,Beta Inc", ...filler, "cara@beta.io,Cara,Diaz,Beta Inc", ""].join("\n");
    const done = await importFile(s, csv);
    expect(done).toMatchObject({ status: "ready", created: PART_ROWS, updated: 1 });
    const cara = await env.DB.prepare("SELECT email FROM contacts WHERE team_id = ? AND first_name = 'Cara' AND deleted_at IS NULL")
      .bind(teamId)
      .all();
    expect(cara.results).toEqual([{ email: "cara@beta.io" }]);
  });
});
