// A call or task step's note is rendered for its contact when the task is made, as the step's emails would be:
// "Call {{first_name}} about {{company}}" showed the braces on every task (Apollo and Outreach fill them in).
// A person reads a task, so one is made even when a value is missing: the fallback if written, else a marker
// saying what is missing. The editor refuses unknown variables in a note, as in an email's text.
import { beforeEach, describe, expect, it } from "vitest";
import { createTasks } from "../../durable-objects/tasks";
import { db } from "../../worker/db/client";
import { now } from "../../worker/lib/clock";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

beforeEach(() => startSimulation());

const noteOf = (contactId: string) =>
  env.DB.prepare("SELECT id, note, type FROM tasks WHERE contact_id = ?")
    .bind(contactId)
    .first<{ id: string; note: string; type: string }>()
    .then((r) => r!);

async function callStep(note: string, type = "call") {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ type, wait: 0 }, { wait: 1 }], null);
  await env.DB.prepare("UPDATE steps SET note = ? WHERE id = ?").bind(note, stepIds[0]!).run();
  const mailbox = await makeMailbox(teamId, userId, { gapSeconds: 0 });
  return { teamId, userId, api, sequenceId, stepIds, mailbox };
}

describe("a task step's note on its tasks", () => {
  it("has the contact's values, a fallback where one is missing, and a marker where a value is missing with none", async () => {
    const w = await callStep(
      "Call {{first_name}} about {{company}} ({{title|their role}}, {{custom.industry}}). From {{ sender_first_name }}: {{nope}}",
    );
    const [full, sparse] = (await makeContacts(w.teamId, 2)) as [string, string];
    await env.DB.prepare(
      `UPDATE contacts SET first_name = 'Ada', company = 'Analytical Engines', title = 'CTO', custom_fields = '{"industry":"Robotics"}' WHERE id = ?`,
    )
      .bind(full)
      .run();
    await env.DB.prepare("UPDATE contacts SET first_name = 'Bo', company = NULL, title = NULL, custom_fields = '{}' WHERE id = ?")
      .bind(sparse)
      .run();
    await enroll(w.teamId, w.sequenceId, [full, sparse], [w.mailbox]);
    await runUntil(now() + HOUR);

    const a = await noteOf(full);
    const b = await noteOf(sparse);
    // An unknown name ({{nope}}, from a note saved before the editor refused it) stays as written.
    expect(a).toMatchObject({ type: "call", note: "Call Ada about Analytical Engines (CTO, Robotics). From Sim: {{nope}}" });
    expect(b).toMatchObject({ type: "call", note: "Call Bo about [company missing] (their role, [industry missing]). From Sim: {{nope}}" });

    // The Tasks screen's list and the contact's timeline read the task's own text.
    const list = await ok(w.api.tasks.$get({ query: { view: "open", assignee: "all" } }));
    expect(Object.fromEntries(list.tasks.map((t) => [t.id, t.note]))).toEqual({ [a.id]: a.note, [b.id]: b.note });
    const timeline = await ok(w.api.contacts[":id"].timeline.$get({ param: { id: sparse }, query: {} }));
    expect(timeline.events.filter((e) => e.kind === "task").map((e) => e.detail)).toEqual([b.note]);
  });

  it("is rendered on a plain task step too, and a task made again keeps the text it was first made with", async () => {
    const w = await callStep("Look up {{first_name}} {{last_name}}", "task");
    const [c] = (await makeContacts(w.teamId, 1)) as [string];
    await enroll(w.teamId, w.sequenceId, [c], [w.mailbox]);
    await runUntil(now() + HOUR);
    const made = await noteOf(c);
    expect(made.note).toBe("Look up First0 Last0");

    // Cancelled, then made again (its step turned off and on): its text is not rewritten with the contact's new name.
    await env.DB.prepare("UPDATE tasks SET status = 'cancelled' WHERE id = ?").bind(made.id).run();
    await env.DB.prepare("UPDATE contacts SET first_name = 'Renamed' WHERE id = ?").bind(c).run();
    const run = await env.DB.prepare("SELECT id FROM enrollments WHERE contact_id = ?").bind(c).first<{ id: string }>();
    await createTasks(db(env.DB), [
      {
        enrollmentId: run!.id,
        stepId: w.stepIds[0]!,
        sequenceId: w.sequenceId,
        teamId: w.teamId,
        contactId: c,
        type: "task",
        note: "Look up {{first_name}} {{last_name}}",
        dueAt: now(),
        mailboxId: w.mailbox,
        ownerId: w.userId,
      },
    ]);
    const again = await env.DB.prepare("SELECT id, status, note FROM tasks WHERE contact_id = ?").bind(c).all();
    expect(again.results).toEqual([{ id: made.id, status: "open", note: "Look up First0 Last0" }]);
  });
});

describe("saving a step's note", () => {
  it("refuses an unknown variable or broken braces, on the note, and keeps the note it had", async () => {
    const w = await callStep("Call {{first_name}}");
    const steps = w.api.sequences[":id"].steps;
    const patch = await steps[":stepId"].$patch({
      param: { id: w.sequenceId, stepId: w.stepIds[0]! },
      json: { note: "Call {{firstname}}" },
    });
    const err = await errorOf(patch);
    expect(err.status).toBe(422);
    expect(fieldsOf(err)).toMatchObject([{ field: "note", message: "Unknown variable {{firstname}}: did you mean {{first_name}}?" }]);
    const kept = await env.DB.prepare("SELECT note FROM steps WHERE id = ?").bind(w.stepIds[0]!).first<{ note: string }>();
    expect(kept!.note).toBe("Call {{first_name}}");

    const add = await steps.$post({ param: { id: w.sequenceId }, json: { type: "call", note: "Call {{first_name}" } });
    const addErr = await errorOf(add);
    expect(addErr.status).toBe(422);
    expect(fieldsOf(addErr).map((f) => f.field)).toEqual(["note"]);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM steps WHERE sequence_id = ?").bind(w.sequenceId).first<{ n: number }>();
    expect(count!.n).toBe(2);

    // A note with the contact's variables and fallbacks is saved as written.
    await ok(
      steps[":stepId"].$patch({
        param: { id: w.sequenceId, stepId: w.stepIds[0]! },
        json: { note: "Call {{first_name|them}} at {{company}}" },
      }),
    );
    const saved = await env.DB.prepare("SELECT note FROM steps WHERE id = ?").bind(w.stepIds[0]!).first<{ note: string }>();
    expect(saved!.note).toBe("Call {{first_name|them}} at {{company}}");
  });
});
