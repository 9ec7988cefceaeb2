// Turning a sequence on checked its steps (and that it wasn't archived) from a read, and wrote later;
// deleting a step checked the steps on the same way. An editor turning off the only step on while the
// owner turned the sequence on, or two editors deleting its last two steps on, left it on with no step
// on: its held contacts were released and finished "completed all steps" without an email. An archive
// landing between turn-on's read and write left it archived and on. The checks hold in the writes now.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import {
  DAY,
  enroll,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  SIM_START,
  startSimulation,
} from "../fixtures";
import { as, env, errorOf, fieldsOf } from "../helpers";

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

/** Holds each batch deleting a step until two requests have reached theirs (or 2 s passed): both read the steps before either wrote. */
function meetAtStepDeletes() {
  let arrived = 0;
  dbProto.batch = async function (this: D1Database, stmts: Stmt[]) {
    if (stmts.some((s) => /^delete from "steps"/i.test(s.statement.trim()))) {
      arrived++;
      for (const until = Date.now() + 2000; arrived < 2 && Date.now() < until;) await new Promise((r) => setTimeout(r, 5));
    }
    return batch.call(this, stmts);
  };
}

const sequenceRow = (id: string) =>
  env.DB.prepare("SELECT active, archived_at FROM sequences WHERE id = ?").bind(id).first<{ active: number; archived_at: number | null }>();
const stepsOn = async (id: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM steps WHERE sequence_id = ? AND enabled = 1").bind(id).first<{ n: number }>())!.n;

describe("turning a sequence on, against concurrent edits", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  it("an editor turning off its only step on while the owner turns it on: the turn-on is refused (422 on active), its held contacts stay held, nobody is finished unemailed", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, enabled: false }], null, false);
    mailboxId = await makeMailbox(teamId, userId);
    const sent: string[] = [];
    setTransportOverride(mailboxId, { local: true, send: async (e) => (sent.push(e.to), { ok: true, response: "counted" }) });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 2), [mailboxId]);

    // The turn-on has read the steps (step 1 on); before it writes, the editor turns step 1 off (allowed: the sequence is off).
    let stepOff = 0;
    beforeBatch(/^update "sequences" set/i, async () => {
      stepOff = (await as(s, "PATCH", `/api/sequences/${sequenceId}/steps/${stepIds[0]}`, { enabled: false })).status;
    });
    const res = await as(s, "PATCH", `/api/sequences/${sequenceId}`, { active: true });
    expect(stepOff).toBe(200);
    const err = await errorOf(res);
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("active");
    expect(await sequenceRow(sequenceId)).toMatchObject({ active: 0 });
    expect(await stepsOn(sequenceId)).toBe(0);

    await runUntil(SIM_START + 3 * DAY);
    const rows = (
      await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?")
        .bind(sequenceId)
        .all<{ status: string; reason: string }>()
    ).results;
    expect(rows).toEqual([
      { status: "held", reason: "sequence_inactive" },
      { status: "held", reason: "sequence_inactive" },
    ]);
    expect(sent).toEqual([]);
  });

  it("archived between the turn-on's read and its write: the turn-on is refused (409), the sequence stays archived and off", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    let archived = 0;
    beforeBatch(/^update "sequences" set/i, async () => {
      archived = (await as(s, "POST", `/api/sequences/${sequenceId}/archive`)).status;
    });
    const err = await errorOf(await as(s, "PATCH", `/api/sequences/${sequenceId}`, { active: true }));
    expect(archived).toBe(200);
    expect(err).toMatchObject({ status: 409, code: "conflict", message: expect.stringMatching(/Unarchive it first/) });
    const row = await sequenceRow(sequenceId);
    expect(row!.active).toBe(0);
    expect(row!.archived_at).not.toBeNull();
    // The refused change wrote nothing, its audit entry included.
    const audits = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE target_id = ? AND action = 'sequence.update'")
      .bind(sequenceId)
      .first<{ n: number }>();
    expect(audits!.n).toBe(0);
  });
});

describe("deleting steps of an active sequence, two editors at once", () => {
  beforeEach(() => startSimulation());

  it("each deleting one of its last two steps on: one is refused (422 on step), one step stays", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    meetAtStepDeletes();
    const answers = await Promise.all(stepIds.map((id) => as(s, "DELETE", `/api/sequences/${sequenceId}/steps/${id}`)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 422]);
    const refused = await errorOf(answers.find((r) => r.status === 422)!);
    expect(refused.code).toBe("validation_failed");
    expect(fieldsOf(refused)[0]!.field).toBe("step");
    expect(await stepsOn(sequenceId)).toBe(1);
    // The refused delete left its step whole: its variants, its place, no deleted_steps row.
    const left = await env.DB.prepare(
      "SELECT s.id, s.position, (SELECT count(*) FROM step_variants v WHERE v.step_id = s.id) AS variants FROM steps s WHERE s.sequence_id = ?",
    )
      .bind(sequenceId)
      .first<{ id: string; position: number; variants: number }>();
    expect(left).toMatchObject({ position: 1, variants: 1 });
    const deleted = await env.DB.prepare("SELECT count(*) AS n FROM deleted_steps WHERE sequence_id = ?")
      .bind(sequenceId)
      .first<{ n: number }>();
    expect(deleted!.n).toBe(1);
  });
});
