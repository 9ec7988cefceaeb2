import { beforeEach, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { resetClock } from "../../worker/lib/clock";
import { env } from "../helpers";
import { addContactsSetup, makeContacts } from "../fixtures";
import { statementsDuring } from "./statements";

// A mailbox claims a batch of sends at once (invariant 11): the SequenceDO reads the batch's rows and
// the users' choices about them in one statement each, not one pair per email, with the same answers.
beforeEach(() => resetClock());

it("a claim of a batch reads its rows and choices once and answers each email as one by one", async () => {
  const x = await addContactsSetup({ steps: [{ wait: 0 }, { wait: 2 }] });
  const contacts = await makeContacts(x.teamId, 4);
  const seq = engine.sequence(env, x.sequenceId, x.teamId);
  await seq.enroll(
    contacts.map((c, i) => ({ enrollmentId: `c-${i}`, contactId: c, mailboxId: x.mailboxIds[0]!, score: 1, timeZone: null })),
  );
  const step = x.stepIds[0]!;
  expect((await seq.editEmail({ enrollmentId: "c-1", stepId: step }, { subject: "Edited", body: "Hello" })).ok).toBe(true);
  await seq.finish(["c-2"]);

  let answers: Awaited<ReturnType<typeof seq.claim>> = [];
  const ran = await statementsDuring(async () => {
    answers = await seq.claim([0, 1, 2, 3, 9].map((i) => ({ enrollmentId: `c-${i}`, stepId: step })));
  });
  expect(answers.map((a) => [a.enrollmentId, a.ok, a.reason])).toEqual([
    ["c-0", true, null],
    ["c-1", true, null],
    ["c-2", false, "marked_finished"],
    ["c-3", true, null],
    ["c-9", false, "withdrawn"],
  ]);
  expect(answers[1]!.override).toMatchObject({ subject: "Edited", body: "Hello" });
  expect(answers[0]!.override ?? null).toBeNull();
  // One read of the rows and one of the choices, whatever the batch's size.
  expect(ran.filter((q) => /FROM (enrollments|email_choices) WHERE/.test(q))).toEqual([
    expect.stringMatching(/^SELECT \* FROM enrollments WHERE id IN \(SELECT value FROM json_each/),
    expect.stringMatching(/^SELECT \* FROM email_choices WHERE enrollment_id IN \(SELECT value FROM json_each/),
  ]);
});
