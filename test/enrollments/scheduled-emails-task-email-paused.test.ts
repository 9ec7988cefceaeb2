// A manual email its rep sent from its task, waiting at its mailbox's daily limit, that a pause (of the run, or
// of the sequence) takes back from the mailbox (invariant 11) stays on the Scheduled emails list: paused, with
// no send time and words that say it was sent from its task and goes once the pause ends. The rep was told it
// was sent; it must not vanish from every list. After the resume it is listed as queued again and goes once.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { as, client, env, errorOf, ok } from "../helpers";
import {
  DAY,
  HOUR,
  enroll,
  enrollmentsOf,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

type Api = ReturnType<typeof client>["api"];

/** An automatic email, then a manual one, then a call; the mailbox's one email a day goes to the first. */
async function world() {
  const { teamId, userId } = await makeTeam();
  const session = await sessionFor(teamId, userId);
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    [
      { wait: 0 },
      { type: "manual_email", wait: 0, variants: [{ subject: "Hello {{first_name}}", body: "Hi {{first_name}}, a note" }] },
      { type: "call", wait: 0 },
    ],
    null,
  );
  const mailboxId = await makeMailbox(teamId, userId, { daily: 1, gapSeconds: 0 });
  const calls: string[] = [];
  setTransportOverride(mailboxId, { send: async (m) => (calls.push(m.raw), { ok: true }) });
  const [contactId] = await makeContacts(teamId, 1);
  await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
  await runUntil(now() + HOUR);
  const task = (await env.DB.prepare("SELECT id, enrollment_id, step_id FROM tasks WHERE sequence_id = ? AND type = 'manual_email'")
    .bind(sequenceId)
    .first<{ id: string; enrollment_id: string; step_id: string }>())!;
  expect(calls).toHaveLength(1);
  const sent = await as(session, "POST", `/api/tasks/${task.id}/send`, { body: "Hi, sent by hand" });
  expect(sent.status).toBe(200);
  const api = client(session).api;
  return { teamId, session, api, sequenceId, stepIds, mailboxId, contactId: contactId!, calls, task };
}

const rowOf = async (api: Api, query: { sequence_id?: string; contact_id?: string; mailbox_id?: string }, enrollmentId: string) =>
  (await ok(api["scheduled-emails"].$get({ query: { ...query, limit: "50" } }))).scheduled.filter((r) => r.enrollment_id === enrollmentId);

describe("a manual email sent from its task, then taken back by a pause", () => {
  const mailboxes: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const m of mailboxes.splice(0)) setTransportOverride(m, null);
  });

  it("a paused run's is listed as paused with no send time, refused actions, and goes once after the resume", async () => {
    const w = await world();
    mailboxes.push(w.mailboxId);
    const seq = engine.sequence(env, w.sequenceId, w.teamId);
    expect(await seq.pause([w.task.enrollment_id], "paused_by_user")).toEqual([w.task.enrollment_id]);
    // The pause took it back: the mailbox no longer holds it.
    expect(await engine.mailbox(env, w.mailboxId).eta({ enrollmentId: w.task.enrollment_id, stepId: w.task.step_id })).toBeNull();

    for (const q of [{ sequence_id: w.sequenceId }, { contact_id: w.contactId }, { mailbox_id: w.mailboxId }]) {
      const rows = await rowOf(w.api, q, w.task.enrollment_id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        step: { id: w.stepIds[1], position: 2 },
        from_task: true,
        status: "paused",
        state: "held",
        send_at: null,
        reason: "paused_by_user",
        can_edit: false,
      });
      expect(rows[0]!.reason_text).toContain("Sent from its task");
      expect(rows[0]!.reason_text).toContain("when the contact is resumed");
    }
    // Its preview is still the rep's text; an action is refused saying why, not "send it from its task".
    const key = { enrollment_id: w.task.enrollment_id, step_id: w.task.step_id };
    const r = w.api["scheduled-emails"][":enrollment_id"][":step_id"];
    expect((await ok(r.$get({ param: key }))).body).toContain("Hi, sent by hand");
    const skip = await r.skip.$post({ param: key });
    expect(skip.status).toBe(409);
    expect((await errorOf(skip)).message).toContain("sent from its task and is held back while the contact is paused");

    // Nothing goes while paused, however long.
    await runUntil(now() + 2 * DAY);
    expect(w.calls).toHaveLength(1);
    await seq.resume([w.task.enrollment_id]);
    await runUntil(now() + 2 * DAY);
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]).toContain("Hi, sent by hand");
    expect(await rowOf(w.api, { sequence_id: w.sequenceId }, w.task.enrollment_id)).toEqual([]);
    const [run] = await enrollmentsOf(w.sequenceId);
    expect(run!.current_step).toBe(3);
  });

  it("a sequence turned off lists it as held with no send time, and it goes once when the sequence is on again", async () => {
    const w = await world();
    mailboxes.push(w.mailboxId);
    await ok(w.api.sequences[":id"].$patch({ param: { id: w.sequenceId }, json: { active: false } }));
    // The mailbox reaches it at its next room (tomorrow) and gives it back: the sequence is off.
    await runUntil(now() + 2 * DAY);
    expect(w.calls).toHaveLength(1);
    const [held] = await enrollmentsOf(w.sequenceId);
    expect(held).toMatchObject({ status: "held", current_step: 2 });
    const rows = await rowOf(w.api, { sequence_id: w.sequenceId }, w.task.enrollment_id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ from_task: true, status: "held", state: "held", send_at: null, reason: "sequence_inactive" });
    expect(rows[0]!.reason_text).toContain("Sent from its task");

    await ok(w.api.sequences[":id"].$patch({ param: { id: w.sequenceId }, json: { active: true } }));
    await runUntil(now() + 2 * DAY);
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]).toContain("Hi, sent by hand");
    expect(await rowOf(w.api, { sequence_id: w.sequenceId }, w.task.enrollment_id)).toEqual([]);
  });

  it("a paused run on a manual email it was never sent is not listed, nor once its task is completed without sending", async () => {
    const { teamId, userId } = await makeTeam();
    const session = await sessionFor(teamId, userId);
    const manual = (subject: string) => ({ type: "manual_email" as const, wait: 0, variants: [{ subject, body: "Hi" }] });
    const { sequenceId } = await makeSequence(teamId, userId, [manual("First"), manual("Second")], null);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 1, gapSeconds: 0 });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(now() + HOUR);
    const task = (await env.DB.prepare("SELECT id, enrollment_id FROM tasks WHERE sequence_id = ? AND type = 'manual_email'")
      .bind(sequenceId)
      .first<{ id: string; enrollment_id: string }>())!;
    const enrollmentId = task.enrollment_id;
    const api = client(session).api;
    expect(await engine.sequence(env, sequenceId, teamId).pause([enrollmentId], "paused_by_user")).toEqual([enrollmentId]);
    // Its task is still open: a task on the Tasks screen, not an email.
    expect((await enrollmentsOf(sequenceId))[0]).toMatchObject({ status: "paused", current_step: 1 });
    expect(await rowOf(api, { sequence_id: sequenceId }, enrollmentId)).toEqual([]);
    // Completed without sending: the paused run moves on to the second manual email, whose task isn't done.
    expect((await as(session, "POST", `/api/tasks/${task.id}/complete`, {})).status).toBe(200);
    expect((await enrollmentsOf(sequenceId))[0]).toMatchObject({ status: "paused", current_step: 2 });
    expect(await rowOf(api, { sequence_id: sequenceId }, enrollmentId)).toEqual([]);
  });
});
