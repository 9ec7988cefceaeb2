import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { env, ok } from "../helpers";
import { DAY, runUntil, sentMessages, startSimulation } from "../fixtures";
import { onACall } from "./on-a-call";

// A contact put in a Do Not Contact stage leaves their sequences at once: their call task is not left
// "Due today" for someone to call them. A task of a paused run says the run is paused.
beforeEach(() => startSimulation());

/** Contacts on a call step, each with an open call task, and the team's Do Not Contact and Cold stages. */
async function onACallWithStages(n: number) {
  const x = await onACall(n);
  return { ...x, dnc: `${x.teamId}-dnc`, cold: `${x.teamId}-cold` };
}

describe("a Do Not Contact stage takes the contact out of their sequences", () => {
  it("by the stage action, one contact's edit or the bulk action: the run finishes (do_not_contact), the task is cancelled, nothing more is sent", async () => {
    const x = await onACallWithStages(5);
    const [staged, edited, bulked, otherStage, untouched] = x.contacts as [string, string, string, string, string];

    expect((await ok(x.api.contacts.stage.$post({ json: { contact_ids: [staged], stage_id: x.dnc } }))).updated).toBe(1);
    await ok(x.api.contacts[":id"].$patch({ param: { id: edited }, json: { stage_id: x.dnc } }));
    await ok(x.api.contacts.bulk.$post({ json: { action: "change_stage", contact_ids: [bulked], stage_id: x.dnc } }));
    await ok(x.api.contacts.stage.$post({ json: { contact_ids: [otherStage], stage_id: x.cold } }));
    await runUntil(now() + 10_000);

    for (const c of [staged, edited, bulked])
      expect(await x.row(c)).toMatchObject({ status: "finished", reason: "do_not_contact", task_status: "cancelled" });
    for (const c of [otherStage, untouched]) expect(await x.row(c)).toMatchObject({ status: "active", task_status: "open" });
    const open = await ok(x.api.tasks.$get({ query: { view: "due_today", time_zone: "UTC" } }));
    expect(open.counts.due_today).toBe(2);
    expect(open.tasks.map((t) => t.contact?.id).sort()).toEqual([otherStage, untouched].sort());

    // The two left get their email once their calls are done; the three in Do Not Contact never do.
    for (const t of open.tasks) await ok(x.api.tasks[":id"][":action"].$post({ param: { id: t.id, action: "complete" }, json: {} }));
    await runUntil(now() + 2 * DAY);
    expect((await sentMessages(x.sequenceId)).map((m) => m.contact_id).sort()).toEqual([otherStage, untouched].sort());
  });
});

describe("a task of a paused run", () => {
  it("is listed as paused (run_paused); the others are not", async () => {
    const x = await onACallWithStages(2);
    const [paused, active] = x.contacts as [string, string];
    await engine.sequence(env, x.sequenceId, x.teamId).pause([(await x.row(paused)).id]);
    await runUntil(now() + 10_000);
    const { tasks } = await ok(x.api.tasks.$get({ query: { view: "open" } }));
    expect(Object.fromEntries(tasks.map((t) => [t.contact!.id, t.run_paused]))).toEqual({ [paused]: true, [active]: false });
  });
});
