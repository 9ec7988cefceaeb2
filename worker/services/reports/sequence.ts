import { sql, type SQL } from "drizzle-orm";
import { stepOrderBy } from "../../../durable-objects/sequence-config";
import type { Db } from "../../db/client";
import type { Caller } from "../../env";
import { now } from "../../lib/clock";
import { sequenceFor } from "../access";
import { meetingAttribution } from "./meetings";
import { CONTACT_BLOCKED, OPEN, runStepSql, SHOWN_STATUSES, shownStatus } from "../enrollments";
import { abStepTests } from "./ab";
import type { AbVerdict } from "./stats";
import { DAY_MS, rate, replyRate, THRESHOLDS, TRACKING_NOTE } from "./thresholds";

/**
 * The sequence report: every figure is a SQL aggregate over a covering index (messages_sequence_report_idx,
 * enrollments_sequence_report_idx, tasks_sequence_step_idx); the Worker only ever holds grouped rows,
 * never one row per contact or per email. Raw SQL (drizzle's `sql` tag, values bound): grouped
 * aggregates with `sum(expr)` the builder can't say without hiding the query plan.
 */

export interface ReportFilter {
  from?: number;
  to?: number;
  addedBy?: string;
  mailboxId?: string;
}

/** ` AND a AND b ...` (nothing when there are no conditions). */
const andAll = (parts: SQL[]) => (parts.length ? sql` AND ${sql.join(parts, sql` AND `)}` : sql``);

/**
 * The contacts of the sequence whose first run was added by `userId`: "Added by" is whoever added a
 * contact first, so a restart or re-add by someone else leaves every run of that contact with its
 * first adder (and counts nowhere under the restarter).
 */
const addedFirstBy = (sequenceId: string, userId: string) =>
  sql`SELECT f.contact_id FROM enrollments f WHERE f.sequence_id = ${sequenceId} AND f.added_by = ${userId} AND NOT ${earlierRun("f")}`;

/**
 * The run on enrollments alias `e` is not its contact's first in the sequence (an earlier run, by time and
 * then id, exists): both reports decide with this who added a contact ("Added by" is the first run's).
 */
export const earlierRun = (e: "e" | "f") =>
  sql.raw(`EXISTS (SELECT 1 FROM enrollments p WHERE p.sequence_id = ${e}.sequence_id AND p.contact_id = ${e}.contact_id
    AND (p.created_at < ${e}.created_at OR (p.created_at = ${e}.created_at AND p.id < ${e}.id)))`);

/** The filters on the enrollments alias `e`. */
function enrollmentFilter(f: ReportFilter, sequenceId: string) {
  const where: SQL[] = [];
  if (f.from !== undefined) where.push(sql`e.created_at >= ${f.from}`);
  if (f.to !== undefined) where.push(sql`e.created_at < ${f.to}`);
  if (f.addedBy) where.push(sql`e.contact_id IN (${addedFirstBy(sequenceId, f.addedBy)})`);
  if (f.mailboxId) where.push(sql`e.mailbox_id = ${f.mailboxId}`);
  return andAll(where);
}

/** The filters on the messages alias `m`. */
function messageFilter(f: ReportFilter, sequenceId: string) {
  const where: SQL[] = [];
  if (f.from !== undefined) where.push(sql`m.sent_at >= ${f.from}`);
  if (f.to !== undefined) where.push(sql`m.sent_at < ${f.to}`);
  if (f.mailboxId) where.push(sql`m.mailbox_id = ${f.mailboxId}`);
  if (f.addedBy) where.push(sql`m.contact_id IN (${addedFirstBy(sequenceId, f.addedBy)})`);
  return andAll(where);
}

/** The mailbox and added-by filters on the meeting attribution `att` (the range is the booking's). */
function meetingFilter(f: ReportFilter, sequenceId: string) {
  const where: SQL[] = [];
  if (f.mailboxId) where.push(sql`att.mailbox_id = ${f.mailboxId}`);
  if (f.addedBy)
    where.push(
      sql`att.enrollment_id IN (SELECT id FROM enrollments WHERE sequence_id = ${sequenceId} AND contact_id IN (${addedFirstBy(sequenceId, f.addedBy)}))`,
    );
  return andAll(where);
}

