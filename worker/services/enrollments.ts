import { and, sql, type SQL } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import { contains } from "../db/contains";
import { chunked, inList } from "../db/in-list";
import { auditLog, contacts, ENROLLMENT_STATUSES, enrollments, type sequences } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId, orderedIdFrom } from "../lib/ids";
import { RESTART_ASKS_FIRST } from "../../durable-objects/sequence-do";
import { engine, REASONS, reasonText as engineReasonText, type MailboxLimits, type ReasonCode } from "../../durable-objects/engine";
import { mailboxFor, sequenceFor, sequenceFromBatch, sequenceRowQuery, visibleSequence } from "./access";
import { commitAddContacts, takenBy, takenByMove } from "./add-contacts/jobs";
import { checkPreconditions, refuse } from "./add-contacts/plan";
import { AddContactsRequest, OUTCOME_REASONS, type WarningCategory } from "./add-contacts/request";
import { auditEntry } from "./audit";
import { nextWindowStart } from "./schedule-time";
import {
  EMAIL_STEP_TYPES,
  isEmailStep,
  scheduleFromTuple,
  scheduleTupleSql,
  sendingZone,
  stepOrderBy,
} from "../../durable-objects/sequence-config";
import { mailboxHeldSql } from "../transports/mailbox-settings";
import { waitText, type PlannedSend } from "../../durable-objects/scheduled-email";
import {
  contactBlockedSql,
  CONTACT_NO_EMAIL_SQL,
  CONTACT_STATE_COLUMNS,
  rowBlockingReason,
  type ContactStateColumns,
} from "../../durable-objects/eligibility";

/**
 * Contacts in a sequence (enrollments) as users look for them and act on them: the status filters,
 * the "why" of every row and the seven actions (scheduled emails: scheduled-emails.ts). D1 is read here; every change
 * of an enrollment goes through its SequenceDO (the single writer of its transitions, invariant 1/11).
 */

type Sequence = typeof sequences.$inferSelect;

/**
 * The statuses users look for (Apollo's Sequence Status filters). They overlap as a user reads them:
 * "bounced" and "blocked" are finished contacts with that reason; "not sent" is anything that will not
 * go out as things are (held, no email, a step that failed, its mailbox disconnected or paused).
 * "wont_send" are the open runs whose contact the engine won't email (explain's contactBlock: their rows say
 * "Won't be sent"); "active" and "waiting_sequence_off" leave them out, so those chips count what may still go.
 */
export const ENROLLMENT_FILTERS = [
  "all",
  "active",
  "scheduled",
  "paused",
  "finished",
  "bounced",
  "not_sent",
  "blocked",
  "failed",
  "removed",
  "held",
  "waiting_sequence_off",
  "wont_send",
] as const;
export type EnrollmentFilterStatus = (typeof ENROLLMENT_FILTERS)[number];

/**
 * The sequence of the rows is off (turned off or archived): its active rows stay 'active' in D1 until their
 * timer fires (days), but will not be sent, and explain() shows them so; the filters and counts read them
 * the same way. A scalar subquery of the one sequence listed: read once per statement, not per row.
 */
const offReason = (seqId: string, teamId: string) =>
  sql`(SELECT CASE WHEN archived_at IS NOT NULL THEN 'sequence_archived' WHEN active = 0 THEN 'sequence_inactive' END FROM sequences WHERE id = ${seqId} AND team_id = ${teamId})`;
const sequenceOff = (seqId: string, teamId: string) => sql`(${offReason(seqId, teamId)} IS NOT NULL)`;

/** The row's mailbox (alias mb) is held for its reply check after a reconnect (mailboxHeldSql): explain says so. */
const MB_HELD = sql.raw(mailboxHeldSql("mb"));

/** The statuses of an open run (the enrollments_sequence_contact_open_uq index's). */
export const OPEN = sql.raw(`e.status IN ('scheduled', 'active', 'paused', 'held')`);

/**
 * `blocked`: the runs whose contact won't be emailed (CONTACT_BLOCKED); the chip counts over enrollment_groups, which
 * know no contact, pass false and correct the chips it changes by a count of their own (listEnrollments).
 */
function filterSql(seqId: string, teamId: string, blocked: SQL = CONTACT_BLOCKED(teamId)): Record<EnrollmentFilterStatus, SQL> {
  const off = sequenceOff(seqId, teamId);
  return {
    all: sql`1`,
    active: sql`(e.status = 'active' AND NOT ${off} AND NOT ${blocked})`,
    scheduled: sql`e.status = 'scheduled'`,
    paused: sql`e.status = 'paused'`,
    finished: sql`e.status = 'finished'`,
    bounced: sql`e.status = 'finished' AND e.reason = 'bounced'`,
    not_sent: sql`(e.status IN ('held', 'failed') OR (e.status = 'finished' AND e.reason = 'no_email') OR (e.status = 'active' AND (${off} OR (e.reason IS NOT 'task_open' AND mb.status IS NOT NULL AND (mb.status <> 'connected' OR ${MB_HELD})))))`,
    blocked: sql`(e.status IN ('finished', 'held') AND e.reason IN ('unsubscribed', 'do_not_contact', 'suppressed', 'suppressed_domain'))`,
    failed: sql`e.status = 'failed'`,
    removed: sql`e.status = 'removed'`,
    held: sql`e.status = 'held'`,
    // Active in D1, but its sequence is off: what shownStatus calls them, the report counts them under and the rows badge.
    waiting_sequence_off: sql`(e.status = 'active' AND ${off} AND NOT ${blocked})`,
    wont_send: sql`(${OPEN} AND ${blocked})`,
  };
}

export const ENROLLMENT_SORTS = ["updated", "added", "name", "email", "company", "status", "step", "next_action"] as const;
export type EnrollmentSort = (typeof ENROLLMENT_SORTS)[number];
const SORT_SQL: Record<EnrollmentSort, SQL> = {
  updated: sql`e.updated_at`,
  added: sql`e.created_at`,
  name: sql`lower(trim(c.first_name || ' ' || c.last_name))`,
  email: sql`lower(c.email)`,
  company: sql`lower(c.company)`,
  status: sql`e.status`,
  step: sql`e.current_step`,
  next_action: sql`coalesce(e.next_due_at, 9e15)`,
};

export interface EnrollmentFilter {
  status: EnrollmentFilterStatus;
  /** name, email or company contains this */
  q?: string | undefined;
  /** only this reason code */
  reason?: string | undefined;
}

