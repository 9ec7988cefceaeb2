import { and, asc, eq, sql } from "drizzle-orm";
import {
  composeEmail,
  engine,
  loadSendContext,
  REASONS,
  reasonText,
  type EmailChoice,
  type QueuedEmail,
  type ScheduledActionResult,
} from "../../durable-objects/engine";
import { pickVariant, refusalText } from "../../durable-objects/compose";
import { blockingReason, loadContactStates } from "../../durable-objects/eligibility";
import type { ReasonCode } from "../../durable-objects/engine-types";
import type { PlannedSend } from "../../durable-objects/scheduled-email";
import { loadSequenceConfig, loadSequenceConfigs, sendingZone, type SequenceConfig } from "../../durable-objects/sequence-config";
import type { Db } from "../db/client";
import { auditLog, contacts, enrollments, mailboxes, messages, steps, stepVariants, tasks } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { loadMailbox } from "../transports/mailbox-settings";
import { contactFor, mailboxFor, sequenceAllows, sequenceFor, visibleSequence } from "./access";
import { auditEntry } from "./audit";
import {
  blockedRunText,
  explain,
  forecasts,
  MAILBOX_LIMIT_COLUMNS,
  plannedWaitText,
  runStepSql,
  SENT_STEP_SQL,
  type MailboxLimitColumns,
} from "./enrollments";
import { inWindow, nextWindowStart } from "./schedule-time";
import { validateTemplate } from "./templates";
import { mailboxHeldSql, replyCheckMark } from "../transports/mailbox-settings";

/**
 * Scheduled emails: every automatic email not sent yet (the current email step of an open enrollment),
 * and every manual email a rep sent from its task that its mailbox still holds (queued behind its daily or
 * hourly limit, first in line), of a sequence, a contact or a mailbox, with when it will go or why it won't; its preview built by
 * the send path's own composer; and the four actions on one (edit for this contact, send now, skip,
 * reschedule), each through the enrollment's SequenceDO (engine.ts), recorded in the audit log, which
 * the contact's timeline reads. `GET /api/scheduled-emails` is the one way in for lists.
 */

/**
 * D1's copy of a run whose manual email step (st, the run's current one) its rep sent from its task: handed to
 * the mailbox (queued_for_mailbox), or taken back by a pause or the sequence turned off, the run still on that
 * step with its task completed (a task completed without sending moves the run on).
 */
const TASK_EMAIL_SQL = sql`((e.status = 'active' AND e.reason = 'queued_for_mailbox')
   OR (e.status IN ('paused', 'held') AND EXISTS (SELECT 1 FROM tasks tk WHERE tk.enrollment_id = e.id AND tk.step_id = o.id AND tk.status = 'completed')))`;

/** Why a scheduled email won't go at its step's time, in words (beside the engine's REASONS). */
export const SCHEDULED_REASONS = {
  outside_window: "Outside the sending window: goes out when it opens",
  mailbox_capacity: "Waiting its turn: the mailbox's daily or hourly limit, or its spacing between sends",
  window_then_turn: "Outside the sending window; once it opens, it waits its turn for the mailbox's limits and spacing",
  not_planned: "Can't be planned in the next 60 days: no window opens or the mailbox has no room",
  send_now: "Sending now: next in line, within the mailbox's limits",
  rescheduled: "Rescheduled by a user",
  task_email_sending: "Sent from its task: first in line, going out now",
  task_email_waiting: "Sent from its task: first in line, it goes when the mailbox's daily or hourly limit or its spacing has room",
} as const;
/** The reasons whose text is the mailbox plan's own account of the wait (waitText), when the forecast gives one. */
const TOLD_WAITS: Partial<Record<string, "turn" | "window_then_turn" | "task">> = {
  mailbox_capacity: "turn",
  window_then_turn: "window_then_turn",
  task_email_waiting: "task",
};
const words = (code: string | null) =>
  code ? ((SCHEDULED_REASONS as Record<string, string>)[code] ?? (REASONS as Record<string, string>)[code] ?? code) : null;

export interface ScheduledQuery {
  sequence_id?: string | undefined;
  contact_id?: string | undefined;
  mailbox_id?: string | undefined;
  /** send_at (the default): by when each goes, as the mailboxes plan it now; due_at: by when its step falls due. */
  sort?: ScheduledSort | undefined;
  cursor?: string | undefined;
  limit: number;
}

export const SCHEDULED_SORTS = ["send_at", "due_at"] as const;
export type ScheduledSort = (typeof SCHEDULED_SORTS)[number];

/**
 * A list sorted by send time is sorted whole: a run's time comes from its mailbox's forecast (the order in
 * which it sends: score, then due time, under its caps and spacing, across every sequence) or its window,
 * neither of which D1 can order by. Every page reads the list's runs and their mailboxes' forecasts, so it
 * is done up to this many runs; a longer list is in due order, and says so (`sort: "due_at"`).
 */