/** The same filters over report_rollup (from/to are whole UTC days, so day numbers are exact). */
function rollupFilter(f: ReportFilter) {
  const where: SQL[] = [];
  if (f.from !== undefined) where.push(sql`day >= ${Math.floor(f.from / DAY_MS)}`);
  if (f.to !== undefined) where.push(sql`day < ${Math.ceil(f.to / DAY_MS)}`);
  if (f.mailboxId) where.push(sql`mailbox_id = ${f.mailboxId}`);
  return andAll(where);
}

/** Tasks done in the window, of enrollments that pass the added-by / mailbox filters (each one also in tasksIn, so Reached holds it). */
function taskFilter(f: ReportFilter, sequenceId: string) {
  const where: SQL[] = [];
  if (f.from !== undefined) where.push(sql`t.completed_at >= ${f.from}`);
  if (f.to !== undefined) where.push(sql`t.completed_at < ${f.to}`);
  if (f.addedBy || f.mailboxId)
    where.push(
      sql`t.enrollment_id IN (SELECT e.id FROM enrollments e WHERE e.sequence_id = ${sequenceId}${enrollmentFilter({ addedBy: f.addedBy, mailboxId: f.mailboxId }, sequenceId)})`,
    );
  return andAll(where);
}

type GroupRow = {
  step_id: string;
  variant_id: string | null;
  mailbox_id: string;
  sent: number;
  bounced: number;
  replied: number;
  ooo: number;
  unsub: number;
};
type DayRow = { day: number; sent: number; bounced: number; replied: number; ooo: number };

export interface Counts {
  sent: number;
  replied: number;
  out_of_office: number;
  bounced: number;
}

export interface SequenceReport {
  sequence: { id: string; name: string };
  filters: { from: number | null; to: number | null; added_by: string | null; mailbox_id: string | null };
  totals: Counts & {
    contacts: number;
    reply_rate: number;
    bounce_rate: number;
    positive_replies: number;
    meetings: number;
    unsubscribed: number;
    tasks_done: number;
  };
  statuses: { status: string; contacts: number }[];
  /** The steps in order, then one row for the steps deleted since (null id, position, type and reached) when they sent or had tasks done. */
  steps: {
    step_id: string | null;
    position: number | null;
    type: string | null;
    enabled: boolean;
    deleted: boolean;
    reached: number | null;
    sent: number;
    replied: number;
    bounced: number;
    unsubscribed: number;
    tasks_done: number;
    reply_rate: number;
    bounce_rate: number;
  }[];
  mailboxes: (Counts & { mailbox_id: string; email: string; reply_rate: number; bounce_rate: number })[];
  daily: (Counts & { day: string })[];
  ab_tests: (AbVerdict & { step_id: string; position: number; winner_id: string | null })[];
  auto_winner: boolean;
  thresholds: typeof THRESHOLDS;
  tracking: { opens: boolean; clicks: boolean; note: string };
}

/** A run's status, and whether it is an open run whose contact the engine won't email (blocked: 1, wontSendColumn). */
type RunState = { status: string; blocked: number };

/**
 * The open run `e` is one the engine won't email (the Contacts tab's wont_send filter: OPEN and CONTACT_BLOCKED), as
 * a 0/1 column; the contact is read for open runs only.
 */
const wontSendColumn = (teamId: string) => sql`CASE WHEN ${OPEN} THEN ${CONTACT_BLOCKED(teamId)} ELSE 0 END`;

/**
 * Contacts, not runs: a restarted or re-added contact has several runs and counts once, with the status
 * of its latest run. `runs` counts every run by status (a covered, grouped read); `reruns` are the runs of the
 * few contacts with more than one, which are taken out of those counts and put back as one contact each. (A
 * window over every run cost 10× the report.)
 */
