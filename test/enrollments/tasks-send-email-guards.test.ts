import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { as, env, errorOf, fieldsOf } from "../helpers";
import {
  DAY,
  HOUR,
  enroll,
  enrollmentsOf,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  makeUser,
  runUntil,
  sentMessages,
  sessionFor,
  startSimulation,
  type StepSpec,
} from "../fixtures";

// What POST /api/tasks/{id}/send must not do: lose an email to a teammate's Skip, send from a mailbox that
// can't, let a member send as someone else's mailbox, or send blanks where a variable has no value.
beforeEach(() => startSimulation());

function recordingTransport(mailboxId: string) {
  const calls: { raw: string }[] = [];
  setTransportOverride(mailboxId, {
    async send(mail) {
      calls.push({ raw: mail.raw });
      return { ok: true };
    },
  });
  return calls;
}

const MANUAL: StepSpec = {
  type: "manual_email",
  wait: 0,
  variants: [{ subject: "Hello {{first_name}}", body: "Hi {{first_name}}, a note" }],
};

async function world(steps: StepSpec[], mailbox: Parameters<typeof makeMailbox>[2] = {}, runFor = 3 * DAY) {
  const { teamId, userId } = await makeTeam();
  const session = await sessionFor(teamId, userId);
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, steps, null);
  const mailboxId = await makeMailbox(teamId, userId, { gapSeconds: 0, ...mailbox });
  const calls = recordingTransport(mailboxId);
  const [contactId] = await makeContacts(teamId, 1);
  await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
  await runUntil(now() + runFor);
  const task = await env.DB.prepare("SELECT * FROM tasks WHERE sequence_id = ? AND type = 'manual_email'")
    .bind(sequenceId)
    .first<{ id: string; status: string; enrollment_id: string; step_id: string }>();
  return { teamId, userId, session, sequenceId, stepIds, mailboxId, calls, contactId: contactId!, task: task! };
}

const taskRow = (id: string) => env.DB.prepare("SELECT status FROM tasks WHERE id = ?").bind(id).first<{ status: string }>();
const skippedEntries = (taskId: string) =>
  env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'task.skipped' AND json_extract(details, '$.task_id') = ?")
    .bind(taskId)
    .first<{ n: number }>();

