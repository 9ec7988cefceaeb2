// The sequence editor's writes against each other: each was numbered or merged from a read made before
// the write, so two editors at once lost a change, duplicated a position or a variant's letter, or
// passed a cap. Each race is run here by holding one request's write until the other has written.
import { afterEach, describe, expect, it } from "vitest";
import { makeSequence, makeTeam, sessionFor } from "../fixtures";
import { as, env, errorOf } from "../helpers";

type Stmt = { statement: string };
const dbProto = Object.getPrototypeOf(env.DB) as { batch: (this: D1Database, s: Stmt[]) => Promise<unknown> };
const batch = dbProto.batch;
afterEach(() => {
  dbProto.batch = batch;
});

/** Runs `between` once, just before the first D1 batch with a statement matching `re` goes to D1. */
function beforeBatch(re: RegExp, between: () => Promise<unknown>) {
  let armed = true;
  dbProto.batch = async function (this: D1Database, stmts: Stmt[]) {
    if (armed && stmts.some((s) => re.test(s.statement))) {
      armed = false;
      await between();
    }
    return batch.call(this, stmts);
  };
}

const settingsOf = async (id: string) =>
  JSON.parse((await env.DB.prepare("SELECT settings FROM sequences WHERE id = ?").bind(id).first<{ settings: string }>())!.settings);

describe("sequence settings", () => {
  it("two editors changing two settings at once both keep theirs", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId: id } = await makeSequence(teamId, userId, [{}], null, false);
    await env.DB.prepare(`UPDATE sequences SET settings = '{"finish_on_reply":true,"colleague_reply":"nothing"}' WHERE id = ?`)
      .bind(id)
      .run();
    let other = 0;
    // The second PATCH writes between the first one's read and its write.
    beforeBatch(/^update "sequences" set .*"settings"/i, async () => {
      other = (await as(s, "PATCH", `/api/sequences/${id}`, { settings: { colleague_reply: "pause" } })).status;
    });
    const res = await as(s, "PATCH", `/api/sequences/${id}`, { settings: { finish_on_reply: false } });
    expect([res.status, other]).toEqual([200, 200]);
    expect(await settingsOf(id)).toEqual({ finish_on_reply: false, colleague_reply: "pause" });
  });
});
