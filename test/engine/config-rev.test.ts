// A sequence's config_rev (migration 0033): D1's triggers move it whenever what the engine reads of the
// sequence changes, whoever writes, and a mailbox's report reads it in the write it makes anyway. A
// SequenceDO applies a report with the config it has when the numbers match, and reads its config again
// when they don't: before, every report (one per batch of sends) read the config from D1.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
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

/** Counts, in this isolate (the Worker's and the objects' calls alike), the D1 statements that load a sequence's config. */
function countConfigLoads() {
  const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const originals = { raw: stmtProto.raw!, all: stmtProto.all!, first: stmtProto.first! };
  const counter = { loads: 0, restore: () => Object.assign(stmtProto, originals) };
  for (const [name, fn] of Object.entries(originals))
    stmtProto[name] = function (this: { statement: string }, ...a: unknown[]) {
      if (/"config_rev", \(SELECT json_group_array/.test(this.statement)) counter.loads++;
      return fn.apply(this, a);
    };
  return counter;
}

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
      await moves("another schedule chosen", run("UPDATE sequences SET schedule_id = NULL WHERE id = ?", sequenceId)),
      await moves("another owner", run("UPDATE sequences SET owner_id = 'someone' WHERE id = ?", sequenceId)),
      await moves("a team schedule's windows", run("UPDATE schedules SET windows = '{}' WHERE id = ?", scheduleId)),
      await moves("a team schedule made the default", run("UPDATE schedules SET is_default = 1 WHERE id = ?", scheduleId)),
      await moves("a new team schedule", () => makeSchedule(teamId)),
      await moves("a team schedule deleted", run("DELETE FROM schedules WHERE id = ?", scheduleId)),
      // What the config does not read:
      await moves("the sequence renamed", run("UPDATE sequences SET name = 'Renamed', updated_at = 9 WHERE id = ?", sequenceId)),
      await moves("the sequence's settings", run(`UPDATE sequences SET settings = '{"x":1}' WHERE id = ?`, sequenceId)),
      await moves("the sequence turned off again", run("UPDATE sequences SET active = 0 WHERE id = ?", sequenceId)),
      await moves("a variant's text", run("UPDATE step_variants SET subject = 'New' WHERE step_id = ?", stepIds[0])),
      await moves("another team's schedule", () => makeSchedule(other.teamId)),
    ];
    expect(results).toEqual([
      ["a step's wait, through the API", true],
      ["a step turned off", true],
      ["a step added, through the API", true],
      ["a step deleted, through the API", true],
      ["a deleted step's place recorded", true],
      ["the sequence turned off", true],
      ["the sequence archived", true],
      ["another schedule chosen", true],
      ["another owner", true],
      ["a team schedule's windows", true],
      ["a team schedule made the default", true],
      ["a new team schedule", true],
      ["a team schedule deleted", true],
      ["the sequence renamed", false],
      ["the sequence's settings", false],
      ["the sequence turned off again", false],
      ["a variant's text", false],
      ["another team's schedule", false],
    ]);
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
      expect(counter.loads).toBe(0);
    });

    it("a wait changed between two sends counts for the second: the report reads the config again", async () => {
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
      expect(counter.loads).toBe(1);
      // Due times to the minute (the simulated clock moves a millisecond per call).
      const minutes = (ms: number) => Math.round(ms / 60_000);
      expect((await dueOf(w.sequenceId)).map((e) => [e.current_step, minutes(e.next_due_at - SIM_START)])).toEqual([
        [2, minutes(DAY)],
        [2, minutes(HOUR + 3 * DAY)],
      ]);
    });
  });
});
