// A very wide crafted file: its sample and headers, kept as JSON on the import, went past what D1
// stores in a row (control characters escape to six bytes each), and the upload answered 500 with the
// file left in R2. Past a byte budget the upload is a 422 saying why, and nothing is kept.
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { createImport } from "../../worker/services/imports/imports";
import { client, env, errorOf } from "../helpers";
import { crashAt } from "../crash";
import { addContactsSetup } from "../fixtures";

describe("CSV imports: a file too wide to keep a preview of", () => {
  it("answers 422 naming the problem, and stores neither the import nor the file", async () => {
    const { s, teamId } = await addContactsSetup();
    const columns = 500;
    const header = Array.from({ length: columns }, (_, i) => (i === 0 ? "Email" : `c${i}`)).join(",");
    const row = (n: number) => [`a${n}@x.io`, ...Array.from({ length: columns - 1 }, () => "\x01".repeat(500))].join(",");
    // Five rows (the sample's), 500 columns of 500 control characters each.
    const csv = [header, ...[1, 2, 3, 4, 5].map(row)].join("\n") + "\n";
    const res = await client(s).api.imports.$post({ form: { file: new File([csv], "wide.csv") } });
    const err = await errorOf(res);
    expect(err).toMatchObject({ status: 422, code: "invalid_file" });
    expect(err.message).toMatch(/too wide|too long/i);
    expect(await env.DB.prepare("SELECT count(*) n FROM imports WHERE team_id = ?").bind(teamId).first()).toEqual({ n: 0 });
    expect((await env.IMPORTS.list({ prefix: `imports/${teamId}/` })).objects).toEqual([]);
  });

  it("an import whose row can't be written leaves no file behind in R2", async () => {
    const { teamId, userId } = await addContactsSetup();
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };
    const crashed = crashAt(env, 0); // the import's INSERT fails
    await expect(createImport(crashed, db(crashed.DB), caller, new File(["Email\na@x.io\n"], "a.csv"))).rejects.toThrow(
      /insert into "imports"/,
    );
    expect((await env.IMPORTS.list({ prefix: `imports/${teamId}/` })).objects).toEqual([]);
  });
});
