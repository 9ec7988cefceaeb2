// Disabling a user hands their open tasks on. Before, only tasks created afterwards went to the sequence owner
// (createTasks): the calls already due stayed assigned to someone who can't sign in, and nobody active saw them.
// Now, in the batch that disables them, each open task goes to whoever createTasks would give it: its run's
// mailbox owner while active, else the sequence owner while active, else the team's earliest-created active
// admin (before, a task with neither active stayed with the disabled user, and its run waited for ever).
import { beforeEach, describe, expect, it } from "vitest";
import {
  enroll,
  HOUR,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  makeUser,
  runUntil,
  sessionFor,
  SIM_START,
  startSimulation,
} from "../fixtures";
import { as, env } from "../helpers";

const assignees = async (sequenceId: string) =>
  (
    await env.DB.prepare("SELECT assignee_id, status FROM tasks WHERE sequence_id = ? ORDER BY contact_id")
      .bind(sequenceId)
      .all<{ assignee_id: string; status: string }>()
  ).results;

/** An admin, a rep whose mailbox sends a call-step sequence owned by `owner` ("admin" or "rep"), 2 open call tasks on the rep. */
async function repWithTasks(owner: "admin" | "rep") {
  const { teamId, userId: adminId } = await makeTeam();
  const admin = await sessionFor(teamId, adminId);
  const repId = await makeUser(teamId, "member");
  const { sequenceId } = await makeSequence(teamId, owner === "admin" ? adminId : repId, [{ type: "call", wait: 0 }, { wait: 1 }], null);
  const repMailbox = await makeMailbox(teamId, repId, { gapSeconds: 0 });
  await enroll(teamId, sequenceId, await makeContacts(teamId, 2), [repMailbox]);
  await runUntil(SIM_START + HOUR);
  expect(await assignees(sequenceId)).toEqual([
    { assignee_id: repId, status: "open" },
    { assignee_id: repId, status: "open" },
  ]);
  return { teamId, adminId, admin, repId, sequenceId, repMailbox };
}

describe("disabling a user with open tasks", () => {
  beforeEach(() => startSimulation());

  it("gives their open tasks to the sequence owner; done tasks keep who did them", async () => {
    const w = await repWithTasks("admin");
    // One task done by the rep first: it stays theirs (who did the work).
    await env.DB.prepare(
      "UPDATE tasks SET status = 'completed', completed_at = 1 WHERE id = (SELECT id FROM tasks WHERE sequence_id = ? ORDER BY contact_id LIMIT 1)",
    )
      .bind(w.sequenceId)
      .run();
    expect((await as(w.admin, "PATCH", `/api/users/${w.repId}`, { disabled: true })).status).toBe(200);
    expect(await assignees(w.sequenceId)).toEqual([
      { assignee_id: w.repId, status: "completed" },
      { assignee_id: w.adminId, status: "open" },
    ]);
  });

  it("to the active owner of the run's mailbox first, as a new task would go", async () => {
    const w = await repWithTasks("admin");
    // The runs now send from another user's mailbox (the task was the rep's by hand).
    const other = await makeUser(w.teamId, "member");
    const otherMailbox = await makeMailbox(w.teamId, other);
    await env.DB.prepare("UPDATE enrollments SET mailbox_id = ? WHERE sequence_id = ?").bind(otherMailbox, w.sequenceId).run();
    expect((await as(w.admin, "PATCH", `/api/users/${w.repId}`, { disabled: true })).status).toBe(200);
    expect((await assignees(w.sequenceId)).map((t) => t.assignee_id)).toEqual([other, other]);
  });

  it("a task whose sequence the disabled user owns, sent from their own mailbox, goes to the earliest-created active admin", async () => {
    const w = await repWithTasks("rep");
    // Besides the team's first admin (created now): an older admin, and an even older one who is disabled.
    const older = await makeUser(w.teamId, "admin");
    const oldestDisabled = await makeUser(w.teamId, "admin");
    await env.DB.batch([
      env.DB.prepare("UPDATE users SET created_at = 1000 WHERE id = ?").bind(older),
      env.DB.prepare("UPDATE users SET created_at = 10, disabled_at = 20 WHERE id = ?").bind(oldestDisabled),
    ]);
    expect((await as(w.admin, "PATCH", `/api/users/${w.repId}`, { disabled: true })).status).toBe(200);
    expect(await assignees(w.sequenceId)).toEqual([
      { assignee_id: older, status: "open" },
      { assignee_id: older, status: "open" },
    ]);
  });

  it("a task of no sequence goes to an active admin too", async () => {
    const w = await repWithTasks("admin");
    await env.DB.prepare("UPDATE tasks SET sequence_id = NULL, enrollment_id = NULL, step_id = NULL WHERE sequence_id = ?")
      .bind(w.sequenceId)
      .run();
    expect((await as(w.admin, "PATCH", `/api/users/${w.repId}`, { disabled: true })).status).toBe(200);
    const rows = (
      await env.DB.prepare("SELECT assignee_id FROM tasks WHERE team_id = ? AND status = 'open'")
        .bind(w.teamId)
        .all<{ assignee_id: string }>()
    ).results;
    expect(rows.map((r) => r.assignee_id)).toEqual([w.adminId, w.adminId]);
  });
});