function contactRows(
  runs: (RunState & { n: number })[],
  reruns: (RunState & { contact_id: string; created_at: number; id: string })[],
): (RunState & { n: number })[] {
  const count = new Map<string, RunState & { n: number }>();
  const add = (r: RunState, n: number) => {
    const k = `${r.blocked ? 1 : 0}${r.status}`;
    const c = count.get(k) ?? { status: r.status, blocked: r.blocked ? 1 : 0, n: 0 };
    c.n += n;
    count.set(k, c);
  };
  for (const r of runs) add(r, r.n);
  const byContact = new Map<string, typeof reruns>();
  for (const r of reruns) byContact.set(r.contact_id, [...(byContact.get(r.contact_id) ?? []), r]);
  for (const rs of byContact.values()) {
    if (rs.length < 2) continue;
    for (const r of rs) add(r, -1);
    const latest = rs.reduce((a, b) => (b.created_at > a.created_at || (b.created_at === a.created_at && b.id > a.id) ? b : a));
    add(latest, 1);
  }
  return [...count.values()];
}

/**
 * The tasks a ranged figure counts (alias `t`): created or done in the range, of the runs the added-by and
 * mailbox filters keep. Reached and Contacts both read it. Done counts too: Tasks done counts the tasks done
 * in the range (taskFilter), and a call created the week before and done in it, counted by its creation
 * alone, was done on a step no one had reached (Reached 60 beside Tasks done 72) by a contact not counted.
 */
function tasksIn(f: ReportFilter, sequenceId: string, t: "t" | "tk") {
  const where: SQL[] = [];
  const within = (column: string) => {
    const c = sql.raw(`${t}.${column}`);
    const bounds: SQL[] = [];
    if (f.from !== undefined) bounds.push(sql`${c} >= ${f.from}`);
    if (f.to !== undefined) bounds.push(sql`${c} < ${f.to}`);
    return sql.join(bounds, sql` AND `);
  };
  if (f.from !== undefined || f.to !== undefined) where.push(sql`((${within("created_at")}) OR (${within("completed_at")}))`);
  if (f.addedBy || f.mailboxId)
    where.push(
      sql`${sql.raw(t)}.enrollment_id IN (SELECT e.id FROM enrollments e WHERE e.sequence_id = ${sequenceId}${enrollmentFilter({ addedBy: f.addedBy, mailboxId: f.mailboxId }, sequenceId)})`,
    );
  return andAll(where);
}

/**
 * With a range, the contacts are those with an email sent or a task created or done in it, each with its latest
 * run's status: what happened in the range, like Sent and Reached. Counting the runs added in the range
 * said "Contacts 0" beside the emails of a week when everyone had been added before it.
 */
function rangedContactsSql(sequenceId: string, teamId: string, f: ReportFilter) {
  return sql`SELECT e.status, ${wontSendColumn(teamId)} AS blocked, count(*) AS n FROM (
      SELECT m.contact_id FROM messages m WHERE m.sequence_id = ${sequenceId} AND ${EMAILS_IN}${messageFilter(f, sequenceId)}
      UNION SELECT t.contact_id FROM tasks t WHERE t.sequence_id = ${sequenceId} AND t.contact_id IS NOT NULL${tasksIn(f, sequenceId, "t")}
    ) a CROSS JOIN enrollments e WHERE e.sequence_id = ${sequenceId} AND e.contact_id = a.contact_id
      AND NOT EXISTS (SELECT 1 FROM enrollments p WHERE p.sequence_id = e.sequence_id AND p.contact_id = e.contact_id
        AND (p.created_at > e.created_at OR (p.created_at = e.created_at AND p.id > e.id)))
    GROUP BY 1, 2`;
}

/**
 * Reached, per step id: the contacts that had the step's email or task, and (without a range) those whose
 * open run is on the step now. Step ids, not positions: a step moved or deleted since keeps what happened
 * at it, where counting "got to position n or later" gave a moved step fewer contacts than emails sent and
 * a deleted step's position to the step that took it. With a range, only emails sent and tasks created or
 * done in it count, like every other figure of the report.
 *
 * The emails are the step's Sent (one per run and step, messages_enrollment_step_uq) less the repeats of
 * the few contacts with several runs; only tasks and open runs without an email of the step are read one
 * by one. A count of distinct contacts over every email read each email's row and cost 20× the report.
 */
