// An Owner column gives each new contact to the teammate it names, if that is an active user of the
// team. One that names a disabled user or nobody was ignored silently (or, disabled, taken): the contact
// now goes to the default owner and the row says so in the summary and the error report.
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup, makeUser } from "../fixtures";

describe("CSV imports: the Owner column", () => {
  it("gives a contact whose Owner is disabled or unknown to the uploader, with a warning; an active owner gets theirs", async () => {
    const { s, teamId, userId } = await addContactsSetup();
    const active = await makeUser(teamId);
    const disabled = await makeUser(teamId);
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(disabled).run();
    const uploader = await env.DB.prepare("SELECT name, email FROM users WHERE id = ?")
      .bind(userId)
      .first<{ name: string; email: string }>();
    const csv = `Email,Owner\na@x.io,${active}@sim.test\nb@x.io,${disabled.toUpperCase()}@SIM.TEST\nc@x.io,jane doe\n`;
    const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File([csv], "owners.csv") } }), 201);
    const done = await savedImport(s, up.id);
    expect(done).toMatchObject({ status: "ready", created: 3, failed: 0, warned: 2 });
    expect(done.summary).toContain(
      "2 contacts saved with a warning: given another owner or none (their Owner, or the default owner, is not an active user of this team)",
    );

    const owners = await env.DB.prepare("SELECT email, owner_id FROM contacts WHERE team_id = ? ORDER BY email").bind(teamId).all();
    expect(owners.results).toEqual([
      { email: "a@x.io", owner_id: active },
      { email: "b@x.io", owner_id: userId },
      { email: "c@x.io", owner_id: userId },
    ]);
    const report = await (await client(s).api.imports[":id"]["errors.csv"].$get({ param: { id: up.id } })).text();
    const owned = `owned by ${uploader!.name} (${uploader!.email})`;
    expect(report).toContain(`3,Owner,${disabled}@sim.test,"Owner '${disabled}@sim.test' is not an active user of this team; ${owned}"`);
    expect(report).toContain(`4,Owner,jane doe,"Owner 'jane doe' is not an active user of this team; ${owned}"`);
    expect(report).not.toContain("a@x.io");
  });
});
