import { and, eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { tasks as tasksTable } from "../../db/schema";
import { openTaskCounts } from "../tasks";
import type { Caller } from "../../env";
import { canSeeAllSequences, visibleJob, visibleSequence } from "../access";
import { meetingAttribution } from "./meetings";
import { earlierRun } from "./sequence";
import { DAY_MS, rate, replyRate, THRESHOLDS } from "./thresholds";

/**
 * The team report and the home dashboard: grouped SQL over covering indexes (messages_team_sent_idx,
 * enrollments_team_created_idx), limited to the sequences the caller may see (services/access.ts).
 * Emails count for the user who owns the sending mailbox; added contacts for the user who added them;
 * meetings by when they were booked, for the run they ended and the user who booked them (services/reports/meetings.ts).
 */

export interface TeamRow {
  added: number;
  sent: number;
  replies: number;
  meetings: number;
  positive_replies: number;
  unsubscribed: number;
  bounced: number;
  bounce_rate: number;
  reply_rate: number;
}

const blank = () => ({ added: 0, sent: 0, replies: 0, meetings: 0, positive_replies: 0, unsubscribed: 0, bounced: 0 });
const finish = <T extends ReturnType<typeof blank>>(r: T) => ({
  ...r,
  bounce_rate: rate(r.bounced, r.sent),
  reply_rate: replyRate({ ...r, replied: r.replies }),
});

/** The sequences the caller may see, on a raw column (`1 = 1` for those who see them all). */
const visible = (caller: Caller, column: string): SQL => visibleSequence(caller, sql.raw(column)) ?? sql`1 = 1`;

export async function teamReport(d: Db, caller: Caller, from: number, to: number) {
  const [users, seqs, mailboxes, added, rerun, sent, meetings, positive] = await Promise.all([
    d.all<{ id: string; name: string; email: string }>(
      sql`SELECT id, name, email FROM users WHERE team_id = ${caller.teamId} ORDER BY name`,
    ),
    d.all<{ id: string; name: string; owner_id: string }>(
      sql`SELECT s.id, s.name, s.owner_id FROM sequences s WHERE s.team_id = ${caller.teamId} AND ${visible(caller, "s.id")}`,
    ),
    d.all<{ id: string; user_id: string }>(sql`SELECT id, user_id FROM mailboxes WHERE team_id = ${caller.teamId}`),
    d.all<{ added_by: string | null; sequence_id: string; n: number }>(
      sql`SELECT e.added_by, e.sequence_id, count(*) AS n FROM enrollments e WHERE e.team_id = ${caller.teamId} AND e.created_at >= ${from} AND e.created_at < ${to} AND ${visible(caller, "e.sequence_id")} GROUP BY 1, 2`,
    ),
    // Added counts a contact's first run of a sequence only: a restart or a re-add makes another run, not
    // another contact added. These are the other runs in the range, taken off the counts above; only contacts
    // with several runs are looked at (enrollments_sequence_contact_idx alone finds them).
    d.all<{ added_by: string | null; sequence_id: string; n: number }>(
      // CROSS JOIN keeps that order: from the few such contacts to their runs, never every run to its contact.
      sql`SELECT e.added_by, e.sequence_id, count(*) AS n
           FROM (SELECT sequence_id, contact_id FROM enrollments WHERE sequence_id IN (SELECT id FROM sequences WHERE team_id = ${caller.teamId}) GROUP BY 1, 2 HAVING count(*) > 1) dup
           CROSS JOIN enrollments e ON dup.sequence_id = e.sequence_id AND dup.contact_id = e.contact_id
          WHERE e.team_id = ${caller.teamId} AND e.created_at >= ${from} AND e.created_at < ${to} AND ${visible(caller, "e.sequence_id")}
            AND ${earlierRun("e")}
          GROUP BY 1, 2`,
    ),
    // Emails from the rollup (kept by triggers on messages): a few rows per sequence, mailbox and day.
    d.all<{ sequence_id: string; mailbox_id: string; sent: number; bounced: number; replies: number; unsubscribed: number }>(
      sql`SELECT r.sequence_id, r.mailbox_id, sum(r.sent) AS sent, sum(r.bounced) AS bounced, sum(r.replied) AS replies, sum(r.unsubscribed) AS unsubscribed
         FROM report_rollup r WHERE r.team_id = ${caller.teamId} AND r.day >= ${Math.floor(from / DAY_MS)} AND r.day < ${Math.ceil(to / DAY_MS)} AND ${visible(caller, "r.sequence_id")} GROUP BY 1, 2`,
    ),
    // Meetings booked in the range (services/reports/meetings.ts says whose): once per sequence, and once per
    // user: the user who booked it, in a sequence or outside any; a meeting no one booked (the scheduling tool's)
    // goes to the owner of the mailbox that ran it, however many of that user's runs it ended. A meeting credited
    // to sequences counts where one of them is visible; one of no sequence, like its contact, for the whole team.
    d.all<{ sequence_id: string | null; user_id: string | null; n: number }>(
      sql`${meetingAttribution(caller.teamId, from, to)},
          seen AS (SELECT att.meeting_id, att.sequence_id, mb.user_id FROM att LEFT JOIN mailboxes mb ON mb.id = att.mailbox_id AND mb.team_id = ${caller.teamId} WHERE ${visible(caller, "att.sequence_id")}),
          credit AS (
            SELECT inr.id AS meeting_id, inr.created_by AS user_id FROM inr
             WHERE inr.created_by IS NOT NULL AND (inr.id IN (SELECT meeting_id FROM seen) OR inr.id NOT IN (SELECT meeting_id FROM att))
            UNION ALL
            SELECT seen.meeting_id, seen.user_id FROM seen JOIN inr ON inr.id = seen.meeting_id WHERE inr.created_by IS NULL)
          SELECT sequence_id, NULL AS user_id, count(DISTINCT meeting_id) AS n FROM seen GROUP BY 1
          UNION ALL
          SELECT NULL, user_id, count(DISTINCT meeting_id) FROM credit WHERE user_id IS NOT NULL GROUP BY 2`,
    ),
    // Positive replies: contacts who replied to an email sent in the range and now sit in a "succeeded" stage
    // (Interested, Meeting booked), each counted once per sequence and once per user (the owner of the mailbox
    // they replied to). By the email's send day, like Replies beside it and the sequence report, so a positive
    // reply is always one of the replies counted (a reply on the 3rd to an email of the 28th counts on the 28th).
    d.all<{ sequence_id: string | null; user_id: string | null; n: number }>(
      sql`WITH pos AS (SELECT m.sequence_id, mb.user_id, m.contact_id FROM messages m
           JOIN contacts c ON c.id = m.contact_id AND c.team_id = m.team_id JOIN contact_stages st ON st.id = c.stage_id
           LEFT JOIN mailboxes mb ON mb.id = m.mailbox_id
          WHERE m.team_id = ${caller.teamId} AND m.sent_at >= ${from} AND m.sent_at < ${to} AND m.status IN ('sent', 'bounced') AND m.sequence_id <> ''
            AND m.replied_at IS NOT NULL AND m.reply_kind = 'reply' AND st.category = 'succeeded' AND ${visible(caller, "m.sequence_id")})
          SELECT sequence_id, NULL AS user_id, count(DISTINCT contact_id) AS n FROM pos GROUP BY 1
          UNION ALL
          SELECT NULL, user_id, count(DISTINCT contact_id) FROM pos WHERE user_id IS NOT NULL GROUP BY 2`,
    ),
  ]);
  const mailboxOwner = new Map(mailboxes.map((m) => [m.id, m.user_id]));
  const byUser = new Map(users.map((u) => [u.id, blank()]));
  const bySeq = new Map(seqs.map((s) => [s.id, blank()]));
  const at = <K>(m: Map<K, ReturnType<typeof blank>>, k: K) => m.get(k) ?? (m.set(k, blank()), m.get(k)!);
  for (const [rows, sign] of [
    [added, 1],
    [rerun, -1],
  ] as const) {
    for (const r of rows) {
      if (r.added_by) at(byUser, r.added_by).added += sign * r.n;
      if (bySeq.has(r.sequence_id)) at(bySeq, r.sequence_id).added += sign * r.n;
    }
  }
  for (const r of sent) {
    const owner = mailboxOwner.get(r.mailbox_id);
    for (const row of [owner ? at(byUser, owner) : null, bySeq.get(r.sequence_id) ?? null]) {
      if (!row) continue;
      row.sent += r.sent;
      row.bounced += r.bounced ?? 0;
      row.replies += r.replies ?? 0;
      row.unsubscribed += r.unsubscribed ?? 0;
    }
  }
  for (const [rows, key] of [
    [meetings, "meetings"],
    [positive, "positive_replies"],
  ] as const) {
    for (const r of rows) {
      if (r.user_id) at(byUser, r.user_id)[key] += r.n;
      const s = r.sequence_id ? bySeq.get(r.sequence_id) : undefined;
      if (s) s[key] += r.n;
    }
  }
  const userName = new Map(users.map((u) => [u.id, u]));
  return {
    from,
    to,
    users: [...byUser.entries()]
      .filter(([id]) => userName.has(id))
      .map(([id, r]) => ({ user_id: id, name: userName.get(id)!.name, email: userName.get(id)!.email, ...finish(r) })),
    sequences: seqs
      .map((s) => ({ sequence_id: s.id, name: s.name, ...finish(bySeq.get(s.id)!) }))
      .sort((a, b) => b.sent - a.sent || a.name.localeCompare(b.name)),
    all_sequences: canSeeAllSequences(caller),
    thresholds: THRESHOLDS,
  };
}

/** Sequences with at least this many emails in the window are judged on their bounce rate. */
export const BOUNCE_ALERT_MIN_SENT = 20;

interface ReplyRow {
  id: string;
  replied_at: number;
  subject: string | null;
  sequence_id: string;
  sequence_name: string;
  contact_id: string | null;
  contact_name: string | null;
  email: string | null;
}
interface JobRow {
  id: string;
  status: string;
  sequence_id: string | null;
  sequence_name: string | null;
  total: number;
  processed: number;
  run_at: number | null;
  created_at: number;
}

/** `day`: the viewer's local day, [start, end) (tasks.ts localDayBounds: a DST day is 23 or 25 hours). */
export async function homeDashboard(d: Db, caller: Caller, t: number, [startOfDay, endOfDay]: [number, number]) {
  const since = t - 30 * DAY_MS;
  const [team, tasks, replies, jobs, bounces] = await Promise.all([
    d.get<{ credit_balance: number }>(sql`SELECT credit_balance FROM teams WHERE id = ${caller.teamId}`),
    // The caller's own open tasks, counted as the Tasks page's tabs count them.
    openTaskCounts(d, and(eq(tasksTable.teamId, caller.teamId), eq(tasksTable.assigneeId, caller.userId)), [startOfDay, endOfDay]),
    d.all<ReplyRow>(
      // A deleted contact's reply stays (it happened) without the person's name or email, as in the CSV exports.
      sql`SELECT m.id, m.replied_at, m.subject, m.sequence_id, s.name AS sequence_name, c.id AS contact_id, trim(c.first_name || ' ' || c.last_name) AS contact_name, c.email
         FROM messages m JOIN sequences s ON s.id = m.sequence_id LEFT JOIN contacts c ON c.id = m.contact_id AND c.team_id = m.team_id AND c.deleted_at IS NULL
        WHERE m.team_id = ${caller.teamId} AND m.reply_kind = 'reply' AND m.replied_at >= ${since} AND ${visible(caller, "m.sequence_id")} ORDER BY m.replied_at DESC LIMIT 10`,
    ),
    d.all<JobRow>(
      // Every job not ended, 'preparing' (a large selection still being checked and ordered) included.
      // Who may open a job is visibleJob's rule (its sequence's, or its creator's when it has none); `jb`,
      // because that rule's own subquery calls the jobs table `j`.
      sql`SELECT jb.id, jb.status, jb.sequence_id, s.name AS sequence_name, jb.total, jb.processed, jb.run_at, jb.created_at FROM jobs jb LEFT JOIN sequences s ON s.id = jb.sequence_id
        WHERE jb.team_id = ${caller.teamId} AND jb.status IN ('scheduled', 'preparing', 'queued', 'running') AND ${visibleJob(caller, sql.raw("jb.id"))} ORDER BY jb.created_at DESC LIMIT 10`,
    ),
    // Archived sequences are left out (nothing of theirs can send again); those turned off stay, marked, since
    // their addresses still need checking before they go back on. The rollup has whole UTC days: the last 30 are
    // today and the 29 before it (`day >= floor(since / DAY)` took a 31st, up to a day more than 30 back).
    d.all<{ sequence_id: string; name: string; active: number; sent: number; bounced: number | null }>(
      sql`SELECT r.sequence_id, s.name, s.active, sum(r.sent) AS sent, sum(r.bounced) AS bounced FROM report_rollup r JOIN sequences s ON s.id = r.sequence_id AND s.archived_at IS NULL
        WHERE r.team_id = ${caller.teamId} AND r.day > ${Math.floor(since / DAY_MS)} AND ${visible(caller, "r.sequence_id")} GROUP BY 1, 2, 3`,
    ),
  ]);
  return {
    credits: team?.credit_balance ?? 0,
    tasks: { overdue: tasks.overdue, due_today: tasks.due_today },
    recent_replies: replies.map((r) => ({
      message_id: r.id,
      replied_at: r.replied_at,
      subject: r.subject ?? "",
      sequence: { id: r.sequence_id, name: r.sequence_name },
      contact: r.contact_id ? { id: r.contact_id, name: r.contact_name || r.email || "Unknown contact" } : null,
    })),
    jobs: jobs.map((j) => ({
      id: j.id,
      status: j.status,
      sequence: j.sequence_id ? { id: j.sequence_id, name: j.sequence_name ?? "" } : null,
      total: j.total,
      processed: j.processed,
      run_at: j.run_at,
      created_at: j.created_at,
    })),
    high_bounce_sequences: bounces
      .map((r) => ({
        sequence_id: r.sequence_id,
        name: r.name,
        active: !!r.active,
        sent: r.sent,
        bounced: r.bounced ?? 0,
        bounce_rate: rate(r.bounced ?? 0, r.sent),
      }))
      .filter((r) => r.sent >= BOUNCE_ALERT_MIN_SENT && r.bounce_rate > THRESHOLDS.bounce_rate_max)
      .sort((a, b) => b.bounce_rate - a.bounce_rate),
    bounce_window_days: 30,
    thresholds: THRESHOLDS,
  };
}