export const SEND_SORT_MAX = 1_000;

interface Row extends MailboxLimitColumns {
  id: string;
  sequence_id: string;
  sequence_name: string;
  seq_active: number;
  archived_at: number | null;
  owner_id: string;
  share: "view" | "edit" | null;
  status: "active" | "paused" | "held";
  reason: string | null;
  next_due_at: number | null;
  current_step: number;
  step_id: string;
  step_type: "auto_email" | "manual_email";
  thread_reply: number;
  contact_id: string;
  contact_name: string;
  email: string | null;
  contact_zone: string | null;
  mailbox_id: string | null;
  mailbox_email: string | null;
  mailbox_reason: string | null;
}

/** Never: a run with no due time (paused, held) or no send time (it won't go) comes last. */
const LAST = 9e15;
/** The key a page ends on: [due, id] in due order; ["s", send, due, id] in send order (the list re-sorted each page). */
type Key = [number, string] | ["s", number, number, string];
const cursorOf = (k: Key) => btoa(JSON.stringify(k));
function readCursor(c: string | undefined, sort: ScheduledSort): Key | null {
  if (!c) return null;
  try {
    const v = JSON.parse(atob(c)) as unknown;
    if (Array.isArray(v)) {
      // A due-order cursor goes with either sort: a list too long to sort by send time is paged in due order.
      if (v.length === 2 && typeof v[0] === "number" && typeof v[1] === "string") return [v[0], v[1]];
      if (
        sort === "send_at" &&
        v.length === 4 &&
        v[0] === "s" &&
        typeof v[1] === "number" &&
        typeof v[2] === "number" &&
        typeof v[3] === "string"
      )
        return ["s", v[1], v[2], v[3]];
    }
  } catch {
    // fall through: a cursor this API did not write
  }
  throw new ApiError("validation_failed", "This cursor is not one this list gave", {
    fields: [{ field: "cursor", message: "Use the next_cursor of the previous page, with the same sort" }],
  });
}
/**
 * A row's place in send order at `t` (read once per request): an email that goes now (its time `t` or before)
 * is 0, so those sort by due time, then id, whenever the page is asked for. Their send time is the request's
 * own now, which moves between pages: keyed by it, they sorted after the cursor again and paging repeated them.
 */
const sendKey = (s: { at: number | null; r: Row }, t: number): [number, number, string] => [
  s.at === null ? LAST : s.at <= t ? 0 : s.at,
  s.r.next_due_at ?? LAST,
  s.r.id,
];
const before = (a: [number, number, string], b: [number, number, string]) =>
  a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];

/**
 * One page of scheduled emails, each with the instant it will go as the mailbox plans it now, or the reason it
 * won't: soonest to go first (the whole list sorted, up to SEND_SORT_MAX), or soonest step time first (keyset on
 * the enrollment's due time and id: sort=due_at, or a longer list).
 */
