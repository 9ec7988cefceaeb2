// With a date range, a sequence report counts a task in the range when it was created or done in it: Tasks
// done counts the tasks done in the range, and Reached and Contacts counted only those created in it, so a
// call created the week before and done in the range was done on a step no one had reached (live: Reached
// 60 beside Tasks done 72) and its contact was missing from Contacts.
import { describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor } from "../fixtures";
import { client, env, ok, type Session } from "../helpers";

type ReportQuery = NonNullable<Parameters<ReturnType<typeof client>["api"]["sequences"][":id"]["report"]["$get"]>[0]>["query"];
const reportOf = async (s: Session, id: string, query: ReportQuery = {}) =>
  (await ok(client(s).api.sequences[":id"].report.$get({ param: { id }, query }))).report;

/**
 * An email step and a call step; four contacts enrolled on May 1 whose step 1 emails went out on May 10.
 * Their call tasks: contact 0's created May 20 and done June 2, contact 1's created May 25 and done June 3
 * (both created before the June 1–7 range and done in it), contact 2's created June 4 and still open, contact
 * 3's created and done in May (outside the range altogether).
 */
async function world() {
  const { teamId, userId } = await makeTeam("Ranged tasks");
  const s = await sessionFor(teamId, userId);
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}, { type: "call" }], null, false);
  const mailbox = await makeMailbox(teamId, userId);
  const contacts = await makeContacts(teamId, 4);
  const at = (month: number, day: number) => Date.UTC(2026, month - 1, day, 10);
  const tasks: [created: number, done: number | null][] = [
    [at(5, 20), at(6, 2)],
    [at(5, 25), at(6, 3)],
    [at(6, 4), null],
    [at(5, 12), at(5, 14)],
  ];
  const stmts: D1PreparedStatement[] = [];
  contacts.forEach((c, i) => {
    const e = newId();
    const [created, done] = tasks[i]!;
    stmts.push(
      env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, mailbox_id, status, current_step, reason, added_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).bind(
        e,
        teamId,
        sequenceId,
        c,
        mailbox,
        done ? "finished" : "active",
        2,
        done ? "completed_all_steps" : null,
        userId,
        at(5, 1),
        at(5, 1),
      ),
      env.DB.prepare(
        "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'x@example.test', 's', 'b', ?, 'sent', ?, ?)",
      ).bind(newId(), teamId, e, sequenceId, stepIds[0], mailbox, c, `<rt.${e}@sender.test>`, at(5, 10), at(5, 10)),
      env.DB.prepare(
        "INSERT INTO tasks (id, team_id, enrollment_id, sequence_id, step_id, contact_id, assignee_id, type, due_at, status, completed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'call', ?, ?, ?, ?)",
      ).bind(newId(), teamId, e, sequenceId, stepIds[1], c, userId, created, done ? "completed" : "open", done, created),
    );
  });
  await env.DB.batch(stmts);
  return { s, sequenceId, stepIds, mailbox };
}

describe("tasks in a ranged sequence report", () => {
  it("counts a task created before the range and done in it as reaching its step, and its contact among the contacts", async () => {
    const w = await world();
    const r = await reportOf(w.s, w.sequenceId, { from: "2026-06-01", to: "2026-06-07" });
    const call = r.steps.find((x) => x.step_id === w.stepIds[1])!;
    // Contacts 0 and 1 (done in the range) and 2 (created in it); contact 3's task was all in May.
    expect(call.tasks_done).toBe(2);
    expect(call.reached).toBe(3);
    expect(call.reached!).toBeGreaterThanOrEqual(call.tasks_done);
    expect(r.totals.tasks_done).toBe(2);
    expect(r.totals.contacts).toBe(3);
    expect(r.statuses.reduce((n, x) => n + x.contacts, 0)).toBe(3);
    expect(r.statuses.find((x) => x.status === "finished")!.contacts).toBe(2);
    // The May emails are outside the range: step 1 reached no one in it.
    expect(r.steps.find((x) => x.step_id === w.stepIds[0])).toMatchObject({ sent: 0, reached: 0 });
  });

  it("keeps the same count under the mailbox filter, and a range that only opens (from) still counts a task done in it", async () => {
    const w = await world();
    const byMailbox = await reportOf(w.s, w.sequenceId, { from: "2026-06-01", to: "2026-06-07", mailbox_id: w.mailbox });
    expect(byMailbox.steps.find((x) => x.step_id === w.stepIds[1])).toMatchObject({ reached: 3, tasks_done: 2 });
    expect(byMailbox.totals.contacts).toBe(3);
    // From May 21: contact 1's task was created in it, contact 0's (created May 20) only done in it.
    const open = await reportOf(w.s, w.sequenceId, { from: "2026-05-21" });
    expect(open.steps.find((x) => x.step_id === w.stepIds[1])).toMatchObject({ reached: 3, tasks_done: 2 });
    expect(open.totals.contacts).toBe(3);
  });
});
