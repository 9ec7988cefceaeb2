// An A/B test the report's filters leave without emails says so ("in this range", "for this mailbox")
// rather than "No emails sent yet." of a test that has sent plenty.
import { describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor } from "../fixtures";
import { client, env, ok, type Session } from "../helpers";

const DAY = 86_400_000;
type ReportQuery = NonNullable<Parameters<ReturnType<typeof client>["api"]["sequences"][":id"]["report"]["$get"]>[0]>["query"];
const reportOf = async (s: Session, id: string, query: ReportQuery = {}) =>
  (await ok(client(s).api.sequences[":id"].report.$get({ param: { id }, query }))).report;

/** A sequence whose first step has variants A and B; one email from `mailbox` per entry of `sentAt`, variants in turn. */
async function world(sentAt: number[]) {
  const { teamId, userId } = await makeTeam("Report filters");
  const s = await sessionFor(teamId, userId);
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    [
      {
        variants: [
          { subject: "A", body: "a" },
          { subject: "B", body: "b" },
        ],
      },
    ],
    null,
    false,
  );
  const variants = (
    await env.DB.prepare("SELECT id FROM step_variants WHERE step_id = ? ORDER BY label").bind(stepIds[0]).all<{ id: string }>()
  ).results.map((r) => r.id);
  const mailbox = await makeMailbox(teamId, userId);
  const otherMailbox = await makeMailbox(teamId, userId);
  const contacts = await makeContacts(teamId, sentAt.length);
  const stmts: D1PreparedStatement[] = [];
  sentAt.forEach((at, i) => {
    const e = newId();
    stmts.push(
      env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, mailbox_id, status, current_step, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'finished', 1, 'completed_all_steps', ?, ?)",
      ).bind(e, teamId, sequenceId, contacts[i], mailbox, at, at),
      env.DB.prepare(
        "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, variant_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'x@example.test', 's', 'b', ?, 'sent', ?, ?)",
      ).bind(
        newId(),
        teamId,
        e,
        sequenceId,
        stepIds[0],
        variants[i % 2],
        mailbox,
        contacts[i],
        `<sf.${e}.${stepIds[0]}@sender.test>`,
        at,
        at,
      ),
    );
  });
  await env.DB.batch(stmts);
  return { s, sequenceId, mailbox, otherMailbox };
}

describe("an A/B test under the report's filters", () => {
  it("says an A/B test has no emails in the range or for the mailbox, not that none were sent yet", async () => {
    const june1 = Date.UTC(2026, 5, 1, 10);
    const w = await world([june1, june1, june1 + DAY]);
    const verdict = async (q: ReportQuery) => (await reportOf(w.s, w.sequenceId, q)).ab_tests[0]!.verdict;
    expect(await verdict({})).not.toMatch(/^No emails/);
    expect(await verdict({ from: "2026-07-01", to: "2026-07-31" })).toBe("No emails in this range.");
    expect(await verdict({ mailbox_id: w.otherMailbox })).toBe("No emails for this mailbox.");
    expect(await verdict({ mailbox_id: w.otherMailbox, from: "2026-06-01", to: "2026-06-30" })).toBe(
      "No emails for this mailbox in this range.",
    );
    // The same filters with emails give the figures, not an empty verdict.
    expect(await verdict({ mailbox_id: w.mailbox, from: "2026-06-01", to: "2026-06-30" })).not.toMatch(/^No emails/);
  });
});
