// Steps moved above the step a contact is on, before the contact got to them. A, B, C: the contact got A
// and waits for B; the user moves C above B (A, C, B). The contact stays on B (by id) and gets C after
// it: every step that was still ahead of a contact is done once, whatever the order becomes. Before, the
// step after B was "none": the contact finished and never got C. A step that was behind the contact
// (done, or added above it) stays behind. Edits go through the API; emails are counted at the transport.
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

describe("steps moved above a contact's step before it got to them", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  async function world(names: string[]) {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      names.map((name, i) => ({ wait: i === 0 ? 0 : 1, variants: [{ subject: name, body: name }] })),
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
    await runUntil(SIM_START + HOUR);
    expect(subjects).toEqual([names[0]]);
    const reorder = (order: number[]) =>
      ok(api.sequences[":id"].steps.reorder.$post({ param: { id: sequenceId }, json: { step_ids: order.map((i) => stepIds[i]!) } }));
    const enrollment = async () =>
      (await env.DB.prepare("SELECT status, reason, current_step FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first())!;
    return { subjects, reorder, enrollment, api, sequenceId };
  }

  it("A, B, C made A, C, B while the contact waits for B: it gets B, then C, then finishes", async () => {
    const w = await world(["A", "B", "C"]);
    await w.reorder([0, 2, 1]);
    // It stays on B, now step 3.
    expect(await w.enrollment()).toMatchObject({ status: "active", current_step: 3 });
    await runUntil(SIM_START + 10 * DAY);
    expect(w.subjects).toEqual(["A", "B", "C"]);
    expect(await w.enrollment()).toMatchObject({ status: "finished", reason: "completed_all_steps", current_step: 2 });
  });

  it("two steps moved above: both still come, in the order they stand now", async () => {
    const w = await world(["A", "B", "C", "D"]);
    await w.reorder([0, 3, 2, 1]);
    await runUntil(SIM_START + 10 * DAY);
    expect(w.subjects).toEqual(["A", "B", "D", "C"]);
    expect(await w.enrollment()).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("a step done moved below the contact's step is not sent again, and a step added above it is not owed", async () => {
    const w = await world(["A", "B", "C"]);
    await w.reorder([1, 2, 0]); // B, C, A: A was done
    await ok(
      w.api.sequences[":id"].steps.$post({
        param: { id: w.sequenceId },
        json: { type: "auto_email", position: 1, wait_amount: 0, wait_unit: "days", variants: [{ subject: "New", body: "New" }] },
      }),
      201,
    );
    await runUntil(SIM_START + 10 * DAY);
    expect(w.subjects).toEqual(["A", "B", "C"]);
    expect(await w.enrollment()).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });
});
