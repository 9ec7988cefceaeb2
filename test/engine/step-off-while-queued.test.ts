// A step turned off or deleted while its email waits in the mailbox: that email is never sent, and the
// contact moves on to the next step as if the step had been off when it fell due. Before, the mailbox
// sent it anyway (and, for a deleted step, an email with no text). Changes go through the API, as a
// user makes them; sends are counted at the transport and in D1.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import {
  MONDAY_9AM_NY,
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

describe("a step turned off or deleted while its email is queued", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  async function world() {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const scheduleId = await makeSchedule(teamId);
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [
        { wait: 0, variants: [{ subject: "First {{first_name}}", body: "One" }] },
        { wait: 0, variants: [{ subject: "Second {{first_name}}", body: "Two" }] },
      ],
      scheduleId,
    );
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const subjects: string[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (subjects.push(/^Subject: (.*)$/m.exec(e.raw)?.[1] ?? "?"), { ok: true, response: "counted" }),
    });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(SIM_START + HOUR); // step 1 queued in the mailbox, waiting for Monday 09:00
    const [e] = (await env.DB.prepare("SELECT reason FROM enrollments WHERE sequence_id = ?").bind(sequenceId).all<{ reason: string }>())
      .results;
    expect(e!.reason).toBe("queued_for_mailbox");
    return { api, sequenceId, stepIds, subjects };
  }

  const sentSteps = async (sequenceId: string, stepIds: string[]) =>
    (
      await env.DB.prepare("SELECT step_id, status FROM messages WHERE sequence_id = ? ORDER BY sent_at")
        .bind(sequenceId)
        .all<{ step_id: string; status: string }>()
    ).results.map((m) => [stepIds.indexOf(m.step_id) + 1, m.status]);

  const enrollment = async (sequenceId: string) =>
    (await env.DB.prepare("SELECT status, reason, current_step FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first())!;

  it("turned off: its email is not sent, the next step's is", async () => {
    const w = await world();
    await ok(
      w.api.sequences[":id"].steps[":stepId"].$patch({ param: { id: w.sequenceId, stepId: w.stepIds[0]! }, json: { enabled: false } }),
    );
    // Nobody may promise it will go: "send now" on it is refused, saying why.
    const [row] = (await ok(w.api["scheduled-emails"].$get({ query: { sequence_id: w.sequenceId } }))).scheduled;
    // The list says so: held, no time, and why.
    expect(row).toMatchObject({ state: "held", send_at: null, reason: "step_disabled" });
    const refused = await w.api["scheduled-emails"][":enrollment_id"][":step_id"]["send-now"].$post({
      param: { enrollment_id: row!.enrollment_id, step_id: w.stepIds[0]! },
    });
    expect(refused.status).toBe(409);
    expect(JSON.stringify(await refused.json())).toMatch(/step is turned off/);
    await runUntil(MONDAY_9AM_NY + 2 * HOUR);
    expect(w.subjects).toHaveLength(1);
    expect(w.subjects[0]).toMatch(/^Second /);
    expect(await sentSteps(w.sequenceId, w.stepIds)).toEqual([[2, "sent"]]);
    expect(await enrollment(w.sequenceId)).toMatchObject({ status: "finished", reason: "completed_all_steps", current_step: 2 });
  });

  it("deleted: its email is not sent, the next step's is", async () => {
    const w = await world();
    await ok(w.api.sequences[":id"].steps[":stepId"].$delete({ param: { id: w.sequenceId, stepId: w.stepIds[0]! } }));
    await runUntil(MONDAY_9AM_NY + 2 * HOUR);
    expect(w.subjects).toHaveLength(1);
    expect(w.subjects[0]).toMatch(/^Second /);
    expect(await sentSteps(w.sequenceId, w.stepIds)).toEqual([[2, "sent"]]);
    expect(await enrollment(w.sequenceId)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("turned off while a remote transport sends the batch: the batch's later emails of that step are not sent", async () => {
    // Gmail or Microsoft 365 take their time per email: each send after a batch's first checks again.
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [
        { wait: 0, variants: [{ subject: "First", body: "One" }] },
        { wait: 0, variants: [{ subject: "Second", body: "Two" }] },
      ],
      await makeSchedule(teamId),
    );
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const sent: string[] = [];
    setTransportOverride(mailboxId, {
      send: async (e) => {
        const subject = /^Subject: (.*)$/m.exec(e.raw)?.[1] ?? "?";
        sent.push(`${subject} to ${/^To: .*<(.*)>$/m.exec(e.raw)?.[1] ?? /^To: (.*)$/m.exec(e.raw)?.[1]}`);
        // The user turns step 1 off while its first email is on its way.
        if (sent.length === 1)
          await ok(
            api.sequences[":id"].steps[":stepId"].$patch({ param: { id: sequenceId, stepId: stepIds[0]! }, json: { enabled: false } }),
          );
        return { ok: true, response: "250 accepted" };
      },
    });
    const contacts = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, contacts, [mailboxId]);
    await runUntil(MONDAY_9AM_NY + 2 * HOUR);
    expect(sent.filter((s) => s.startsWith("First"))).toHaveLength(1);
    expect(sent.filter((s) => s.startsWith("Second"))).toHaveLength(3);
    const messages = (
      await env.DB.prepare("SELECT step_id, count(*) AS n FROM messages WHERE sequence_id = ? GROUP BY step_id ORDER BY step_id")
        .bind(sequenceId)
        .all<{ step_id: string; n: number }>()
    ).results.map((m) => [stepIds.indexOf(m.step_id) + 1, m.n]);
    expect(messages.sort()).toEqual([
      [1, 1],
      [2, 3],
    ]);
    const finished = await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND reason = 'completed_all_steps'")
      .bind(sequenceId)
      .first<{ n: number }>();
    expect(finished!.n).toBe(3);
  });

  it("turned off and on again before the window opens: its email goes as planned", async () => {
    const w = await world();
    const step = { param: { id: w.sequenceId, stepId: w.stepIds[0]! } };
    await ok(w.api.sequences[":id"].steps[":stepId"].$patch({ ...step, json: { enabled: false } }));
    await ok(w.api.sequences[":id"].steps[":stepId"].$patch({ ...step, json: { enabled: true } }));
    await runUntil(MONDAY_9AM_NY + 2 * HOUR);
    expect(w.subjects.map((s) => s.split(" ")[0])).toEqual(["First", "Second"]);
    expect(await sentSteps(w.sequenceId, w.stepIds)).toEqual([
      [1, "sent"],
      [2, "sent"],
    ]);
  });
});