const FROM = sql`FROM enrollments e JOIN contacts c ON c.id = e.contact_id LEFT JOIN mailboxes mb ON mb.id = e.mailbox_id`;
/**
 * FROM without the contact, for picking and counting rows when no search names a contact column: every
 * enrollment has its contact (contacts are only ever soft-deleted), so the join changes no count, and
 * leaving it out saves a contact lookup per enrollment of the sequence on every list request.
 */
const FROM_ENROLLMENTS = sql`FROM enrollments e LEFT JOIN mailboxes mb ON mb.id = e.mailbox_id`;
/**
 * The enrollments of a sequence counted by (status, reason, mailbox), as `e` (with `e.n`): what the chips
 * read when no search names a contact. No reason or mailbox is '' there, which no filter's reason equals
 * and no mailbox id joins, as NULL in enrollments.
 */
const FROM_GROUPS = sql`FROM enrollment_groups e LEFT JOIN mailboxes mb ON mb.id = e.mailbox_id`;
const SORTS_BY_CONTACT = new Set<EnrollmentSort>(["name", "email", "company"]);

/**
 * A reason narrowing a status. An active row that is not sent is so because of its sequence or its mailbox
 * (what `explain` shows it with), not its own code (queued / waiting): "sequence inactive / archived" read the
 * sequence, "mailbox disconnected" and "mailbox paused" the mailbox; every other reason is the engine's code on the row.
 */
function because(status: EnrollmentFilterStatus, reason: string, seqId: string, teamId: string): SQL {
  if (status !== "not_sent") return sql`e.reason = ${reason}`;
  // An active row of a sequence that is off is not sent because of the sequence, whatever its mailbox (explain).
  const off = sequenceOff(seqId, teamId);
  // A contact on a task (a call, a manual email) goes on whatever the mailbox: not "not sent".
  if (reason === "mailbox_disconnected")
    return sql`(e.status = 'active' AND NOT ${off} AND e.reason IS NOT 'task_open' AND mb.status NOT IN ('connected', 'paused'))`;
  if (reason === "mailbox_paused")
    return sql`(e.status = 'active' AND NOT ${off} AND e.reason IS NOT 'task_open' AND mb.status = 'paused')`;
  if (reason === "mailbox_reply_check") return sql`(e.status = 'active' AND NOT ${off} AND e.reason IS NOT 'task_open' AND ${MB_HELD})`;
  return sql`((e.status <> 'active' AND e.reason = ${reason}) OR (e.status = 'active' AND ${offReason(seqId, teamId)} = ${reason}))`;
}

/**
 * `WHERE …` of the enrollments of a sequence matching a filter (FROM as above). `reasonOf` is the status whose
 * reason narrows: the chip counts take every status under the reason of the tab asked for.
 */
function where(seqId: string, teamId: string, f: EnrollmentFilter, reasonOf: EnrollmentFilterStatus = f.status): SQL {
  const search = f.q
    ? sql`(${contains(sql`trim(c.first_name || ' ' || c.last_name)`, f.q)} OR ${contains(sql`c.email`, f.q)} OR ${contains(sql`c.company`, f.q)})`
    : sql`1`;
  // `+e.team_id`: the sequence is the way in; without planner statistics SQLite took the team's index
  // and walked every enrollment of the team for one sequence's page (test/api/enrollments-page-reads).
  return sql`WHERE e.sequence_id = ${seqId} AND +e.team_id = ${teamId} AND ${filterSql(seqId, teamId)[f.status]} AND ${search} AND ${f.reason ? because(reasonOf, f.reason, seqId, teamId) : sql`1`}`;
}

/** `FROM …` and `WHERE …` of a sequence's enrollments matching a filter, for statements built elsewhere (action jobs). */
export function filteredFrom(seqId: string, teamId: string, f: EnrollmentFilter) {
  return { from: FROM, where: where(seqId, teamId, f) };
}

/** Reasons only the view gives: what will actually happen to a row the engine has not reached yet. */
export const VIEW_REASONS = {
  outside_window: "Outside the sending window: goes out when it opens",
  mailbox_reply_check:
    "Its mailbox was signed in again and sends nothing until a reply check has read the inbox (so no follow-up crosses a reply)",
} as const;
// The engine's words first (they name the fields of a missing_variables pause), then the view's own.
const reasonText = (r: string) => (VIEW_REASONS as Record<string, string>)[r] ?? engineReasonText(r)!;

/**
 * An open run whose contact the engine won't email (explain's contactBlock), in words: what it does then
 * (sequence-do.ts stepDue, and the mailbox's send check for an email it already holds): nothing is sent and
 * the run finishes with that reason.
 */
export const blockedRunText = (code: ReasonCode) =>
  `Won't be sent: ${engineReasonText(code)}. Nothing more goes to this contact: the run ends when its step comes due`;

/**
 * The sequence itself stops its runs: archived or turned off. The one rule of what an active run of such a
 * sequence is (explain, the Contacts tab's filters, the report's statuses): its row stays 'active' in D1 until its
 * timer fires, but nothing is sent and the engine then holds it.
 */
export function sequenceOffReason(seq: { active: boolean; archivedAt: number | null }): "sequence_archived" | "sequence_inactive" | null {
  return seq.archivedAt !== null ? "sequence_archived" : !seq.active ? "sequence_inactive" : null;
}

/**
 * The status a run is shown and counted under, on every screen (the report's statuses, the Contacts tab's rows
 * and its filter of the same name): an active run of a sequence that is off (sequenceOffReason) is
 * "waiting_sequence_off", neither active (nothing is sent) nor held (the engine has not held it, and turning the
 * sequence on moves it on where a held run stays held), as the Sequences list words it.
 */
export const SHOWN_STATUSES = [...ENROLLMENT_STATUSES, "waiting_sequence_off"] as const;
export const shownStatus = <S extends string>(
  status: S,
  seq: { active: boolean; archivedAt: number | null },
): S | "waiting_sequence_off" => (status === "active" && sequenceOffReason(seq) ? "waiting_sequence_off" : status);

/**
 * The state that will actually happen to a row, with its reason (invariant 10): the engine holds an
 * active enrollment of a sequence that was turned off only when its timer fires, and a mailbox that
 * can't send holds what is queued in it, so the row says that instead of "Active · queued".
 */
