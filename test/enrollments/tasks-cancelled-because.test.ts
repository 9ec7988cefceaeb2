// A cancelled task says why as its row shows it: the contact left the sequence, or its step was deleted or
// turned off. Before, the Done tab said "Cancelled: left the sequence" for every cancelled task, also one
// whose step was deleted while the contact stayed in the sequence (and went on to finish it later).
import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { DAY, HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

beforeEach(() => startSimulation());

async function onACall(steps: Parameters<typeof makeSequence>[2]) {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, steps, null);
  const [c] = (await makeContacts(teamId, 1)) as [string];
  await enroll(teamId, sequenceId, [c], [await makeMailbox(teamId, userId, { gapSeconds: 0 })]);
  await runUntil(now() + HOUR);
  const run = (await env.DB.prepare("SELECT id FROM enrollments WHERE contact_id = ?").bind(c).first<{ id: string }>())!.id;
  const done = async () => (await ok(api.tasks.$get({ query: { view: "done", assignee: "all" } }))).tasks;
  return { teamId, api, sequenceId, stepIds, c, run, done };
}

describe("a cancelled task's reason", () => {
  it("a step deleted: step_removed, also once the contact has since finished the sequence", async () => {
    const x = await onACall([
      { type: "call", wait: 0 },
      { wait: 0, variants: [{ subject: "After the call", body: "Hello" }] },
    ]);
    await ok(x.api.sequences[":id"].steps[":stepId"].$delete({ param: { id: x.sequenceId, stepId: x.stepIds[0]! } }));
    await runUntil(now() + DAY);
    const run = await env.DB.prepare("SELECT status FROM enrollments WHERE id = ?").bind(x.run).first<{ status: string }>();
    expect(run!.status).toBe("finished");
    expect(await x.done()).toMatchObject([{ status: "cancelled", cancelled_because: "step_removed" }]);
  });

  it("the contact replied: left_sequence", async () => {
    const x = await onACall([{ type: "call", wait: 0 }, { wait: 1 }]);
    await engine.sequence(env, x.sequenceId, x.teamId).finish([x.run], "replied");
    await runUntil(now() + 10_000);
    expect(await x.done()).toMatchObject([{ status: "cancelled", cancelled_because: "left_sequence" }]);
  });
});
