// Files under imports/ that no import points to (a crash between deleting an import's row and its file, or
// between an upload's put and its insert) are removed by the cron once a day old. A file with an import stays,
// and so does a young one (an upload in progress has put its file and not yet inserted its row).
import { afterEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { resetClock, setClock } from "../../worker/lib/clock";
import { ORPHAN_FILE_AGE_MS, sweepOrphanImportFiles } from "../../worker/services/imports/imports";
import { runCron } from "../../worker/cron";
import { newId } from "../../worker/lib/ids";
import { client, env, ok } from "../helpers";
import { addContactsSetup } from "../fixtures";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keysUnder = async (prefix: string) => (await env.IMPORTS.list({ prefix })).objects.map((o) => o.key).sort();
const orphan = async (teamId: string) => {
  const key = `imports/${teamId}/${newId()}.csv`;
  await env.IMPORTS.put(key, "Email\na@x.io\n");
  return key;
};

afterEach(() => resetClock());

describe("CSV imports: sweeping files no import points to", () => {
  it("removes an old file with no import; keeps one with an import, a young one, and a key of another shape", async () => {
    const { s, teamId } = await addContactsSetup();
    const prefix = `imports/${teamId}/`;
    const withRow = (await ok(client(s).api.imports.$post({ form: { file: new File(["Email\na@x.io\n"], "people.csv") } }), 201)).import;
    const kept = (await env.DB.prepare("SELECT r2_key FROM imports WHERE id = ?").bind(withRow.id).first<{ r2_key: string }>())!.r2_key;
    // A deleted import's row, its file left behind (the crash between deleteImport's two writes).
    const gone = (await ok(client(s).api.imports.$post({ form: { file: new File(["Email\nb@x.io\n"], "b.csv") } }), 201)).import;
    const goneKey = (await env.DB.prepare("SELECT r2_key FROM imports WHERE id = ?").bind(gone.id).first<{ r2_key: string }>())!.r2_key;
    await env.DB.prepare("DELETE FROM imports WHERE id = ?").bind(gone.id).run();
    const old = await orphan(teamId);
    const odd = `${prefix}notes.txt`;
    await env.IMPORTS.put(odd, "x");
    await pause(30);
    const mid = Date.now();
    await pause(30);
    const young = await orphan(teamId);

    // A day after `mid`: the files put before it are a day old, the young one is not.
    setClock(mid + ORPHAN_FILE_AGE_MS);
    const r = await sweepOrphanImportFiles(env, db(env.DB), { prefix });
    expect(r.deleted.sort()).toEqual([goneKey, old].sort());
    expect(await keysUnder(prefix)).toEqual([kept, odd, young].sort());
    // The import's file still reads.
    expect(await (await env.IMPORTS.get(kept))!.text()).toBe("Email\na@x.io\n");

    // A day later the young one is old too and goes; the import's file stays.
    setClock(Date.now() + ORPHAN_FILE_AGE_MS + 60_000);
    expect((await sweepOrphanImportFiles(env, db(env.DB), { prefix })).deleted).toEqual([young]);
    expect(await keysUnder(prefix)).toEqual([kept, odd].sort());
  });

  it("lists a bounded number of keys a tick and goes on from the last one next tick", async () => {
    const { teamId } = await addContactsSetup();
    const prefix = `imports/${teamId}/`;
    const keys = [await orphan(teamId), await orphan(teamId), await orphan(teamId)].sort();
    setClock(Date.now() + ORPHAN_FILE_AGE_MS + 60_000);
    const first = await sweepOrphanImportFiles(env, db(env.DB), { prefix, pageSize: 1, pages: 2 });
    expect(first).toEqual({ listed: 2, deleted: keys.slice(0, 2) });
    expect(await keysUnder(prefix)).toEqual(keys.slice(2));
    expect(await (await env.IMPORTS.get(`sweep-cursors/${prefix}`))!.text()).toBe(keys[1]);
    const second = await sweepOrphanImportFiles(env, db(env.DB), { prefix, pageSize: 1, pages: 2 });
    expect(second).toEqual({ listed: 1, deleted: keys.slice(2) });
    expect(await keysUnder(prefix)).toEqual([]);
    // Listed to its end: the next tick starts from the top again.
    expect(await env.IMPORTS.head(`sweep-cursors/${prefix}`)).toBeNull();
  });

  it("runs on the cron", async () => {
    const { teamId } = await addContactsSetup();
    const old = await orphan(teamId);
    setClock(Date.now() + ORPHAN_FILE_AGE_MS + 60_000);
    // The whole bucket, a few pages a tick: ticks until this team's file was reached.
    for (let i = 0; i < 20 && (await env.IMPORTS.head(old)); i++) {
      await runCron({ scheduledTime: Date.now(), cron: "* * * * *", noRetry() {} } as ScheduledController, env).catch(() => {});
    }
    expect(await env.IMPORTS.head(old)).toBeNull();
  });
});
