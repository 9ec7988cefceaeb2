// A "reply in the same thread" step reached by a contact who never got the email it replies to (that step
// skipped for them, turned off or deleted, or only calls before it): there is no thread, so the email
// starts one, under the subject the contact would have seen: its own if it has one, else that of the
// email step it follows (the variant this contact gets). Before, it went out as "(no subject)". And the API
// keeps an email step before every such reply, so there is always a subject to take.
// Sends are counted at the transport; the preview says what the send does.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { now } from "../../worker/lib/clock";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import {
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

type Sent = { subject: string; inReplyTo: boolean };

describe("a same-thread reply with no thread to reply in", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  /** `scheduled`: 09:00–17:00 New York on weekdays (makeSchedule's default), else any time. */
  async function world(steps: Parameters<typeof makeSequence>[2], scheduled = false) {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, steps, scheduled ? await makeSchedule(teamId) : null);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const sent: Sent[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (
        sent.push({ subject: /^Subject: (.*)$/m.exec(e.raw)?.[1]?.trim() ?? "?", inReplyTo: /^In-Reply-To:/m.test(e.raw) }),
        { ok: true, response: "counted" }
      ),
    });
    const contactIds = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, contactIds, [mailboxId]);
    return { teamId, userId, api, sequenceId, stepIds, sent };
  }

  const intro = { wait: 1, variants: [{ subject: "Quick idea for {{company}}", body: "Intro" }] };
  const bump = (subject = "") => ({ wait: 0, threadReply: true, variants: [{ subject, body: "Following up" }] });

  it("the first email turned off: the reply goes as a new email under the first email's subject", async () => {
    const w = await world([intro, bump()]);
    await ok(
      w.api.sequences[":id"].steps[":stepId"].$patch({ param: { id: w.sequenceId, stepId: w.stepIds[0]! }, json: { enabled: false } }),
    );
    await runUntil(SIM_START + 2 * 24 * HOUR);
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]!.subject).toMatch(/^Quick idea for \S/);
    expect(w.sent[0]!.inReplyTo).toBe(false);
  });

  it("the API keeps an automatic email step before every same-thread reply (a call or a manual email opens no thread)", async () => {
    const w = await world([{ type: "call", wait: 0 }, intro, bump()]);
    const refused = async (call: Promise<{ status: number; json(): Promise<unknown> }>, field: string, message: RegExp) => {
      const res = await call;
      expect(res.status).toBe(422);
      const body = (await res.json()) as { error: { details: { fields: { field: string; message: string }[] } } };
      expect(body.error.details.fields).toEqual([expect.objectContaining({ field, message: expect.stringMatching(message) })]);
    };
    const seq = w.api.sequences[":id"];
    // The email the reply answers can't go, nor move after it, nor the reply move before it.
    await refused(seq.steps[":stepId"].$delete({ param: { id: w.sequenceId, stepId: w.stepIds[1]! } }), "step", /^Step 3 replies/);
    await refused(
      seq.steps.reorder.$post({ param: { id: w.sequenceId }, json: { step_ids: [w.stepIds[0]!, w.stepIds[2]!, w.stepIds[1]!] } }),
      "step_ids",
      /^Step 3 replies/,
    );
    // A reply after the call alone, as a new step or by switching the email to reply in a thread.
    await refused(
      seq.steps.$post({
        param: { id: w.sequenceId },
        json: { type: "auto_email", position: 2, thread_reply: true, variants: [{ subject: "", body: "Hi" }] },
      }),
      "thread_reply",
      /needs an automatic email step before it/,
    );
    await refused(
      seq.steps[":stepId"].$patch({ param: { id: w.sequenceId, stepId: w.stepIds[1]! }, json: { thread_reply: true } }),
      "thread_reply",
      /needs an automatic email step before it/,
    );
    // Nothing was written: the steps are as they were.
    const { sequence } = await ok(seq.$get({ param: { id: w.sequenceId } }));
    expect(sequence.steps.map((s) => [s.id, s.thread_reply])).toEqual([
      [w.stepIds[0], false],
      [w.stepIds[1], false],
      [w.stepIds[2], true],
    ]);
    // A manual email is a task: it opens no thread either.
    const manual = await makeSequence(w.teamId, w.userId, [{ type: "manual_email", wait: 0 }, { wait: 1 }], null);
    await refused(
      seq.steps[":stepId"].$patch({ param: { id: manual.sequenceId, stepId: manual.stepIds[1]! }, json: { thread_reply: true } }),
      "thread_reply",
      /needs an automatic email step before it/,
    );
    // The reply has no subject of its own: as a new thread it would go out as "(no subject)".
    const reply = { id: w.sequenceId, stepId: w.stepIds[2]! };
    await refused(
      seq.steps[":stepId"].$patch({ param: reply, json: { thread_reply: false } }),
      "variants.0.subject",
      /^Variant A has no subject/,
    );
    // Given a subject, its threading turns off, and then the email before it can go.
    const variantId = sequence.steps[2]!.variants[0]!.id;
    await ok(seq.steps[":stepId"].variants[":variantId"].$patch({ param: { ...reply, variantId }, json: { subject: "Still keen?" } }));
    await ok(seq.steps[":stepId"].$patch({ param: reply, json: { thread_reply: false } }));
    await ok(seq.steps[":stepId"].$delete({ param: { id: w.sequenceId, stepId: w.stepIds[1]! } }));
  });

  it("a reply whose threading is turned off goes as a new thread under its own subject, never '(no subject)'", async () => {
    const w = await world([intro, bump()]);
    const step = w.api.sequences[":id"].steps[":stepId"];
    const reply = { id: w.sequenceId, stepId: w.stepIds[1]! };
    expect(fieldsOf(await errorOf(await step.$patch({ param: reply, json: { thread_reply: false } })))).toEqual([
      expect.objectContaining({ field: "variants.0.subject" }),
    ]);
    const { sequence } = await ok(w.api.sequences[":id"].$get({ param: { id: w.sequenceId } }));
    const variantId = sequence.steps[1]!.variants[0]!.id;
    await ok(step.variants[":variantId"].$patch({ param: { ...reply, variantId }, json: { subject: "Still keen?" } }));
    await ok(step.$patch({ param: reply, json: { thread_reply: false } }));
    await runUntil(SIM_START + 3 * 24 * HOUR);
    expect(w.sent).toEqual([
      { subject: expect.stringMatching(/^Quick idea for \S/), inReplyTo: false },
      { subject: "Still keen?", inReplyTo: false },
    ]);
  });

  it("a reply queued for the morning whose threading is turned off that evening goes as a new email under its subject", async () => {
    // Step 2, due ten hours after step 1, waits in the mailbox overnight for the window.
    const { api, sequenceId, stepIds, sent } = await world(
      [intro, { wait: 10, unit: "hours", threadReply: true, variants: [{ subject: "A new angle", body: "Following up" }] }],
      true,
    );
    const run = () =>
      env.DB.prepare("SELECT current_step, reason FROM enrollments WHERE sequence_id = ?")
        .bind(sequenceId)
        .first<{ current_step: number; reason: string }>();
    for (
      let i = 0;
      i < 96 && !(sent.length === 1 && (await run())!.current_step === 2 && (await run())!.reason === "queued_for_mailbox");
      i++
    )
      await runUntil(now() + HOUR);
    expect(sent).toHaveLength(1);
    expect(await run()).toEqual({ current_step: 2, reason: "queued_for_mailbox" });
    await ok(
      api.sequences[":id"].steps[":stepId"].$patch({ param: { id: sequenceId, stepId: stepIds[1]! }, json: { thread_reply: false } }),
    );
    await runUntil(now() + 2 * 24 * HOUR);
    expect(sent).toEqual([
      { subject: expect.stringMatching(/^Quick idea for \S/), inReplyTo: false },
      { subject: "A new angle", inReplyTo: false },
    ]);
  });

  it("the first email skipped for the contact: the preview and the send use the first email's subject", async () => {
    const w = await world([intro, bump()]);
    // Step 1 waits a day: skip it for this contact from the scheduled list.
    const row = (await ok(w.api["scheduled-emails"].$get({ query: { sequence_id: w.sequenceId } }))).scheduled[0]!;
    await ok(
      w.api["scheduled-emails"][":enrollment_id"][":step_id"].skip.$post({
        param: { enrollment_id: row.enrollment_id, step_id: w.stepIds[0]! },
      }),
    );
    const preview = await ok(
      w.api.sequences[":id"].enrollments[":enrollment_id"]["next-email"].$get({
        param: { id: w.sequenceId, enrollment_id: row.enrollment_id },
      }),
    );
    expect(preview.subject).toMatch(/^Quick idea for \S/);
    await runUntil(SIM_START + 2 * 24 * HOUR);
    expect(w.sent.map((s) => s.subject)).toEqual([preview.subject]);
  });
});
