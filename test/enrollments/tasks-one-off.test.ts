// A task of no sequence (a one-off to-do) is its assignee's: they (or an admin) work it and may hand it to anyone
// active in the team; a member may neither take nor hand on a teammate's. Before, the list's assignable_ids
// offered only admins while PATCH gave it to any teammate, and a teammate's one-off task, listed under
// Everyone, answered 404 "Task not found" to the buttons and bulk actions instead of 403 with the reason.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import { DAY, makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";

beforeEach(() => startSimulation());

const taskRow = (id: string) =>
  env.DB.prepare("SELECT assignee_id, status, due_at FROM tasks WHERE id = ?")
    .bind(id)
    .first<{ assignee_id: string; status: string; due_at: number }>()
    .then((r) => r!);

/** A team with an admin and two reps, each rep with one open one-off task. */
async function oneOffTeam() {
  const { teamId, userId: admin } = await makeTeam();
  const rep1 = await makeUser(teamId, "member");
  const rep2 = await makeUser(teamId, "member");
  const gone = await makeUser(teamId, "member");
  await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(gone).run();
  const task1 = newId();
  const task2 = newId();
  await env.DB.batch(
    [
      [task1, rep1],
      [task2, rep2],
    ].map(([id, who]) =>
      env.DB.prepare(
        "INSERT INTO tasks (id, team_id, assignee_id, type, note, due_at, status, created_at) VALUES (?, ?, ?, 'task', 'Follow up', ?, 'open', ?)",
      ).bind(id, teamId, who, now() - DAY, now() - 2 * DAY),
    ),
  );
  const as = async (u: string) => client(await sessionFor(teamId, u)).api;
  return {
    teamId,
    admin,
    rep1,
    rep2,
    gone,
    task1: task1!,
    task2: task2!,
    asAdmin: await as(admin),
    asRep1: await as(rep1),
    asRep2: await as(rep2),
  };
}

describe("a task of no sequence", () => {
  it("offers for Reassign every active teammate, each of whom PATCH takes; a disabled one is neither offered nor taken", async () => {
    const x = await oneOffTeam();
    const mine = await ok(x.asRep1.tasks.$get({ query: { view: "overdue" } }));
    const row = mine.tasks.find((t) => t.id === x.task1)!;
    expect(row.can_work).toBe(true);
    expect([...row.assignable_ids].sort()).toEqual([x.admin, x.rep1, x.rep2].sort());

    const off = await errorOf(await x.asRep1.tasks[":id"].$patch({ param: { id: x.task1 }, json: { assignee_id: x.gone } }));
    expect(off.status).toBe(422);
    expect(fieldsOf(off).map((f) => f.field)).toEqual(["assignee_id"]);
    expect((await taskRow(x.task1)).assignee_id).toBe(x.rep1);

    // Every one offered is taken: rep1 hands it to rep2, an admin hands it back.
    await ok(x.asRep1.tasks[":id"].$patch({ param: { id: x.task1 }, json: { assignee_id: x.rep2 } }));
    expect((await taskRow(x.task1)).assignee_id).toBe(x.rep2);
    await ok(x.asAdmin.tasks[":id"].$patch({ param: { id: x.task1 }, json: { assignee_id: x.rep1 } }));
    expect((await taskRow(x.task1)).assignee_id).toBe(x.rep1);
  });

  it("a teammate's is listed to a rep but not theirs to work: 403 saying why, on each action, bulk ones forbidden; nothing changes", async () => {
    const x = await oneOffTeam();
    const before = await taskRow(x.task2);
    const everyone = await ok(x.asRep1.tasks.$get({ query: { view: "overdue", assignee: "all" } }));
    const row = everyone.tasks.find((t) => t.id === x.task2)!;
    expect(row).toMatchObject({ assignee_id: x.rep2, can_work: false });

    const refusals = [
      // Taking it, handing it on, putting it off.
      await x.asRep1.tasks[":id"].$patch({ param: { id: x.task2 }, json: { assignee_id: x.rep1 } }),
      await x.asRep1.tasks[":id"].$patch({ param: { id: x.task2 }, json: { assignee_id: x.admin } }),
      await x.asRep1.tasks[":id"].$patch({ param: { id: x.task2 }, json: { due_at: now() + DAY } }),
      await x.asRep1.tasks[":id"][":action"].$post({ param: { id: x.task2, action: "complete" }, json: {} }),
      await x.asRep1.tasks[":id"][":action"].$post({ param: { id: x.task2, action: "skip" }, json: {} }),
    ];
    for (const r of refusals) {
      const e = await errorOf(r);
      expect([e.status, e.code, e.message]).toEqual([403, "forbidden", "This task is assigned to someone else"]);
    }
    const { outcomes } = await ok(x.asRep1.tasks.bulk.$post({ json: { action: "skip", task_ids: [x.task2, x.task1] } }));
    expect(outcomes).toEqual([
      { task_id: x.task2, outcome: "refused", code: "forbidden", reason: "This task is assigned to someone else" },
      { task_id: x.task1, outcome: "done", task: expect.objectContaining({ status: "skipped", run: "none" }) },
    ]);
    expect(await taskRow(x.task2)).toEqual(before);

    // Another team's is still no such task.
    const other = await makeTeam();
    const asOther = client(await sessionFor(other.teamId, other.userId)).api;
    expect((await errorOf(await asOther.tasks[":id"].$patch({ param: { id: x.task2 }, json: { due_at: now() + DAY } }))).status).toBe(404);
    // An admin works anyone's.
    await ok(x.asAdmin.tasks[":id"][":action"].$post({ param: { id: x.task2, action: "complete" }, json: {} }));
    expect((await taskRow(x.task2)).status).toBe("completed");
  });
});