export async function listScheduledEmails(env: Env, d: Db, caller: Caller, q: ScheduledQuery) {
  if (q.sequence_id) await sequenceFor(d, caller, q.sequence_id);
  if (q.mailbox_id) await mailboxFor(d, caller, q.mailbox_id, "mailbox.view");
  if (q.contact_id) await contactFor(d, caller, q.contact_id);
  const sort = q.sort ?? "send_at";
  const after = readCursor(q.cursor, sort);
  const seen = visibleSequence(caller, sql`e.sequence_id`) ?? sql`1`;
  // The runs listed, every page alike: the total counts them with the page's own FROM and WHERE (no cursor), so
  // it is exactly the rows a caller paging to the end would get. One count over the team's open runs, read
  // down enrollments' team index beside the page, not a read per mailbox queue: a run waiting in a MailboxDO is
  // in D1 as queued_for_mailbox, so D1 alone says what is scheduled.
  // The team's whole list reads its open runs down the team's index: with statistics that give the team most
  // runs, the planner scanned every team's enrollments instead (for the page and its total alike). A filter by
  // sequence, contact or mailbox has a narrower index of its own, left to the planner.
  const from =
    q.sequence_id || q.contact_id || q.mailbox_id
      ? sql`FROM enrollments e`
      : sql`FROM enrollments e INDEXED BY enrollments_team_status_idx`;
  const listed = sql`
      ${from}
      JOIN sequences s ON s.id = e.sequence_id
      JOIN contacts c ON c.id = e.contact_id
      -- A manual email is listed once its rep sent it from its task (sendTaskEmail): its run then waits on the
      -- mailbox, which holds it first in line when the daily or hourly limit is reached. Before that it is a task.
      -- A pause (or the sequence turned off) takes it back from the mailbox (invariant 11) and the resume hands it
      -- over again: meanwhile its run is still on the step with its task completed, and it is listed as paused.
      -- The run's email (runStepSql: of tied steps, the first) is an email still to go. One that went out is
      -- never sent again (invariant 4): not listed while D1's copy of its enrollment still has it on that step
      -- (a mailbox's report is mirrored a moment after its messages).
      JOIN steps st ON st.id = ${runStepSql(
        sql`(o.type = 'auto_email' OR (o.type = 'manual_email' AND ${TASK_EMAIL_SQL})) AND NOT ${SENT_STEP_SQL}`,
      )}
      LEFT JOIN mailboxes mb ON mb.id = e.mailbox_id
      LEFT JOIN sequence_shares x ON x.sequence_id = s.id AND x.user_id = ${caller.userId}
     WHERE e.team_id = ${caller.teamId} AND e.status IN ('active', 'paused', 'held') AND ${seen}
       AND ${q.sequence_id ? sql`e.sequence_id = ${q.sequence_id}` : sql`1`}
       AND ${q.contact_id ? sql`e.contact_id = ${q.contact_id}` : sql`1`}
       AND ${q.mailbox_id ? sql`e.mailbox_id = ${q.mailbox_id}` : sql`1`}`;
  const byDue = (after: [number, string] | null, limit: number) =>
    d.all<Row>(sql`
    SELECT e.id, e.sequence_id, s.name AS sequence_name, s.active AS seq_active, s.archived_at, s.owner_id, x.access AS share, e.status, e.reason, e.next_due_at,
           e.current_step, st.id AS step_id, st.type AS step_type, st.thread_reply, c.id AS contact_id, trim(c.first_name || ' ' || c.last_name) AS contact_name,
           c.email, c.time_zone AS contact_zone, e.mailbox_id, mb.email AS mailbox_email, mb.status_reason AS mailbox_reason,
           ${MAILBOX_LIMIT_COLUMNS}
      ${listed}
       AND ${after ? sql`(coalesce(e.next_due_at, 9e15), e.id) > (${after[0]}, ${after[1]})` : sql`1`}
     ORDER BY coalesce(e.next_due_at, 9e15), e.id
     LIMIT ${limit}`);
  const dueAfter = after && after[0] !== "s" ? (after as [number, string]) : null;
  // In send order the whole list is read (up to SEND_SORT_MAX and one more, to know it is longer) beside its count.
  const whole = sort === "send_at" && !dueAfter;
  const [rows, counted] = await Promise.all([
    whole ? byDue(null, SEND_SORT_MAX + 1) : byDue(dueAfter, q.limit + 1),
    d.all<{ n: number }>(sql`SELECT count(*) AS n ${listed}`),
  ]);
  const total = counted[0]?.n ?? 0;
  // Paged on in send order while the list stays short enough; a page on from a due-order cursor stays in due order.
  if (whole && rows.length <= SEND_SORT_MAX) {
    const ctx = await planContext(env, d, caller.teamId, rows);
    const t = now();
    const keyed = rows.map((r) => ({ r, key: sendKey({ r, at: timing(r, ctx).sendAt }, t) }));
    const sorted = keyed.sort((a, b) => (before(a.key, b.key) ? -1 : 1));
    // A page goes on after the row the last one ended on, where that row is now: a mailbox plans its emails from
    // the moment it is asked (now, now + its spacing, ...), so their times move with the clock between pages and
    // by the cursor's time alone the rows the last page showed came again. A row no longer listed (sent, say)
    // leaves its key: the rows after it.
    const anchor = after && after[0] === "s" ? sorted.findIndex((x) => x.r.id === after[3]) : -1;
    const from =
      anchor >= 0 ? anchor + 1 : after && after[0] === "s" ? sorted.findIndex((x) => before([after[1], after[2], after[3]], x.key)) : 0;
    const rest = from < 0 ? [] : sorted.slice(from);
    const page = rest.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      scheduled: await present(
        env,
        d,
        caller,
        page.map((x) => x.r),
        ctx,
      ),
      total,
      sort,
      next_cursor: rest.length > q.limit && last ? cursorOf(["s", ...last.key]) : null,
    };
  }
  // Due order: asked for, or a list too long to sort by send time (its page read from the cursor; a list that grew
  // past the limit while paged in send order starts again from its top, in due order, saying so). The capped read
  // is that list's top in due order already: its first page is cut from it, not read again.
  const page = whole ? rows.slice(0, q.limit + 1) : rows;
  const shown = page.slice(0, q.limit);
  const lastRow = shown[shown.length - 1];
  return {
    scheduled: await present(env, d, caller, shown),
    total,
    sort: "due_at" as const,
    next_cursor: page.length > q.limit && lastRow ? cursorOf([lastRow.next_due_at ?? LAST, lastRow.id]) : null,
  };
}

