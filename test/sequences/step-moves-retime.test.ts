// Adding a step in front of others and reordering re-time the contacts already waiting, as deleting a step
// and changing a wait do. A contact waiting for a step that is off is due after the wait of the next step
// on; a step put before that one becomes their next step, and they are due after its wait. Before, only
// updates and deletes re-timed: the timer kept the old step's time (three days instead of one).
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

describe("steps moved while contacts wait", () => {
  const mailboxIds: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => mailboxIds.splice(0).forEach((m) => setTransportOverride(m, null)));

  /** One contact who got step 1 and waits five days for step 2, which is then turned off (the rest: `waits`). */
  async function world(waits: number[]) {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [{ wait: 0 }, { wait: 5, unit: "days" }, ...waits.map((w) => ({ wait: w, unit: "days" as const }))],
      null,
    );
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    mailboxIds.push(mailboxId);
    setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true, response: "counted" }) });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mailboxId]);
    const due = async () =>
      (await env.DB.prepare("SELECT next_due_at FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first<{ next_due_at: number }>())!
        .next_due_at;
    const count = async () =>
      (await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n;
    const days = async () => ((await due()) - SIM_START) / DAY;
    return { api, sequenceId, stepIds, due, days, count };
  }

  async function stepTwoOff(w: Awaited<ReturnType<typeof world>>) {
    await ok(
      w.api.sequences[":id"].steps[":stepId"].$patch({ param: { id: w.sequenceId, stepId: w.stepIds[1]! }, json: { enabled: false } }),
    );
  }

  it("a step added before their next step on: they are due after its wait, and it goes then", async () => {
    const w = await world([3]);
    await runUntil(SIM_START + HOUR);
    expect(await w.count()).toBe(1);
    await stepTwoOff(w);
    expect(await w.days()).toBeCloseTo(3, 1);

    // Between the step that is off (theirs) and the three-day one: their next step on now, one day after step 1.
    await ok(
      w.api.sequences[":id"].steps.$post({
        param: { id: w.sequenceId },
        json: {
          type: "auto_email",
          position: 3,
          wait_amount: 1,
          wait_unit: "days",
          variants: [{ subject: "Added", body: "Hi {{first_name|there}}" }],
        },
      }),
      201,
    );
    expect(await w.days()).toBeCloseTo(1, 1);
    await runUntil(SIM_START + DAY + 2 * HOUR);
    expect(await w.count()).toBe(2);
    const last = await env.DB.prepare("SELECT subject FROM messages WHERE sequence_id = ? ORDER BY sent_at DESC LIMIT 1")
      .bind(w.sequenceId)
      .first<{ subject: string }>();
    expect(last!.subject).toBe("Added");
  });

  it("a reorder that puts another step next: they are due after that step's wait", async () => {
    const w = await world([3, 1]);
    await runUntil(SIM_START + HOUR);
    await stepTwoOff(w);
    expect(await w.days()).toBeCloseTo(3, 1);
    const [a, b, c, d] = w.stepIds;
    await ok(w.api.sequences[":id"].steps.reorder.$post({ param: { id: w.sequenceId }, json: { step_ids: [a!, b!, d!, c!] } }));
    expect(await w.days()).toBeCloseTo(1, 1);
  });
});
