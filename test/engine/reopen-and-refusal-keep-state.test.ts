// Two things a run keeps when something arrives out of turn. A run opened again (a reply or bounce
// corrected) gets back the task of the step it is on, not a task cancelled because its step was turned off:
// nobody is asked to call for a step that is gone. And a mailbox's refusal (the email uses a variable the
// contact had no value for) reaching a run already paused out of office keeps that pause and its return
// date: the contact is written to when they are back. Emails are counted at the transport.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import {
  DAY,
  HOUR,
  SIM_START,
  enroll,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

let mailboxId = "";
beforeEach(() => startSimulation());
afterEach(() => setTransportOverride(mailboxId, null));

/** One contact enrolled in `steps`, emails counted by subject. */
async function world(steps: Parameters<typeof makeSequence>[2]) {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, steps, null);
  mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
  const subjects: string[] = [];
  setTransportOverride(mailboxId, {
    local: true,
    send: async (e) => (subjects.push(/^Subject: (.*)$/m.exec(e.raw)?.[1] ?? "?"), { ok: true, response: "counted" }),
  });
  const [contactId] = await makeContacts(teamId, 1);
  await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
  await runUntil(SIM_START + HOUR / 2);
  const run = async () =>
    (await env.DB.prepare("SELECT id, status, reason, current_step FROM enrollments WHERE sequence_id = ?")
      .bind(sequenceId)
      .first<{ id: string; status: string; reason: string | null; current_step: number }>())!;
  const tasksByStep = async () =>
    Object.fromEntries(
      (
        await env.DB.prepare("SELECT step_id, status FROM tasks WHERE sequence_id = ?")
          .bind(sequenceId)
          .all<{ step_id: string; status: string }>()
      ).results.map((r) => [r.step_id, r.status]),
    );
  return { api, teamId, sequenceId, stepIds, subjects, run, tasksByStep, seq: engine.sequence(env, sequenceId, teamId) };
}

describe("a run opened again", () => {
  it("gets back the task of its step, not one cancelled because its step was turned off", async () => {
    const w = await world([
      { type: "call", wait: 0 },
      { type: "call", wait: 0 },
    ]);
    const [first, second] = w.stepIds as [string, string];
    await ok(w.api.sequences[":id"].steps[":stepId"].$patch({ param: { id: w.sequenceId, stepId: first }, json: { enabled: false } }));
    await runUntil(SIM_START + HOUR);
    expect(await w.tasksByStep()).toEqual({ [first]: "cancelled", [second]: "open" });
    const { id } = await w.run();

    await w.seq.finish([id], "replied");
    expect(await w.tasksByStep()).toEqual({ [first]: "cancelled", [second]: "cancelled" });
    expect(await w.seq.reactivate([id], ["replied"])).toEqual([id]);

    expect(await w.run()).toMatchObject({ status: "active", current_step: 2 });
    expect(await w.tasksByStep()).toEqual({ [first]: "cancelled", [second]: "open" });
    const open = await ok(w.api.tasks.$get({ query: { view: "open", assignee: "all" } }));
    expect(open.tasks).toHaveLength(1);
  });
});

describe("a missing-variables refusal reaching a run paused out of office", () => {
  it("keeps the pause and its return date: the email goes when they are back", async () => {
    const w = await world([{ wait: 1, variants: [{ subject: "Hi {{first_name}}", body: "A short note" }] }]);
    const { id } = await w.run();
    const back = SIM_START + 3 * DAY;
    await w.seq.pause([id], "out_of_office", back);
    // The email was being composed as the pause landed, before the contact's first name was filled in.
    await w.seq.stepsDone([
      { enrollmentId: id, stepId: w.stepIds[0]!, outcome: "cancelled", reason: "missing_variables: first_name", at: SIM_START + HOUR },
    ]);
    expect(await w.run()).toMatchObject({ status: "paused", reason: "out_of_office" });

    await runUntil(back - HOUR);
    expect(w.subjects).toEqual([]);
    await runUntil(back + DAY);
    expect(w.subjects).toHaveLength(1);
    expect(await w.run()).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });
});
