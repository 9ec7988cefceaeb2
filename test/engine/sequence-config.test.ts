import { describe, expect, it } from "vitest";
import { ALWAYS_OPEN, loadSequenceConfig } from "../../durable-objects/sequence-config";
import { db } from "../../worker/db/client";
import { env } from "../helpers";
import { makeSchedule, makeSequence, makeTeam } from "../fixtures";

// The engine reads a sequence, its steps and its schedule in one prepared statement (sequence-config.ts).
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
});