/**
 * What a list's times are read from: its mailboxes' forecasts (one call per mailbox), its sequences' configs, and
 * why the engine won't email a contact of it (`blocks`: blockingReason of the engine's own read of them,
 * loadContactStates, one statement for the rows sorted or shown, not a column of the capped read of the list).
 */
interface PlanContext {
  forecast: Map<string, PlannedSend>;
  configs: Map<string, SequenceConfig | null>;
  blocks: Map<string, ReasonCode | null>;
}

async function planContext(env: Env, d: Db, teamId: string, rows: Row[]): Promise<PlanContext> {
  const queued = rows.filter((r) => r.status === "active" && r.reason === "queued_for_mailbox");
  const seqIds = [...new Set(rows.map((r) => r.sequence_id))];
  // Every sequence's config in one statement: a team-wide list spans as many sequences as the team runs.
  const contactIds = [...new Set(rows.map((r) => r.contact_id))];
  const [plan, cfgs, states] = await Promise.all([
    forecasts(env, queued),
    loadSequenceConfigs(d, teamId, seqIds),
    loadContactStates(d, teamId, contactIds),
  ]);
  return {
    forecast: new Map(plan.map((f) => [`${f.enrollmentId}:${f.stepId}`, f])),
    configs: new Map(seqIds.map((id) => [id, cfgs.get(id) ?? null])),
    blocks: new Map(contactIds.map((id) => [id, blockingReason(states.get(id), true)])),
  };
}

/** A row's state and when it goes (null: it won't as things are): the one reading the sort and the screen share. */
function timing(r: Row, ctx: PlanContext) {
  const cfg = ctx.configs.get(r.sequence_id) ?? null;
  const block = ctx.blocks.get(r.contact_id) ?? null;
  const why = explain(
    {
      reason: r.reason,
      status: r.status,
      mailboxStatus: r.mb_status,
      mailboxReason: r.mailbox_reason,
      mailboxHeld: !!r.mb_held,
      emailStep: true,
      contactBlock: block,
    },
    { active: !!r.seq_active, archivedAt: r.archived_at },
  );
  // The window in the zone the engine sends this enrollment's emails in (the contact's, when the schedule says so).
  const zone = cfg ? sendingZone(cfg, r.contact_zone) : null;
  // Its step turned off while it waited: the mailbox won't send it, and the contact moves on.
  const stepOff = cfg?.steps.find((s) => s.id === r.step_id)?.enabled === false;
  const planned = ctx.forecast.get(`${r.id}:${r.step_id}`);
  const goes = !stepOff && r.status === "active" && !why.blocked;
  return { cfg, why, block, zone, stepOff, planned, sendAt: goes ? sendAtOf(r, planned?.at, cfg, zone) : null };
}