function reachedSql(sequenceId: string, f: ReportFilter) {
  const ranged = f.from !== undefined || f.to !== undefined;
  const taskIn = (t: "t" | "tk") => tasksIn(f, sequenceId, t);
  const mf = messageFilter(f, sequenceId);
  // The contact had the step's email (under the same filters as Sent).
  const emailed = (contact: SQL, step: SQL) =>
    sql`EXISTS (SELECT 1 FROM messages m WHERE m.contact_id = ${contact} AND m.sequence_id = ${sequenceId} AND m.step_id = ${step} AND ${EMAILS_IN}${mf})`;
  const tasked = (contact: SQL, step: SQL) =>
    sql`EXISTS (SELECT 1 FROM tasks tk WHERE tk.contact_id = ${contact} AND tk.sequence_id = ${sequenceId} AND tk.step_id = ${step}${taskIn("tk")})`;
  const parts = [
    // Emails beyond the first a contact had of a step (its other runs): taken off the step's Sent.
    sql`SELECT m.step_id, count(DISTINCT m.contact_id) - count(*) AS n
       FROM (SELECT contact_id FROM enrollments WHERE sequence_id = ${sequenceId} GROUP BY contact_id HAVING count(*) > 1) dup
       CROSS JOIN messages m WHERE m.contact_id = dup.contact_id AND m.sequence_id = ${sequenceId} AND ${EMAILS_IN}${mf} GROUP BY 1`,
    // Contacts with the step's task and no email of it.
    sql`SELECT t.step_id, count(DISTINCT t.contact_id) AS n FROM tasks t
       WHERE t.sequence_id = ${sequenceId} AND t.step_id IS NOT NULL AND t.contact_id IS NOT NULL${taskIn("t")}
         AND NOT ${emailed(sql.raw("t.contact_id"), sql.raw("t.step_id"))} GROUP BY 1`,
  ];
  if (!ranged)
    // Open runs on the step now that have had neither its email nor its task (one open run per contact),
    // counted on one step of tied ones (runStepSql).
    parts.push(
      sql`SELECT s.id AS step_id, count(*) AS n FROM enrollments e JOIN steps s ON s.id = ${runStepSql(
        sql`NOT ${emailed(sql.raw("e.contact_id"), sql.raw("o.id"))} AND NOT ${tasked(sql.raw("e.contact_id"), sql.raw("o.id"))}`,
      )}
         WHERE e.sequence_id = ${sequenceId} AND e.status IN ('active', 'paused', 'held')${enrollmentFilter(f, sequenceId)} GROUP BY 1`,
    );
  return sql`SELECT step_id, sum(n) AS n FROM (${sql.join(parts, sql` UNION ALL `)}) GROUP BY step_id`;
}

/** What an A/B test with no emails says under the report's filters: "sent yet" only when nothing narrows it. */
function noEmailsText(f: ReportFilter) {
  const ranged = f.from !== undefined || f.to !== undefined;
  const whose = f.mailboxId ? " for this mailbox" : f.addedBy ? " to the contacts this person added" : "";
  if (!ranged && !whose) return "No emails sent yet.";
  return `No emails${whose}${ranged ? " in this range" : ""}.`;
}

/**
 * At most this many days of the daily series are filled with zeros: the longest range the API takes (3 × 366
 * days) and one. Only a report without a range whose first email is older than that has days before them,
 * and there only the days with emails.
 */
export const DAILY_MAX_DAYS = 3 * 366 + 1;

/**
 * The daily rows with a zero row for every day without emails, from the range's first day (or, without
 * one, the first email's day) to its last day, never past today: a chart or CSV that skips quiet days
 * draws a busy week where there was a gap.
 */
