// A one-contact edit of a scheduled email takes a step's limits (services/steps.ts EmailSubject,
// EmailBody): before, its subject could be 500 characters (a step's 300) and a body of only spaces
// passed min(1), so the contact got an empty email.
import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { as, env, errorOf, fieldsOf } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, sequenceState, sessionFor, startSimulation } from "../fixtures";

beforeEach(() => startSimulation());

async function scheduledEmail() {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 1, unit: "days" }], null);
  const mailboxId = await makeMailbox(teamId, userId);
  await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mailboxId]);
  const enrollmentId = (await sequenceState(sequenceId)).enrollments[0]!.id as string;
  const key = { enrollmentId, stepId: stepIds[0]! };
  const edit = (json: Record<string, unknown>) => as(s, "PATCH", `/api/scheduled-emails/${enrollmentId}/${stepIds[0]}`, json);
  const edits = () => engine.sequence(env, sequenceId, teamId).emailChoices([key]);
  return { edit, edits };
}

describe("editing one scheduled email", () => {
  it("refuses a subject longer than a step's (300 characters), naming the field, and keeps no edit", async () => {
    const w = await scheduledEmail();
    const err = await errorOf(await w.edit({ subject: "x".repeat(301) }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("subject");
    expect(await w.edits()).toEqual([]);
    expect((await w.edit({ subject: "y".repeat(300) })).status).toBe(200);
    expect((await w.edits())[0]!.override).toMatchObject({ subject: "y".repeat(300) });
  });

  it("refuses a body of only spaces and line breaks, as a step does, and keeps no edit", async () => {
    const w = await scheduledEmail();
    const err = await errorOf(await w.edit({ body: "  \n\t " }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]).toMatchObject({ field: "body", message: expect.stringMatching(/empty/) });
    expect(await w.edits()).toEqual([]);
  });
});
