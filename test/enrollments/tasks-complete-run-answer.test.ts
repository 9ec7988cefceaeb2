// Completing a task answers what the contact's run did, as the SequenceDO left it. Before, every completion
// answered run "moved_on" and the toast said "moves on to the next step", also for a paused run (the next
// step waits for the resume) and a sequence turned off (nothing is sent until it is on again).
import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { env, ok } from "../helpers";
import { DAY, runUntil, sentMessages, startSimulation } from "../fixtures";
import { onACall } from "./on-a-call";

beforeEach(() => startSimulation());

describe("completing a task answers what the run did", () => {
  it("moved_on for an active run; paused for a paused run; sequence_off for a sequence turned off", async () => {
    const x = await onACall(3);
    const [active, paused, off] = x.contacts as [string, string, string];
    await engine.sequence(env, x.sequenceId, x.teamId).pause([(await x.row(paused)).id]);
    await runUntil(now() + 10_000);
    const complete = async (c: string) =>
      (await ok(x.api.tasks[":id"][":action"].$post({ param: { id: (await x.row(c)).task_id, action: "complete" }, json: {} }))).task;

    expect(await complete(active)).toMatchObject({ status: "completed", run: "moved_on" });
    expect(await complete(paused)).toMatchObject({ status: "completed", run: "paused" });
    expect(await x.row(paused)).toMatchObject({ status: "paused", task_status: "completed" });

    await ok(x.api.sequences[":id"].$patch({ param: { id: x.sequenceId }, json: { active: false } }));
    await runUntil(now() + 10_000);
    expect(await complete(off)).toMatchObject({ status: "completed", run: "sequence_off" });
    // As answered: with the sequence off nothing goes, to any of them, and the paused run stays paused.
    await runUntil(now() + 2 * DAY);
    expect(await sentMessages(x.sequenceId)).toEqual([]);
    expect(await x.row(paused)).toMatchObject({ status: "paused" });
  });
});