describe("sending a manual email from its task: the guards", () => {
  it("a Skip while the email waits in the mailbox is refused (409) and the email still goes, once", async () => {
    // The day's one email went: the sent manual email waits for room in the mailbox.
    const w = await world([{ wait: 0 }, { ...MANUAL, wait: 0 }, { type: "call", wait: 0 }], { daily: 1 }, HOUR);
    expect(w.calls).toHaveLength(1);
    const sent = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { body: "Hi, sent by hand" });
    expect(sent.status).toBe(200);
    const body = (await sent.json()) as { task: { run: string; send_at: number } };
    expect(body.task.run).toBe("queued");
    // A Send whose request ended after the hand-over left its task open: a teammate's Skip now.
    await env.DB.prepare("UPDATE tasks SET status = 'open', completed_at = NULL WHERE id = ?").bind(w.task.id).run();
    const skip = await as(w.session, "POST", `/api/tasks/${w.task.id}/skip`, {});
    expect(skip.status).toBe(409);
    expect((await errorOf(skip)).message).toMatch(/already being sent/);
    // The task is done by its email, and the timeline doesn't say it was skipped.
    expect((await taskRow(w.task.id))?.status).toBe("completed");
    expect((await skippedEntries(w.task.id))?.n).toBe(0);
    await runUntil(body.task.send_at + HOUR);
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]!.raw).toContain("Hi, sent by hand");
    expect((await sentMessages(w.sequenceId)).map((m) => m.position)).toEqual([1, 2]);
    const [run] = await enrollmentsOf(w.sequenceId);
    expect(run!.current_step).toBe(3);
  });

  it("refuses to send from a paused mailbox (409 naming it): nothing sent, the task stays open", async () => {
    const w = await world([MANUAL, { type: "call", wait: 1 }]);
    await env.DB.prepare("UPDATE mailboxes SET status = 'paused' WHERE id = ?").bind(w.mailboxId).run();
    const res = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { body: "Hi" });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toMatch(/is paused/);
    await env.DB.prepare("UPDATE mailboxes SET status = 'connected' WHERE id = ?").bind(w.mailboxId).run();
    await runUntil(now() + DAY);
    expect(w.calls).toHaveLength(0);
    expect((await taskRow(w.task.id))?.status).toBe("open");
  });

  it("a member the task was given to, who may neither edit the sequence nor send from the mailbox, can't send it (403)", async () => {
    const w = await world([MANUAL, { type: "call", wait: 1 }]);
    const member = await makeUser(w.teamId, "member");
    await env.DB.prepare("UPDATE tasks SET assignee_id = ? WHERE id = ?").bind(member, w.task.id).run();
    const res = await as(await sessionFor(w.teamId, member), "POST", `/api/tasks/${w.task.id}/send`, { body: "Anything at all" });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toMatch(/can't send this email from/);
    await runUntil(now() + DAY);
    expect(w.calls).toHaveLength(0);
    expect((await taskRow(w.task.id))?.status).toBe("open");
    // The run's mailbox theirs: they may send it.
    await env.DB.prepare("UPDATE mailboxes SET user_id = ? WHERE id = ?").bind(member, w.mailboxId).run();
    const mine = await as(await sessionFor(w.teamId, member), "POST", `/api/tasks/${w.task.id}/send`, { body: "From my own mailbox" });
    expect(mine.status).toBe(200);
    await runUntil(now() + HOUR);
    expect(w.calls).toHaveLength(1);
  });

  it("a mailbox changed after the caller's right was checked on D1's copy is refused (409): nothing sent from either mailbox", async () => {
    const w = await world([MANUAL, { type: "call", wait: 1 }]);
    // A member with a mailbox of their own, who may not send from the owner's; D1 shows the run on theirs
    // while its SequenceDO still sends from the owner's (a change of mailbox between the check and the send).
    const member = await makeUser(w.teamId, "member");
    const theirs = await makeMailbox(w.teamId, member, { gapSeconds: 0 });
    const theirCalls = recordingTransport(theirs);
    await env.DB.prepare("UPDATE tasks SET assignee_id = ? WHERE id = ?").bind(member, w.task.id).run();
    await env.DB.prepare("UPDATE enrollments SET mailbox_id = ? WHERE id = ?").bind(theirs, w.task.enrollment_id).run();
    const res = await as(await sessionFor(w.teamId, member), "POST", `/api/tasks/${w.task.id}/send`, { body: "As someone else" });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toMatch(/mailbox was just changed/);
    await runUntil(now() + DAY);
    expect(w.calls).toHaveLength(0);
    expect(theirCalls).toHaveLength(0);
    expect((await taskRow(w.task.id))?.status).toBe("open");
  });

  it("a text with a variable the contact has no value for is refused (422 naming subject and body): nothing sent, the run not paused", async () => {
    const w = await world([MANUAL, { type: "call", wait: 1 }]);
    await env.DB.prepare("UPDATE contacts SET first_name = '' WHERE id = ?").bind(w.contactId).run();
    const res = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, {});
    expect(res.status).toBe(422);
    const fields = fieldsOf(await errorOf(res));
    expect(fields.map((f) => f.field)).toEqual(["subject", "body"]);
    expect(fields[1]!.message).toContain("{{first_name}}");
    // The rep's own body without it, the draft's subject still with it: the subject alone is named.
    const half = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { body: "Hi there" });
    expect(half.status).toBe(422);
    expect(fieldsOf(await errorOf(half)).map((f) => f.field)).toEqual(["subject"]);
    await runUntil(now() + DAY);
    expect(w.calls).toHaveLength(0);
    expect((await taskRow(w.task.id))?.status).toBe("open");
    const [run] = await enrollmentsOf(w.sequenceId);
    expect(run!.status).toBe("active");
    // Written in by hand: it goes.
    const fine = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { subject: "Hello there", body: "Hi there" });
    expect(fine.status).toBe(200);
    await runUntil(now() + HOUR);
    expect(w.calls).toHaveLength(1);
  });

  it("an email the mailbox sent while its task stayed open (the Send's request ended after the hand-over) completes the task", async () => {
    const w = await world([MANUAL, { type: "call", wait: 1 }]);
    const res = await engine
      .sequence(env, w.sequenceId, w.teamId)
      .sendTaskEmail(
        { enrollmentId: w.task.enrollment_id, stepId: w.task.step_id },
        { subject: null, body: "Sent, task never told" },
        w.mailboxId,
      );
    expect(res.ok).toBe(true);
    expect((await taskRow(w.task.id))?.status).toBe("open");
    await runUntil(now() + HOUR);
    expect(w.calls).toHaveLength(1);
    expect((await taskRow(w.task.id))?.status).toBe("completed");
  });
});