/** Rows as the screen shows them: their times (planContext, unless the caller read it) and users' choices (one call per sequence). */
async function present(env: Env, d: Db, caller: Caller, rows: Row[], read?: PlanContext) {
  const teamId = caller.teamId;
  const t = now();
  const choices = new Map<string, EmailChoice>();
  const bySequence = new Map<string, Row[]>();
  for (const r of rows) bySequence.set(r.sequence_id, [...(bySequence.get(r.sequence_id) ?? []), r]);
  const [ctx] = await Promise.all([
    read ?? planContext(env, d, teamId, rows),
    ...[...bySequence].map(async ([seqId, rs]) => {
      const cs = await engine.sequence(env, seqId, teamId).emailChoices(rs.map((r) => ({ enrollmentId: r.id, stepId: r.step_id })));
      for (const c of cs) choices.set(`${c.enrollmentId}:${c.stepId}`, c);
    }),
  ]);
  return rows.map((r) => {
    const key = `${r.id}:${r.step_id}`;
    const choice = choices.get(key);
    const { cfg, why, block, zone, stepOff, planned, sendAt } = timing(r, ctx);
    let reason: string | null = why.reason;
    let text: string | null = why.text;
    const queued = r.status === "active" && r.reason === "queued_for_mailbox";
    const fromTask = r.step_type === "manual_email";
    // A contact the engine won't email keeps explain's words (blockedRunText), whatever else holds the email.
    if (stepOff && !block) {
      reason = "step_disabled";
      text = words(reason);
    } else if (fromTask && r.status !== "active" && !block) {
      // Sent by its rep, then taken back from the mailbox by the pause: the rep must see it waits, and for what.
      text = `Sent from its task, then taken back from the mailbox (${why.text ?? words(r.reason) ?? r.status}): it goes out, once, ${r.status === "paused" ? "when the contact is resumed" : "when this hold ends"}`;
    } else if (r.status === "active" && !why.blocked) {
      const ready = Math.max(t, r.next_due_at ?? t);
      if (queued) {
        if (fromTask) reason = sendAt === null ? "not_planned" : sendAt > ready + 60_000 ? "task_email_waiting" : "task_email_sending";
        else if (choice?.sendNow) reason = "send_now";
        else if (sendAt === null) reason = "not_planned";
        else {
          // Held by the window until it opens, then (later than the opening) by the mailbox's limits and spacing.
          const open = cfg ? (nextWindowStart(ready, cfg.window, zone) ?? ready) : ready;
          if (open > ready) reason = sendAt > open + 60_000 ? "window_then_turn" : "outside_window";
          else if (sendAt > ready + 60_000) reason = "mailbox_capacity";
        }
        if (!fromTask && choice?.sendAt != null && !choice.sendNow) reason = "rescheduled";
      } else if (cfg && sendAt !== null && sendAt > ready) reason = "outside_window";
      text = words(reason);
      // The mailbox's own account of the wait (planSends), in its numbers: what the user can change.
      const kind = reason && TOLD_WAITS[reason];
      if (kind && sendAt !== null) text = plannedWaitText({ ...r, email: r.mailbox_email }, planned, kind) ?? text;
    }
    return {
      enrollment_id: r.id,
      step: { id: r.step_id, position: r.current_step, thread_reply: !!r.thread_reply },
      // A manual email its rep sent from its task: already sent as far as they know, so it is never edited,
      // moved or skipped from here (actOnScheduledEmail refuses), only shown with when it goes.
      from_task: fromTask,
      contact: { id: r.contact_id, name: r.contact_name, email: r.email },
      sequence: { id: r.sequence_id, name: r.sequence_name },
      mailbox: r.mailbox_id && r.mailbox_email ? { id: r.mailbox_id, email: r.mailbox_email, status: r.mb_status ?? "connected" } : null,
      status: r.status,
      state: r.status !== "active" || why.blocked || stepOff ? ("held" as const) : queued ? ("queued" as const) : ("waiting" as const),
      // When its step falls due (the order with sort=due_at), beside send_at: the gap is what the window or the mailbox holds it.
      due_at: r.status === "active" ? r.next_due_at : null,
      send_at: sendAt,
      reason,
      reason_text: text,
      paused_until: r.status === "paused" ? r.next_due_at : null,
      edited: !!choice?.override,
      send_now: !!choice?.sendNow,
      rescheduled_to: choice && !choice.sendNow ? choice.sendAt : null,
      can_edit: !fromTask && sequenceAllows(caller, "sequence.edit", r.owner_id, r.share),
    };
  });
}

/** The enrollment of a scheduled email and its step, with the caller's right on the sequence checked (a foreign id is 404). */
async function scheduledFor(d: Db, caller: Caller, enrollmentId: string, stepId: string, action: "sequence.view" | "sequence.edit") {
  const e = await d.query.enrollments.findFirst({ where: and(eq(enrollments.id, enrollmentId), eq(enrollments.teamId, caller.teamId)) });
  if (!e) throw notFound("Scheduled email");
  const { seq } = await sequenceFor(d, caller, e.sequenceId, action).catch((err: unknown) => {
    throw err instanceof ApiError && err.status === 404 ? notFound("Scheduled email") : err;
  });
  const step = await d.query.steps.findFirst({ where: and(eq(steps.id, stepId), eq(steps.sequenceId, seq.id)) });
  if (!step) throw notFound("Scheduled email");
  return { e, seq, step };
}

/**
 * A scheduled email exactly as the contact will get it: the send path's composer (variant pick,
 * variables and custom fields, the user's edit, the same-thread subject, signature, unsubscribe
 * footer) run now for this enrollment and step.
 */
