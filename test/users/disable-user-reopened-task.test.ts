// A task reopened after its assignee was disabled goes to someone active. Before, a reply's correction
// reopened the cancelled task (migration 0045's trigger) still assigned to the disabled rep: disabling hands
// on only open tasks, so nobody active saw it and the contact's run waited on it for ever.
import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { createTasks } from "../../durable-objects/tasks";
import { db } from "../../worker/db/client";
import { as, env } from "../helpers";
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
  startSimulation,
} from "../fixtures";

const taskOf = async (contactId: string) =>
  (await env.DB.prepare("SELECT id, status, assignee_id FROM tasks WHERE contact_id = ?")
    .bind(contactId)
    .first<{ id: string; status: string; assignee_id: string }>())!;

/** An admin owns a call sequence a rep's mailbox sends: one contact with an open call task, the rep's. */
async function repsCall() {
  const { teamId, userId: adminId } = await makeTeam();
  const admin = await sessionFor(teamId, adminId);
  const repId = await makeUser(teamId, "member");
  const { sequenceId } = await makeSequence(teamId, adminId, [{ type: "call", wait: 0 }, { wait: 1 }], null);
  const [c] = (await makeContacts(teamId, 1)) as [string];
  await enroll(teamId, sequenceId, [c], [await makeMailbox(teamId, repId, { gapSeconds: 0 })]);
  await runUntil(now() + HOUR);
  expect(await taskOf(c)).toMatchObject({ status: "open", assignee_id: repId });
  const run = (await env.DB.prepare("SELECT id FROM enrollments WHERE contact_id = ?").bind(c).first<{ id: string }>())!.id;
  return { teamId, adminId, admin, repId, sequenceId, c, run, seq: engine.sequence(env, sequenceId, teamId) };
}

describe("a task reopened after its assignee was disabled", () => {
  beforeEach(() => startSimulation());

  it("a reply corrected after the rep was disabled reopens the call task for the sequence's owner", async () => {
    const w = await repsCall();
    await w.seq.finish([w.run], "replied");
    await runUntil(now() + 10_000);
    expect(await taskOf(w.c)).toMatchObject({ status: "cancelled", assignee_id: w.repId });
    expect((await as(w.admin, "PATCH", `/api/users/${w.repId}`, { disabled: true })).status).toBe(200);
    // Disabling hands on open tasks only: the cancelled one is still the rep's.
    expect(await taskOf(w.c)).toMatchObject({ status: "cancelled", assignee_id: w.repId });

    await w.seq.reactivate([w.run], ["replied"]);
    await runUntil(now() + 10_000);
    expect(await taskOf(w.c)).toMatchObject({ status: "open", assignee_id: w.adminId });
  });

  it("a reopened task whose assignee is active keeps them", async () => {
    const w = await repsCall();
    await w.seq.finish([w.run], "replied");
    await runUntil(now() + 10_000);
    await w.seq.reactivate([w.run], ["replied"]);
    await runUntil(now() + 10_000);
    expect(await taskOf(w.c)).toMatchObject({ status: "open", assignee_id: w.repId });
  });

  it("createTasks reopening a cancelled task of a disabled rep gives it by the same rule", async () => {
    const w = await repsCall();
    const t = await taskOf(w.c);
    await env.DB.prepare("UPDATE tasks SET status = 'cancelled' WHERE id = ?").bind(t.id).run();
    expect((await as(w.admin, "PATCH", `/api/users/${w.repId}`, { disabled: true })).status).toBe(200);
    const row = (await env.DB.prepare("SELECT * FROM tasks WHERE id = ?").bind(t.id).first<Record<string, string | number>>())!;
    const mb = (await env.DB.prepare("SELECT mailbox_id FROM enrollments WHERE id = ?").bind(w.run).first<{ mailbox_id: string }>())!;
    await createTasks(db(env.DB), [
      {
        enrollmentId: w.run,
        stepId: row.step_id as string,
        sequenceId: w.sequenceId,
        teamId: w.teamId,
        contactId: w.c,
        type: "call",
        note: "",
        dueAt: now(),
        mailboxId: mb.mailbox_id,
        ownerId: w.adminId,
      },
    ]);
    expect(await taskOf(w.c)).toMatchObject({ status: "open", assignee_id: w.adminId });
  });
});
