// An import's data can be deleted (privacy): the file in R2, its preview rows and its row report go;
// the contacts it saved stay. The uploader or an admin may; not while it is saving; a foreign id is 404.
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { ApiError } from "../../worker/lib/errors";
import { deleteImport, type ImportRow } from "../../worker/services/imports/imports";
import { call, client, env, errorOf, ok, savedImport } from "../helpers";
import { addContactsSetup, makeTeam, makeUser, sessionFor } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

const upload = async (s: S, csv: string) =>
  (await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201)).import;
const del = (s: S, id: string) => call(`/api/imports/${id}`, { method: "DELETE", headers: { cookie: s.cookie, "x-csrf-token": s.csrf } });
const count = async (sql: string, ...args: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...args)
    .first<{ n: number }>())!.n;

describe("CSV imports: deleting an import", () => {
  it("deletes the file, the import and its row report; the contacts it saved stay", async () => {
    const { s, teamId } = await addContactsSetup();
    const imp = await upload(s, "Email,First Name\na@x.io,Ann\nnot-an-email,Bad\n");
    await savedImport(s, imp.id);
    const { r2_key } = (await env.DB.prepare("SELECT r2_key FROM imports WHERE id = ?").bind(imp.id).first<{ r2_key: string }>())!;
    expect(await env.IMPORTS.head(r2_key)).not.toBeNull();

    const res = await del(s, imp.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: true });
    expect(await env.IMPORTS.head(r2_key)).toBeNull();
    expect(await count("SELECT count(*) n FROM imports WHERE id = ?", imp.id)).toBe(0);
    expect(await count("SELECT count(*) n FROM import_rows WHERE import_id = ?", imp.id)).toBe(0);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND email = 'a@x.io' AND deleted_at IS NULL", teamId)).toBe(1);
    expect((await del(s, imp.id)).status).toBe(404);
  });

  it("refuses while the import is saving, and keeps everything", async () => {
    const { s } = await addContactsSetup();
    const imp = await upload(s, "Email\na@x.io\n");
    await env.DB.prepare("UPDATE imports SET status = 'saving' WHERE id = ?").bind(imp.id).run();
    const err = await errorOf(await del(s, imp.id));
    expect(err).toMatchObject({ status: 409, code: "conflict" });
    expect(await count("SELECT count(*) n FROM imports WHERE id = ?", imp.id)).toBe(1);
    const { r2_key } = (await env.DB.prepare("SELECT r2_key FROM imports WHERE id = ?").bind(imp.id).first<{ r2_key: string }>())!;
    expect(await env.IMPORTS.head(r2_key)).not.toBeNull();
  });

  it("refuses while an add-contacts job that takes its contacts from it has not run yet", async () => {
    const { s, sequenceId } = await addContactsSetup();
    const imp = await upload(s, "Email\na@x.io\n");
    await savedImport(s, imp.id);
    const body = { source: { import_id: imp.id as string }, add_at: Date.now() + 86_400_000 };
    const { job } = await ok(
      client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: sequenceId }, header: {}, json: body }),
      202,
    );
    expect(job.status).toBe("scheduled");
    const err = await errorOf(await del(s, imp.id));
    expect(err).toMatchObject({ status: 409, code: "conflict", details: { job_id: job.id } });
    expect(await count("SELECT count(*) n FROM import_rows WHERE import_id = ?", imp.id)).toBe(1);
  });

  it("answers 404 to another member of the team and to another team; an admin may delete it", async () => {
    const { s, teamId } = await addContactsSetup();
    const imp = await upload(s, "Email\na@x.io\n");
    const member = await sessionFor(teamId, await makeUser(teamId, "member"));
    expect((await del(member, imp.id)).status).toBe(404);
    const other = await makeTeam();
    expect((await del(await sessionFor(other.teamId, other.userId), imp.id)).status).toBe(404);
    expect(await count("SELECT count(*) n FROM imports WHERE id = ?", imp.id)).toBe(1);
    const admin = await sessionFor(teamId, await makeUser(teamId, "admin"));
    expect((await del(admin, imp.id)).status).toBe(200);
    expect(await count("SELECT count(*) n FROM imports WHERE id = ?", imp.id)).toBe(0);
  });

  // The import as the route read it, then a save (or an add-contacts job) starting before the delete's
  // write: the write refuses, and the file, read before the write, must still be there. Removed first,
  // the 409 left an import whose file was gone (saving it then failed: "no longer stored").
  const staleRow = async (id: string) => (await db(env.DB).query.imports.findFirst({ where: (t, { eq }) => eq(t.id, id) })) as ImportRow;
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => (e instanceof ApiError ? { status: e.status, code: e.code, details: e.details } : e),
    );

  it("refuses (409) when the import started saving after it was read, and keeps its file and rows", async () => {
    const { s } = await addContactsSetup();
    const imp = await upload(s, "Email\na@x.io\n");
    const row = await staleRow(imp.id);
    await env.DB.prepare("UPDATE imports SET status = 'saving' WHERE id = ?").bind(imp.id).run();
    await env.DB.prepare("INSERT INTO import_rows (import_id, row, team_id, outcome) VALUES (?, 2, ?, 'created')")
      .bind(imp.id, row.teamId)
      .run();
    expect(await refusal(deleteImport(env, db(env.DB), row))).toMatchObject({ status: 409, code: "conflict" });
    expect(await env.IMPORTS.head(row.r2Key)).not.toBeNull();
    expect(await count("SELECT count(*) n FROM imports WHERE id = ?", imp.id)).toBe(1);
    expect(await count("SELECT count(*) n FROM import_rows WHERE import_id = ?", imp.id)).toBe(1);
  });

  it("refuses (409) when an add-contacts job takes it as its source between the checks and the write, and keeps its file", async () => {
    const { s, sequenceId } = await addContactsSetup();
    const imp = await upload(s, "Email\na@x.io\n");
    await savedImport(s, imp.id);
    const row = await staleRow(imp.id);
    // The job is made just before the delete's batch runs: a check read before the write can't see it.
    let jobId: string | null = null;
    const racing = new Proxy(env.DB, {
      get(target, key) {
        if (key === "batch")
          return async (statements: D1PreparedStatement[]) => {
            const body = { source: { import_id: imp.id as string }, add_at: Date.now() + 86_400_000 };
            jobId = (
              await ok(client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: sequenceId }, header: {}, json: body }), 202)
            ).job.id;
            return target.batch(statements);
          };
        const v = Reflect.get(target, key) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    expect(await refusal(deleteImport(env, db(racing), row))).toMatchObject({ status: 409, code: "conflict" });
    expect(jobId).not.toBeNull();
    expect(await env.IMPORTS.head(row.r2Key)).not.toBeNull();
    expect(await count("SELECT count(*) n FROM imports WHERE id = ?", imp.id)).toBe(1);
    expect(await count("SELECT count(*) n FROM import_rows WHERE import_id = ?", imp.id)).toBe(1);
  });
});