export async function previewScheduledEmail(env: Env, d: Db, caller: Caller, enrollmentId: string, stepId: string) {
  const { e, seq, step } = await scheduledFor(d, caller, enrollmentId, stepId, "sequence.view");
  // A manual email is previewed here once it was sent from its task (the list shows it then), with the rep's text.
  if (step.type === "manual_email" && !(await sentFromTask(d, e, step)))
    throw new ApiError("conflict", "This manual email hasn't been sent from its task: see its draft on the Tasks screen");
  if (step.type !== "auto_email" && step.type !== "manual_email")
    throw new ApiError("conflict", "This step is not an automatic email: it has no email to preview");
  const [sent] = await d
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.enrollmentId, e.id), eq(messages.stepId, step.id)))
    .limit(1);
  if (sent) throw new ApiError("conflict", "This email was already sent: see it in the Outbox");
  if (!["active", "paused", "held"].includes(e.status))
    throw new ApiError("conflict", `This contact is ${e.status} in the sequence: nothing more will be sent`);
  if (!e.mailboxId) throw new ApiError("conflict", "No mailbox is assigned to this contact: choose one with “change mailbox”");
  const [cfg, mailbox, contact, choices, variants] = await Promise.all([
    loadSequenceConfig(d, seq.id),
    loadMailbox(d, e.mailboxId),
    d.query.contacts.findFirst({ where: and(eq(contacts.id, e.contactId), eq(contacts.teamId, caller.teamId)) }),
    engine.sequence(env, seq.id, seq.teamId).emailChoices([{ enrollmentId: e.id, stepId: step.id }]),
    d
      .select()
      .from(stepVariants)
      .where(and(eq(stepVariants.stepId, step.id), eq(stepVariants.enabled, true)))
      .orderBy(asc(stepVariants.label), asc(stepVariants.id)),
  ]);
  if (!cfg || !mailbox) throw notFound("Scheduled email");
  const choice = choices[0];
  const item: QueuedEmail = {
    enrollmentId: e.id,
    stepId: step.id,
    sequenceId: seq.id,
    teamId: seq.teamId,
    contactId: e.contactId,
    dueAt: e.nextDueAt ?? now(),
    score: contact?.score ?? 0,
    window: cfg.window,
    zone: sendingZone(cfg, contact?.timeZone),
    // The run's thread comes from its sent emails, as the send path reads it (compose.ts, RUN_THREAD_SQL).
    thread: null,
    override: choice?.override ?? null,
  };
  const sc = await loadSendContext(d, seq.teamId, [item]);
  // Composed for the time it goes, as the send will be: {{day_of_week}} is that day's, not today's.
  // A preview: its unsubscribe link opts nobody out (the contact's own goes in the email as sent).
  const mail = await composeEmail(
    env,
    item,
    mailbox,
    await previewSendAt(env, e, step.id, mailbox, choice, cfg, item.zone ?? null),
    sc,
    true,
  );
  if (!mail) throw new ApiError("conflict", "This contact has no email address: the email step will be skipped");
  // The contact as the send context read it, checked as the engine checks it when the step falls due and at the
  // send (step-preview.ts does the same): a contact it won't email gets nothing, whatever the composer made.
  const blocked = blockingReason(sc.contacts.get(e.contactId), true);
  const variant = pickVariant(variants, e.id);
  const template = { subject: choice?.override?.subject ?? variant?.subject ?? "", body: choice?.override?.body ?? variant?.body ?? "" };
  return {
    enrollment_id: e.id,
    step: { id: step.id, position: step.position, thread_reply: step.threadReply },
    variant: variant && !choice?.override ? { id: variant.id, label: variant.label } : null,
    from: { email: mailbox.email, name: mailbox.senderName },
    to: mail.to,
    subject: mail.subject,
    body: mail.shown,
    in_reply_to: mail.inReplyTo,
    template,
    edited: choice?.override ? { subject: choice.override.subject, body: choice.override.body } : null,
    // The composer's own answers: the variables it found without a value (the subject's only when it isn't the
    // thread's), and its refusal, which the send would meet too (the contact is paused on the step).
    missing: mail.missing,
    refused: blocked
      ? { reason: blocked as string, text: blockedRunText(blocked) }
      : mail.refused
        ? { reason: mail.refused, text: refusalText(mail.refused, mail.missing) }
        : null,
  };
}

/**
 * When a run's email goes, as the list and the preview say it: for one its mailbox holds, the mailbox's
 * forecast (`forecast`, from forecasts(): null when it tells none), else the step's due time at the next
 * opening of the window in the sending zone.
 */
function sendAtOf(
  e: { status: string; reason: string | null; next_due_at: number | null },
  forecast: number | null | undefined,
  cfg: SequenceConfig | null,
  zone: string | null,
): number | null {
  const ready = Math.max(now(), e.next_due_at ?? now());
  if (e.status === "active" && e.reason === "queued_for_mailbox") return forecast ?? null;
  return cfg ? nextWindowStart(ready, cfg.window, zone) : ready;
}

/**
 * When a previewed email goes, as the list says it (sendAtOf): a user's time, now for "send now", else the
 * list's time, or the step's due time at the window's next opening when the list has none to tell (the
 * composer needs a time).
 */