export function explain(
  row: {
    reason: string | null;
    status: string;
    mailboxStatus: string | null;
    mailboxReason: string | null;
    /** Connected, but held until a reply check after a reconnect (mailboxHeldSql; MAILBOX_LIMIT_COLUMNS' mb_held). */
    mailboxHeld: boolean;
    emailStep: boolean;
    /**
     * Why the engine will email this contact nothing (blockingReason of the contact as it is now: unsubscribed,
     * bounced, Do Not Contact, a suppressed address or domain), null when it will. The engine checks it when the
     * step falls due and again at the send, and finishes the run with that reason: an open run of such a
     * contact is never "about to be emailed", whatever its row says until then.
     */
    contactBlock?: ReasonCode | null;
  },
  seq: { active: boolean; archivedAt: number | null },
): { reason: string | null; text: string | null; blocked: boolean } {
  const { reason, status, mailboxStatus, mailboxReason, mailboxHeld, emailStep, contactBlock } = row;
  // A run added with a later start (scheduled) meets the same check when its first step falls due.
  if (contactBlock && (status === "scheduled" || status === "active" || status === "paused" || status === "held"))
    return { reason: contactBlock, text: blockedRunText(contactBlock), blocked: true };
  const off = sequenceOffReason(seq);
  if (status === "active" && off) return { reason: off, text: reasonText(off), blocked: true };
  const waitsOnMailbox = reason === "queued_for_mailbox" || (reason === "waiting_for_step" && emailStep);
  if (status === "active" && waitsOnMailbox && mailboxStatus && mailboxStatus !== "connected") {
    const code: ReasonCode = mailboxStatus === "paused" ? "mailbox_paused" : "mailbox_disconnected";
    return { reason: code, text: mailboxReason ? `${REASONS[code]} (${mailboxReason})` : REASONS[code], blocked: true };
  }
  if (status === "active" && waitsOnMailbox && mailboxHeld)
    return { reason: "mailbox_reply_check", text: VIEW_REASONS.mailbox_reply_check, blocked: true };
  return { reason, text: reason ? reasonText(reason) : null, blocked: false };
}

/**
 * The id of the step the run `e` is on, for `JOIN steps st ON st.id = ${runStepSql(...)}`. D1's copy of a run names
 * its step by position only, and two steps at one position (old data) both matched a join on it, so the run was
 * listed or counted twice. The run is on the first of them in STEP_ORDER (`o`) it has not had (`undone`), as the
 * engine runs them; each reader says what "had" means for it.
 */
export const runStepSql = (undone: SQL) => sql`(
  SELECT o.id FROM steps o WHERE o.sequence_id = e.sequence_id AND o.position = e.current_step AND ${undone}
   ORDER BY ${sql.raw(stepOrderBy("o"))} LIMIT 1)`;

/** The run `e` sent the email of step `o` (invariant 4: never sent again; the messages_enrollment_step_uq index). */
export const SENT_STEP_SQL = sql`EXISTS (SELECT 1 FROM messages m WHERE m.enrollment_id = e.id AND m.step_id = o.id AND m.status IN ('sent', 'unknown', 'bounced'))`;

/**
 * The run's step, as a sequence's Contacts tab reads it: the first of tied steps whose email it has not sent, or the
 * last of them once it sent them all (a finished run, or a mailbox's report not mirrored yet), so a position with
 * one step is always its step.
 */
const RUN_STEP = () =>
  runStepSql(
    sql`(NOT ${SENT_STEP_SQL} OR NOT EXISTS (SELECT 1 FROM steps n WHERE n.sequence_id = o.sequence_id AND n.position = o.position AND n.id > o.id))`,
  );

/**
 * The run `e`'s contact is one the engine won't email at its step (rowBlockingReason as a condition, eligibility.ts):
 * what explain reads as contactBlock, on the same facts, so the "wont_send" chip counts the rows that say so.
 * Its own subquery: the enrollments-only reads (the page's pick, the counts) have no contact joined. The sequence
 * report's statuses count the open runs it holds as wont_send with it (reports/sequence.ts).
 */
export const CONTACT_BLOCKED = (
  teamId: string,
) => sql`EXISTS (SELECT 1 FROM contacts c WHERE c.id = e.contact_id AND (${contactBlockedSql(teamId)}
  OR (${sql.raw(CONTACT_NO_EMAIL_SQL)} AND coalesce((SELECT st.type FROM steps st WHERE st.id = ${RUN_STEP()}), 'auto_email') IN ${sql.raw(
    `(${[...EMAIL_STEP_TYPES].map((t) => `'${t}'`).join(", ")})`,
  )})))`;

/**
 * The mailbox columns a forecast needs (status and limits), for a query that joins `mailboxes mb` (see forecasts).
 * `mb_held`: connected, but signed in again and held until a reply check has read the inbox (release_pending; the
 * MailboxDO's waitsForReplies): its emails have no time to tell until then.
 */
export const MAILBOX_LIMIT_COLUMNS = sql.raw(
  `mb.status AS mb_status, mb.daily_limit AS mb_daily_limit, mb.hourly_limit AS mb_hourly_limit, mb.min_gap_seconds AS mb_min_gap_seconds,
   ${mailboxHeldSql("mb")} AS mb_held`,
);
export interface MailboxLimitColumns {
  mb_held: number | null;
  mb_status: string | null;
  mb_daily_limit: number | null;
  mb_hourly_limit: number | null;
  mb_min_gap_seconds: number | null;
}

/**
 * When each queued email of these mailboxes goes out: one forecast per connected mailbox, all at once,
 * under the status and the limits (MAILBOX_LIMIT_COLUMNS) the caller read with its rows, so the objects
 * read nothing from D1 for it (each read its mailbox's row again: a round trip per mailbox per page).
 * A mailbox that doesn't send now has no times to tell: it isn't asked.
 */
export async function forecasts(env: Env, rows: readonly (MailboxLimitColumns & { mailbox_id: string | null })[]): Promise<PlannedSend[]> {
  const limits = new Map<string, MailboxLimits>();
  for (const r of rows)
    if (r.mailbox_id && r.mb_status === "connected" && !r.mb_held)
      limits.set(r.mailbox_id, {
        status: r.mb_status,
        dailyLimit: r.mb_daily_limit ?? 0,
        hourlyLimit: r.mb_hourly_limit ?? 0,
        minGapSeconds: r.mb_min_gap_seconds ?? 0,
      });
  return (await Promise.all([...limits].map(([id, mb]) => engine.mailbox(env, id).forecast(mb, 2000)))).flat();
}

/**
 * A queued email's wait in its mailbox plan's own numbers (waitText), or null when the plan tells none: the one
 * reading the scheduled emails and a sequence's Contacts tab share. `kind` unless given: a manual email sent
 * from its task is first in line; otherwise the wait began at the window's opening (later than the moment it
 * was ready) or at that moment.
 */
