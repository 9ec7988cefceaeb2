import { describe, expect, it } from "vitest";
import {
  ALWAYS_OPEN,
  configFromRow,
  configStatement,
  loadSequenceConfig,
  nextEnabledStep,
  stepInPlaceOf,
  stepOfEnrollment,
  type StepConfig,
} from "../../durable-objects/sequence-config";
import { batchSql, db } from "../../worker/db/client";
import { env } from "../helpers";
import { makeSchedule, makeSequence, makeTeam } from "../fixtures";

// The engine reads a sequence, its steps and its schedule in one statement (sequence-config.ts).
// These pin what it answers: the steps in their current order with their settings, the sequence's own
// schedule before the team's default one, the default when it has none, always open with neither.
describe("loadSequenceConfig", () => {
  it("answers the steps in position order with their settings, and the sequence's own schedule before the team's default", async () => {
    const { teamId, userId } = await makeTeam();
    const own = await makeSchedule(teamId, { timeZone: "Asia/Tokyo", useContactTimeZone: true, holidays: ["2026-12-25"] });
    const fallback = await makeSchedule(teamId, { timeZone: "Europe/Berlin" });
    await env.DB.prepare("UPDATE schedules SET is_default = 1 WHERE id = ?").bind(fallback).run();
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [{ wait: 0 }, { type: "call", wait: 3, unit: "hours", businessDays: true, enabled: false }, { wait: 2, threadReply: true }],
      own,
    );
    // Reordered after creation: the third step first.
    await env.DB.batch([
      env.DB.prepare("UPDATE steps SET position = 10 WHERE id = ?").bind(stepIds[0]),
      env.DB.prepare("UPDATE steps SET position = 0 WHERE id = ?").bind(stepIds[2]),
    ]);
    const cfg = (await loadSequenceConfig(db(env.DB), sequenceId))!;
    expect(cfg).toMatchObject({ id: sequenceId, teamId, ownerId: userId, active: true, archived: false, useContactTimeZone: true });
    expect(cfg.window).toMatchObject({ timeZone: "Asia/Tokyo", holidays: ["2026-12-25"], holidayCalendar: "none" });
    expect(cfg.window.windows["1"]).toEqual([["09:00", "17:00"]]);
    expect(cfg.steps.map((s) => [s.id, s.position])).toEqual([
      [stepIds[2], 0],
      [stepIds[1], 2],
      [stepIds[0], 10],
    ]);
    expect(cfg.steps[0]).toMatchObject({
      type: "auto_email",
      waitAmount: 2,
      waitUnit: "days",
      threadReply: true,
      enabled: true,
      businessDays: false,
    });
    expect(cfg.steps[1]).toMatchObject({
      type: "call",
      waitAmount: 3,
      waitUnit: "hours",
      businessDays: true,
      enabled: false,
      threadReply: false,
    });
  });

  it("falls back to the team's default schedule, then to always open; an unknown sequence is null", async () => {
    const { teamId, userId } = await makeTeam();
    const other = await makeTeam();
    // Another team's default schedule is never this sequence's.
    const foreign = await makeSchedule(other.teamId, { timeZone: "Asia/Tokyo" });
    await env.DB.prepare("UPDATE schedules SET is_default = 1 WHERE id = ?").bind(foreign).run();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const open = (await loadSequenceConfig(db(env.DB), sequenceId))!;
    expect(open).toMatchObject({ active: false, window: ALWAYS_OPEN, useContactTimeZone: false });

    const fallback = await makeSchedule(teamId, { timeZone: "Europe/Berlin" });
    await makeSchedule(teamId, { timeZone: "America/Chicago" });
    await env.DB.prepare("UPDATE schedules SET is_default = 1 WHERE id = ?").bind(fallback).run();
    expect((await loadSequenceConfig(db(env.DB), sequenceId))!.window.timeZone).toBe("Europe/Berlin");

    await env.DB.prepare("UPDATE sequences SET archived_at = 1 WHERE id = ?").bind(sequenceId).run();
    expect((await loadSequenceConfig(db(env.DB), sequenceId))!.archived).toBe(true);
    expect(await loadSequenceConfig(db(env.DB), "no-such-sequence")).toBeNull();
  });

  it("answers the same config in a request's own batch, for the sequence's team only", async () => {
    const { teamId, userId } = await makeTeam();
    const rival = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { type: "call", wait: 1 }], null);
    const [mine, theirs] = await batchSql(db(env.DB), [configStatement(sequenceId, teamId), configStatement(sequenceId, rival.teamId)]);
    expect(configFromRow(mine!.results[0] as Parameters<typeof configFromRow>[0])).toEqual(
      await loadSequenceConfig(db(env.DB), sequenceId),
    );
    expect(theirs!.results).toEqual([]);
  });

  it("answers the sequence's deleted steps with the step that came after each, and no other sequence's", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    const other = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    expect((await loadSequenceConfig(db(env.DB), sequenceId))!.deleted).toEqual({});
    await env.DB.batch([
      env.DB.prepare("INSERT INTO deleted_steps (id, team_id, sequence_id, next_step_id, deleted_at) VALUES ('gone1', ?, ?, ?, 1)").bind(
        teamId,
        sequenceId,
        stepIds[1],
      ),
      env.DB.prepare("INSERT INTO deleted_steps (id, team_id, sequence_id, next_step_id, deleted_at) VALUES ('gone2', ?, ?, NULL, 2)").bind(
        teamId,
        sequenceId,
      ),
      env.DB.prepare("INSERT INTO deleted_steps (id, team_id, sequence_id, next_step_id, deleted_at) VALUES ('gone3', ?, ?, NULL, 3)").bind(
        teamId,
        other.sequenceId,
      ),
    ]);
    expect((await loadSequenceConfig(db(env.DB), sequenceId))!.deleted).toEqual({ gone1: stepIds[1], gone2: null });
  });
});