async function previewSendAt(
  env: Env,
  e: { id: string; status: string; reason: string | null; nextDueAt: number | null },
  stepId: string,
  mailbox: NonNullable<Awaited<ReturnType<typeof loadMailbox>>>,
  choice: EmailChoice | undefined,
  cfg: SequenceConfig,
  zone: string | null,
): Promise<number> {
  const t = now();
  if (choice?.sendNow) return t;
  if (choice?.sendAt != null) return Math.max(t, choice.sendAt);
  const run = { status: e.status, reason: e.reason, next_due_at: e.nextDueAt };
  // The mailbox's forecast as the list reads it (forecasts: none from a mailbox not sending or held for a reply check).
  const plan =
    e.status === "active" && e.reason === "queued_for_mailbox"
      ? await forecasts(env, [
          {
            mailbox_id: mailbox.id,
            mb_status: mailbox.status,
            mb_held: replyCheckMark(mailbox.transport, mailbox.transportConfig) ? 1 : 0,
            mb_daily_limit: mailbox.dailyLimit,
            mb_hourly_limit: mailbox.hourlyLimit,
            mb_min_gap_seconds: mailbox.minGapSeconds,
          },
        ])
      : [];
  const forecast = plan.find((f) => f.enrollmentId === e.id && f.stepId === stepId)?.at;
  const ready = Math.max(t, e.nextDueAt ?? t);
  return sendAtOf(run, forecast, cfg, zone) ?? nextWindowStart(ready, cfg.window, zone) ?? ready;
}

export type ScheduledAction =
  | { kind: "edit"; subject?: string | null; body?: string | null }
  | { kind: "send-now" }
  | { kind: "skip" }
  | { kind: "reschedule"; at: number };

const AUDIT_ACTION = {
  edit: "scheduled_email.edit",
  "send-now": "scheduled_email.send_now",
  skip: "scheduled_email.skip",
  reschedule: "scheduled_email.reschedule",
} as const;

/** Whether its rep sent this manual email step of this run from its task, and it is not sent yet: the list's condition (TASK_EMAIL_SQL). */
async function sentFromTask(
  d: Db,
  e: { id: string; status: string; reason: string | null; currentStep: number },
  step: { id: string; position: number },
) {
  if (e.currentStep !== step.position) return false;
  if (e.status === "active") return e.reason === "queued_for_mailbox";
  if (e.status !== "paused" && e.status !== "held") return false;
  const [done] = await d
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.enrollmentId, e.id), eq(tasks.stepId, step.id), eq(tasks.status, "completed")))
    .limit(1);
  return !!done;
}

/**
 * The actions refused on a manual email sent from its task: the rep was told it was sent and their task is
 * completed, so it is not skipped, moved or rewritten behind their back; "send now" is what it already is.
 */
const TASK_EMAIL_REFUSAL = {
  "send-now":
    "This email was sent from its task and is already first in line in its mailbox: it goes as soon as the mailbox's daily or hourly limit has room",
  skip: "This email was sent from its task and is waiting in its mailbox: it can't be skipped from here any more",
  reschedule: "This email was sent from its task and is first in line in its mailbox: it can't be moved to another time",
  edit: "This email was sent from its task with the text its rep wrote: it can't be edited any more",
} as const;

const refuse = (field: string, message: string) => new ApiError("validation_failed", message, { fields: [{ field, message }] });

/**
 * "Send now" and "reschedule" promise a time: the contact's mailbox must be able to send then. A
 * disconnected or paused one would hold the email, then send it the moment it is back, whatever the hour;
 * one signed in again sends nothing until its reply check has read the inbox (mailboxHeldSql).
 */
export async function mustBeAbleToSend(d: Db, teamId: string, mailboxId: string | null) {
  const [mb] = mailboxId
    ? await d
        .select({ email: mailboxes.email, status: mailboxes.status, held: sql<number | null>`${sql.raw(mailboxHeldSql('"mailboxes"'))}` })
        .from(mailboxes)
        .where(and(eq(mailboxes.id, mailboxId), eq(mailboxes.teamId, teamId)))
    : [];
  if (!mb) throw new ApiError("conflict", "This contact has no mailbox to send from: give them one first (change mailbox)");
  if (mb.status !== "connected")
    throw new ApiError(
      "conflict",
      `${mb.email} is ${mb.status === "needs_reconnect" ? "waiting to be signed in again" : mb.status}: reconnect or resume it first, or move the contact to another mailbox`,
    );
  if (mb.held)
    throw new ApiError(
      "conflict",
      `${mb.email} was signed in again and sends nothing until its reply check has read the inbox: try again once it has, or an admin can let it send without waiting on the Mailboxes page`,
    );
}

/**
 * One action on one scheduled email, by a caller who may edit the sequence. Input that can't work is
 * refused before the engine is asked (422); the engine's answer is the truth about the email (409 when
 * it went out, is going out, or the contact is not on that step any more). Recorded in the audit log.
 */