export function plannedWaitText(
  r: MailboxLimitColumns & { email: string | null; step_type: string | null; next_due_at: number | null },
  planned: PlannedSend | undefined,
  kind?: "turn" | "window_then_turn" | "task",
): string | null {
  if (!planned?.wait || planned.at === null) return null;
  const ready = Math.max(now(), r.next_due_at ?? now());
  const k = kind ?? (r.step_type === "manual_email" ? "task" : planned.wait.since > ready + 60_000 ? "window_then_turn" : "turn");
  return waitText(k, planned.wait, {
    email: r.email,
    dailyLimit: r.mb_daily_limit ?? 0,
    hourlyLimit: r.mb_hourly_limit ?? 0,
    minGapSeconds: r.mb_min_gap_seconds ?? 0,
  });
}

interface ListRow extends MailboxLimitColumns, ContactStateColumns {
  id: string;
  status: (typeof import("../db/schema").ENROLLMENT_STATUSES)[number];
  current_step: number;
  next_due_at: number | null;
  reason: string | null;
  mailbox_id: string | null;
  created_at: number;
  finished_at: number | null;
  contact_id: string;
  name: string;
  email: string | null;
  company: string | null;
  contact_zone: string | null;
  mb_email: string | null;
  mb_reason: string | null;
  step_type: string | null;
}

export interface EnrollmentListQuery extends EnrollmentFilter {
  page: number;
  per_page: number;
  sort: EnrollmentSort;
  order?: "asc" | "desc" | undefined;
}

