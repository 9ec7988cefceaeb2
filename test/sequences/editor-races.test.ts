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

const stepRows = async (id: string) =>
  (
    await env.DB.prepare("SELECT id, position FROM steps WHERE sequence_id = ? ORDER BY position, id")
      .bind(id)
      .all<{ id: string; position: number }>()
  ).results;
const email = { type: "auto_email", variants: [{ subject: "Hi {{first_name}}", body: "Hello" }] };

describe("steps added, deleted and moved at once", () => {
  it("two adds at once: the one that wrote after the other's read answers 409, positions stay 1…n", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}], null, false);
    let other: Response | undefined;
    // The second add runs whole between the first one's read of the steps and its write.
    beforeBatch(/^insert into "steps"/i, async () => {
      other = await as(s, "POST", `/api/sequences/${sequenceId}/steps`, email);
    });
    const res = await as(s, "POST", `/api/sequences/${sequenceId}/steps`, email);
    expect([other!.status, res.status]).toEqual([201, 409]);
    expect(await errorOf(res)).toMatchObject({ code: "conflict", message: "The steps changed meanwhile; reload and try again" });
    const rows = await stepRows(sequenceId);
    expect(rows.length).toBe(2);
    expect(rows[0]!.id).toBe(stepIds[0]);
    expect(rows.map((r) => r.position)).toEqual([1, 2]);
  });

  it("adds at once can't pass the 50-step cap", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(
      teamId,
      userId,
      Array.from({ length: 49 }, () => ({})),
      null,
      false,
    );
    const answers = await Promise.all(Array.from({ length: 6 }, () => as(s, "POST", `/api/sequences/${sequenceId}/steps`, email)));
    expect(answers.filter((a) => a.status === 201).length).toBe(1);
    const rows = await stepRows(sequenceId);
    expect(rows.length).toBe(50);
    expect(rows.map((r) => r.position)).toEqual(rows.map((_, i) => i + 1));
  });

  it("a step deleted while another is inserted mid-sequence: the later write is refused, positions stay 1…n", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}, {}, {}], null, false);
    let deleted = 0;
    beforeBatch(/^insert into "steps"/i, async () => {
      deleted = (await as(s, "DELETE", `/api/sequences/${sequenceId}/steps/${stepIds[0]}`)).status;
    });
    const res = await as(s, "POST", `/api/sequences/${sequenceId}/steps`, { ...email, position: 2 });
    expect([deleted, res.status]).toEqual([200, 409]);
    const rows = await stepRows(sequenceId);
    expect(rows.map((r) => r.id)).toEqual(stepIds.slice(1));
    expect(rows.map((r) => r.position)).toEqual([1, 2]);
  });

  it("a reorder from an earlier read of the steps is refused after a step was added", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}, {}], null, false);
    let added = 0;
    beforeBatch(/^update "steps" set "position"/i, async () => {
      added = (await as(s, "POST", `/api/sequences/${sequenceId}/steps`, email)).status;
    });
    const res = await as(s, "POST", `/api/sequences/${sequenceId}/steps/reorder`, { step_ids: [stepIds[1], stepIds[0]] });
    expect([added, res.status]).toEqual([201, 409]);
    const rows = await stepRows(sequenceId);
    expect(rows.map((r) => r.position)).toEqual([1, 2, 3]);
    expect(rows.slice(0, 2).map((r) => r.id)).toEqual(stepIds);
  });
});

/**
 * A step at the position of another, as adds that raced before their writes were guarded left them. Its id
 * sorts before every other (ids start with their time), so the order the steps were written in (D1's order
 * for a tie) and the order by id disagree.
 */
async function tiedStep(teamId: string, sequenceId: string, position: number) {
  const id = `00${crypto.randomUUID().replace(/-/g, "").slice(0, 22)}`;
  await env.DB.prepare(
    "INSERT INTO steps (id, team_id, sequence_id, position, type, wait_amount, wait_unit, business_days, enabled, thread_reply, note, created_at) VALUES (?, ?, ?, ?, 'task', 1, 'days', 0, 1, 0, '', ?)",
  )
    .bind(id, teamId, sequenceId, position, Date.now())
    .run();
  return id;
}

