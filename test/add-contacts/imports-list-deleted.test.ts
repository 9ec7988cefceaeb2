// A failed import saved part-way keeps its settings (409 on changes): when the list it adds its contacts to
// was deleted since, saving it again failed the list check (404) for ever. Saving again goes on: the
// remaining parts' contacts are saved into no list, each with a warning in the report and the summary.
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { savePart } from "../../worker/services/imports/process";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup, makeList } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

const upload = async (s: S, csv: string) =>
  (await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201)).import;

describe("CSV imports: a part-saved import whose list was deleted", () => {
  it("saves the remaining rows into no list, each with a warning, instead of a 404 it can't get past", async () => {
    const { s, teamId, userId } = await addContactsSetup();
    // c@x.io is a contact already: matched rows get the warning too (they would have joined the list).
    expect(await savedImport(s, (await upload(s, "Email\nc@x.io\n")).id)).toMatchObject({ status: "ready", created: 1 });
    const listId = await makeList(teamId, userId, [], "Prospects");
    const csv = "Email\na@x.io\nb@x.io\nc@x.io\n";
    const imp = await upload(s, csv);
    await ok(client(s).api.imports[":id"].$patch({ param: { id: imp.id }, json: { settings: { list_id: listId } } }));
    // Two parts: row 2 alone, then rows 3-4. The first was saved (into the list), then saving stopped.
    const parts = [
      { from: 6, to: 13, row: 2 },
      { from: 13, to: csv.length, row: 3 },
    ];
    await env.DB.prepare("UPDATE imports SET parts = ?, status = 'saving' WHERE id = ?")
      .bind(JSON.stringify([parts[0]]), imp.id)
      .run();
    await savePart(env, { kind: "import_part", importId: imp.id, part: 0, ...parts[0]! }, db(env.DB));
    await env.DB.prepare("UPDATE imports SET parts = ?, status = 'failed' WHERE id = ?").bind(JSON.stringify(parts), imp.id).run();
    expect((await env.DB.prepare("SELECT count(*) AS n FROM list_members WHERE list_id = ?").bind(listId).first())!.n).toBe(1);
    await ok(client(s).api.lists[":id"].$delete({ param: { id: listId } }));

    const done = await savedImport(s, imp.id);
    expect(done).toMatchObject({ status: "ready", saved: 3, created: 2, failed: 0, warned: 2 });
    expect(done.summary).toContain("2 contacts saved with a warning");
    expect(done.summary).toContain("in no list (the import's list was deleted while saving)");
    const emails = await env.DB.prepare("SELECT email FROM contacts WHERE team_id = ? AND deleted_at IS NULL ORDER BY email")
      .bind(teamId)
      .all();
    expect(emails.results.map((r) => r.email)).toEqual(["a@x.io", "b@x.io", "c@x.io"]);
    // No members left behind for the list that is gone, nor a list made again.
    expect((await env.DB.prepare("SELECT count(*) AS n FROM list_members WHERE team_id = ?").bind(teamId).first())!.n).toBe(0);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM lists WHERE team_id = ?").bind(teamId).first())!.n).toBe(0);
    const rows = await env.DB.prepare("SELECT row, outcome, reason FROM import_rows WHERE import_id = ? ORDER BY row").bind(imp.id).all();
    const gone = "The list this import adds its contacts to was deleted after saving began; this contact is in no list";
    expect(rows.results).toEqual([
      { row: 2, outcome: "created", reason: null },
      { row: 3, outcome: "created", reason: gone },
      { row: 4, outcome: "matched", reason: gone },
    ]);
    const report = await (await client(s).api.imports[":id"]["errors.csv"].$get({ param: { id: imp.id } })).text();
    expect(report).toContain(`3,,,"${gone}",b@x.io`);
    expect(report).toContain(`4,,,"${gone}",c@x.io`);
  });

  it("still refuses to start saving into a list that is gone when nothing was saved yet", async () => {
    const { s, teamId, userId } = await addContactsSetup();
    const listId = await makeList(teamId, userId, [], "Prospects");
    const imp = await upload(s, "Email\na@x.io\n");
    await ok(client(s).api.imports[":id"].$patch({ param: { id: imp.id }, json: { settings: { list_id: listId } } }));
    await ok(client(s).api.lists[":id"].$delete({ param: { id: listId } }));
    const res = await client(s).api.imports[":id"].save.$post({ param: { id: imp.id } });
    expect(res.status).toBe(404);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE team_id = ?").bind(teamId).first())!.n).toBe(0);
  });
});
