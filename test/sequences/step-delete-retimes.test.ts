// Deleting a step re-times the contacts waiting for it, as turning it off does: they are due after the
// next step's own wait. Before, their timer stayed at the deleted step's time (five days instead of one).
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

describe("a step deleted while contacts wait for it", () => {
  const mailboxIds: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => mailboxIds.splice(0).forEach((m) => setTransportOverride(m, null)));

  /** One contact who got step 1 and waits five days for step 2; step 3 waits one day. */
  async function world() {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [{ wait: 0 }, { wait: 5, unit: "days" }, { wait: 1, unit: "days" }],
      null,
    );
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    mailboxIds.push(mailboxId);
    setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true, response: "counted" }) });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mailboxId]);
    const step2 = { param: { id: sequenceId, stepId: stepIds[1]! } };
    const due = async () =>
      (await env.DB.prepare("SELECT next_due_at FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first<{ next_due_at: number }>())!
        .next_due_at;
    const count = async () =>
      (await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n;
    return { api, step2, due, count };
  }

  it("is due when the step after it says, as when the step is turned off, and that step goes then", async () => {
    const off = await world();
    const gone = await world();
    await runUntil(SIM_START + HOUR);
    expect(await gone.count()).toBe(1);
    expect(((await gone.due()) - SIM_START) / DAY).toBeCloseTo(5, 1);

    await ok(off.api.sequences[":id"].steps[":stepId"].$patch({ ...off.step2, json: { enabled: false } }));
    await ok(gone.api.sequences[":id"].steps[":stepId"].$delete(gone.step2));
    expect(((await off.due()) - SIM_START) / DAY).toBeCloseTo(1, 1);
    expect(await gone.due()).toBe(await off.due());

    await runUntil(SIM_START + 2 * DAY);
    expect(await gone.count()).toBe(2);
  });
});
