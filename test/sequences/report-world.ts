// A sequence with sent emails for the report's filter tests: one step with variants A and B, one finished run
// and one sent email from `mailbox` per instant of `sentAt`, variants in turn.
import { newId } from "../../worker/lib/ids";
import { makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor } from "../fixtures";
import { client, env, ok, type Session } from "../helpers";

export const DAY = 86_400_000;
export type ReportQuery = NonNullable<Parameters<ReturnType<typeof client>["api"]["sequences"][":id"]["report"]["$get"]>[0]>["query"];
export const reportOf = async (s: Session, id: string, query: ReportQuery = {}) =>
  (await ok(client(s).api.sequences[":id"].report.$get({ param: { id }, query }))).report;

/** A sequence whose first step has variants A and B; one email from `mailbox` per entry of `sentAt`, variants in turn. */
export async function world(sentAt: number[]) {
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