function everyDay(rows: DayRow[], f: ReportFilter): DayRow[] {
  const today = Math.floor(now() / DAY_MS);
  const first = f.from !== undefined ? Math.floor(f.from / DAY_MS) : rows[0]?.day;
  const last = Math.min(today, f.to !== undefined ? Math.ceil(f.to / DAY_MS) - 1 : today);
  if (first === undefined || last < first) return rows;
  const start = Math.max(first, last - DAILY_MAX_DAYS + 1);
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const out = rows.filter((r) => r.day < start);
  for (let day = start; day <= last; day++) out.push(byDay.get(day) ?? { day, sent: 0, bounced: 0, replied: 0, ooo: 0 });
  // Emails after the last filled day (a clock behind the data) keep their rows.
  return out.concat(rows.filter((r) => r.day > last));
}

const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const EMAILS_IN = sql.raw("m.status IN ('sent', 'bounced') AND m.sent_at IS NOT NULL");

export async function sequenceReport(
  d: Db,
  seq: { id: string; teamId: string; name: string; settings: Record<string, unknown>; active: boolean; archivedAt: number | null },
  f: ReportFilter,
): Promise<SequenceReport> {
  const ef = enrollmentFilter(f, seq.id);
  // With a range the contacts are those active in it (rangedContactsSql): one row each already, no reruns to fold.
  const ranged = f.from !== undefined || f.to !== undefined;
  const mf = messageFilter(f, seq.id);
  const rf = rollupFilter(f);
  const [
    steps,
    variantRows,
    mailboxRows,
    runRows,
    byStepVariantMailbox,
    byDay,
    taskRows,
    positive,
    rerunRows,
    meetings,
    reachedRows,
    blockedRows,
  ] = await Promise.all([
    d.all<{ id: string; position: number; type: string; enabled: number }>(
      sql`SELECT id, position, type, enabled FROM steps s WHERE sequence_id = ${seq.id} AND team_id = ${seq.teamId} ORDER BY ${sql.raw(stepOrderBy("s"))}`,
    ),
    d.all<{ id: string; step_id: string; label: string; enabled: number }>(
      sql`SELECT v.id, v.step_id, v.label, v.enabled FROM step_variants v JOIN steps s ON s.id = v.step_id WHERE s.sequence_id = ${seq.id} AND v.team_id = ${seq.teamId} ORDER BY v.label, v.id`,
    ),
    d.all<{ id: string; email: string }>(sql`SELECT id, email FROM mailboxes WHERE team_id = ${seq.teamId}`),
    // Contacts, not runs (see contactRows): the runs by status, then the runs of contacts with more than one.
    d.all<RunState & { n: number }>(
      ranged
        ? rangedContactsSql(seq.id, seq.teamId, f)
        : sql`SELECT e.status, 0 AS blocked, count(*) AS n FROM enrollments e WHERE e.sequence_id = ${seq.id}${ef} GROUP BY 1`,
    ),
    // Without the added-by filter the rollup answers (a few rows per day); with it, the emails of those enrollments are grouped.
    f.addedBy
      ? d.all<GroupRow>(
          sql`SELECT m.step_id, m.variant_id, m.mailbox_id, count(*) AS sent, sum(m.status = 'bounced') AS bounced, sum(m.reply_kind = 'reply') AS replied, sum(m.reply_kind = 'out_of_office') AS ooo, sum(m.unsubscribed_at IS NOT NULL) AS unsub
           FROM messages m WHERE m.sequence_id = ${seq.id} AND ${EMAILS_IN}${mf} GROUP BY 1, 2, 3`,
        )
      : d.all<GroupRow>(
          sql`SELECT step_id, nullif(variant_id, '') AS variant_id, mailbox_id, sum(sent) AS sent, sum(bounced) AS bounced, sum(replied) AS replied, sum(out_of_office) AS ooo, sum(unsubscribed) AS unsub FROM report_rollup WHERE sequence_id = ${seq.id}${rf} GROUP BY 1, 2, 3`,
        ),
    f.addedBy
      ? d.all<DayRow>(
          sql`SELECT m.sent_at / ${sql.raw(String(DAY_MS))} AS day, count(*) AS sent, sum(m.status = 'bounced') AS bounced, sum(m.reply_kind = 'reply') AS replied, sum(m.reply_kind = 'out_of_office') AS ooo
           FROM messages m WHERE m.sequence_id = ${seq.id} AND ${EMAILS_IN}${mf} GROUP BY 1 ORDER BY 1`,
        )
      : d.all<DayRow>(
          sql`SELECT day, sum(sent) AS sent, sum(bounced) AS bounced, sum(replied) AS replied, sum(out_of_office) AS ooo FROM report_rollup WHERE sequence_id = ${seq.id}${rf} GROUP BY 1 ORDER BY 1`,
        ),
    d.all<{ step_id: string; n: number }>(
      sql`SELECT t.step_id, count(*) AS n FROM tasks t WHERE t.sequence_id = ${seq.id} AND t.status = 'completed'${taskFilter(f, seq.id)} GROUP BY 1`,
    ),
    // Positive replies: contacts who replied and now sit in a "succeeded" stage (Interested, Meeting booked).
    d.get<{ n: number }>(
      sql`SELECT count(DISTINCT m.contact_id) AS n FROM messages m JOIN contacts c ON c.id = m.contact_id AND c.team_id = m.team_id JOIN contact_stages s ON s.id = c.stage_id
        WHERE m.team_id = ${seq.teamId} AND m.replied_at IS NOT NULL AND m.reply_kind = 'reply' AND m.sequence_id = ${seq.id} AND ${EMAILS_IN} AND s.category = 'succeeded'${mf}`,
    ),
    // The contacts with several runs (restarted or re-added): a walk of enrollments_sequence_contact_idx alone.
    d.all<RunState & { contact_id: string; created_at: number; id: string }>(
      // CROSS JOIN keeps that order: from the few such contacts to their runs, never every run to its contact.
      ranged
        ? sql`SELECT NULL AS contact_id WHERE 0`
        : sql`SELECT e.contact_id, e.status, ${wontSendColumn(seq.teamId)} AS blocked, e.created_at, e.id
           FROM (SELECT contact_id FROM enrollments WHERE sequence_id = ${seq.id} GROUP BY contact_id HAVING count(*) > 1) dup
           CROSS JOIN enrollments e WHERE e.sequence_id = ${seq.id} AND e.contact_id = dup.contact_id${ef}`,
    ),
    // Meetings booked in the range that this sequence's runs led to (services/reports/meetings.ts).
    d.get<{ n: number }>(
      sql`${meetingAttribution(seq.teamId, f.from, f.to)} SELECT count(DISTINCT att.meeting_id) AS n FROM att WHERE att.sequence_id = ${seq.id}${meetingFilter(f, seq.id)}`,
    ),
    d.all<{ step_id: string; n: number }>(reachedSql(seq.id, f)),
    // Without a range, the open runs the engine won't email, by status: what the Contacts tab's wont_send chip
    // counts, a walk of the open runs alone (the covered count above reads no contact). A range reads it per contact.
    d.all<{ status: string; n: number }>(
      ranged
        ? sql`SELECT NULL AS status WHERE 0`
        : sql`SELECT e.status, count(*) AS n FROM enrollments e WHERE e.sequence_id = ${seq.id} AND ${OPEN} AND ${CONTACT_BLOCKED(seq.teamId)}${ef} GROUP BY 1`,
    ),
  ]);

  // Every status a screen shows, waiting_sequence_off and wont_send among them: the Contacts tab's filter of that name
  // counts the same runs.
  const statusCount = new Map<string, number>([...SHOWN_STATUSES, "wont_send"].map((s) => [s, 0]));
  const addStatus = (status: string, n: number) => statusCount.set(status, (statusCount.get(status) ?? 0) + n);
  // The open runs the engine won't email move from the status count to a count of their own (the runs above are unread).
  const blockedBy = new Map(blockedRows.map((r) => [r.status, r.n]));
  const runs = [
    ...runRows.map((r) => ({ ...r, n: r.n - (r.blocked ? 0 : (blockedBy.get(r.status) ?? 0)) })),
    ...blockedRows.map((r) => ({ status: r.status, blocked: 1, n: r.n })),
  ];
  let contacts = 0;
  for (const { status, blocked, n } of contactRows(runs, rerunRows)) {
    if (n <= 0) continue;
    contacts += n;
    // An open run whose contact the engine won't email is "Won't be sent" (its row says so), never active nor waiting
    // for the sequence; a scheduled, paused or held one also counts under its own status, as on the Contacts tab.
    if (blocked) addStatus("wont_send", n);
    if (blocked && status === "active") continue;
    // Runs of a sequence that is off wait for it, neither active nor held, as the Contacts tab shows them (shownStatus).
    addStatus(shownStatus(status, seq), n);
  }
  // Unsubscribes are counted on the email the person opted out from (messages.unsubscribed_at), not
  // from run reasons: a click after the run finished counts, and one click counts in one sequence.
  let unsubscribed = 0;
  const stepUnsub = new Map<string, number>();
  const stepCounts = new Map<string, Counts>();
  const mailboxCounts = new Map<string, Counts>();
  const variantCounts = new Map<string, Counts>();
  const totals: Counts = { sent: 0, replied: 0, out_of_office: 0, bounced: 0 };
  const add = (m: Map<string, Counts>, k: string, r: { sent: number; bounced: number; replied: number; ooo: number }) => {
    const c = m.get(k) ?? { sent: 0, replied: 0, out_of_office: 0, bounced: 0 };
    c.sent += r.sent;
    c.bounced += r.bounced ?? 0;
    c.replied += r.replied ?? 0;
    c.out_of_office += r.ooo ?? 0;
    m.set(k, c);
  };
  for (const r of byStepVariantMailbox) {
    add(stepCounts, r.step_id, r);
    add(mailboxCounts, r.mailbox_id, r);
    if (r.variant_id) add(variantCounts, r.variant_id, r);
    totals.sent += r.sent;
    totals.bounced += r.bounced ?? 0;
    totals.replied += r.replied ?? 0;
    totals.out_of_office += r.ooo ?? 0;
    unsubscribed += r.unsub ?? 0;
    stepUnsub.set(r.step_id, (stepUnsub.get(r.step_id) ?? 0) + (r.unsub ?? 0));
  }
  const tasksDone = new Map(taskRows.map((r) => [r.step_id, r.n]));
  const zero: Counts = { sent: 0, replied: 0, out_of_office: 0, bounced: 0 };

  const reachedBy = new Map(reachedRows.map((r) => [r.step_id, r.n]));
  const stepsOut = steps.map((s) => {
    const c = stepCounts.get(s.id) ?? zero;
    // Its emails' contacts (Sent less the repeats), then those with only its task or on it now (reachedSql).
    const reached = c.sent + (reachedBy.get(s.id) ?? 0);
    return {
      step_id: s.id as string | null,
      position: s.position as number | null,
      type: s.type as string | null,
      enabled: !!s.enabled,
      deleted: false,
      reached: reached as number | null,
      sent: c.sent,
      replied: c.replied,
      bounced: c.bounced,
      unsubscribed: stepUnsub.get(s.id) ?? 0,
      tasks_done: tasksDone.get(s.id) ?? 0,
      reply_rate: replyRate(c),
      bounce_rate: rate(c.bounced, c.sent),
    };
  });

  // The emails and tasks of steps deleted since stay in the totals (they happened), so they get a row of
  // their own and the Steps table still adds up. Their position is gone and the positions closed up, so
  // "reached" has no meaning for them.
  const live = new Set(steps.map((s) => s.id));
  const gone = [...new Set([...stepCounts.keys(), ...tasksDone.keys()])].filter((id) => !live.has(id));
  if (gone.length) {
    const c: Counts = { sent: 0, replied: 0, out_of_office: 0, bounced: 0 };
    for (const x of gone.map((id) => stepCounts.get(id) ?? zero)) {
      c.sent += x.sent;
      c.replied += x.replied;
      c.out_of_office += x.out_of_office;
      c.bounced += x.bounced;
    }
    stepsOut.push({
      step_id: null,
      position: null,
      type: null,
      enabled: false,
      deleted: true,
      reached: null,
      sent: c.sent,
      replied: c.replied,
      bounced: c.bounced,
      unsubscribed: gone.reduce((n, id) => n + (stepUnsub.get(id) ?? 0), 0),
      tasks_done: gone.reduce((n, id) => n + (tasksDone.get(id) ?? 0), 0),
      reply_rate: replyRate(c),
      bounce_rate: rate(c.bounced, c.sent),
    });
  }

  const mailboxEmail = new Map(mailboxRows.map((m) => [m.id, m.email]));
  const mailboxesOut = [...mailboxCounts.entries()]
    .map(([id, c]) => ({
      mailbox_id: id,
      email: mailboxEmail.get(id) ?? "(deleted mailbox)",
      ...c,
      reply_rate: replyRate(c),
      bounce_rate: rate(c.bounced, c.sent),
    }))
    .sort((a, b) => b.sent - a.sent || a.email.localeCompare(b.email));

  const winners = (seq.settings.ab_winners ?? {}) as Record<string, string>;
  // The A/B tests by the rule the winners are picked by (ab.ts abStepTests), over this report's filtered counts.
  const abTests = abStepTests(steps, variantRows, variantCounts, winners, noEmailsText(f)).map(({ verdict, ...t }) => ({
    ...t,
    ...verdict,
  }));

  return {
    sequence: { id: seq.id, name: seq.name },
    filters: { from: f.from ?? null, to: f.to ?? null, added_by: f.addedBy ?? null, mailbox_id: f.mailboxId ?? null },
    totals: {
      ...totals,
      contacts,
      unsubscribed,
      positive_replies: positive?.n ?? 0,
      meetings: meetings?.n ?? 0,
      tasks_done: [...tasksDone.values()].reduce((a, b) => a + b, 0),
      reply_rate: replyRate(totals),
      bounce_rate: rate(totals.bounced, totals.sent),
    },
    statuses: [...statusCount.entries()].map(([status, n]) => ({ status, contacts: n })),
    steps: stepsOut,
    mailboxes: mailboxesOut,
    daily: everyDay(byDay, f).map((r) => ({
      day: isoDay(r.day),
      sent: r.sent,
      replied: r.replied ?? 0,
      out_of_office: r.ooo ?? 0,
      bounced: r.bounced ?? 0,
    })),
    ab_tests: abTests,
    auto_winner: seq.settings.ab_auto_winner === true,
    thresholds: THRESHOLDS,
    tracking: { opens: false, clicks: false, note: TRACKING_NOTE },
  };
}