export async function actOnScheduledEmail(env: Env, d: Db, caller: Caller, enrollmentId: string, stepId: string, action: ScheduledAction) {
  const { e, seq, step } = await scheduledFor(d, caller, enrollmentId, stepId, "sequence.edit");
  if (step.type === "manual_email")
    throw new ApiError(
      "conflict",
      !(await sentFromTask(d, e, step))
        ? "This step is a manual email: send it or skip it from its task"
        : e.status === "active"
          ? TASK_EMAIL_REFUSAL[action.kind]
          : `This email was sent from its task and is held back while the contact is ${e.status}: it goes out once ${e.status === "paused" ? "they are resumed" : "the hold ends"}, and can't be changed from here`,
    );
  if (step.type !== "auto_email") throw new ApiError("conflict", "This step is not an automatic email");
  const key = { enrollmentId: e.id, stepId: step.id };
  const verbs = engine.sequence(env, seq.id, seq.teamId);
  let res: ScheduledActionResult;
  switch (action.kind) {
    case "edit": {
      if (action.subject != null && step.threadReply)
        throw refuse("subject", "This step replies in the same thread: its subject is the thread's, only the body can be edited");
      // The same checks as a step's own text (unknown variables, broken braces): this text goes to the contact.
      const problems = validateTemplate(action.subject ?? "", action.body ?? "");
      if (problems.length) throw new ApiError("validation_failed", problems[0]!.message, { fields: problems });
      res = await verbs.editEmail(key, { subject: action.subject, body: action.body });
      break;
    }
    case "send-now":
      await mustBeAbleToSend(d, caller.teamId, e.mailboxId);
      res = await verbs.sendNow(key);
      break;
    case "skip":
      res = await verbs.skipEmail(key);
      break;
    case "reschedule": {
      await mustBeAbleToSend(d, caller.teamId, e.mailboxId);
      const t = now();
      if (action.at <= t) throw refuse("at", "Choose a moment in the future");
      const cfg = await loadSequenceConfig(d, seq.id);
      const contact = cfg?.useContactTimeZone
        ? await d.query.contacts.findFirst({ where: and(eq(contacts.id, e.contactId), eq(contacts.teamId, caller.teamId)) })
        : undefined;
      const zone = cfg ? sendingZone(cfg, contact?.timeZone) : null;
      if (cfg && !inWindow(action.at, cfg.window, zone)) {
        const open = nextWindowStart(action.at, cfg.window, zone);
        throw new ApiError("validation_failed", "That moment is outside the sequence's sending window", {
          fields: [
            {
              field: "at",
              message: `That moment is outside the sequence's sending window (${cfg.window.timeZone}${zone ? `, the contact's zone ${zone}` : ""}); choose a time inside it`,
            },
          ],
          next_window_opens_at: open,
        });
      }
      res = await verbs.rescheduleEmail(key, action.at);
      break;
    }
  }
  if (!res.ok) throw scheduledActionError(res, SCHEDULED_WORDING);
  await d.insert(auditLog).values(
    auditEntry(caller, AUDIT_ACTION[action.kind], "contact", e.contactId, {
      sequence_id: seq.id,
      enrollment_id: e.id,
      step_id: step.id,
      step: step.position,
      ...(action.kind === "reschedule" ? { at: action.at } : {}),
      ...(action.kind === "send-now" ? { at: res.at } : {}),
      ...(action.kind === "edit" ? { subject: action.subject, reset: action.subject === null && action.body === null } : {}),
    }),
  );
  return { enrollment_id: e.id, step_id: step.id, action: action.kind, send_at: res.at };
}

type Refusal = Extract<ScheduledActionResult, { ok: false }>;

/**
 * What a caller says for each way the engine refuses an action on one email, given the refusal's reason in
 * words (reasonText): a scheduled email's actions and a task's Send word the same refusals for their screens.
 */
export interface RefusalWording {
  /** The thing a not_found names (a 404 like any foreign id). */
  notFound: string;
  says: Record<Exclude<Refusal["code"], "not_found">, (why: string | null, r: Refusal) => string>;
}

/** The engine's refusal of an action on one email as the one error body (409, or 404 for not_found), in the caller's words (invariant 10). */
export function scheduledActionError(r: Refusal, wording: RefusalWording): ApiError {
  if (r.code === "not_found") return notFound(wording.notFound);
  return new ApiError("conflict", wording.says[r.code](reasonText(r.reason), r));
}

const SCHEDULED_WORDING: RefusalWording = {
  notFound: "Scheduled email",
  says: {
    not_email: () => "This step is not an automatic email",
    step_off: () => "This email's step is turned off, so it won't be sent: turn the step on first",
    not_next: () => "This email isn't scheduled any more: the contact is on another step",
    already_sent: () => "This email was already sent: it can't be changed",
    sending: () => "This email is being sent right now: it can't be changed",
    closed: (why) => `Nothing more will be sent to this contact in this sequence${why ? ` (${why})` : ""}`,
    paused: (why) => `The contact is paused in this sequence${why ? ` (${why})` : ""}: resume them first`,
    held: (why) => `This email is held${why ? `: ${why}` : ""}`,
    no_mailbox: () => "No mailbox is assigned to this contact: choose one with “change mailbox” first",
  },
};