// Which step a contact is on, and which comes next, when steps have been deleted: a deleted step's place
// is taken by the step that came after it when it was deleted, whatever positions did since. The engine's
// readers of it (a due step, a step's result, the positions D1 shows) all go through these functions;
// test/engine/steps-deleted-or-moved drives them through the API.
describe("a deleted step's place", () => {
  const step = (id: string, position: number, enabled = true): StepConfig => ({
    id,
    position,
    type: "auto_email",
    waitAmount: 0,
    waitUnit: "days",
    businessDays: false,
    enabled,
    threadReply: false,
    note: "",
  });
  // Once A B C D E F; C was deleted (D came after it), then D (E came after it), then A. Positions closed up.
  const cfg = { steps: [step("B", 1), step("E", 2, false), step("F", 3)], deleted: { C: "D", D: "E", A: "B" } };

  it("is the step that came after it, followed through later deletions", () => {
    expect(stepInPlaceOf(cfg, "C")?.id).toBe("E");
    expect(stepInPlaceOf(cfg, "A")?.id).toBe("B");
    expect(stepInPlaceOf(cfg, "B")?.id).toBe("B");
  });

  it("a result of a deleted step leads to the first enabled step from its place, that one included", () => {
    expect(nextEnabledStep(cfg, "A")?.id).toBe("B");
    expect(nextEnabledStep(cfg, "C")?.id).toBe("F");
    expect(nextEnabledStep(cfg, "B")?.id).toBe("F");
  });

  it("nothing follows a step deleted last, whatever its position was", () => {
    const last = { steps: [step("A", 1), step("B", 2)], deleted: { C: null } };
    expect(stepInPlaceOf(last, "C")).toBeNull();
    expect(nextEnabledStep(last, "C", 0)).toBeNull();
    expect(stepOfEnrollment(last, "C", 1)).toBeNull();
  });

  it("a row without its step's id (bound from D1), or one this sequence never kept, is placed by position", () => {
    expect(stepOfEnrollment(cfg, null, 0)?.id).toBe("B");
    expect(stepOfEnrollment(cfg, null, 2)?.id).toBe("E");
    expect(stepOfEnrollment(cfg, "Z", 3)?.id).toBe("F");
    expect(nextEnabledStep(cfg, "Z", 1)?.id).toBe("F");
    expect(nextEnabledStep(cfg, null)?.id).toBe("B");
  });
});
