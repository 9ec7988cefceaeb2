// Finding a team's contacts by address: unsubscribes, replies, meetings, saving to a list and CSV imports
// all compare lower(email). contacts_team_email_idx holds lower(email), so each reads the contacts of that
// address, not the team's whole address book, and an address stored in capitals is still the same one.
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { countingD1 } from "../../worker/middleware/d1-count";
import { contactByEmail } from "../../worker/services/contacts";
import { openEnrollmentsOfAddress } from "../../worker/services/enrollments";
import { savePart } from "../../worker/services/imports/process";
import { client, env, ok } from "../helpers";
import { addContactsSetup, enroll, makeContacts, makeMailbox, makeSequence, makeTeam } from "../fixtures";

async function ada(teamId: string) {
  const t = Date.now();
  await env.DB.prepare(
    "INSERT INTO contacts (id, team_id, first_name, last_name, email, created_at, updated_at) VALUES (?, ?, 'Ada', 'Lovelace', 'Ada@Example.COM', ?, ?)",
  )
    .bind(`ada-${teamId}`, teamId, t, t)
    .run();
  return `ada-${teamId}`;
}

describe("contacts by address", () => {
  it("finds a contact by its address in any case, reading only that contact among 3,000", async () => {
    const { teamId } = await makeTeam();
    await makeContacts(teamId, 3_000);
    const id = await ada(teamId);
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const found = await contactByEmail(db(counted.db), teamId, " ada@example.com ");
    expect(found?.id).toBe(id);
    expect(counted.count.rowsRead).toBeLessThan(20);
  });

  it("finds an address's open enrollments from its contact, not by walking the team's 2,000 open enrollments", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const mb = await makeMailbox(teamId, userId);
    const id = await ada(teamId);
    await enroll(teamId, sequenceId, [...(await makeContacts(teamId, 2_000)), id], [mb]);
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const open = await openEnrollmentsOfAddress(db(counted.db), teamId, "ADA@example.com");
    expect(open).toHaveLength(1);
    expect(open[0]!.sequenceId).toBe(sequenceId);
    expect(counted.count.rowsRead).toBeLessThan(20);
  });

  it("a CSV row matches the existing contact whose address was stored in capitals instead of adding a second one", async () => {
    const { s, teamId } = await addContactsSetup();
    const id = await ada(teamId);
    const imp = (
      await ok(
        client(s).api.imports.$post({
          form: { file: new File(["Email,First Name,Last Name,Company\nada@example.com,Ada,Lovelace,Engines\n"], "a.csv") },
        }),
        201,
      )
    ).import;
    const part = (await env.DB.prepare("SELECT parts FROM imports WHERE id = ?").bind(imp.id).first<{ parts: string }>())!;
    const [p] = JSON.parse(part.parts) as { from: number; to: number; row: number }[];
    await env.DB.prepare("UPDATE imports SET status = 'saving', settings = ? WHERE id = ?")
      .bind(JSON.stringify({ match: "fill" }), imp.id)
      .run();
    await savePart(env, { kind: "import_part", importId: imp.id, part: 0, ...p! });
    const rows = (
      await env.DB.prepare("SELECT id, company FROM contacts WHERE team_id = ? AND lower(email) = 'ada@example.com'")
        .bind(teamId)
        .all<{ id: string; company: string | null }>()
    ).results;
    expect(rows).toEqual([{ id, company: "Engines" }]);
  });
});
