import { beforeEach, describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { engine, sequenceStub } from "../../durable-objects/engine";
import { db } from "../../worker/db/client";
import { now } from "../../worker/lib/clock";
import { unsubscribeAddress } from "../../worker/services/unsubscribe";
import { client, env, errorOf, ok } from "../helpers";
import { DAY, HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

// A sequence's task belongs to its contact's run: when the run closes (a reply, an unsubscribe, finished,
// removed, moved, restarted), the open task is cancelled (migration 0035), so the Tasks page lists only work
// that moves someone on, and nobody calls or emails a contact who left.
beforeEach(() => startSimulation());

/** Contacts on a call step due at once, each with an open task. */
async function onACall(n: number) {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const { sequenceId } = await makeSequence(teamId, userId, [{ type: "call", wait: 0 }, { wait: 1 }], null);
  const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
  const contacts = await makeContacts(teamId, n);
  await enroll(teamId, sequenceId, contacts, [mb]);
  await runUntil(now() + HOUR);
  const api = client(s).api;
  const { results: rows } = await env.DB.prepare("SELECT id, contact_id FROM enrollments WHERE sequence_id = ? ORDER BY contact_id")
    .bind(sequenceId)
    .all<{ id: string; contact_id: string }>();
  const runOf = (c: string) => rows.find((r) => r.contact_id === c)!.id;
  const taskOf = async (enrollmentId: string) =>
    (await env.DB.prepare("SELECT id, status FROM tasks WHERE enrollment_id = ?")
      .bind(enrollmentId)
      .first<{ id: string; status: string }>())!;
  return { teamId, sequenceId, contacts, api, runOf, taskOf, seq: engine.sequence(env, sequenceId, teamId) };
}

describe("a sequence's tasks follow their contact's run", () => {
  it("a contact who unsubscribes, is finished or removed loses their open task; the Tasks page and its counts leave it out; completing it says why", async () => {
    const x = await onACall(4);
    const [unsubscribed, finished, removed, staying] = x.contacts as [string, string, string, string];
    expect((await ok(x.api.tasks.$get({ query: { assignee: "all" } }))).counts.open).toBe(4);

    const email = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(unsubscribed).first<{ email: string }>())!.email;
    await unsubscribeAddress(env, db(env.DB), x.teamId, email);
    await x.seq.finish([x.runOf(finished)], "marked_finished");
    await x.seq.remove([x.runOf(removed)]);
    await runUntil(now() + 10_000);

    for (const c of [unsubscribed, finished, removed]) expect((await x.taskOf(x.runOf(c))).status).toBe("cancelled");
    expect((await x.taskOf(x.runOf(staying))).status).toBe("open");
    const open = await ok(x.api.tasks.$get({ query: { assignee: "all" } }));
    expect(open.counts.open).toBe(1);
    expect(open.tasks.map((t) => t.contact?.id)).toEqual([staying]);
    const done = await ok(x.api.tasks.$get({ query: { assignee: "all", view: "done" } }));
    expect(done.tasks.map((t) => t.status)).toEqual(["cancelled", "cancelled", "cancelled"]);

    const refused = await errorOf(
      await x.api.tasks[":id"][":action"].$post({ param: { id: (await x.taskOf(x.runOf(finished))).id, action: "complete" }, json: {} }),
    );
    expect(refused.status).toBe(409);
    expect(refused.message).toMatch(/left the sequence/);
  });

  it("a corrected finish (reactivated) gets its task back; a restart leaves one open task, the new run's", async () => {
    const x = await onACall(2);
    const [corrected, restarted] = x.contacts as [string, string];
    await x.seq.finish([x.runOf(corrected), x.runOf(restarted)], "replied");
    await runUntil(now() + 10_000);
    expect((await x.taskOf(x.runOf(corrected))).status).toBe("cancelled");

    await x.seq.reactivate([x.runOf(corrected)], ["replied"]);
    await runUntil(now() + 10_000);
    expect((await x.taskOf(x.runOf(corrected))).status).toBe("open");

    // Restarted anyway: a run that ended as replied is restarted only on the caller's word.
    await x.seq.restart([x.runOf(restarted)], 1, null, true);
    await runUntil(now() + HOUR);
    const { results } = await env.DB.prepare("SELECT status FROM tasks WHERE contact_id = ? ORDER BY created_at")
      .bind(restarted)
      .all<{ status: string }>();
    expect(results.map((r) => r.status)).toEqual(["cancelled", "open"]);
    expect((await ok(x.api.tasks.$get({ query: { assignee: "all" } }))).counts.open).toBe(2);
    await runUntil(now() + DAY);
  });

  it("a task completed while its sequence couldn't be told moves the contact on when the user tries again", async () => {
    const x = await onACall(1);
    const [c] = x.contacts as [string];
    const task = await x.taskOf(x.runOf(c));
    // The sequence's object fails the first report it gets.
    const proto = await runInDurableObject(sequenceStub(env, x.sequenceId), (o) => Object.getPrototypeOf(o) as Record<string, unknown>);
    const real = proto.stepsDone as (...a: unknown[]) => unknown;
    let fail = true;
    proto.stepsDone = function (this: unknown, ...a: unknown[]) {
      if (fail) {
        fail = false;
        throw new Error("SequenceDO out of reach");
      }
      return real.apply(this, a);
    };
    try {
      const complete = () => x.api.tasks[":id"][":action"].$post({ param: { id: task.id, action: "complete" }, json: {} });
      expect((await complete()).status).toBe(500);
      const again = await errorOf(await complete());
      expect(again.status).toBe(409);
      expect(again.message).toMatch(/already completed/);
    } finally {
      proto.stepsDone = real;
    }
    const step = async () =>
      (await env.DB.prepare("SELECT current_step FROM enrollments WHERE id = ?").bind(x.runOf(c)).first<{ current_step: number }>())!
        .current_step;
    await runUntil(now() + 5_000);
    expect(await step()).toBe(2);
  });
});

describe("who may work a task, as the Tasks page shows it", () => {
  it("a task of a sequence shared view-only is listed without its buttons (can_work false): working it answers 403", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ type: "call", wait: 0 }], null);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [await makeMailbox(teamId, userId, { gapSeconds: 0 })]);
    await runUntil(now() + HOUR);
    const memberId = crypto.randomUUID().replace(/-/g, "").slice(0, 24);
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'V', 'member', 'x', 0)",
      ).bind(memberId, teamId, `${memberId}@sim.test`),
      env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'view')").bind(
        sequenceId,
        memberId,
        teamId,
      ),
    ]);
    const viewer = client(await sessionFor(teamId, memberId)).api;
    const { tasks } = await ok(viewer.tasks.$get({ query: { assignee: "all", view: "open" } }));
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.can_work).toBe(false);
    expect((await viewer.tasks[":id"][":action"].$post({ param: { id: tasks[0]!.id, action: "complete" }, json: {} })).status).toBe(403);
    const owner = client(await sessionFor(teamId, userId)).api;
    expect((await ok(owner.tasks.$get({ query: { assignee: "all", view: "open" } }))).tasks[0]!.can_work).toBe(true);
  });
});
