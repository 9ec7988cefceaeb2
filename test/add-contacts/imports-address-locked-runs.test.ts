// A CSV row with an email no contact has gives that address to the email-less contact of the same name and
// company. A contact running in a sequence the importer can't edit keeps its address as it is (the row says
// so as a warning): that address is where the sequence's next emails go, which only its editors decide, as
// updateContact refuses a member changing it (refuseLockedRuns). Their own sequence's contact gets it.
import { beforeEach, describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";

const contactRow = async (id: string) =>
  (await env.DB.prepare("SELECT email, email_status FROM contacts WHERE id = ?")
    .bind(id)
    .first<{ email: string | null; email_status: string }>())!;

describe("CSV imports: an address for an email-less contact in a sequence the importer can't edit", () => {
  beforeEach(() => startSimulation());

  it("is left as it is, with a warning on its row; a contact of the importer's own sequence is given its address", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const mailbox = await makeMailbox(teamId, admin);
    const member = await makeUser(teamId, "member");
    const { sequenceId: theirs } = await makeSequence(teamId, admin, [{ wait: 5 }], null);
    const { sequenceId: mine } = await makeSequence(teamId, member, [{ wait: 5 }], null);
    await env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'view')")
      .bind(theirs, member, teamId)
      .run();
    const [cara, dan] = await makeContacts(teamId, 2);
    await enroll(teamId, theirs, [cara!], [mailbox]);
    await enroll(teamId, mine, [dan!], [mailbox]);
    const open = await env.DB.prepare("SELECT count(*) n FROM enrollments WHERE contact_id IN (?, ?) AND status IN ('scheduled', 'active')")
      .bind(cara, dan)
      .first<{ n: number }>();
    expect(open!.n).toBe(2);
    const forget = env.DB.prepare(
      "UPDATE contacts SET first_name = ?, last_name = ?, company = ?, email = NULL, email_status = 'unavailable' WHERE id = ?",
    );
    await env.DB.batch([forget.bind("Cara", "Diaz", "Beta Inc", cara), forget.bind("Dan", "Moe", "Beta Inc", dan)]);

    const ms = await sessionFor(teamId, member);
    const csv = "Email,First Name,Last Name,Company,Title\ncara@evil.test,Cara,Diaz,Beta Inc,CEO\ndan@beta.io,Dan,Moe,Beta Inc,CTO\n";
    const { import: up } = await ok(client(ms).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201);
    const done = await savedImport(ms, up.id);
    expect(done).toMatchObject({ status: "ready", created: 0, updated: 2, warned: 1, filled: 1 });

    expect(await contactRow(cara!)).toEqual({ email: null, email_status: "unavailable" });
    expect(await contactRow(dan!)).toEqual({ email: "dan@beta.io", email_status: "unverified" });
    // Still the same person: matched (its title filled), not made twice under the refused address.
    const caras = await env.DB.prepare("SELECT id, title FROM contacts WHERE team_id = ? AND first_name = 'Cara' AND deleted_at IS NULL")
      .bind(teamId)
      .all();
    expect(caras.results).toEqual([{ id: cara, title: "CEO" }]);
    const rows = await env.DB.prepare(
      "SELECT row, contact_id, outcome, column, value, reason FROM import_rows WHERE import_id = ? ORDER BY row",
    )
      .bind(up.id)
      .all<{ row: number; contact_id: string; outcome: string; column: string | null; value: string | null; reason: string | null }>();
    expect(rows.results.map((r) => ({ ...r, row: undefined }))).toEqual([
      {
        row: undefined,
        contact_id: cara,
        outcome: "updated",
        column: "email",
        value: "cara@evil.test",
        reason:
          "Cara Diaz is in a sequence you can't edit, so their email address was left empty; ask the sequence's owner or an admin to add it",
      },
      // Dan is given the address: noted on the row (not a warning: warned stays 1).
      {
        row: undefined,
        contact_id: dan,
        outcome: "updated",
        column: "email",
        value: "dan@beta.io",
        reason: "Matched by name and company to an existing contact with no email address: this address was filled in (no new contact)",
      },
    ]);
  });
});
