import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { as, env, errorOf } from "../helpers";
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
  sentMessages,
  sessionFor,
  startSimulation,
  type StepSpec,
} from "../fixtures";

// A manual email sent from its task and then withdrawn by a pause (the run waits on its timer, not the
// mailbox, until the resume hands it over again): a Complete or Skip meanwhile must not drop it.
beforeEach(() => startSimulation());

const MANUAL: StepSpec = {
  type: "manual_email",
  wait: 0,
  variants: [{ subject: "Hello {{first_name}}", body: "Hi {{first_name}}, a note" }],
};

/** An automatic email, then the manual email (its task open), then a call; the mailbox's one email a day already used. */
async function world() {
  const { teamId, userId } = await makeTeam();
  const session = await sessionFor(teamId, userId);
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, MANUAL, { type: "call", wait: 0 }], null);
  const mailboxId = await makeMailbox(teamId, userId, { gapSeconds: 0, daily: 1 });
  const calls: string[] = [];
  setTransportOverride(mailboxId, {
    async send(mail) {
      calls.push(mail.raw);
      return { ok: true };
    },
  });
  const [contactId] = await makeContacts(teamId, 1);
  await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
  await runUntil(now() + HOUR);
  const task = (await env.DB.prepare("SELECT * FROM tasks WHERE sequence_id = ? AND type = 'manual_email'")
    .bind(sequenceId)
    .first<{ id: string; enrollment_id: string }>())!;
  expect(calls).toHaveLength(1);
  // Sent by its rep: it waits for room in the mailbox (tomorrow), and the task is completed.
  const sent = await as(session, "POST", `/api/tasks/${task.id}/send`, { body: "Hi, sent by hand" });
  expect(sent.status).toBe(200);
  // The contact is out of office: the pause takes the email back from the mailbox.
  const seq = engine.sequence(env, sequenceId, teamId);
  expect(await seq.pause([task.enrollment_id], "out_of_office")).toEqual([task.enrollment_id]);
  return { session, sequenceId, calls, task, seq };
}

const taskStatus = (id: string) =>
  env.DB.prepare("SELECT status FROM tasks WHERE id = ?")
    .bind(id)
    .first<{ status: string }>()
    .then((r) => r?.status);

describe("a manual email sent from its task, then withdrawn by a pause", () => {
  it("a stale Complete leaves the run on the step, and the email goes after the resume, once", async () => {
    const w = await world();
    // From a tab opened before the send: the task is done already, but D1 shows the run on its step.
    const stale = await as(w.session, "POST", `/api/tasks/${w.task.id}/complete`, {});
    expect(stale.status).toBe(409);
    const [paused] = await enrollmentsOf(w.sequenceId);
    expect(paused).toMatchObject({ status: "paused", current_step: 2 });
    await w.seq.resume([w.task.enrollment_id]);
    await runUntil(now() + 2 * DAY);
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]).toContain("Hi, sent by hand");
    expect((await sentMessages(w.sequenceId)).map((m) => m.position)).toEqual([1, 2]);
    const [run] = await enrollmentsOf(w.sequenceId);
    expect(run!.current_step).toBe(3);
  });

  it("a Skip of its task (left open by a Send whose request ended) is refused (409): the email still goes after the resume", async () => {
    const w = await world();
    await env.DB.prepare("UPDATE tasks SET status = 'open', completed_at = NULL WHERE id = ?").bind(w.task.id).run();
    const skip = await as(w.session, "POST", `/api/tasks/${w.task.id}/skip`, {});
    expect(skip.status).toBe(409);
    expect((await errorOf(skip)).message).toMatch(/already being sent/);
    // Done by its email, not skipped.
    expect(await taskStatus(w.task.id)).toBe("completed");
    const [paused] = await enrollmentsOf(w.sequenceId);
    expect(paused).toMatchObject({ status: "paused", current_step: 2 });
    await w.seq.resume([w.task.enrollment_id]);
    await runUntil(now() + 2 * DAY);
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]).toContain("Hi, sent by hand");
    const [run] = await enrollmentsOf(w.sequenceId);
    expect(run!.current_step).toBe(3);
  });
});
