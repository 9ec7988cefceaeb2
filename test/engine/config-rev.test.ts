// A sequence's config_rev (migration 0033): D1's triggers move it whenever what the engine reads of the
// sequence changes, whoever writes, and a mailbox's report reads it in the write it makes anyway. A
// SequenceDO applies a report with the config it has when the numbers match, and reads its config again
// when they don't: before, every report (one per batch of sends) read the config from D1.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { client, countD1Statements, env, ok } from "../helpers";
import {
  DAY,
  HOUR,
  SIM_START,
  enroll,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

const rev = async (sequenceId: string) =>
  (await env.DB.prepare("SELECT config_rev AS r FROM sequences WHERE id = ?").bind(sequenceId).first<{ r: number }>())!.r;

/** The D1 statements that load a sequence's config (loadSequenceConfig), counted across the isolate. */
const countConfigLoads = () => countD1Statements(/s\.config_rev,\s+\(SELECT json_group_array/);

describe("a sequence's config_rev", () => {
  it("moves on every change the engine's config reads, whoever writes it, and not on others", async () => {
    const { teamId, userId } = await makeTeam();
    const other = await makeTeam();
    const scheduleId = await makeSchedule(teamId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], scheduleId);
    const api = client(await sessionFor(teamId, userId)).api;
    const moves = async (what: string, change: () => Promise<unknown>) => {
      const before = await rev(sequenceId);
      await change();
      return [what, (await rev(sequenceId)) > before];
    };
    const run =
      (q: string, ...v: unknown[]) =>
      () =>
        env.DB.prepare(q)
          .bind(...v)
          .run();
    const results = [
      await moves("a step's wait, through the API", () =>
        ok(api.sequences[":id"].steps[":stepId"].$patch({ param: { id: sequenceId, stepId: stepIds[1]! }, json: { wait_amount: 3 } })),
      ),
      await moves("a step turned off", run("UPDATE steps SET enabled = 0 WHERE id = ?", stepIds[1])),
      await moves("a step added, through the API", () =>
        ok(
          api.sequences[":id"].steps.$post({
            param: { id: sequenceId },
            json: { type: "call", wait_amount: 1, wait_unit: "days", note: "Call them" },
          }),
          201,
        ),
      ),
      await moves("a step deleted, through the API", () =>
        ok(api.sequences[":id"].steps[":stepId"].$delete({ param: { id: sequenceId, stepId: stepIds[1]! } })),
      ),
      await moves("a deleted step's place recorded", run("INSERT INTO deleted_steps VALUES ('ds-x', ?, ?, NULL, 1)", teamId, sequenceId)),
      await moves("the sequence turned off", run("UPDATE sequences SET active = 0 WHERE id = ?", sequenceId)),
      await moves("the sequence archived", run("UPDATE sequences SET archived_at = 5 WHERE id = ?", sequenceId)),
      await moves("a team schedule's windows", run("UPDATE schedules SET windows = '{}' WHERE id = ?", scheduleId)),
      await moves("another schedule chosen", run("UPDATE sequences SET schedule_id = NULL WHERE id = ?", sequenceId)),
      await moves("another owner", run("UPDATE sequences SET owner_id = 'someone' WHERE id = ?", sequenceId)),
      await moves("a team schedule made the default", run("UPDATE schedules SET is_default = 1 WHERE id = ?", scheduleId)),
      await moves("a team schedule deleted", run("DELETE FROM schedules WHERE id = ?", scheduleId)),
      await moves(
        "a new team schedule made the default",
        run(
          "INSERT INTO schedules (id, team_id, name, time_zone, windows, holidays, holiday_calendar, use_contact_time_zone, is_default, created_at) VALUES ('sc-new', ?, 'New', 'UTC', '{}', '[]', 'none', 0, 1, 0)",
          teamId,
        ),
      ),
      // What the config does not read:
      await moves("the sequence renamed", run("UPDATE sequences SET name = 'Renamed', updated_at = 9 WHERE id = ?", sequenceId)),
      await moves("the sequence's settings", run(`UPDATE sequences SET settings = '{"x":1}' WHERE id = ?`, sequenceId)),
      await moves("the sequence turned off again", run("UPDATE sequences SET active = 0 WHERE id = ?", sequenceId)),
      await moves("a variant's text", run("UPDATE step_variants SET subject = 'New' WHERE step_id = ?", stepIds[0])),
      await moves("another team's schedule", () => makeSchedule(other.teamId)),
      await moves("a new team schedule, not the default", () => makeSchedule(teamId)),
    ];
    expect(results).toEqual([
      ["a step's wait, through the API", true],
      ["a step turned off", true],
      ["a step added, through the API", true],
      ["a step deleted, through the API", true],
      ["a deleted step's place recorded", true],
      ["the sequence turned off", true],
      ["the sequence archived", true],
      ["a team schedule's windows", true],
      ["another schedule chosen", true],
      ["another owner", true],
      ["a team schedule made the default", true],
      ["a team schedule deleted", true],
      ["a new team schedule made the default", true],
      ["the sequence renamed", false],
      ["the sequence's settings", false],
      ["the sequence turned off again", false],
      ["a variant's text", false],
      ["another team's schedule", false],
      ["a new team schedule, not the default", false],
    ]);
  });

  it("a schedule's change moves only the sequences that send by it, and a rename or a default made elsewhere none", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const schedules = [];
    for (let i = 0; i < 5; i++) schedules.push(await makeSchedule(teamId));
    const [a, b] = schedules as [string, string];
    const onDefault: string[] = [];
    const onA: string[] = [];
    for (let i = 0; i < 10; i++) onDefault.push((await makeSequence(teamId, userId, [{ wait: 0 }], null)).sequenceId);
    for (let i = 0; i < 10; i++) onA.push((await makeSequence(teamId, userId, [{ wait: 0 }], a)).sequenceId);
    const revs = async () => Object.fromEntries(await Promise.all([...onDefault, ...onA].map(async (id) => [id, await rev(id)] as const)));
    // How far each group's numbers moved, summed: a sequence moved twice counts twice.
    const sum = (ids: string[], before: Record<string, number>, after: Record<string, number>) =>
      ids.reduce((n, id) => n + after[id]! - before[id]!, 0);
    const moved = (before: Record<string, number>, after: Record<string, number>) => [
      sum(onDefault, before, after),
      sum(onA, before, after),
    ];
    const patch = (id: string, json: Record<string, unknown>) => ok(api.schedules[":id"].$patch({ param: { id }, json }));
    const counted = async (change: () => Promise<unknown>) => {
      const before = await revs();
      await change();
      return moved(before, await revs());
    };
    // B made the default: each sequence on the default once; "unset the others" rewrites no schedule that
    // wasn't the default (before: every schedule of the team, each moving every sequence on the default).
    expect(await counted(() => patch(b, { is_default: true }))).toEqual([10, 0]);
    // A renamed: nothing the config reads.
    expect(await counted(() => patch(a, { name: "Renamed A" }))).toEqual([0, 0]);
    // A's hours: the sequences naming A.
    expect(await counted(() => patch(a, { windows: { "1": [["10:00", "12:00"]] } }))).toEqual([0, 10]);
    // A made the default: the sequences on the default twice (B stops being it, A starts), A's own once
    // (the trigger doesn't tell is_default apart from the columns their config reads).
    expect(await counted(() => patch(a, { is_default: true }))).toEqual([20, 10]);
  });

  it("a write that changes nothing the config reads moves nothing: the same value again, a deleted step's place re-linked moves it", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const before = await rev(sequenceId);
    await env.DB.prepare("UPDATE sequences SET active = active, owner_id = owner_id WHERE id = ?").bind(sequenceId).run();
    await env.DB.prepare("UPDATE schedules SET name = name || '' WHERE team_id = ?").bind(teamId).run();
    expect(await rev(sequenceId)).toBe(before);
    await env.DB.prepare("INSERT INTO deleted_steps VALUES ('ds-y', ?, ?, NULL, 1)").bind(teamId, sequenceId).run();
    const inserted = await rev(sequenceId);
    await env.DB.prepare("UPDATE deleted_steps SET next_step_id = 'other' WHERE id = 'ds-y'").run();
    expect(await rev(sequenceId)).toBeGreaterThan(inserted);
  });

  describe("reports from a mailbox", () => {
    let mailboxId = "";
    beforeEach(() => startSimulation());
    afterEach(() => setTransportOverride(mailboxId, null));

    /** Two email steps, no schedule (always open), a mailbox sending one email an hour: a report each hour. */
    async function world(contacts: number) {
      const { teamId, userId } = await makeTeam();
      const api = client(await sessionFor(teamId, userId)).api;
      const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
      mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 1, gapSeconds: 0 });
      setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true, response: "counted" }) });
      const ids = await makeContacts(teamId, contacts);
      await enroll(teamId, sequenceId, ids, [mailboxId]);
      return { teamId, api, sequenceId, stepIds, ids };
    }

    const dueOf = async (sequenceId: string) =>
      (
        await env.DB.prepare("SELECT contact_id, current_step, next_due_at FROM enrollments WHERE sequence_id = ? ORDER BY next_due_at")
          .bind(sequenceId)
          .all<{ contact_id: string; current_step: number; next_due_at: number }>()
      ).results;

    it("a report of an unchanged sequence reads no config from D1", async () => {
      const w = await world(3);
      await runUntil(SIM_START + 30 * 60_000); // the first email went, its report read the config
      const counter = countConfigLoads();
      try {
        await runUntil(SIM_START + 2 * HOUR + 30 * 60_000); // two more emails, two more reports
      } finally {
        counter.restore();
      }
      expect((await dueOf(w.sequenceId)).map((e) => e.current_step)).toEqual([2, 2, 2]);
      expect(counter.n).toBe(0);
    });

    it("a wait changed between two sends counts for both: the contact already waiting is re-timed, the second report uses the config it read", async () => {
      const w = await world(2);
      await runUntil(SIM_START + 30 * 60_000); // the first contact's email went at 00:00: step 2 a day later
      await ok(
        w.api.sequences[":id"].steps[":stepId"].$patch({
          param: { id: w.sequenceId, stepId: w.stepIds[1]! },
          json: { wait_amount: 3 },
        }),
      );
      const counter = countConfigLoads();
      try {
        await runUntil(SIM_START + HOUR + 30 * 60_000); // the second contact's email went at 01:00
      } finally {
        counter.restore();
      }
      expect(counter.n).toBe(0);
      // Due times to the minute (the simulated clock moves a millisecond per call).
      const minutes = (ms: number) => Math.round(ms / 60_000);
      expect((await dueOf(w.sequenceId)).map((e) => [e.current_step, minutes(e.next_due_at - SIM_START)])).toEqual([
        [2, minutes(3 * DAY)],
        [2, minutes(HOUR + 3 * DAY)],
      ]);
    });
  });
});
