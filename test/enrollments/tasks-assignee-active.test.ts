// A manual step's task goes to someone active. Before, a new task went to its run's mailbox owner while
// active, else to the sequence owner even when they were disabled: nobody active ever saw the task, and the
// run waited on it for ever. Now the last resort is the team's earliest-created active admin, and a cancelled
// task opened again leaves a disabled assignee the same way.
import { beforeEach, describe, expect, it } from "vitest";
import { createTasks } from "../../durable-objects/tasks";
import { db } from "../../worker/db/client";
import { now } from "../../worker/lib/clock";
import { enroll, HOUR, makeContacts, makeMailbox, makeSequence, makeTeam, makeUser, runUntil, startSimulation } from "../fixtures";
import { env } from "../helpers";

beforeEach(() => startSimulation());

const disable = (userId: string, at = now()) => env.DB.prepare("UPDATE users SET disabled_at = ? WHERE id = ?").bind(at, userId).run();
const setCreated = (userId: string, at: number) => env.DB.prepare("UPDATE users SET created_at = ? WHERE id = ?").bind(at, userId).run();
const tasksOf = async (sequenceId: string) =>
  (
    await env.DB.prepare(
      "SELECT id, enrollment_id, step_id, contact_id, assignee_id, status, type, note, due_at FROM tasks WHERE sequence_id = ? ORDER BY contact_id",
    )
      .bind(sequenceId)
      .all<{
        id: string;
        enrollment_id: string;
        step_id: string;
        contact_id: string;
        assignee_id: string;
        status: string;
        type: string;
        note: string;
        due_at: number;
      }>()
  ).results;

/**
 * A team whose rep owns a call-step sequence and the mailbox its runs send from; besides the team's first
 * admin (created now), an older admin, and an even older one who is disabled: the earliest ACTIVE admin is `older`.
 */
async function repSequence() {
  const { teamId, userId: firstAdmin } = await makeTeam();
  const older = await makeUser(teamId, "admin");
  await setCreated(older, 1000);
  const oldestDisabled = await makeUser(teamId, "admin");
  await setCreated(oldestDisabled, 10);
  await disable(oldestDisabled);
  const rep = await makeUser(teamId, "member");
  const { sequenceId } = await makeSequence(teamId, rep, [{ type: "call", wait: 0 }, { wait: 1 }], null);
  const mailbox = await makeMailbox(teamId, rep, { gapSeconds: 0 });
  return { teamId, firstAdmin, older, oldestDisabled, rep, sequenceId, mailbox };
}

describe("a new task's assignee", () => {
  it("is the team's earliest-created active admin when the sequence owner and the run's mailbox owner are both disabled", async () => {
    const w = await repSequence();
    await disable(w.rep);
    await enroll(w.teamId, w.sequenceId, await makeContacts(w.teamId, 2), [w.mailbox]);
    await runUntil(now() + HOUR);
    const rows = await tasksOf(w.sequenceId);
    expect(rows.map((r) => [r.assignee_id, r.status, r.type])).toEqual([
      [w.older, "open", "call"],
      [w.older, "open", "call"],
    ]);
  });

  it("is still the active mailbox owner first, then the active sequence owner", async () => {
    const w = await repSequence();
    // The runs send from another member's mailbox: while that member is active the task is theirs.
    const sender = await makeUser(w.teamId, "member");
    const senderMailbox = await makeMailbox(w.teamId, sender, { gapSeconds: 0 });
    const [c1, c2] = await makeContacts(w.teamId, 2);
    await enroll(w.teamId, w.sequenceId, [c1!], [senderMailbox]);
    await runUntil(now() + HOUR);
    // The sender disabled: the next run's task goes to the (active) sequence owner.
    await disable(sender);
    await enroll(w.teamId, w.sequenceId, [c2!], [senderMailbox]);
    await runUntil(now() + HOUR);
    const rows = await tasksOf(w.sequenceId);
    expect(Object.fromEntries(rows.map((r) => [r.contact_id, r.assignee_id]))).toEqual({ [c1!]: sender, [c2!]: w.rep });
  });

  it("a cancelled task opened again leaves a disabled assignee by the same rule, and keeps an active one", async () => {
    const w = await repSequence();
    await enroll(w.teamId, w.sequenceId, await makeContacts(w.teamId, 2), [w.mailbox]);
    await runUntil(now() + HOUR);
    const [a, b] = await tasksOf(w.sequenceId);
    expect([a!.assignee_id, b!.assignee_id]).toEqual([w.rep, w.rep]);
    // Both cancelled (their step turned off); b had been handed to the first admin by hand.
    await env.DB.prepare("UPDATE tasks SET status = 'cancelled', completed_at = 1 WHERE sequence_id = ?").bind(w.sequenceId).run();
    await env.DB.prepare("UPDATE tasks SET assignee_id = ? WHERE id = ?").bind(w.firstAdmin, b!.id).run();
    await disable(w.rep);
    // The step turned on again: the SequenceDO hands the same (enrollment, step) over again.
    await createTasks(
      db(env.DB),
      [a!, b!].map((t) => ({
        enrollmentId: t.enrollment_id,
        stepId: t.step_id,
        sequenceId: w.sequenceId,
        teamId: w.teamId,
        contactId: t.contact_id,
        type: t.type,
        note: t.note,
        dueAt: t.due_at,
        mailboxId: w.mailbox,
        ownerId: w.rep,
      })),
    );
    const after = await tasksOf(w.sequenceId);
    expect(after.map((r) => [r.id, r.assignee_id, r.status])).toEqual([
      [a!.id, w.older, "open"],
      [b!.id, w.firstAdmin, "open"],
    ]);
  });
});
