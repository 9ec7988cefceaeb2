// The contacts export of a sequence: a deleted contact's run stays (the sequence's history) but not who
// they were; before, their name and email were still in the file. Read page by page as the file is.
import { describe, expect, it } from "vitest";
import { bulkInsert } from "../../worker/db/bulk";
import { newId } from "../../worker/lib/ids";
import { client, env, ok } from "../helpers";
import { makeContacts, makeSequence, makeTeam, sessionFor } from "../fixtures";

describe("the contacts export", () => {
  it("leaves a deleted contact's name, email and company blank, across its pages", async () => {
    const { teamId, userId } = await makeTeam("Exports");
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    // More than one page of the export (2,000 runs a page): the deleted contact is on the second.
    const contacts = await makeContacts(teamId, 2001);
    const runs = contacts.map((c, i) => [`run-${String(i).padStart(5, "0")}-${newId()}`, teamId, sequenceId, c, "finished", 1, 1, 1]);
    await bulkInsert(
      env.DB,
      "enrollments",
      ["id", "team_id", "sequence_id", "contact_id", "status", "current_step", "created_at", "updated_at"],
      runs,
    );
    const gone = contacts[2000]!;
    const kept = contacts[0]!;
    const email = async (id: string) =>
      (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(id).first<{ email: string }>())!.email;
    const goneEmail = await email(gone);
    const keptEmail = await email(kept);
    await ok(api.contacts[":id"].$delete({ param: { id: gone } }));

    const text = await (await api.sequences[":id"].contacts.export.$get({ param: { id: sequenceId } })).text();
    const lines = text.trim().split("\r\n");
    expect(lines).toHaveLength(1 + 2001);
    expect(text).toContain(keptEmail);
    expect(text).not.toContain(goneEmail);
    const goneLine = lines.find((l) => l.startsWith(`${gone},`))!;
    expect(goneLine.split(",").slice(0, 6)).toEqual([gone, "", "", "", "", "finished"]);
  });
});
