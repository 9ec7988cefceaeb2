// An edit of an email already queued in its mailbox is what goes out through the outbox (the local
// transport, whose batches are claimed at once: durable-objects/mailbox-do.ts, sendLocalBatch), and so is
// "use the step's text again" after an earlier edit. The claim carries the latest edit; the batch read it.
import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import {
  DAY,
  HOUR,
  SIM_START,
  enroll,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sequenceState,
  startSimulation,
} from "../fixtures";
import { env } from "../helpers";

describe("editing an email queued in an outbox mailbox", () => {
  beforeEach(() => startSimulation());

  it("the edited text is what is stored and sent, and 'use the step's text again' sends the step's own text", async () => {
    const { teamId, userId } = await makeTeam();
    // Weekdays 9-17 New York: emails due at midnight wait in the mailbox until 14:00 UTC.
    const scheduleId = await makeSchedule(teamId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 1, unit: "hours" }], scheduleId);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const contactIds = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, contactIds, [mailboxId]);
    const seq = engine.sequence(env, sequenceId, teamId);
    const idOf = async (contactId: string) =>
      (await sequenceState(sequenceId)).enrollments.find((e) => e.contact_id === contactId)!.id as string;
    const [a, b, c] = [await idOf(contactIds[0]!), await idOf(contactIds[1]!), await idOf(contactIds[2]!)];
    const key = (enrollmentId: string) => ({ enrollmentId, stepId: stepIds[0]! });
    // B is edited before its step falls due: the hand-over brings that edit to the mailbox.
    expect(await seq.editEmail(key(b), { subject: "Old subject for B", body: "Old edit for B" })).toEqual({ ok: true, at: null });
    await runUntil(SIM_START + 2 * HOUR);
    const { queue } = await mailboxLedger(mailboxId);
    expect(queue.map((r) => r.state)).toEqual(["queued", "queued", "queued"]);
    expect(queue.find((r) => r.enrollment_id === b)!.override).toContain("Old edit for B");
    // Now, while all three wait in the mailbox: A is edited, B goes back to the step's own text.
    expect(await seq.editEmail(key(a), { subject: "New subject for {{first_name}}", body: "Edited for {{first_name}}" })).toEqual({
      ok: true,
      at: null,
    });
    expect(await seq.editEmail(key(b), { subject: null, body: null })).toEqual({ ok: true, at: null });
    await runUntil(SIM_START + DAY);
    const sent = await env.DB.prepare("SELECT enrollment_id, subject, body, raw FROM messages WHERE sequence_id = ? AND status = 'sent'")
      .bind(sequenceId)
      .all<{ enrollment_id: string; subject: string; body: string; raw: string }>();
    const by = new Map(sent.results.map((m) => [m.enrollment_id, m]));
    expect(by.size).toBe(3);
    expect(by.get(a)).toMatchObject({ subject: "New subject for First0", body: "Edited for First0" });
    expect(by.get(a)!.raw).toContain("Edited for First0");
    expect(by.get(b)).toMatchObject({ subject: "Step 1 for First1", body: "Hello First1 at Acme" });
    expect(by.get(b)!.raw).not.toContain("Old edit");
    expect(by.get(c)).toMatchObject({ subject: "Step 1 for First2", body: "Hello First2 at Acme" });
  });
});
