// "Reached" in a sequence report is counted per step id (the contacts with that step's email or task, and
// the open runs on it now), not from positions: after a step is moved or deleted, "got to position n or
// later" gave the moved step fewer contacts than it sent emails and named a deleted step's position after
// the step that took it.
import { describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor } from "../fixtures";
import { client, env, ok, type Session } from "../helpers";

const DAY = 86_400_000;
type ReportQuery = NonNullable<Parameters<ReturnType<typeof client>["api"]["sequences"][":id"]["report"]["$get"]>[0]>["query"];
const reportOf = async (s: Session, id: string, query: ReportQuery = {}) =>
  (await ok(client(s).api.sequences[":id"].report.$get({ param: { id }, query }))).report;

/**
 * Three email steps; of 10 contacts all got step 1's email, 6 step 2's and 3 step 3's (sent on June 1, 2
 * and 3), and their runs finished on the last step they got. Contact 9 has an open run on step 2 with no
 * email yet. Enrolled on May 1, long before the emails.
 */
async function world() {
  const { teamId, userId } = await makeTeam("Reached");
  const s = await sessionFor(teamId, userId);
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    [{}, { wait: 1, unit: "days" }, { wait: 1, unit: "days" }],
    null,
    false,
  );
  const mailbox = await makeMailbox(teamId, userId);
  const contacts = await makeContacts(teamId, 10);
  const added = Date.UTC(2026, 4, 1, 9);
  const june1 = Date.UTC(2026, 5, 1, 10);
  const got = (i: number) => (i < 3 ? 3 : i < 6 ? 2 : 1);
  const stmts: D1PreparedStatement[] = [];
  contacts.forEach((c, i) => {
    const e = newId();
    const open = i === 9;
    stmts.push(
      env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, mailbox_id, status, current_step, reason, added_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).bind(
        e,
        teamId,
        sequenceId,
        c,
        mailbox,
        open ? "active" : "finished",
        open ? 2 : got(i),
        open ? null : "replied",
        userId,
        added,
        added,
      ),
    );
    for (let k = 0; k < got(i); k++)
      stmts.push(
        env.DB.prepare(
          "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'x@example.test', 's', 'b', ?, 'sent', ?, ?)",
        ).bind(
          newId(),
          teamId,
          e,
          sequenceId,
          stepIds[k],
          mailbox,
          c,
          `<sf.${e}.${stepIds[k]}@sender.test>`,
          june1 + k * DAY,
          june1 + k * DAY,
        ),
      );
  });
  await env.DB.batch(stmts);
  return { s, sequenceId, stepIds };
}

const funnel = (r: Awaited<ReturnType<typeof reportOf>>) => r.steps.map((x) => [x.step_id, x.reached, x.sent]);

describe("reached in a sequence report", () => {
  it("counts, per step, the contacts that had its email, and the open runs on it now", async () => {
    const w = await world();
    const r = await reportOf(w.s, w.sequenceId);
    expect(funnel(r)).toEqual([
      [w.stepIds[0], 10, 10],
      [w.stepIds[1], 7, 6], // 6 emails and contact 9 waiting on it
      [w.stepIds[2], 3, 3],
    ]);
  });

  it("stays with the step when it is moved: the step moved first is reached by the contacts it sent to", async () => {
    const w = await world();
    const order = [w.stepIds[2]!, w.stepIds[0]!, w.stepIds[1]!];
    await ok(client(w.s).api.sequences[":id"].steps.reorder.$post({ param: { id: w.sequenceId }, json: { step_ids: order } }));
    const r = await reportOf(w.s, w.sequenceId);
    expect(r.steps.map((x) => x.step_id)).toEqual(order);
    for (const x of r.steps) expect(x.reached!).toBeGreaterThanOrEqual(x.sent);
    const by = new Map(r.steps.map((x) => [x.step_id, x.reached]));
    expect(by.get(w.stepIds[2]!)).toBe(3);
    expect(by.get(w.stepIds[0]!)).toBe(10);
  });

  it("gives the step that took a deleted step's place only its own contacts", async () => {
    const w = await world();
    await ok(client(w.s).api.sequences[":id"].steps[":stepId"].$delete({ param: { id: w.sequenceId, stepId: w.stepIds[1]! } }));
    const r = await reportOf(w.s, w.sequenceId);
    const by = new Map(r.steps.map((x) => [x.step_id, x]));
    // Step 3, now at position 2, sent 3 emails: the deleted step's 6 contacts never got to it.
    expect(by.get(w.stepIds[2]!)).toMatchObject({ position: 2, sent: 3 });
    expect(by.get(w.stepIds[2]!)!.reached).toBeLessThanOrEqual(4);
    expect(by.get(w.stepIds[2]!)!.reached).toBeGreaterThanOrEqual(3);
    expect(by.get(null)).toMatchObject({ deleted: true, reached: null, sent: 6 });
  });

  it("with a range, counts the contacts and their statuses among those with an email or task in it, as Sent and Reached do", async () => {
    const w = await world();
    // Everyone was added on May 1; June 2 and 3 had step 2's 6 emails and step 3's 3, to contacts 0 to 5.
    const r = await reportOf(w.s, w.sequenceId, { from: "2026-06-02", to: "2026-06-03" });
    expect(r.totals.contacts).toBe(6);
    expect(r.totals.sent).toBe(9);
    expect(r.statuses.find((x) => x.status === "finished")!.contacts).toBe(6);
    expect(r.statuses.reduce((n, x) => n + x.contacts, 0)).toBe(6);
    expect(funnel(r)).toEqual([
      [w.stepIds[0], 0, 0],
      [w.stepIds[1], 6, 6],
      [w.stepIds[2], 3, 3],
    ]);
    // A range with no emails or tasks has no contacts either.
    const quiet = await reportOf(w.s, w.sequenceId, { from: "2026-07-01", to: "2026-07-31" });
    expect(quiet.totals.contacts).toBe(0);
  });
});
