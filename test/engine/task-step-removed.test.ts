// A task step (call, LinkedIn, manual email, action item) deleted or turned off while contacts have its
// task open: the task is cancelled (the Tasks page no longer lists it as due) and the contact moves on to
// the step that takes its place, as an email whose step goes while it waits does. Before, the task stayed
// open and the contact waited on it until somebody worked a step that no longer existed. Edits go through
// the API, as a user makes them; emails are counted at the transport.
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
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

describe("a task step deleted or turned off while its task is open", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  /** A call, then an email; the contact's call task is open. */
  async function world() {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [
        { type: "call", wait: 0 },
        { wait: 0, variants: [{ subject: "After the call", body: "Hello" }] },
      ],
      null,
    );
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const subjects: string[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (subjects.push(/^Subject: (.*)$/m.exec(e.raw)?.[1] ?? "?"), { ok: true, response: "counted" }),
    });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(SIM_START + HOUR / 2);
    const open = await ok(api.tasks.$get({ query: { view: "open", assignee: "all" } }));
    expect(open.tasks.map((t) => t.type)).toEqual(["call"]);
    expect(subjects).toEqual([]);
    return { api, teamId, sequenceId, stepIds, subjects };
  }

  const taskStatuses = async (sequenceId: string) =>
    (await env.DB.prepare("SELECT status FROM tasks WHERE sequence_id = ?").bind(sequenceId).all<{ status: string }>()).results.map(
      (r) => r.status,
    );
  const enrollment = async (sequenceId: string) =>
    (await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first())!;

  async function expectMovedOn(w: Awaited<ReturnType<typeof world>>) {
    await runUntil(SIM_START + DAY);
    expect(await taskStatuses(w.sequenceId)).toEqual(["cancelled"]);
    const open = await ok(w.api.tasks.$get({ query: { view: "open", assignee: "all" } }));
    expect(open.tasks).toEqual([]);
    expect(w.subjects).toEqual(["After the call"]);
    expect(await enrollment(w.sequenceId)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  }

  it("deleted: its open task is cancelled and the contact goes on to the next step", async () => {
    const w = await world();
    await ok(w.api.sequences[":id"].steps[":stepId"].$delete({ param: { id: w.sequenceId, stepId: w.stepIds[0]! } }));
    // At once, not at the contact's next check a day later.
    expect(await taskStatuses(w.sequenceId)).toEqual(["cancelled"]);
    await expectMovedOn(w);
  });

  it("turned off: its open task is cancelled and the contact goes on to the next step", async () => {
    const w = await world();
    await ok(
      w.api.sequences[":id"].steps[":stepId"].$patch({ param: { id: w.sequenceId, stepId: w.stepIds[0]! }, json: { enabled: false } }),
    );
    expect(await taskStatuses(w.sequenceId)).toEqual(["cancelled"]);
    await expectMovedOn(w);
  });

  it("turned off where the engine didn't hear of it (its call after the edit lost): the task's own check repairs it", async () => {
    const w = await world();
    await env.DB.prepare("UPDATE steps SET enabled = 0 WHERE id = ?").bind(w.stepIds[0]).run();
    expect(await taskStatuses(w.sequenceId)).toEqual(["open"]);
    await expectMovedOn(w);
  });

  it("turned off and on again before the contact moved: the contact waits on its task, open again", async () => {
    const w = await world();
    // The engine cancels the task but never gets to move the contact (the object restarts in between).
    await env.DB.prepare("UPDATE tasks SET status = 'cancelled' WHERE sequence_id = ?").bind(w.sequenceId).run();
    await runUntil(SIM_START + DAY);
    expect(await taskStatuses(w.sequenceId)).toEqual(["open"]);
    expect(w.subjects).toEqual([]);
    expect(await enrollment(w.sequenceId)).toMatchObject({ status: "active", reason: "task_open" });
  });
});