export interface ContactExportRow {
  id: string;
  contact_id: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  company: string | null;
  status: string;
  current_step: number;
  reason: string | null;
  mailbox: string | null;
  created_at: number;
  finished_at: number | null;
}

/**
 * The contacts of a sequence the caller may view, with their status (404 before anything is read
 * otherwise), as keyset pages over enrollments: a 100,000-contact sequence never sits in memory whole.
 * A deleted contact's run stays (its status is the sequence's history) with its name, email and company
 * blank: a deletion takes the person out of what the team can export.
 */
export async function contactsExport(d: Db, caller: Caller, sequenceId: string) {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.view");
  return { sequenceId: seq.id, pages: contactPages(d, seq) };
}

async function* contactPages(d: Db, seq: { id: string; teamId: string }, pageSize = 2000): AsyncGenerator<ContactExportRow[]> {
  let after = "";
  for (;;) {
    const rows = await d.all<ContactExportRow>(
      sql`SELECT e.id, e.contact_id, c.first_name, c.last_name, c.email, c.company, e.status, e.current_step, e.reason, mb.email AS mailbox, e.created_at, e.finished_at
           FROM enrollments e LEFT JOIN contacts c ON c.id = e.contact_id AND c.team_id = e.team_id AND c.deleted_at IS NULL LEFT JOIN mailboxes mb ON mb.id = e.mailbox_id
          WHERE e.sequence_id = ${seq.id} AND e.team_id = ${seq.teamId} AND e.id > ${after} ORDER BY e.id LIMIT ${pageSize}`,
    );
    if (rows.length) yield rows;
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.id;
  }
}

/** The report of a sequence the caller may view (404 otherwise). */
export async function reportFor(d: Db, caller: Caller, sequenceId: string, f: ReportFilter): Promise<SequenceReport> {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.view");
  return sequenceReport(d, seq, f);
}
