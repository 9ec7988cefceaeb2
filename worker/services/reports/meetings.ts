import { sql, type SQL } from "drizzle-orm";

/**
 * Meetings in the reports: rows of `meetings` booked in the range (by the button, the API or the
 * scheduling tool's webhook), each attributed to the sequence run it ended and to the mailbox that
 * ran it. A booking finishes the contact's open runs with reason `meeting_booked`; the run paired
 * with a meeting is one finished that way after the meeting was recorded and before the contact's
 * next meeting was. A meeting that ended no run (the contact had finished every step already)
 * goes to the sequence and mailbox of the last email sent to the contact before it was recorded.
 * A meeting with neither (the contact was never emailed) is no sequence's and no sender's.
 *
 * A user is credited with the meetings they booked (the button or the API: `created_by`), in a sequence
 * or outside any, as Outreach and Apollo credit the booker; a meeting no one booked (the scheduling
 * tool's webhook) goes to the owner of the mailbox of the run it is credited to, as its emails do.
 */

/**
 * `WITH ... att(meeting_id, sequence_id, mailbox_id, enrollment_id)`: one row per (meeting, run it
 * is credited to); count DISTINCT meeting_id per group. Booked in [from, to) when given. MATERIALIZED:
 * a caller that reads it twice (the team report's credit per user) would otherwise have it planned again
 * as a list subquery that walks the team's enrollments (test round-trips). Also
 * `inr(id, contact_id, created_by, ...)`: every meeting booked in the range, credited to a run or not.
 */
export function meetingAttribution(teamId: string, from?: number, to?: number): SQL {
  const range = sql.join(
    [sql`1 = 1`, ...(from !== undefined ? [sql`booked_at >= ${from}`] : []), ...(to !== undefined ? [sql`booked_at < ${to}`] : [])],
    sql` AND `,
  );
  return sql`WITH mt AS (
      SELECT id, contact_id, booked_at, created_by, created_at, lead(created_at) OVER (PARTITION BY contact_id ORDER BY created_at, id) AS next_at
        FROM meetings WHERE team_id = ${teamId} AND contact_id IN (SELECT contact_id FROM meetings WHERE team_id = ${teamId} AND ${range})),
    inr AS (SELECT id, contact_id, created_by, created_at, next_at FROM mt WHERE ${range}),
    byrun AS (
      SELECT inr.id AS meeting_id, e.sequence_id, e.mailbox_id, e.id AS enrollment_id FROM inr
        JOIN enrollments e ON e.contact_id = inr.contact_id AND e.team_id = ${teamId} AND e.reason = 'meeting_booked'
         AND e.finished_at >= inr.created_at AND (inr.next_at IS NULL OR e.finished_at < inr.next_at)),
    att AS MATERIALIZED (
      SELECT meeting_id, sequence_id, mailbox_id, enrollment_id FROM byrun
      UNION ALL
      SELECT inr.id, m.sequence_id, m.mailbox_id, m.enrollment_id FROM inr
        JOIN messages m ON m.id = (SELECT x.id FROM messages x WHERE x.contact_id = inr.contact_id AND x.team_id = ${teamId}
          AND x.sequence_id <> '' AND x.status IN ('sent', 'bounced') AND x.sent_at <= inr.created_at ORDER BY x.sent_at DESC, x.id DESC LIMIT 1)
       WHERE NOT EXISTS (SELECT 1 FROM byrun b WHERE b.meeting_id = inr.id))`;
}
