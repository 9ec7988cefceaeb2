import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { as, client, env, errorOf, fieldsOf, ok } from "../helpers";
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

// A manual email's task is sent from its task through the run's mailbox (POST /api/tasks/{id}/send): the
// engine's own send path, once however often it is asked, recorded as the step's email, and the run moves on.
beforeEach(() => startSimulation());

/** Every message the mailbox's transport was handed (the count a duplicate send would raise). */
function recordingTransport(mailboxId: string) {
  const calls: { to: string; raw: string; messageId: string }[] = [];
  setTransportOverride(mailboxId, {
    async send(mail) {
      calls.push({ to: mail.to, raw: mail.raw, messageId: mail.messageId });
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

async function world(
  steps: StepSpec[] = [MANUAL, { type: "call", wait: 1 }],
  mailbox: Parameters<typeof makeMailbox>[2] = {},
  runFor = 3 * DAY,
) {
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

describe("sending a manual email from its task", () => {
  it("sends the rep's edited text once at the transport, even for two clicks at once, then completes the task and moves the contact on", async () => {
    const w = await world();
    expect(w.task.status).toBe("open");
    const edit = { subject: "Quick question for First0", body: "Hi First0,\n\nedited by hand {{company}}" };
    const answers = await Promise.all([1, 2].map(() => as(w.session, "POST", `/api/tasks/${w.task.id}/send`, edit)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const refused = await errorOf(answers.find((r) => r.status === 409)!);
    expect(refused.message).toMatch(/already on its way|already sent/);
    expect((await taskRow(w.task.id))?.status).toBe("completed");

    await runUntil(now() + HOUR);
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.raw).toContain("Subject: Quick question for First0");
    expect(w.calls[0]!.raw).toContain("edited by hand Acme");
    expect(w.calls[0]!.raw).not.toContain("a note"); // the step's own text was not what went
    // Recorded as the step's email (the sequence report and the contact's timeline read these rows).
    const sent = await sentMessages(w.sequenceId);
    expect(sent.map((m) => [m.position, m.step_id, m.status, m.subject])).toEqual([[1, w.stepIds[0], "sent", "Quick question for First0"]]);
    // A repeat afterwards sends nothing more.
    const again = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, edit);
    expect(again.status).toBe(409);
    await runUntil(now() + 2 * DAY);
    expect(w.calls).toHaveLength(1);
    // The contact went on to the next step: its call task.
    const [run] = await enrollmentsOf(w.sequenceId);
    expect(run!.current_step).toBe(2);
    const call = await env.DB.prepare("SELECT status FROM tasks WHERE sequence_id = ? AND type = 'call'").bind(w.sequenceId).first();
    expect(call).toEqual({ status: "open" });
  });

  it("a draft sent as it is goes as the step's text; a reply in the thread is threaded under the thread's subject", async () => {
    const w = await world([
      { wait: 0 },
      { type: "manual_email", wait: 1, threadReply: true, variants: [{ subject: "", body: "Following up, {{first_name}}" }] },
    ]);
    const bad = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { subject: "New subject", body: "x" });
    expect(bad.status).toBe(422);
    expect(fieldsOf(await errorOf(bad)).map((f) => f.field)).toEqual(["subject"]);
    const res = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, {});
    expect(res.status).toBe(200);
    await runUntil(now() + HOUR);
    expect(w.calls).toHaveLength(2);
    const [first, reply] = w.calls;
    expect(reply!.raw).toContain(`In-Reply-To: ${first!.messageId}`);
    expect(reply!.raw).toContain("Subject: Re: Step 1 for First0");
    expect(reply!.raw).toContain("Following up, First0");
    const sent = await sentMessages(w.sequenceId);
    expect(sent.map((m) => m.position)).toEqual([1, 2]);
  });

  it("sends nothing to a contact suppressed since the task was made, says why, and leaves the task open", async () => {
    const w = await world();
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) SELECT 'sup-' || id, team_id, lower(email), 'manual', 'manual', ? FROM contacts WHERE id = ?",
    )
      .bind(now(), w.contactId)
      .run();
    const res = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { body: "Hi" });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toMatch(/can't be emailed/);
    await runUntil(now() + DAY);
    expect(w.calls).toHaveLength(0);
    expect(await sentMessages(w.sequenceId)).toHaveLength(0);
    expect((await taskRow(w.task.id))?.status).toBe("open");
  });

  it("sends nothing once the contact replied (their run finished) and the task is not marked done", async () => {
    const w = await world();
    await engine.sequence(env, w.sequenceId, w.teamId).finish([w.task.enrollment_id], "replied");
    const res = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { body: "Hi" });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toMatch(/left the sequence|can't be emailed/);
    await runUntil(now() + DAY);
    expect(w.calls).toHaveLength(0);
    expect((await taskRow(w.task.id))?.status).not.toBe("completed");
  });

  it("checks the text like a step's, answers 404 for a foreign task and 403 for a member who may only view", async () => {
    const w = await world();
    const empty = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { body: "  " });
    expect(empty.status).toBe(422);
    expect(fieldsOf(await errorOf(empty)).map((f) => f.field)).toEqual(["body"]);
    const unknown = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { body: "Hi {{nope}}" });
    expect(unknown.status).toBe(422);
    expect(fieldsOf(await errorOf(unknown))[0]).toMatchObject({ field: "body", message: "Unknown variable {{nope}}" });

    const other = await makeTeam("Other");
    const foreign = await as(await sessionFor(other.teamId, other.userId), "POST", `/api/tasks/${w.task.id}/send`, { body: "Hi" });
    expect(foreign.status).toBe(404);
    const viewer = await makeUser(w.teamId, "member", { sequenceId: w.sequenceId, access: "view" });
    const forbidden = await as(await sessionFor(w.teamId, viewer), "POST", `/api/tasks/${w.task.id}/send`, { body: "Hi" });
    expect(forbidden.status).toBe(403);

    await runUntil(now() + DAY);
    expect(w.calls).toHaveLength(0);
    expect((await taskRow(w.task.id))?.status).toBe("open");
    // Only a manual email's task is sent.
    const api = client(w.session).api;
    await ok(api.tasks[":id"].send.$post({ param: { id: w.task.id }, json: {} }));
    await runUntil(now() + 2 * DAY);
    const call = await env.DB.prepare("SELECT id FROM tasks WHERE sequence_id = ? AND type = 'call'")
      .bind(w.sequenceId)
      .first<{ id: string }>();
    const notEmail = await as(w.session, "POST", `/api/tasks/${call!.id}/send`, { body: "Hi" });
    expect(notEmail.status).toBe(409);
    expect(w.calls).toHaveLength(1);
  });

  it("with the mailbox's daily limit reached it waits for room and says when it goes", async () => {
    const w = await world([{ wait: 0 }, { ...MANUAL, wait: 0 }], { daily: 1 }, HOUR);
    expect(w.calls).toHaveLength(1);
    const res = await ok(client(w.session).api.tasks[":id"].send.$post({ param: { id: w.task.id }, json: { body: "Hi there" } }));
    expect(res.task.send_at).toBeGreaterThan(now() + 60_000); // not now: the day's one email went
    expect(res.task.status).toBe("completed");
    await runUntil(res.task.send_at! - 1);
    expect(w.calls).toHaveLength(1);
    await runUntil(res.task.send_at! + HOUR);
    expect(w.calls).toHaveLength(2);
  });

  it("a sent manual email taken back from the mailbox by a pause goes as an email on resume, not as a task again", async () => {
    const w = await world([{ wait: 0 }, { ...MANUAL, wait: 0 }, { type: "call", wait: 0 }], { daily: 1 }, HOUR);
    await ok(client(w.session).api.tasks[":id"].send.$post({ param: { id: w.task.id }, json: { body: "Sent after all" } }));
    const seq = engine.sequence(env, w.sequenceId, w.teamId);
    await seq.pause([w.task.enrollment_id]);
    await runUntil(now() + HOUR);
    await seq.resume([w.task.enrollment_id]);
    await runUntil(now() + 3 * DAY);
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]!.raw).toContain("Sent after all");
    expect((await sentMessages(w.sequenceId)).map((m) => m.position)).toEqual([1, 2]);
    expect((await taskRow(w.task.id))?.status).toBe("completed");
    const [run] = await enrollmentsOf(w.sequenceId);
    expect(run!.current_step).toBe(3);
  });

  it("a retry with the same Idempotency-Key gets the first answer again, and the email goes once", async () => {
    const w = await world();
    const key = { "Idempotency-Key": `send-${w.task.id}` };
    const first = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { body: "Once only" }, key);
    const retry = await as(w.session, "POST", `/api/tasks/${w.task.id}/send`, { body: "Once only" }, key);
    expect([first.status, retry.status]).toEqual([200, 200]);
    expect(await retry.json()).toEqual(await first.json());
    await runUntil(now() + DAY);
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.raw).toContain("Once only");
  });
});