/** One page of a sequence's contacts with counts per status (answering the same search) and each row's next action or reason. */
export async function listEnrollments(env: Env, d: Db, caller: Caller, sequenceId: string, q: EnrollmentListQuery) {
  // The sequence (with the caller's access) is read in the same batch as the page and the counts,
  // which are scoped to the caller's team and shown only once the access check below has passed.
  const seqQuery = sequenceRowQuery(d, caller, sequenceId);
  const w = where(sequenceId, caller.teamId, q);
  const filters = filterSql(sequenceId, caller.teamId);
  const dir = sql.raw(q.order ?? (q.sort === "updated" || q.sort === "added" ? "desc" : "asc"));
  const order = sql`ORDER BY ${SORT_SQL[q.sort]} ${dir}, e.id ${dir}`;
  const columns = sql`e.id, e.status, e.current_step, e.next_due_at, e.reason, e.mailbox_id, e.created_at, e.finished_at,
           c.id AS contact_id, trim(c.first_name || ' ' || c.last_name) AS name, c.email, c.company, c.time_zone AS contact_zone,
           mb.email AS mb_email, mb.status_reason AS mb_reason, ${MAILBOX_LIMIT_COLUMNS}, st.type AS step_type,
           ${sql.raw(CONTACT_STATE_COLUMNS)}`;
  const steps = sql`LEFT JOIN steps st ON st.id = ${RUN_STEP()}`;
  const limit = sql`LIMIT ${q.per_page} OFFSET ${(q.page - 1) * q.per_page}`;
  // The page picked from the enrollments alone when neither the search nor the sort reads the contact:
  // the contacts, mailboxes and steps are then joined to the page's rows only, not to every row sorted.
  const page =
    SORTS_BY_CONTACT.has(q.sort) || q.q
      ? sql`SELECT ${columns} ${FROM} ${steps} ${w} ${order} ${limit}`
      : sql`SELECT ${columns} FROM (SELECT e.id ${FROM_ENROLLMENTS} ${w} ${order} ${limit}) pg
           JOIN enrollments e ON e.id = pg.id JOIN contacts c ON c.id = e.contact_id LEFT JOIN mailboxes mb ON mb.id = e.mailbox_id
           ${steps} ${order}`;
  // Page and chip counts in one D1 round trip (a batch). The chips answer the same search for every
  // status, so the total of the status asked for is its chip: no count statement of its own. Without a
  // search they add up the sequence's enrollment_groups (the same filters over a few rows kept by
  // triggers) instead of walking every enrollment of the sequence; a search names the contact, so it counts.
  // The sequence's sending window rides along (a few rows read): a page with a row waiting for an email
  // step shows when the window opens, which took a round trip of its own.
  // The groups know no contact: their chips count every active run, and the open runs whose contact won't be
  // emailed (the wont_send filter's own rows) are counted apart and taken out of the chips that leave them out.
  const chips = q.q ? filters : filterSql(sequenceId, caller.teamId, sql`0`);
  const off = sequenceOff(sequenceId, caller.teamId);
  const [seqRes, pageRes, countsRes, scheduleRes, blockedRes] = await batchSql(d, [
    seqQuery,
    page,
    sql`SELECT ${sql.join(
      ENROLLMENT_FILTERS.map(
        (f) => sql`coalesce(sum(CASE WHEN ${chips[f]} THEN ${q.q ? sql`1` : sql`e.n`} ELSE 0 END), 0) AS ${sql.identifier(f)}`,
      ),
      sql`, `,
    )} ${q.q ? FROM : FROM_GROUPS} ${where(sequenceId, caller.teamId, { ...q, status: "all" }, q.status)}`,
    sql`SELECT ${sql.raw(scheduleTupleSql("s"))} AS schedule FROM sequences s WHERE s.id = ${sequenceId} AND s.team_id = ${caller.teamId}`,
    ...(q.q
      ? []
      : [
          sql`SELECT count(*) AS wont_send, coalesce(sum(e.status = 'active' AND NOT ${off}), 0) AS active,
                coalesce(sum(e.status = 'active' AND ${off}), 0) AS waiting_sequence_off
              ${FROM_ENROLLMENTS} ${where(sequenceId, caller.teamId, { status: "wont_send", reason: q.reason }, q.status)}`,
        ]),
  ]);
  const { seq } = sequenceFromBatch(caller, seqQuery, seqRes);
  const rows = pageRes!.results as ListRow[];
  const counts = countsRes!.results[0] as Record<string, number> | undefined;
  const blocked = blockedRes?.results[0] as { wont_send: number; active: number; waiting_sequence_off: number } | undefined;
  if (counts && blocked) {
    counts.wont_send = blocked.wont_send;
    counts.active = (counts.active ?? 0) - blocked.active;
    counts.waiting_sequence_off = (counts.waiting_sequence_off ?? 0) - blocked.waiting_sequence_off;
  }
  const total = counts ? { n: counts[q.status] ?? 0 } : undefined;
  // By enrollment: a row shows its queued email's time (none while the sequence is off).
  const queued = seq.active && !seq.archivedAt ? rows.filter((r) => r.status === "active" && r.reason === "queued_for_mailbox") : [];
  const fc = new Map((await forecasts(env, queued)).map((f) => [f.enrollmentId, f]));
  const schedule = scheduleFromTuple((scheduleRes!.results[0] as { schedule: string | null } | undefined)?.schedule ?? null);
  return {
    total: total?.n ?? 0,
    counts: counts ?? {},
    enrollments: rows.map((r) => {
      const emailStep = !r.step_type || isEmailStep(r.step_type);
      const why = explain(
        {
          reason: r.reason,
          status: r.status,
          mailboxStatus: r.mb_status,
          mailboxReason: r.mb_reason,
          mailboxHeld: !!r.mb_held,
          emailStep,
          contactBlock: rowBlockingReason(r, emailStep),
        },
        seq,
      );
      let next: number | null = null;
      let reason = why.reason;
      let text = why.text;
      if (r.status === "active" && !why.blocked) {
        if (r.reason === "queued_for_mailbox") {
          const planned = fc.get(r.id);
          next = planned?.at ?? null;
          // Held past its time by the mailbox: the plan's own numbers (the emails ahead, the limit), as the scheduled emails say it.
          text = plannedWaitText({ ...r, email: r.mb_email }, planned) ?? text;
        } else if (r.next_due_at !== null) {
          // In the contact's zone when the schedule sends in it, as the send path and the scheduled emails do.
          next =
            r.step_type && isEmailStep(r.step_type)
              ? nextWindowStart(r.next_due_at, schedule.window, sendingZone(schedule, r.contact_zone))
              : r.next_due_at;
          // Due now, but the window is closed: the row says when it opens instead of "waiting for the step".
          if (next !== null && next > Math.max(r.next_due_at, now()) && r.reason === "waiting_for_step") {
            reason = "outside_window";
            text = VIEW_REASONS.outside_window;
          }
        }
      }
      const pausedUntil = r.status === "paused" ? r.next_due_at : null;
      return {
        id: r.id,
        status: r.status,
        shown_status: shownStatus(r.status, seq),
        current_step: r.current_step,
        step_type: r.step_type,
        next_action_at: next ?? pausedUntil,
        reason,
        reason_text: text,
        paused_until: pausedUntil,
        contact: { id: r.contact_id, name: r.name, email: r.email, company: r.company },
        mailbox: r.mailbox_id && r.mb_email && r.mb_status ? { id: r.mailbox_id, email: r.mb_email, status: r.mb_status } : null,
        created_at: r.created_at,
        finished_at: r.finished_at,
      };
    }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Actions

export const ENROLLMENT_ACTIONS = ["pause", "resume", "finish", "remove", "restart", "move", "change-mailbox"] as const;
export type EnrollmentAction = (typeof ENROLLMENT_ACTIONS)[number];
export const FINISH_REASONS = ["marked_finished", "replied", "meeting_booked"] as const;

export interface ActionParams {
  until?: number | undefined;
  reason?: (typeof FINISH_REASONS)[number] | undefined;
  step?: number | undefined;
  to_sequence_id?: string | undefined;
  mailbox_ids?: string[] | undefined;
  /** move: warnings to move anyway (the two about other sequences are waived whatever this says). */
  overrides?: Partial<Record<WarningCategory, boolean>> | undefined;
  mailbox_id?: string | undefined;
  /** restart: also those whose run ended as the contact answered or was moved, and those in another sequence now. */
  restart_anyway?: boolean | undefined;
}
export interface ActionInput extends ActionParams {
  enrollment_ids?: string[] | undefined;
  filter?: EnrollmentFilter | undefined;
}

export interface Outcome {
  id: string;
  changed: boolean;
  outcome: string;
  reason: string | null;
  /** restart: why it was not restarted, as a code (RestartBlock). */
  reason_code?: string | null;
  new_id?: string | null;
  from?: string | null;
  /** move: the warnings the target held this contact back for (overridable: moved with them as overrides). */
  held_back_by?: WarningCategory[];
}
interface Picked {
  id: string;
  status: string;
  contact_id: string;
  /** Read by a job's page (pickedNow): a page delivered again tells the contacts it moved already by it. */
  reason?: string | null;
}

/** Why a restart was refused, for the codes the engine's reasons don't have. */
const RESTART_WORDS: Record<string, string> = {
  active_elsewhere: "In another sequence now",
  duplicate_email: "Another contact with this email address is in this sequence now",
  mailbox_not_connected: "Its mailbox is removed or not connected",
};

/** A page of an action job (its id and first index): a move's page commits the same target job on every delivery. */
export interface ActionPage {
  jobId: string;
  from: number;
}

/** Enrollments one DO call takes. */
export const ACTION_PAGE = 5_000;
/** A filter matching more than this runs as an enrollment action job on the queue (services/enrollment-jobs.ts). */
export const INLINE_FILTER_MATCHES = 1_000;

const OPEN_STATUSES = new Set(["active", "paused", "held", "scheduled"]);

function why(action: EnrollmentAction, status: string, reason?: string | null, until?: number): string {
  if (!OPEN_STATUSES.has(status) && action !== "remove" && action !== "restart") {
    // The finish reason is named: one who replied or was moved is not offered a restart as if they had just run out of steps.
    const ended = reason ? `Already ${status} (${reasonText(reason)})` : `Already ${status}`;
    return RESTART_ASKS_FIRST.has(reason ?? "") ? ended : `${ended}: restart it to send the sequence again`;
  }
  // A pause with a date changes a paused run's resume date; one without has nothing to change.
  if (action === "pause" && status === "paused")
    return until ? "Already paused until that date" : "Already paused (give a date to change when it resumes)";
  if (action === "resume") return `Not paused (${status})`;
  if (action === "remove" && status === "removed") return "Already removed";
  return `Nothing to do while ${status}`;
}

/** The sequence, the target and the mailbox an action needs, checked before anything changes (403/404/422). */
export async function prepareAction(d: Db, caller: Caller, sequenceId: string, action: EnrollmentAction, p: ActionParams) {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.edit");
  const need = (field: keyof ActionParams, words: string) => {
    if (p[field] === undefined)
      throw new ApiError("validation_failed", `${words} is required to ${action}`, {
        fields: [{ field, label: words, message: `${words} is required to ${action}`, code: "required" }],
      });
  };
  if (action === "move") need("to_sequence_id", "The sequence to move to");
  if (action === "change-mailbox") need("mailbox_id", "The mailbox to send from");
  const target = action === "move" ? (await sequenceFor(d, caller, p.to_sequence_id!, "sequence.edit")).seq : null;
  if (target && target.id === seq.id)
    throw new ApiError("validation_failed", "Pick another sequence to move to", {
      fields: [
        { field: "to_sequence_id", label: "The sequence to move to", message: "Pick another sequence than this one", code: "custom" },
      ],
    });
  // A restart may name the mailbox its new runs send from (a run's own may be removed or disconnected by now).
  const mailbox =
    action === "change-mailbox" || (action === "restart" && p.mailbox_id !== undefined)
      ? await mailboxFor(d, caller, p.mailbox_id!, "mailbox.send")
      : null;
  // Emails handed to a mailbox that can't send would wait there unseen, while the answer said "changed".
  if (mailbox && mailbox.status !== "connected")
    throw new ApiError("mailbox_not_connected", `${mailbox.email} is not connected: pick a connected mailbox, or reconnect it first`, {
      fix: "Reconnect the mailbox on the Mailboxes page, or pick another one",
      fields: [{ field: "mailbox_id", message: `${mailbox.email} is ${mailbox.status.replace(/_/g, " ")}` }],
      mailbox_ids: [mailbox.id],
    });
  return { seq, targetId: target?.id ?? null, targetName: target?.name ?? null, mailboxId: mailbox?.id ?? null };
}

/** The add-contacts request a move makes of its target for these contacts (see actThroughEngine). */
function moveRequest(p: ActionParams, contactIds: string[]): AddContactsRequest {
  return AddContactsRequest.parse({
    source: { contact_ids: contactIds },
    overrides: { ...p.overrides, active_in_other_sequence: true, finished_in_other_sequence: true },
    ...(p.mailbox_ids ? { mailbox_ids: p.mailbox_ids } : {}),
  });
}

/**
 * A move's target refuses the contacts up front (422) when its preconditions fail (off, archived, no step
 * on, no mailbox the caller may send from): each page commits through the add-contacts pipeline, which
 * checks them, but a move run as a job answered 202 first and then failed every retry of its first page.
 */
export async function moveTargetReady(d: Db, caller: Caller, prep: PreparedAction, p: ActionParams): Promise<void> {
  if (!prep.targetId) return;
  // The preconditions read no contact: any one id stands for them.
  await asMove(prep, async () => refuse((await checkPreconditions(d, caller, prep.targetId!, moveRequest(p, ["-"]))).preconditions));
}

/** The target's refusal, saying it is the target's ("This sequence is inactive" read as the one moved from). */
async function asMove<T>(prep: PreparedAction, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const words = `${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}`;
    throw new ApiError(e.code, `Can't move to “${prep.targetName ?? "the other sequence"}”: ${words}`, e.details, e.status);
  }
}
export type PreparedAction = Awaited<ReturnType<typeof prepareAction>>;

/** Every enrollment of a sequence matching a filter, by id (a snapshot: acting changes statuses). */
export async function matchingIds(d: Db, seqId: string, teamId: string, f: EnrollmentFilter, limit: number): Promise<Picked[]> {
  return d.all<Picked>(sql`SELECT e.id, e.status, e.contact_id, e.reason ${FROM} ${where(seqId, teamId, f)} ORDER BY e.id LIMIT ${limit}`);
}

/**
 * The open (active, paused or held) enrollments of an email address, in every sequence of the team:
 * an unsubscribe, however it arrives, finishes all of them. The address matches case-insensitively.
 */
export async function openEnrollmentsOfAddress(d: Db, teamId: string, email: string): Promise<{ id: string; sequenceId: string }[]> {
  // From the address's contacts (contacts_team_email_idx) to their enrollments (by contact): joined the
  // other way, SQLite walked every open enrollment of the team for each unsubscribe or reply. The `+`s
  // keep the team and status checks as filters.
  return d
    .select({ id: enrollments.id, sequenceId: enrollments.sequenceId })
    .from(enrollments)
    .where(
      and(
        sql`${enrollments.contactId} IN (SELECT ${contacts.id} FROM ${contacts} WHERE ${contacts.teamId} = ${teamId} AND lower(${contacts.email}) = ${email.toLowerCase()})`,
        sql`+${enrollments.teamId} = ${teamId}`,
        sql`+${enrollments.status} IN ('active', 'paused', 'held')`,
      ),
    );
}

/** These enrollments (all must be this sequence's, else 404 naming them). */
export async function pickIds(d: Db, seqId: string, teamId: string, ids: readonly string[]): Promise<Picked[]> {
  const unique = [...new Set(ids)];
  const found = await pickedNow(d, seqId, teamId, unique);
  const known = new Map(found.map((f) => [f.id, f]));
  const missing = unique.filter((e) => !known.has(e));
  if (missing.length)
    throw new ApiError("not_found", `${missing.length} enrollment(s) not found in this sequence`, { enrollment_ids: missing.slice(0, 20) });
  return unique.map((i) => known.get(i)!);
}

/** Re-reads picked enrollments by id (a job's page: their status may have changed since the snapshot). */
export async function pickedNow(d: Db, seqId: string, teamId: string, ids: readonly string[]): Promise<Picked[]> {
  if (!ids.length) return [];
  return d.all<Picked>(
    // By id whatever the statistics say (notIndexed): not a walk of the sequence's or the team's enrollments.
    sql`SELECT id, status, contact_id, reason FROM enrollments WHERE +sequence_id = ${seqId} AND +team_id = ${teamId} AND ${inList(sql`id`, ids)} ORDER BY id`,
  );
}

/** One page (≤ ACTION_PAGE) of an action through the SequenceDO; each enrollment's outcome and, when unchanged, why. */
export async function actOnPage(
  env: Env,
  d: Db,
  caller: Caller,
  prep: PreparedAction,
  action: EnrollmentAction,
  rows: Picked[],
  p: ActionParams,
  page?: ActionPage,
): Promise<{ results: Outcome[]; jobs: string[] }> {
  const out = await actThroughEngine(env, d, caller, prep, action, rows, p, page);
  await auditContacts(d, caller, prep, action, rows, out.results, p, page);
  return out;
}

/**
 * One audit entry per changed enrollment, on its contact: the contact's timeline says who paused,
 * finished, restarted or moved it (the per-sequence entry of auditAction says how many).
 */
async function auditContacts(
  d: Db,
  caller: Caller,
  prep: PreparedAction,
  action: EnrollmentAction,
  rows: Picked[],
  results: Outcome[],
  p: ActionParams,
  page?: ActionPage,
) {
  const contactOf = new Map(rows.map((r) => [r.id, r.contact_id]));
  const extra = {
    ...(p.until ? { until: p.until } : {}),
    ...(p.step ? { step: p.step } : {}),
    ...(action === "finish" ? { reason: p.reason ?? "marked_finished" } : {}),
    ...(prep.mailboxId ? { mailbox_id: prep.mailboxId } : {}),
    ...(prep.targetId ? { to_sequence_id: prep.targetId } : {}),
  };
  const changed = results.filter((r) => r.changed && contactOf.has(r.id));
  // A job's page may run again after a try that already wrote its entries (a move's page reports the
  // contacts it moved then as moved): an entry's id comes from the page and the enrollment, written once.
  const ids = await Promise.all(changed.map((r) => (page ? orderedIdFrom(page.jobId, page.from, "audit", r.id) : newId())));
  const entries = changed.map((r, i) => [
    ids[i]!,
    contactOf.get(r.id)!,
    JSON.stringify({
      enrollment_id: r.id,
      sequence_id: prep.seq.id,
      ...(r.new_id ? { new_id: r.new_id } : {}),
      ...(r.from ? { from_mailbox_id: r.from } : {}),
      ...extra,
    }),
  ]);
  const t = now();
  for (const chunk of chunked(entries, 1_000)) {
    if (!chunk.length) continue;
    // The entries travel as one bound JSON array (D1's 100-parameter limit).
    await d.run(sql`INSERT OR IGNORE INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
      SELECT json_extract(value, '$[0]'), ${caller.teamId}, ${caller.userId}, ${caller.apiKeyId ?? null}, ${`enrollment.${action}`}, 'contact', json_extract(value, '$[1]'), json_extract(value, '$[2]'), ${t}
        FROM json_each(${JSON.stringify(chunk)})`);
  }
}

async function actThroughEngine(
  env: Env,
  d: Db,
  caller: Caller,
  prep: PreparedAction,
  action: EnrollmentAction,
  rows: Picked[],
  p: ActionParams,
  page?: ActionPage,
): Promise<{ results: Outcome[]; jobs: string[] }> {
  const { seq } = prep;
  const stub = engine.sequence(env, seq.id, seq.teamId);
  const ids = rows.map((r) => r.id);
  if (!rows.length) return { results: [], jobs: [] };
  if (action === "restart") {
    const out = await stub.restart(ids, p.step ?? null, caller.userId ?? null, p.restart_anyway ?? false, prep.mailboxId);
    const blocked = (code: string) => {
      const text = `${RESTART_WORDS[code] ?? reasonText(code)}: not restarted`;
      if (code === "mailbox_not_connected") return `${text} (restart with another mailbox to send from)`;
      // Overridable: the caller may still mean it (they asked to hear from it again).
      return code === "active_elsewhere" || RESTART_ASKS_FIRST.has(code) ? `${text} (restart anyway to email them again)` : text;
    };
    return {
      jobs: [],
      results: out.map((o) => ({
        id: o.id,
        changed: o.outcome === "restarted",
        outcome: o.outcome,
        new_id: o.newId,
        reason:
          o.outcome === "no_such_step"
            ? `Step ${p.step ?? 1} does not exist or is turned off`
            : o.outcome === "already"
              ? "Already restarted, or the contact is in this sequence again"
              : o.outcome === "blocked"
                ? blocked(o.reason!)
                : null,
        ...(o.outcome === "blocked" ? { reason_code: o.reason! } : {}),
      })),
    };
  }
  if (action === "change-mailbox") {
    const out = await stub.changeMailbox(ids, prep.mailboxId!);
    const words = {
      changed: null,
      not_found: "Not found",
      not_open: "Not active: nothing more will be sent",
      unchanged: "Already sends from this mailbox",
      sending_now: "Its email is being sent right now from the old mailbox; try again in a minute",
    } as const;
    return {
      jobs: [],
      results: out.map((o) => ({ id: o.id, changed: o.outcome === "changed", outcome: o.outcome, reason: words[o.outcome], from: o.from })),
    };
  }
  if (action === "move") {
    // A job's page is delivered again when a try fails: its target job has an id of its own, so a try
    // after the commit finds that job (and the contacts it took) instead of committing a second one.
    const fixedId = page ? await orderedIdFrom(page.jobId, page.from, "move") : undefined;
    const before = fixedId ? await takenBy(d, caller.teamId, fixedId) : null;
    const open = rows.filter((r) => OPEN_STATUSES.has(r.status));
    const results: Outcome[] = rows
      .filter((r) => !OPEN_STATUSES.has(r.status))
      .map((r) =>
        // Moved by an earlier try of this page, which failed before recording it.
        before?.has(r.contact_id) && r.status === "finished" && r.reason === "moved"
          ? { id: r.id, changed: true, outcome: "moved", reason: null }
          : { id: r.id, changed: false, outcome: "not_open", reason: why("move", r.status, r.reason) },
      );
    if (!open.length) return { results, jobs: before ? [fixedId!] : [] };
    // The target's preconditions and validation: the add-contacts pipeline, as when adding them by hand.
    // It throws (nothing changed here) when the target can't take them. Being in another sequence is the
    // point of a move (this one, which they leave): the two "other sequence" warnings are waived; the
    // caller may waive others as when adding (a contact who replied to the target before, say); every
    // skip applies.
    const req = moveRequest(
      p,
      open.map((r) => r.contact_id),
    );
    const { job, planned, replayed } = await asMove(prep, () =>
      commitAddContacts(env, d, caller, prep.targetId!, req, null, "move", fixedId),
    );
    // A page of a move is at most ACTION_PAGE = PLAN_PAGE contacts, planned here; a job an earlier try
    // committed comes back unplanned (its candidates say whom it takes).
    if (!planned && !replayed) throw new Error("A move's contacts must be planned in the request");
    // Only the contacts the target takes leave this sequence; its job gets only those. One it skips or
    // holds back (an unverified email, a suppression, another owner) stays here as it was: finishing
    // every picked contact lost such a one from both sequences while the answer said it moved. The ones
    // taken leave now, once the job is committed (which can still refuse the whole move), while the job
    // waits on the queue, so they never send from both. One that changes in that second so the job
    // skips it (suppressed, say) ends here as moved and there as skipped, the reason on the job's page.
    const evaluations = new Map((planned ?? []).filter((c) => c.contactId).map((c) => [c.contactId!, c.evaluation]));
    // A job committed by an earlier try takes the contacts it took then, whatever they look like now (read
    // above, unless another delivery of this page committed it in between).
    const committed = replayed ? (before ?? (await takenBy(d, caller.teamId, job.id))) : null;
    const taken = (r: Picked) => {
      if (committed) return committed.has(r.contact_id);
      const e = evaluations.get(r.contact_id);
      return !!e && takenByMove(e);
    };
    const leaving = open.filter(taken);
    const changed = new Set(
      leaving.length
        ? await stub.finish(
            leaving.map((r) => r.id),
            "moved",
          )
        : [],
    );
    const target = `“${prep.targetName ?? "the other sequence"}”`;
    for (const r of open) {
      if (taken(r)) {
        results.push(
          changed.has(r.id)
            ? { id: r.id, changed: true, outcome: "moved", reason: null }
            : { id: r.id, changed: false, outcome: "unchanged", reason: "It changed state meanwhile" },
        );
        continue;
      }
      if (committed) {
        // The job an earlier try committed left it out; why was said then, and is not planned again.
        results.push({ id: r.id, changed: false, outcome: "not_moved", reason: `${target} didn't take them: still in this sequence` });
        continue;
      }
      const e = evaluations.get(r.contact_id);
      const blocking = !e ? (["not_found"] as const) : e.outcome === "skipped" ? e.skips : e.warnings.filter((w) => !req.overrides?.[w]);
      const words = blocking.map((w) => OUTCOME_REASONS[w].label.toLowerCase()).join(", ");
      results.push({
        id: r.id,
        changed: false,
        outcome: "not_moved",
        reason: `${target} ${e?.outcome === "warned" ? "held them back" : "can't take them"} (${words}): still in this sequence`,
        ...(e?.outcome === "warned" ? { held_back_by: e.warnings.filter((w) => !req.overrides?.[w]) } : {}),
      });
    }
    return { results, jobs: [String(job.id)] };
  }
  const reason: ReasonCode | undefined =
    action === "finish" ? (p.reason ?? "marked_finished") : action === "pause" && p.until ? "paused_until" : undefined;
  const changed = new Set(await stub.transition(ids, action, reason, action === "pause" ? p.until : undefined));
  const done = { pause: "paused", resume: "resumed", finish: "finished", remove: "removed" }[action];
  return {
    jobs: [],
    results: rows.map((r) =>
      changed.has(r.id)
        ? // A paused run given a new date (the SequenceDO moved its resume): said apart from a new pause.
          { id: r.id, changed: true, outcome: action === "pause" && r.status === "paused" ? "resume_date_changed" : done, reason: null }
        : {
            id: r.id,
            changed: false,
            outcome: r.status === "finished" || r.status === "removed" || r.status === "failed" ? r.status : "unchanged",
            reason: why(action, r.status, r.reason, action === "pause" ? p.until : undefined),
          },
    ),
  };
}

export function tally(results: readonly Outcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of results) t[r.outcome] = (t[r.outcome] ?? 0) + 1;
  return t;
}

/** The audit entry of one action (inline or a job's end): who, what, how many, and the mailbox it moved from. */
export async function auditAction(
  d: Db,
  caller: Caller,
  prep: PreparedAction,
  action: EnrollmentAction,
  p: ActionParams,
  counts: { changed: number; outcomes: Record<string, number>; from?: string[]; jobs?: string[]; job_id?: string },
) {
  const waived = Object.entries(p.overrides ?? {}).flatMap(([w, on]) => (on ? [w] : []));
  await d.insert(auditLog).values(
    auditEntry(caller, `enrollment.${action}`, "sequence", prep.seq.id, {
      count: counts.changed,
      outcomes: counts.outcomes,
      ...(prep.mailboxId ? { mailbox_id: prep.mailboxId, from: (counts.from ?? []).slice(0, 20) } : {}),
      ...(prep.targetId ? { to_sequence_id: prep.targetId, jobs: counts.jobs ?? [] } : {}),
      // The warnings a move waived on the caller's word (who moved contacts who had replied there, say).
      ...(waived.length ? { overrides: Object.fromEntries(waived.map((w) => [w, true])) } : {}),
      ...(p.until ? { until: p.until } : {}),
      ...(p.step ? { step: p.step } : {}),
      ...(counts.job_id ? { job_id: counts.job_id } : {}),
    }),
  );
}

/** An action on picked enrollments, in the request: each one's outcome, audit-logged once. */
export async function actInline(
  env: Env,
  d: Db,
  caller: Caller,
  prep: PreparedAction,
  action: EnrollmentAction,
  picked: Picked[],
  p: ActionParams,
) {
  const results: Outcome[] = [];
  let jobs: string[] = [];
  for (let i = 0; i < picked.length; i += ACTION_PAGE) {
    const out = await actOnPage(env, d, caller, prep, action, picked.slice(i, i + ACTION_PAGE), p);
    results.push(...out.results);
    jobs = jobs.concat(out.jobs);
  }
  const outcomes = tally(results);
  const from = [...new Set(results.map((r) => r.from).filter((f): f is string => !!f))];
  await auditAction(d, caller, prep, action, p, { changed: results.filter((r) => r.changed).length, outcomes, from, jobs });
  return {
    changed: results.filter((r) => r.changed).map((r) => r.id),
    unchanged: results.filter((r) => !r.changed).map((r) => r.id),
    outcomes,
    results: results.map(({ from: _f, ...r }) => r),
    jobs,
  };
}

/**
 * The enrollments of `contactIds` in a sequence, acted on as the /api actions do (the Apollo facade's
 * remove_or_stop_contact_ids and "update contact status" go through here): open ones first, else the latest.
 */
export async function actOnContacts(
  env: Env,
  d: Db,
  caller: Caller,
  sequenceId: string,
  action: EnrollmentAction,
  contactIds: readonly string[],
  p: ActionParams = {},
) {
  const prep = await prepareAction(d, caller, sequenceId, action, p);
  if (!contactIds.length) return actInline(env, d, caller, prep, action, [], p);
  const rows = await d.all<Picked>(sql`SELECT id, status, contact_id, reason FROM enrollments
     WHERE sequence_id = ${prep.seq.id} AND team_id = ${caller.teamId} AND ${inList(sql`contact_id`, [...new Set(contactIds)])}
     ORDER BY contact_id, (status IN ('scheduled', 'active', 'paused', 'held')) DESC, created_at DESC`);
  const one = new Map<string, Picked>();
  for (const r of rows) if (!one.has(r.contact_id)) one.set(r.contact_id, r);
  return actInline(env, d, caller, prep, action, [...one.values()], p);
}

export type { Sequence };

/** Every enrollment of these contacts in sequences the caller may see (Apollo's contact_campaign_statuses). */
export function enrollmentsOfContacts(d: Db, caller: Caller, contactIds: readonly string[]): Promise<(typeof enrollments.$inferSelect)[]> {
  if (!contactIds.length) return Promise.resolve([]);
  const seen = visibleSequence(caller, enrollments.sequenceId);
  return d
    .select()
    .from(enrollments)
    .where(
      seen
        ? sql`${enrollments.teamId} = ${caller.teamId} AND ${inList(enrollments.contactId, contactIds)} AND ${seen}`
        : sql`${enrollments.teamId} = ${caller.teamId} AND ${inList(enrollments.contactId, contactIds)}`,
    );
}
