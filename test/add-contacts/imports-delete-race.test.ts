// The guarded delete of an import can be refused by a save or an add-contacts job that ends before the
// refusal is explained: the answer then asks for another try instead of naming a job that is not there.
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { whyNotDeleted, type ImportRow } from "../../worker/services/imports/imports";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

describe("CSV imports: a refused delete explained after the cause ended", () => {
  it("asks to try again, and names no job, when nothing holds the import any more", async () => {
    const { s } = await addContactsSetup();
    const imp = (await ok(client(s).api.imports.$post({ form: { file: new File(["Email\na@x.io\n"], "people.csv") } }), 201)).import;
    await savedImport(s, imp.id);
    const row = (await db(env.DB).query.imports.findFirst({ where: (t, { eq }) => eq(t.id, imp.id) })) as ImportRow;

    const err = await whyNotDeleted(db(env.DB), row);
    expect(err).toMatchObject({ status: 409, code: "conflict", details: { import_id: imp.id } });
    expect(err.message).toMatch(/try deleting it again/);
    expect(err.message).not.toMatch(/still takes its contacts/);
    expect(err.details).not.toHaveProperty("job_id");
  });
});
