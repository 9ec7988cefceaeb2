// Editing a step's wait (or turning a step off) re-times the contacts already waiting for it. Before,
// their timer stayed where the old wait had put it: shortening step 2's wait from five days to one
// still sent it on day five, and the contacts list showed the old next action.
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

describe("a wait edited while contacts wait for its step", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  async function world(steps: Parameters<typeof makeSequence>[2]) {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, steps, null);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const sent: number[] = [];
    setTransportOverride(mailboxId, { local: true, send: async () => (sent.push(Date.now()), { ok: true, response: "counted" }) });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mailboxId]);
    await runUntil(SIM_START + HOUR);
    const step = (i: number, json: Record<string, unknown>) =>
      ok(api.sequences[":id"].steps[":stepId"].$patch({ param: { id: sequenceId, stepId: stepIds[i]! }, json }));
    const due = async () =>
      (await env.DB.prepare("SELECT next_due_at FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first<{ next_due_at: number }>())!
        .next_due_at;
    const count = async () =>
      (await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n;
    return { step, due, count };
  }

  it("shortened: the next step goes at the new time, and the contacts list says so at once", async () => {
    const w = await world([{ wait: 0 }, { wait: 5, unit: "days" }]);
    expect(await w.count()).toBe(1);
    expect(((await w.due()) - SIM_START) / DAY).toBeCloseTo(5, 1);
    await w.step(1, { wait_amount: 1 });
    expect(((await w.due()) - SIM_START) / DAY).toBeCloseTo(1, 1);
    await runUntil(SIM_START + 2 * DAY);
    expect(await w.count()).toBe(2);
  });

  it("a step turned off: the contact waits for the next step's own wait, not the one turned off", async () => {
    const w = await world([{ wait: 0 }, { wait: 5, unit: "days" }, { wait: 1, unit: "days" }]);
    await w.step(1, { enabled: false });
    expect(((await w.due()) - SIM_START) / DAY).toBeCloseTo(1, 1);
    await runUntil(SIM_START + 2 * DAY);
    expect(await w.count()).toBe(2);
  });
});