describe("a sequence with two steps at one position (left by adds that raced)", () => {
  it("takes an add, which numbers the steps 1…n again", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}, {}], null, false);
    const tie = await tiedStep(teamId, sequenceId, 2);
    const res = await as(s, "POST", `/api/sequences/${sequenceId}/steps`, email);
    expect(res.status).toBe(201);
    const rows = await stepRows(sequenceId);
    expect(rows.map((r) => r.position)).toEqual([1, 2, 3, 4]);
    // The tie is kept in the order the editor showed it (position, then id); the new step is last.
    expect(rows.slice(0, 3).map((r) => r.id)).toEqual([stepIds[0], tie, stepIds[1]]);
  });

  it("takes a reorder, which repairs the tie", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}, {}], null, false);
    const tie = await tiedStep(teamId, sequenceId, 2);
    const order = [stepIds[0]!, stepIds[1]!, tie];
    const res = await as(s, "POST", `/api/sequences/${sequenceId}/steps/reorder`, { step_ids: order });
    expect(res.status).toBe(200);
    const rows = await stepRows(sequenceId);
    expect(rows.map((r) => r.id)).toEqual(order);
    expect(rows.map((r) => r.position)).toEqual([1, 2, 3]);
  });
});

type Prepared = { statement: string; all: (this: Prepared) => Promise<unknown> };
const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Prepared;
const all = stmtProto.all;
afterEach(() => {
  stmtProto.all = all;
});

/** Runs `between` once, just before the first statement matching `re` is read with all(). */
function beforeAllRead(re: RegExp, between: () => Promise<unknown>) {
  let armed = true;
  stmtProto.all = async function (this: Prepared) {
    if (armed && re.test(this.statement)) {
      armed = false;
      await between();
    }
    return all.call(this);
  };
}

const labelsOf = async (stepId: string) =>
  (
    await env.DB.prepare("SELECT label FROM step_variants WHERE step_id = ? ORDER BY label").bind(stepId).all<{ label: string }>()
  ).results.map((r) => r.label);

describe("variants added at once", () => {
  it("four adds at once each get their own letter", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}], null, false);
    const answers = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        as(s, "POST", `/api/sequences/${sequenceId}/steps/${stepIds[0]}/variants`, { subject: `S${i}`, body: "Hello" }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
    expect(await labelsOf(stepIds[0]!)).toEqual(["A", "B", "C", "D", "E"]);
  });

  it("adds at once can't pass the 10-variant cap", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const nine = Array.from({ length: 9 }, (_, i) => ({ subject: `V${i}`, body: "Hello" }));
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ variants: nine }], null, false);
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        as(s, "POST", `/api/sequences/${sequenceId}/steps/${stepIds[0]}/variants`, { subject: "S", body: "Hi" }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 422, 422, 422]);
    expect(await labelsOf(stepIds[0]!)).toEqual(["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]);
  });
});

describe("a variant added to a step deleted meanwhile", () => {
  it("answers 404 and leaves no variant of the deleted step", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}, {}], null, false);
    let deleted = 0;
    // The step is deleted between the add's read of the step and its INSERT of the variant.
    beforeAllRead(/insert into step_variants/i, async () => {
      deleted = (await as(s, "DELETE", `/api/sequences/${sequenceId}/steps/${stepIds[1]}`)).status;
    });
    const res = await as(s, "POST", `/api/sequences/${sequenceId}/steps/${stepIds[1]}/variants`, { subject: "S", body: "Hello" });
    expect([deleted, res.status]).toEqual([200, 404]);
    expect(await errorOf(res)).toMatchObject({ code: "not_found", message: "Step not found" });
    expect(await labelsOf(stepIds[1]!)).toEqual([]);
    expect(await labelsOf(stepIds[0]!)).toEqual(["A"]);
  });
});

describe("a copy's name", () => {
  it("of a sequence named with 120 characters is cut to fit, ending in (copy)", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{}], null, false);
    const long = "x".repeat(120);
    await env.DB.prepare("UPDATE sequences SET name = ? WHERE id = ?").bind(long, sequenceId).run();
    const res = await as(s, "POST", `/api/sequences/${sequenceId}/clone`, {});
    expect(res.status).toBe(201);
    const { sequence } = (await res.json()) as { sequence: { id: string } };
    const row = await env.DB.prepare("SELECT name FROM sequences WHERE id = ?").bind(sequence.id).first<{ name: string }>();
    expect(row!.name).toBe(`${"x".repeat(113)} (copy)`);
    expect(row!.name.length).toBe(120);
  });

  it("counts characters as the API's 120 does (UTF-16) and never keeps half an emoji", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{}], null, false);
    await env.DB.prepare("UPDATE sequences SET name = ? WHERE id = ?")
      .bind(`${"x".repeat(112)}😀yyyyy`, sequenceId)
      .run();
    const res = await as(s, "POST", `/api/sequences/${sequenceId}/clone`, {});
    expect(res.status).toBe(201);
    const { sequence } = (await res.json()) as { sequence: { id: string } };
    const row = await env.DB.prepare("SELECT name FROM sequences WHERE id = ?").bind(sequence.id).first<{ name: string }>();
    expect(row!.name).toBe(`${"x".repeat(112)} (copy)`);
  });
});
