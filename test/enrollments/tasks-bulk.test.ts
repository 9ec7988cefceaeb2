// Completing or skipping many tasks at once (POST /tasks/bulk): each goes through the single action's path
// (rights, timeline, the sequence told) and is answered on its own; one refused doesn't stop the others.
// A manual email is not bulk-completed (completing says it was sent): refused with the reason, once the
// task is one the caller may see (else not found, as any other task they can't see).
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import {
  HOUR,
  enroll,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  makeUser,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";
import { onACall } from "./on-a-call";

beforeEach(() => startSimulation());

const taskOf = async (contactId: string) =>
  (await env.DB.prepare(
    "SELECT t.id, t.status, e.current_step FROM tasks t JOIN enrollments e ON e.id = t.enrollment_id WHERE t.contact_id = ?",
  )
    .bind(contactId)
    .first<{ id: string; status: string; current_step: number }>())!;

describe("POST /tasks/bulk", () => {
  it("completes each task as one would, refuses a manual email, another team's task and one already done, each with why", async () => {
    const x = await onACall(3);
    const [a, b, c] = x.contacts as [string, string, string];
    const emailSeq = await makeSequence(x.teamId, x.userId, [{ type: "manual_email", wait: 0 }, { wait: 1 }], null);
    const [m] = (await makeContacts(x.teamId, 1)) as [string];
    await enroll(x.teamId, emailSeq.sequenceId, [m], [await makeMailbox(x.teamId, x.userId, { gapSeconds: 0 })]);
    const other = await onACall(1);
    await runUntil(now() + HOUR);
    const [ta, tb, tc, tm, foreign] = await Promise.all([a, b, c, m, other.contacts[0]!].map(taskOf));

    const { outcomes } = await ok(
      x.api.tasks.bulk.$post({ json: { action: "complete", task_ids: [ta!.id, tb!.id, tm!.id, foreign!.id, ta!.id] } }),
    );
    expect(outcomes).toEqual([
      { task_id: ta!.id, outcome: "done", task: expect.objectContaining({ status: "completed", run: "moved_on" }) },
      { task_id: tb!.id, outcome: "done", task: expect.objectContaining({ status: "completed", run: "moved_on" }) },
      { task_id: tm!.id, outcome: "refused", code: "manual_email", reason: expect.stringMatching(/sent, or marked sent, on its own task/) },
      { task_id: foreign!.id, outcome: "refused", code: "not_found", reason: expect.any(String) },
    ]);
    await runUntil(now() + 10_000);
    expect((await taskOf(a)).status).toBe("completed");
    expect((await taskOf(a)).current_step).toBeGreaterThan(ta!.current_step);
    expect((await taskOf(b)).status).toBe("completed");
    expect((await taskOf(m)).status).toBe("open");
    expect((await taskOf(other.contacts[0]!)).status).toBe("open");
    expect((await taskOf(c)).status).toBe("open");
    // On the contact's timeline as a single completion is.
    const audit = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE target_id = ? AND action = 'task.completed'")
      .bind(a)
      .first<{ n: number }>();
    expect(audit!.n).toBe(1);

    // Skip: the manual email may be skipped; one already completed is refused.
    const skipped = await ok(x.api.tasks.bulk.$post({ json: { action: "skip", task_ids: [tc!.id, tm!.id, ta!.id] } }));
    expect(skipped.outcomes.map((o) => [o.task_id, o.outcome, o.code])).toEqual([
      [tc!.id, "done", undefined],
      [tm!.id, "done", undefined],
      [ta!.id, "refused", "conflict"],
    ]);
    expect((await taskOf(c)).status).toBe("skipped");
    expect((await taskOf(m)).status).toBe("skipped");
  });

  it("answers a member a manual email's task of a sequence they can't see as not found, not as a manual email", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ type: "manual_email", wait: 0 }, { wait: 1 }], null);
    const [m] = (await makeContacts(teamId, 1)) as [string];
    await enroll(teamId, sequenceId, [m], [await makeMailbox(teamId, userId, { gapSeconds: 0 })]);
    await runUntil(now() + HOUR);
    const tm = await taskOf(m);
    const member = client(await sessionFor(teamId, await makeUser(teamId, "member"))).api;

    const { outcomes } = await ok(member.tasks.bulk.$post({ json: { action: "complete", task_ids: [tm.id] } }));
    // "manual_email" would tell them a task of that id exists, and its kind.
    expect(outcomes).toEqual([{ task_id: tm.id, outcome: "refused", code: "not_found", reason: expect.any(String) }]);
    expect((await taskOf(m)).status).toBe("open");
  });

  it("takes up to 100 ids (a page's worth, at D1's 100 parameters) and refuses more with 422", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const ids = Array.from({ length: 100 }, () => newId());
    const { outcomes } = await ok(api.tasks.bulk.$post({ json: { action: "skip", task_ids: ids } }));
    expect(outcomes).toHaveLength(100);
    expect(new Set(outcomes.map((o) => o.code))).toEqual(new Set(["not_found"]));
    const tooMany = await errorOf(await api.tasks.bulk.$post({ json: { action: "skip", task_ids: [...ids, newId()] } }));
    expect(tooMany.status).toBe(422);
    expect(fieldsOf(tooMany).map((f) => f.field)).toEqual(["task_ids"]);
    expect(tooMany.message).toBe("At most 100 tasks at a time");
  });

  it("counts a repeated id once against the 100 (as the README's limits say), and acts on it once", async () => {
    const x = await onACall(1);
    const { task_id } = await x.row(x.contacts[0]!);
    const ids = Array.from({ length: 99 }, () => newId());
    const repeated = await ok(x.api.tasks.bulk.$post({ json: { action: "skip", task_ids: [task_id, ...ids, task_id] } }));
    expect(repeated.outcomes).toHaveLength(100);
    expect(repeated.outcomes[0]).toMatchObject({ task_id, outcome: "done" });
    const audit = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE target_id = ? AND action = 'task.skipped'")
      .bind(x.contacts[0])
      .first<{ n: number }>();
    expect(audit!.n).toBe(1);
    // One id sent 150 times is one task.
    const once = await ok(x.api.tasks.bulk.$post({ json: { action: "skip", task_ids: Array.from({ length: 150 }, () => task_id) } }));
    expect(once.outcomes).toEqual([{ task_id, outcome: "refused", code: "conflict", reason: expect.any(String) }]);
    // 101 different ones are still too many.
    const tooMany = await errorOf(
      await x.api.tasks.bulk.$post({ json: { action: "skip", task_ids: [task_id, ...ids, newId(), task_id] } }),
    );
    expect([tooMany.status, tooMany.message]).toEqual([422, "At most 100 tasks at a time"]);
    expect(fieldsOf(tooMany).map((f) => f.field)).toEqual(["task_ids"]);
  });
});
