import { and, asc, desc, eq, gte, inArray, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import { openerSubject, pickVariant, templateContext } from "../../durable-objects/compose";
import { engine, loadSendContext } from "../../durable-objects/engine";
import { runEnding } from "../../durable-objects/tasks";
import { sendingZone } from "../../durable-objects/sequence-config";
import { batchSql, type Db } from "../db/client";
import { inList } from "../db/in-list";
import { auditLog, contacts, enrollments, mailboxes, messages, sequences, sequenceShares, steps, tasks, users } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { mailboxAllows, mayBeGivenTask, mayWorkTask, sequenceAllows, sequenceFor, taskFor, teamUser, visibleSequence } from "./access";
import { auditEntry } from "./audit";
import { bookMeeting } from "./meetings";
import { mustBeAbleToSend, scheduledActionError, type RefusalWording } from "./scheduled-emails";
import { subjectForThread } from "./mime";
import { SUPPRESSION_WORDS, suppressionMatches, suppressionWords } from "./suppressions";
import { windowEnd } from "./schedule-time";
import { missingValues, renderSubject, renderTemplate, validateTemplate } from "./templates";

/**
 * Tasks (manual steps the SequenceDO turned into work for a person, and calls): listed for the caller,
 * worked (complete, skip, a call logged with its outcome). Finishing a sequence's task tells its
 * SequenceDO, which moves the contact on (the engine creates the tasks: durable-objects/tasks.ts).
 */

export const TASK_VIEWS = ["due_today", "overdue", "upcoming", "open", "done"] as const;
export const CALL_OUTCOMES = [
  "connected",
  "left_voicemail",
  "no_answer",
  "busy",
  "wrong_number",
  "not_interested",
  "meeting_booked",
  "call_back_later",
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

const ALL_DAY = {
  timeZone: "UTC",
  windows: Object.fromEntries(["1", "2", "3", "4", "5", "6", "7"].map((d) => [d, [["00:00", "24:00"]]])) as Record<
    string,
    [string, string][]
  >,
  holidays: [],
  holidayCalendar: "none",
};

/** Start and end of the local calendar day containing `t` in `zone` (the end is DST-exact); Home's "today" too. */
export function localDayBounds(t: number, zone: string): [number, number] {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  /** Seconds since local midnight on the wall clock at `x`. */
  const wall = (x: number) => {
    const p = Object.fromEntries(format.formatToParts(x).map((q) => [q.type, q.value]));
    return (Number(p.hour) * 60 + Number(p.minute)) * 60 + Number(p.second);
  };
  let start = t - wall(t) * 1000 - (t % 1000);
  // The wall clock jumped since midnight on a DST day (23 or 25 hours): going back by the wall time
  // lands an hour off, on 23:00 the day before or on 01:00; step onto midnight itself.
  const off = wall(start);
  if (off) start += off >= 43_200 ? (86_400 - off) * 1000 : -off * 1000;
  return [start, windowEnd(t, { ...ALL_DAY, timeZone: zone }) ?? start + 86_400_000];
}

/** The task queue's type filter: one choice per kind of work (LinkedIn's three steps are one: a rep works them in one sitting). */
export const TASK_TYPE_FILTERS = {
  call: ["call"],
  linkedin: ["linkedin_connect", "linkedin_message", "linkedin_view"],
  task: ["task"],
  manual_email: ["manual_email"],
} as const;

export interface TaskQuery {
  page: number;
  per_page: number;
  view: (typeof TASK_VIEWS)[number];
  assignee: "me" | "all";
  time_zone: string;
  type?: keyof typeof TASK_TYPE_FILTERS | undefined;
  sequence_id?: string | undefined;
}

/** A run's statuses while it is in its sequence (its tasks stay open). */
const OPEN_RUN = new Set(["scheduled", "active", "paused", "held"]);

/**
 * Why a cancelled task was, as its row shows it now: its step is gone or turned off (the run went on without
 * it, and may have finished since), else its run is closed (the contact left the sequence: 0035's trigger);
 * null when neither shows (a step turned off and on again). A closed run alone doesn't tell: one whose step
 * was deleted moves on, at once, and may finish in the same moment.
 */
function cancelledBecause(r: {
  t: { status: string; enrollmentId: string | null };
  runStatus: string | null;
  stepOn: boolean | null;
}): "left_sequence" | "step_removed" | null {
  if (r.t.status !== "cancelled" || !r.t.enrollmentId || !r.runStatus) return null;
  if (!r.stepOn) return "step_removed";
  return OPEN_RUN.has(r.runStatus) ? null : "left_sequence";
}

/**
 * The open tasks matching `where`, counted per view of the caller's day [start, end): the Tasks page's tabs
 * and Home's task counts (the caller's own), one reading of "due today" and "overdue" for both.
 */
export async function openTaskCounts(d: Db, where: SQL | undefined, [startOfDay, endOfDay]: [number, number]) {
  const [c] = await d
    .select({
      due_today: sql<number | null>`sum(case when ${tasks.dueAt} >= ${startOfDay} and ${tasks.dueAt} < ${endOfDay} then 1 else 0 end)`,
      overdue: sql<number | null>`sum(case when ${tasks.dueAt} < ${startOfDay} then 1 else 0 end)`,
      upcoming: sql<number | null>`sum(case when ${tasks.dueAt} >= ${endOfDay} then 1 else 0 end)`,
      open: sql<number>`count(*)`,
    })
    .from(tasks)
    .where(and(where, eq(tasks.status, "open")));
  return { due_today: c?.due_today ?? 0, overdue: c?.overdue ?? 0, upcoming: c?.upcoming ?? 0, open: c?.open ?? 0 };
}

/**
 * Who could be given each open task (updateTask's rule, access.ts's mayBeGivenTask): the team's active users;
 * for a sequence's task only an admin, the sequence's owner or an editor.
 */
async function whoMayTake(
  d: Db,
  caller: Caller,
  rows: { t: { id: string; sequenceId: string | null }; s: { id: string | null; ownerId: string | null } | null }[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!rows.length) return out;
  const seqIds = [...new Set(rows.flatMap((r) => (r.t.sequenceId ? [r.t.sequenceId] : [])))];
  const [team, shares] = await Promise.all([
    d
      .select({ id: users.id, role: users.role })
      .from(users)
      .where(and(eq(users.teamId, caller.teamId), isNull(users.disabledAt)))
      .orderBy(asc(users.name)),
    seqIds.length
      ? d
          .select({ sequenceId: sequenceShares.sequenceId, userId: sequenceShares.userId, access: sequenceShares.access })
          .from(sequenceShares)
          .where(inList(sequenceShares.sequenceId, seqIds))
      : Promise.resolve([]),
  ]);
  const shareOf = new Map(shares.map((x) => [`${x.sequenceId}:${x.userId}`, x.access]));
  for (const r of rows)
    out.set(
      r.t.id,
      team
        .filter((u) =>
          mayBeGivenTask(
            { teamId: caller.teamId, userId: u.id, role: u.role as Caller["role"], via: "session" },
            {
              sequenceId: r.t.sequenceId,
              seqOwnerId: r.s?.ownerId ?? null,
              share: r.t.sequenceId ? (shareOf.get(`${r.t.sequenceId}:${u.id}`) ?? null) : null,
            },
          ),
        )
        .map((u) => u.id),
    );
  return out;
}

/** One page of tasks with counts per view. Tasks of sequences the caller can't see stay hidden, except the ones assigned to them. */
export async function listTasks(d: Db, caller: Caller, q: TaskQuery) {
  const [startOfDay, endOfDay] = localDayBounds(now(), q.time_zone);
  const seen = visibleSequence(caller, tasks.sequenceId);
  // The filters are part of `base`, so the tabs' counts are those of the filtered queue.
  const base = [
    ...(q.type ? [inList(tasks.type, TASK_TYPE_FILTERS[q.type])] : []),
    ...(q.sequence_id ? [eq(tasks.sequenceId, q.sequence_id)] : []),
    eq(tasks.teamId, caller.teamId),
    ...(q.assignee === "me" ? [eq(tasks.assigneeId, caller.userId)] : []),
    ...(seen ? [or(eq(tasks.assigneeId, caller.userId), isNull(tasks.sequenceId), seen)!] : []),
  ];
  const open = eq(tasks.status, "open");
  const view = {
    due_today: and(open, gte(tasks.dueAt, startOfDay), lt(tasks.dueAt, endOfDay)),
    overdue: and(open, lt(tasks.dueAt, startOfDay)),
    upcoming: and(open, gte(tasks.dueAt, endOfDay)),
    open,
    done: sql`${tasks.status} <> 'open'`,
  }[q.view];
  const where = and(...base, view);
  // A sequence the caller may not see answers 404, as every other sequence filter does (not an empty list): its
  // check goes alongside the page's reads (scoped by `seen` themselves), which are answered only if it passes.
  const [rows, total, counts] = await Promise.all([
    d
      .select({
        t: tasks,
        c: contacts,
        s: { id: sequences.id, name: sequences.name, ownerId: sequences.ownerId },
        share: sequenceShares.access,
        assignee: users.name,
        senderName: mailboxes.senderName,
        runStatus: enrollments.status,
        stepOn: steps.enabled,
      })
      .from(tasks)
      .leftJoin(contacts, and(eq(contacts.id, tasks.contactId), eq(contacts.teamId, tasks.teamId)))
      .leftJoin(sequences, eq(sequences.id, tasks.sequenceId))
      .leftJoin(enrollments, eq(enrollments.id, tasks.enrollmentId))
      .leftJoin(steps, and(eq(steps.id, tasks.stepId), eq(steps.sequenceId, tasks.sequenceId)))
      .leftJoin(mailboxes, eq(mailboxes.id, enrollments.mailboxId))
      .leftJoin(sequenceShares, and(eq(sequenceShares.sequenceId, tasks.sequenceId), eq(sequenceShares.userId, caller.userId)))
      .leftJoin(users, eq(users.id, tasks.assigneeId))
      .where(where)
      .orderBy(q.view === "done" ? desc(tasks.completedAt) : asc(tasks.dueAt), asc(tasks.id))
      .limit(q.per_page)
      .offset((q.page - 1) * q.per_page),
    d
      .select({ n: sql<number>`count(*)` })
      .from(tasks)
      .where(where),
    openTaskCounts(d, and(...base), [startOfDay, endOfDay]),
    q.sequence_id && sequenceFor(d, caller, q.sequence_id),
  ]);
  // Who may be emailed, then the manual emails' drafts (none for those who may not).
  async function emailState() {
    const blocked = await doNotEmail(
      d,
      caller.teamId,
      rows.flatMap((r) => (r.c && !r.c.deletedAt ? [r.c] : [])),
    );
    const drafts = await manualEmailDrafts(
      d,
      caller.teamId,
      rows.flatMap(({ t, c, senderName }) =>
        t.type === "manual_email" && t.enrollmentId && t.stepId && t.sequenceId && t.contactId && !(c && blocked.has(c.id))
          ? [
              {
                taskId: t.id,
                enrollmentId: t.enrollmentId,
                stepId: t.stepId,
                sequenceId: t.sequenceId,
                contactId: t.contactId,
                senderName: senderName ?? "",
              },
            ]
          : [],
      ),
    );
    return [blocked, drafts] as const;
  }
  // Who may take each open task needs only the rows: read alongside the drafts, which wait for doNotEmail.
  const [[blocked, drafts], takers] = await Promise.all([
    emailState(),
    whoMayTake(
      d,
      caller,
      rows.filter((r) => r.t.status === "open"),
    ),
  ]);
  return {
    total: total[0]?.n ?? 0,
    counts,
    tasks: rows.map((r) => ({
      id: r.t.id,
      type: r.t.type,
      note: r.t.note,
      status: r.t.status,
      due_at: r.t.dueAt,
      completed_at: r.t.completedAt,
      assignee_id: r.t.assigneeId,
      assignee_name: r.assignee,
      // A deleted contact's page is a 404: the row names no one and links nowhere (the task stays, the work done).
      contact: r.c?.deletedAt
        ? {
            id: r.c.id,
            name: "Deleted contact",
            email: null,
            title: null,
            company: null,
            phone: null,
            linkedin_url: null,
            do_not_email: null,
            deleted: true,
          }
        : r.c
          ? {
              id: r.c.id,
              name: `${r.c.firstName} ${r.c.lastName}`.trim(),
              email: r.c.email,
              title: r.c.title,
              company: r.c.company,
              phone: r.c.phone,
              linkedin_url: r.c.linkedinUrl,
              do_not_email: blocked.get(r.c.id) ?? null,
              deleted: false,
            }
          : null,
      // A call with no number to dial, or an email to someone who may not be emailed, says so up front
      // instead of when the rep opens it; such an email has no draft (nor its mail-app link) to send anyway.
      warning:
        r.t.type === "call" && !r.c?.phone
          ? "No phone number for this contact"
          : r.t.type === "manual_email" && r.c && blocked.has(r.c.id)
            ? `${blocked.get(r.c.id)}: don't email them; skip this task`
            : null,
      cancelled_because: cancelledBecause(r),
      sequence: r.s?.id ? { id: r.s.id, name: r.s.name } : null,
      draft: drafts.get(r.t.id) ?? null,
      // A paused run keeps its open task: completing it records the step, and the next one waits for the resume.
      run_paused: r.runStatus === "paused",
      overdue: r.t.status === "open" && r.t.dueAt < startOfDay,
      // The Everyone view lists tasks of sequences shared view-only too: their buttons would answer 403.
      // Whom Reassign may offer: updateTask's rule (mayBeGivenTask), so the picker lists no one it refuses.
      assignable_ids: r.t.status === "open" ? (takers.get(r.t.id) ?? []) : [],
      can_work: mayWorkTask(caller, {
        assigneeId: r.t.assigneeId,
        sequenceId: r.t.sequenceId,
        seqOwnerId: r.s?.ownerId ?? null,
        share: r.share ?? null,
      }),
    })),
  };
}

/**
 * Why each of these contacts may not be emailed, in words (absent: they may): on the suppression list (the
 * address or its domain), unsubscribed, bounced. The send refuses them (409), but a task's mail-app link or
 * the contact's Email link went around that to a suppressed address.
 */
async function doNotEmail(
  d: Db,
  teamId: string,
  cs: { id: string; email: string | null; unsubscribedAt: number | null; bouncedAt: number | null }[],
): Promise<Map<string, string>> {
  const matches = await suppressionMatches(
    d,
    teamId,
    cs.flatMap((c) => (c.email ? [c.email] : [])),
  );
  const out = new Map<string, string>();
  for (const c of cs) {
    const m = c.email ? matches.get(c.email.trim().toLowerCase()) : undefined;
    if (m) out.set(c.id, suppressionWords(m));
    else if (c.unsubscribedAt) out.set(c.id, SUPPRESSION_WORDS.unsubscribed);
    else if (c.bouncedAt) out.set(c.id, SUPPRESSION_WORDS.bounced);
  }
  return out;
}

/** A manual email's draft as its contact would get it: the variant they are given, rendered with their values. */
export interface ManualEmailDraft {
  subject: string;
  body: string;
  /** The contact already has a thread from this sequence: the draft goes as a reply in it ("Re: ..."). */
  reply_in_thread: boolean;
  /** Variables with no value for this contact and no fallback: they render empty. */
  missing: string[];
}

/** A draft's unrendered text and the contact's values it renders with (sendTaskEmail checks what would go). */
interface DraftSource {
  subject: string;
  body: string;
  threaded: boolean;
  ctx: ReturnType<typeof templateContext>;
}

/**
 * The drafts of manual-email tasks, read when listed: the task row holds no text (the engine makes it like
 * any manual step), and reading the step now gives the step's current text. The variant and the rendering
 * are the send path's own (pickVariant, renderSubject/renderTemplate over loadSendContext), so a manual
 * email says what the automatic one would have said to the same contact.
 */
async function manualEmailDrafts(
  d: Db,
  teamId: string,
  items: { taskId: string; enrollmentId: string; stepId: string; sequenceId: string; contactId: string; senderName: string }[],
  sources?: Map<string, DraftSource>,
): Promise<Map<string, ManualEmailDraft>> {
  const out = new Map<string, ManualEmailDraft>();
  if (!items.length) return out;
  // Each run's thread as the send reads it (compose.ts, RUN_THREAD_SQL): its latest email sent as a new one.
  const sc = await loadSendContext(d, teamId, items);
  const t = now();
  for (const it of items) {
    const c = sc.contacts.get(it.contactId);
    const seq = sc.sequences.get(it.sequenceId);
    const variant = pickVariant(sc.variants.get(it.stepId) ?? [], it.enrollmentId);
    if (!c || !seq || !variant) continue; // a deleted step or contact: nothing to draft
    const ctx = templateContext(c, it.senderName, t, sendingZone(seq, c.timeZone) ?? seq.window.timeZone);
    const thread = sc.threadSteps.has(it.stepId) ? sc.threads.get(it.enrollmentId)?.subject : undefined;
    // As compose.ts: a same-thread step with no thread yet goes under its own subject, else its opener's.
    let subject = variant.subject;
    if (thread === undefined && !subject.trim()) subject = openerSubject(sc, it.stepId, it.enrollmentId);
    sources?.set(it.taskId, { subject, body: variant.body, threaded: thread !== undefined, ctx });
    out.set(it.taskId, {
      subject: thread !== undefined ? subjectForThread(thread) : renderSubject(subject, ctx),
      body: renderTemplate(variant.body, ctx),
      reply_in_thread: thread !== undefined,
      missing: [...new Set([...(thread === undefined ? missingValues(subject, ctx) : []), ...missingValues(variant.body, ctx)])],
    });
  }
  return out;
}

/** 409 for a task that is no longer open, in words (a cancelled one: its contact left the sequence, or its step went). */
const notOpen = (status: string) =>
  new ApiError(
    "conflict",
    status === "cancelled"
      ? "This task was cancelled: its contact left the sequence (replied, unsubscribed, finished or removed) or its step was deleted or turned off"
      : `This task is already ${status}`,
  );

export const endsRun = (outcome: CallOutcome) => runEnding(outcome) !== null;

/** What working a task did to its contact's run: moved on to the next step, finished (and why), waits (paused, sequence off), or nothing. */
export interface TaskResult {
  id: string;
  status: string;
  completed_at: number | null;
  due_at: number;
  run: "moved_on" | "finished" | "paused" | "sequence_off" | "unchanged" | "none";
  reason: "meeting_booked" | "not_interested" | null;
}

type TaskRow = Awaited<ReturnType<typeof taskFor>>;

/**
 * The contact's run after its task was done: a call that booked a meeting books it through the meetings
 * path (which finishes the contact's runs in the sequences the caller may edit) and finishes this task's
 * run too, which working the task entitles; "not interested" finishes this run; anything else moves the
 * contact on. Each is taken once by the SequenceDO, so a retry may apply it again.
 */
async function applyToRun(
  env: Env,
  d: Db,
  caller: Caller,
  task: TaskRow,
  status: "completed" | "skipped",
  outcome: string | null,
  at: number,
) {
  const reason = runEnding(outcome);
  // The meeting is its own record (the Meetings report, the contact's timeline); the task's id keeps a retry from booking it twice.
  if (reason === "meeting_booked" && task.contactId) await bookMeeting(env, d, caller, task.contactId, { externalId: `task:${task.id}` });
  if (!task.sequenceId || !task.enrollmentId || !task.stepId) return { run: "none" as const, reason };
  const seq = engine.sequence(env, task.sequenceId, task.teamId);
  if (reason) {
    await seq.finish([task.enrollmentId], reason);
    return { run: "finished" as const, reason };
  }
  const sending = await seq.taskDone({ enrollmentId: task.enrollmentId, stepId: task.stepId, outcome: status, at });
  // The run handed this step's email to the mailbox (sent from the task): only the mailbox's report settles it.
  if (sending.length) return { run: "sending" as const, reason };
  return { run: await runAfter(d, task), reason };
}

/**
 * What the run did with a task done, as the SequenceDO left it in D1 (taskDone mirrors it before it answers):
 * finished (it was the last step), paused (the step is recorded, the next waits for the resume), the
 * sequence turned off (nothing more goes until it is on again), unchanged (the run did not take it: it had
 * left that step), else moved on. Answering "moved on" for each, the toast contradicted the row.
 */
async function runAfter(d: Db, task: TaskRow): Promise<"moved_on" | "finished" | "paused" | "sequence_off" | "unchanged"> {
  const [r] = await d
    .select({ status: enrollments.status, currentStep: enrollments.currentStep, active: sequences.active, pos: steps.position })
    .from(enrollments)
    .innerJoin(sequences, eq(sequences.id, enrollments.sequenceId))
    .leftJoin(steps, and(eq(steps.id, task.stepId!), eq(steps.sequenceId, enrollments.sequenceId)))
    .where(and(eq(enrollments.id, task.enrollmentId!), eq(enrollments.teamId, task.teamId)));
  if (!r) return "unchanged";
  if (r.status === "finished") return "finished";
  if (r.status === "paused") return "paused";
  if (r.status !== "active" && r.status !== "held" && r.status !== "scheduled") return "unchanged";
  if (!r.active) return "sequence_off";
  return r.pos !== null && r.currentStep === r.pos ? "unchanged" : "moved_on";
}

/**
 * Whether the task's run may not have heard of it: D1 still shows the run open on the task's step. D1's copy
 * of a run only ever lags its SequenceDO, so a run D1 shows finished or past that step has taken it, and a
 * repeated click then tells it nothing (a refused request writes nothing).
 */
async function stillWaitsOn(d: Db, task: TaskRow): Promise<boolean> {
  if (!task.enrollmentId || !task.stepId) return false;
  const [row] = await d
    .select({ n: sql<number>`1` })
    .from(enrollments)
    .innerJoin(steps, and(eq(steps.id, task.stepId), eq(steps.sequenceId, enrollments.sequenceId)))
    .where(
      and(
        eq(enrollments.id, task.enrollmentId),
        eq(enrollments.teamId, task.teamId),
        inArray(enrollments.status, ["active", "paused", "held"]),
        eq(enrollments.currentStep, steps.position),
      ),
    );
  return !!row;
}

/**
 * Completes or skips an open task (409 when it no longer is); a sequence's task moves its contact on
 * through the SequenceDO, or ends their run when a logged call says so (applyToRun). `call` logs the
 * call's outcome and notes on the contact's timeline.
 */
export async function finishTask(
  env: Env,
  d: Db,
  caller: Caller,
  taskId: string,
  action: "complete" | "skip",
  o: {
    note?: string | undefined;
    call?: { outcome: CallOutcome; notes?: string | undefined } | undefined;
    /** Refuse a manual email's task (ManualEmailTask): completing says it was sent, and it is sent from its own task. */
    refuseManualEmail?: boolean;
  },
): Promise<TaskResult> {
  const task = await taskFor(d, caller, taskId);
  // After taskFor: a task the caller may not see is not found, whatever its kind.
  if (o.refuseManualEmail && task.type === "manual_email")
    throw new ManualEmailTask("A manual email is sent, or marked sent, on its own task: do that there, or skip it");
  if (task.status !== "open") {
    // Done before, but the sequence may not have heard (its call failed after the row was written, and the
    // user tried again): tell it again, which it takes once, so the contact moves on (or their run ends, as
    // the call's outcome kept on the task says) now, not at the reconciler's next check a day later.
    if ((task.status === "completed" || task.status === "skipped") && (await stillWaitsOn(d, task)))
      await applyToRun(env, d, caller, task, task.status, task.outcome, task.completedAt ?? now()).catch((err: unknown) =>
        console.error(`task ${task.id}: telling its sequence again failed`, err),
      );
    throw notOpen(task.status);
  }
  // "Mark sent" says the rep emailed them: not to an address that opted out, bounced or is suppressed (invariant 5;
  // the row says "don't email them; skip this task"). Skipping it is how such a task ends.
  if (action === "complete" && task.type === "manual_email" && task.contactId) {
    const [c] = await d
      .select({ id: contacts.id, email: contacts.email, unsubscribedAt: contacts.unsubscribedAt, bouncedAt: contacts.bouncedAt })
      .from(contacts)
      .where(and(eq(contacts.id, task.contactId), eq(contacts.teamId, caller.teamId)));
    const why = c ? (await doNotEmail(d, caller.teamId, [c])).get(c.id) : undefined;
    if (why) throw new ApiError("conflict", `${why}: an email to them can't be marked sent; skip this task`);
  }
  const t = now();
  const status = action === "complete" ? "completed" : "skipped";
  const [row] = await d
    .update(tasks)
    // The call's outcome is written with the completion: if the sequence isn't told below (its call fails,
    // the Worker dies), its reconciler reads it and ends the run as the call said instead of moving it on.
    .set({ status, completedAt: t, outcome: o.call?.outcome ?? null, ...(o.note && { note: `${task.note}\n${o.note}`.trim() }) })
    .where(and(eq(tasks.id, task.id), eq(tasks.status, "open")))
    .returning();
  if (!row) throw new ApiError("conflict", "This task was just completed by someone else");
  // Who did it, on the contact's timeline (a logged call carries its outcome and notes).
  const ref = { task_id: task.id, type: task.type, sequence_id: task.sequenceId, enrollment_id: task.enrollmentId, step_id: task.stepId };
  const entries = task.contactId
    ? [
        ...(o.call
          ? [
              auditEntry(caller, "task.call_logged", "contact", task.contactId, {
                ...ref,
                outcome: o.call.outcome,
                notes: o.call.notes ?? "",
              }),
            ]
          : []),
        auditEntry(caller, `task.${status}`, "contact", task.contactId, { ...ref, ...(o.call && { outcome: o.call.outcome }) }),
      ]
    : [];
  if (entries.length) await d.insert(auditLog).values(entries);
  const effect = await applyToRun(env, d, caller, task, status, o.call?.outcome ?? null, t);
  if (effect.run === "sending") {
    // Sent from this task meanwhile (a teammate's Send, or one whose request ended before it completed the
    // task): the run took neither, the email goes, so the task is done by its email and this click did nothing.
    await completeByItsEmail(d, task, t, [status]);
    if (entries.length)
      await d.delete(auditLog).where(
        and(
          eq(auditLog.teamId, task.teamId),
          inList(
            auditLog.id,
            entries.map((e) => e.id),
          ),
        ),
      );
    throw new ApiError("conflict", "This email is already being sent from this task: it can't be completed or skipped now");
  }
  return { id: row.id, status: row.status, completed_at: row.completedAt, due_at: row.dueAt, ...effect };
}

/**
 * A manual email's task completed by its email (sent from the task): no call outcome, and the note as it was
 * before a click that the run refused; only from the statuses given (the row as it may be now).
 */
async function completeByItsEmail(d: Db, task: TaskRow, t: number, from: ("open" | "skipped" | "completed")[]) {
  const [row] = await d
    .update(tasks)
    .set({ status: "completed", completedAt: t, outcome: null, note: task.note })
    .where(and(eq(tasks.id, task.id), inList(tasks.status, from)))
    .returning();
  return row;
}

/**
 * Most tasks one bulk request completes or skips: a page's worth (per_page is at most 100). Each goes through
 * finishTask, a few D1 queries and a call to its sequence's object one after another, so 100 keeps a request
 * well inside Workers' 1,000 subrequests.
 */
export const BULK_TASKS_MAX = 100;

/** finishTask's refusal of a manual email's task when asked (bulk completion): answered as its own outcome code, not an HTTP error. */
class ManualEmailTask extends Error {}

export type BulkTaskOutcome =
  { task_id: string; outcome: "done"; task: TaskResult } | { task_id: string; outcome: "refused"; code: string; reason: string };

/**
 * Completes or skips each of `ids` as POST /tasks/{id}/{action} would (finishTask: the same rights check, the
 * same timeline entries, the sequence told), answering each one's outcome: one refused doesn't stop the rest.
 * A manual email is not bulk-completed: completing says it was sent, and it is sent from its own task.
 */
export async function bulkFinishTasks(env: Env, d: Db, caller: Caller, action: "complete" | "skip", ids: readonly string[]) {
  const out: BulkTaskOutcome[] = [];
  // One at a time: each tells its contact's sequence, as the single action does.
  for (const id of [...new Set(ids)]) {
    try {
      const task = await finishTask(env, d, caller, id, action, { refuseManualEmail: action === "complete" });
      out.push({ task_id: id, outcome: "done", task });
    } catch (e) {
      if (e instanceof ManualEmailTask) out.push({ task_id: id, outcome: "refused", code: "manual_email", reason: e.message });
      else if (e instanceof ApiError) out.push({ task_id: id, outcome: "refused", code: e.code, reason: e.message });
      else throw e;
    }
  }
  return out;
}

/** A manual email's task sent: the task as finishTask answers it (its run "queued": it moves on once sent), and when the mailbox will send the email. */
export interface TaskSent extends Omit<TaskResult, "run"> {
  run: "queued";
  send_at: number | null;
}

/**
 * Sending a task's email as its contact's run's mailbox: whoever may edit the sequence (as a scheduled
 * email's edit needs) or may send from that mailbox. Working the task alone isn't enough: a member the task
 * was reassigned to could write anything and send it from another user's mailbox.
 */
async function mayMailFromTask(
  d: Db,
  caller: Caller,
  run: { mailboxId: string | null; seqOwnerId: string; share: "view" | "edit" | null },
) {
  if (sequenceAllows(caller, "sequence.edit", run.seqOwnerId, run.share)) return;
  const [mb] = run.mailboxId
    ? await d
        .select({ userId: mailboxes.userId, email: mailboxes.email })
        .from(mailboxes)
        .where(and(eq(mailboxes.id, run.mailboxId), eq(mailboxes.teamId, caller.teamId)))
    : [];
  if (mb && mailboxAllows(caller, "mailbox.send", mb.userId)) return;
  throw new ApiError(
    "forbidden",
    `You can't send this email${mb ? ` from ${mb.email}` : ""}: it takes edit access to the sequence or the mailbox being yours. Send it yourself and complete the task, or ask the sequence's owner`,
  );
}

/**
 * The variables the email would go out with no value for (422 fields, subject and body): the rep's text
 * where they edited it, else the step's as the draft renders it. The mailbox refuses such an email and
 * pauses the run, after the task was already completed.
 */
async function missingToSend(
  d: Db,
  task: TaskRow,
  senderName: string,
  edit: { subject?: string | undefined; body?: string | undefined },
): Promise<{ field: string; message: string }[]> {
  const kept = new Map<string, DraftSource>();
  await manualEmailDrafts(
    d,
    task.teamId,
    [
      {
        taskId: task.id,
        enrollmentId: task.enrollmentId!,
        stepId: task.stepId!,
        sequenceId: task.sequenceId!,
        contactId: task.contactId!,
        senderName,
      },
    ],
    kept,
  );
  const src = kept.get(task.id);
  if (!src) return [];
  const fields: { field: string; message: string }[] = [];
  const subject = src.threaded ? [] : missingValues(edit.subject ?? src.subject, src.ctx);
  const body = missingValues(edit.body ?? src.body, src.ctx);
  const say = (what: string, names: string[]) =>
    `The ${what} uses ${names.map((n) => `{{${n}}}`).join(", ")}, which this contact has no value for: write it in, or give the variable a fallback`;
  if (subject.length) fields.push({ field: "subject", message: say("subject", subject) });
  if (body.length) fields.push({ field: "body", message: say("body", body) });
  return fields;
}

/** The engine's refusal of a manual email's send, in words: nothing was sent, and the task is still open. */
const SEND_WORDING: RefusalWording = {
  notFound: "Task",
  says: {
    not_email: () => "This task's step is not a manual email any more: its step was changed",
    step_off: () => "This manual email's step is turned off: turn it on first, or skip the task",
    // mailbox_changed: the run's mailbox changed after the caller's right to send from it was checked: nothing was sent.
    not_next: (_why, r) =>
      r.reason === "mailbox_changed"
        ? "Not sent: the contact's mailbox was just changed; reload the task and send again"
        : "The contact is not on this step any more: the task was already done",
    already_sent: () => "This email was already sent",
    sending: () => "This email is already on its way: it was sent from this task a moment ago",
    closed: (why) => `Not sent: this contact can't be emailed${why ? ` (${why})` : ""}`,
    paused: (why) => `Not sent: the contact is paused in this sequence${why ? ` (${why})` : ""}; resume them first`,
    held: (why) => `Not sent: the contact's run is on hold${why ? ` (${why})` : ""}`,
    no_mailbox: () => "Not sent: no mailbox is assigned to this contact; choose one with “change mailbox” first",
  },
};

/**
 * Sends a manual email's task from the run's mailbox, with the rep's text when they edited the draft
 * (validated like a step's template; left out: the step's own text, the draft as listed). The contact's
 * SequenceDO decides and hands the email over in one transaction (engine.sendTaskEmail): the same send
 * path, checks and caps as an automatic email, threaded and recorded as that step's message, and the
 * run moves on once it is sent. A repeated or raced send finds it handed over and is refused (409): it
 * goes once. With the mailbox's daily or hourly limit reached the email waits for room, first in line,
 * and send_at says when (Outreach queues a manual email behind the mailbox's limits the same way). The
 * task is completed only once the email is handed over; a refusal leaves it open.
 */
export async function sendTaskEmail(
  env: Env,
  d: Db,
  caller: Caller,
  taskId: string,
  edit: { subject?: string | undefined; body?: string | undefined },
): Promise<TaskSent> {
  const task = await taskFor(d, caller, taskId);
  if (task.type !== "manual_email") throw new ApiError("conflict", "Only a manual email's task can be sent: complete this one instead");
  if (!task.sequenceId || !task.enrollmentId || !task.stepId) throw new ApiError("conflict", "This task belongs to no sequence run");
  const key = { enrollmentId: task.enrollmentId, stepId: task.stepId };
  const seq = engine.sequence(env, task.sequenceId, task.teamId);
  const complete = async () => {
    const t = now();
    // Open, or skipped by a teammate's click the run refused (finishTask) because the email was already the mailbox's.
    return completeByItsEmail(d, task, t, ["open", "skipped"]);
  };
  if (task.status !== "open") throw notOpen(task.status);
  const [run] = await d
    .select({
      mailboxId: enrollments.mailboxId,
      seqOwnerId: sequences.ownerId,
      share: sequenceShares.access,
      senderName: mailboxes.senderName,
    })
    .from(enrollments)
    .innerJoin(sequences, and(eq(sequences.id, enrollments.sequenceId), eq(sequences.teamId, task.teamId)))
    .leftJoin(sequenceShares, and(eq(sequenceShares.sequenceId, sequences.id), eq(sequenceShares.userId, caller.userId)))
    .leftJoin(mailboxes, eq(mailboxes.id, enrollments.mailboxId))
    .where(and(eq(enrollments.id, task.enrollmentId), eq(enrollments.teamId, task.teamId)));
  if (!run) throw notFound("Task");
  await mayMailFromTask(d, caller, run);
  // A disconnected or paused mailbox would hold the email and send it whenever it is back: as "send now".
  await mustBeAbleToSend(d, task.teamId, run.mailboxId);
  if (edit.body !== undefined && !edit.body.trim()) throw bad("body", "Write the email's text: the body is empty");
  const problems = validateTemplate(edit.subject ?? "", edit.body ?? "");
  if (problems.length) throw new ApiError("validation_failed", problems[0]!.message, { fields: problems });
  if (edit.subject !== undefined) {
    // A reply in the contact's thread goes under the thread's subject (as an automatic step's does).
    const [threaded] = await d
      .select({ n: sql<number>`1` })
      .from(steps)
      .innerJoin(messages, and(eq(messages.enrollmentId, task.enrollmentId), inArray(messages.status, ["sent", "unknown", "bounced"])))
      .where(and(eq(steps.id, task.stepId), eq(steps.threadReply, true), eq(messages.teamId, task.teamId)))
      .limit(1);
    if (threaded)
      throw bad("subject", "This email replies in the contact's thread: its subject is the thread's, only the body can be edited");
    if (!edit.subject.trim()) throw bad("subject", "Write a subject");
  }
  // The text that goes: a variable with no value for this contact would be refused at the mailbox (and pause the run).
  const missing = await missingToSend(d, task, run.senderName ?? "", edit);
  if (missing.length) throw new ApiError("validation_failed", missing[0]!.message, { fields: missing });
  const res = await seq.sendTaskEmail(key, { subject: edit.subject ?? null, body: edit.body ?? null }, run.mailboxId);
  if (!res.ok) {
    // Handed over by an earlier request that did not get to complete its task (two clicks, or it died
    // after the hand-over): the task is done now, and this request still says it sent nothing.
    if (res.code === "sending" || res.code === "already_sent") await complete();
    throw scheduledActionError(res, SEND_WORDING);
  }
  const row = (await complete()) ?? (await d.query.tasks.findFirst({ where: eq(tasks.id, task.id) }))!;
  // Not completed by this send or an earlier one: cancelled meanwhile (the contact left the run), and the
  // mailbox drops the email at its claim; the task's status is the answer, not "sent".
  if (row.status !== "completed") throw notOpen(row.status);
  if (task.contactId) {
    const ref = { task_id: task.id, type: task.type, sequence_id: task.sequenceId, enrollment_id: task.enrollmentId, step_id: task.stepId };
    await d.insert(auditLog).values(
      auditEntry(caller, "task.completed", "contact", task.contactId, {
        ...ref,
        sent: true,
        edited: edit.body !== undefined || edit.subject !== undefined,
      }),
    );
  }
  return {
    id: row.id,
    status: row.status,
    completed_at: row.completedAt,
    due_at: row.dueAt,
    // The run moves on once the mailbox reports the email sent, not now.
    run: "queued",
    reason: null,
    send_at: res.at,
  };
}

/** The furthest ahead a task can be put off: a date further out is more likely a typo (2207 for 2027). */
const MAX_DUE_AHEAD_MS = 366 * 86_400_000;

/** What is wrong with a task's new due time (PATCH's due_at, a call's callback_at), or null: from now on, within a year. */
function dueProblem(at: number, t: number): string | null {
  if (at < t) return "Choose a time from now on";
  if (at > t + MAX_DUE_AHEAD_MS) return "Choose a time within a year";
  return null;
}

const bad = (field: string, message: string) => new ApiError("validation_failed", message, { fields: [{ field, message }] });

/**
 * Logs a call on an open call task and completes it (the contact moves on, or their run ends when they
 * booked a meeting or said no), or only logs it when the task stays open. An outcome that ends the run
 * can't leave the task open: 422. `callbackAt` ("call back later") keeps the task open and moves it to
 * then (a due time as PATCH takes one), the log and the move one D1 batch: before, the web moved it with a
 * second request, and when that failed the call was logged but the task stayed where it was.
 */
export async function logCall(
  env: Env,
  d: Db,
  caller: Caller,
  taskId: string,
  call: { outcome: CallOutcome; notes?: string | undefined },
  complete: boolean,
  callbackAt?: number,
): Promise<TaskResult> {
  // The task first: a task of another team (or none) is a 404 whatever the body says, never a 422 about it.
  const task = await taskFor(d, caller, taskId);
  // Only a call has a call's outcome: a LinkedIn task logged as "meeting booked" booked a meeting and ended the run.
  if (task.type !== "call") throw new ApiError("conflict", "Only a call task takes a call's outcome: complete or skip this task instead");
  // "Call back later" means the rep calls again: completing it moved the contact on to the next step instead.
  if (call.outcome === "call_back_later" && callbackAt === undefined && complete)
    throw bad("callback_at", "Choose when to call back: a call back keeps the task open until then");
  if (callbackAt !== undefined) {
    if (complete) throw bad("complete", "A call back keeps the task open: send complete false, or leave it out");
    if (endsRun(call.outcome))
      throw bad("callback_at", `A call with outcome ${call.outcome} ends the contact's run in the sequence: there is nothing to call back`);
    const problem = dueProblem(callbackAt, now());
    if (problem) throw bad("callback_at", problem);
  }
  if (complete) return finishTask(env, d, caller, taskId, "complete", { call });
  if (endsRun(call.outcome))
    throw bad("complete", `A call with outcome ${call.outcome} ends the contact's run in the sequence: log it with complete true`);
  if (task.status !== "open") throw notOpen(task.status);
  const ref = { task_id: task.id, type: task.type, sequence_id: task.sequenceId };
  const logged = task.contactId
    ? auditEntry(caller, "task.call_logged", "contact", task.contactId, {
        ...ref,
        outcome: call.outcome,
        notes: call.notes ?? "",
        enrollment_id: task.enrollmentId,
        step_id: task.stepId,
      })
    : null;
  if (callbackAt === undefined) {
    if (logged) await d.insert(auditLog).values(logged);
    return { id: task.id, status: task.status, completed_at: task.completedAt, due_at: task.dueAt, run: "unchanged", reason: null };
  }
  // The move first, then its timeline entries (the call, and the reschedule as PATCH words it) only while
  // the task is still open, i.e. the move was made: someone completing it meanwhile leaves nothing half done.
  const entries = task.contactId
    ? [logged!, auditEntry(caller, "task.rescheduled", "contact", task.contactId, { ...ref, from: task.dueAt, to: callbackAt })]
    : [];
  const [moved] = await batchSql(d, [
    d
      .update(tasks)
      .set({ dueAt: callbackAt })
      .where(and(eq(tasks.id, task.id), eq(tasks.teamId, task.teamId), eq(tasks.status, "open")))
      .returning({ id: tasks.id }),
    ...entries.map(
      (e) => sql`INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
        SELECT ${e.id}, ${e.teamId}, ${e.userId}, ${e.apiKeyId}, ${e.action}, ${e.targetType}, ${e.targetId}, ${JSON.stringify(e.details)}, ${e.createdAt}
        WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ${task.id} AND status = 'open')`,
    ),
  ]);
  if (!moved?.results.length) throw new ApiError("conflict", "This task was just completed by someone else");
  return { id: task.id, status: "open", completed_at: null, due_at: callbackAt, run: "unchanged", reason: null };
}

/**
 * Reschedules and/or reassigns an open task (whoever may work it: taskFor). A new due time is from now
 * on, within a year; a new assignee is an active user of the team who could work the task without it
 * being theirs (an admin, the sequence's owner or an editor; any active user for a task of no sequence),
 * so reassigning never hands someone a sequence they can't edit. Audited on the contact's timeline.
 */
export async function updateTask(
  d: Db,
  caller: Caller,
  taskId: string,
  body: { due_at?: number | undefined; assignee_id?: string | undefined },
) {
  const task = await taskFor(d, caller, taskId);
  if (task.status !== "open") throw notOpen(task.status);
  const problem = body.due_at === undefined ? null : dueProblem(body.due_at, now());
  if (problem) throw bad("due_at", problem);
  if (body.assignee_id !== undefined && body.assignee_id !== task.assigneeId) {
    const u = await teamUser(d, caller, body.assignee_id, "assignee_id");
    const [seq] = task.sequenceId
      ? await d
          .select({ ownerId: sequences.ownerId, share: sequenceShares.access })
          .from(sequences)
          .leftJoin(sequenceShares, and(eq(sequenceShares.sequenceId, sequences.id), eq(sequenceShares.userId, u.id)))
          .where(and(eq(sequences.id, task.sequenceId), eq(sequences.teamId, caller.teamId)))
      : [];
    const as: Caller = { teamId: caller.teamId, userId: u.id, role: u.role as Caller["role"], via: "session" };
    // The list's assignable_ids are this same rule (whoMayTake), so the picker offers no one refused here.
    if (!mayBeGivenTask(as, { sequenceId: task.sequenceId, seqOwnerId: seq?.ownerId ?? null, share: seq?.share ?? null }))
      throw bad("assignee_id", `${u.name} can't edit this task's sequence: share it with them for editing first`);
  }
  const set = {
    ...(body.due_at !== undefined && { dueAt: body.due_at }),
    ...(body.assignee_id !== undefined && { assigneeId: body.assignee_id }),
  };
  const [row] = await d
    .update(tasks)
    .set(set)
    .where(and(eq(tasks.id, task.id), eq(tasks.status, "open")))
    .returning();
  if (!row) throw new ApiError("conflict", "This task was just completed by someone else");
  // On the contact's timeline, one entry per change (services/timeline.ts words them).
  const ref = { task_id: task.id, type: task.type, sequence_id: task.sequenceId };
  const entries = task.contactId
    ? [
        ...(body.due_at !== undefined
          ? [auditEntry(caller, "task.rescheduled", "contact", task.contactId, { ...ref, from: task.dueAt, to: row.dueAt })]
          : []),
        ...(body.assignee_id !== undefined && body.assignee_id !== task.assigneeId
          ? [auditEntry(caller, "task.reassigned", "contact", task.contactId, { ...ref, from: task.assigneeId, to: row.assigneeId })]
          : []),
      ]
    : [];
  if (entries.length) await d.insert(auditLog).values(entries);
  return row;
}

/** Apollo's tasks/search: the team's tasks the caller may see (their own always), open first, by due time. */
export async function searchTeamTasks(
  d: Db,
  caller: Caller,
  page: number,
  perPage: number,
): Promise<{ rows: (typeof tasks.$inferSelect)[]; total: number }> {
  const seen = visibleSequence(caller, tasks.sequenceId);
  const where = and(
    eq(tasks.teamId, caller.teamId),
    seen ? or(eq(tasks.assigneeId, caller.userId), isNull(tasks.sequenceId), seen) : undefined,
  );
  const [rows, total] = await d.batch([
    d
      .select()
      .from(tasks)
      .where(where)
      .orderBy(desc(sql`${tasks.status} = 'open'`), asc(tasks.dueAt), asc(tasks.id))
      .limit(perPage)
      .offset((page - 1) * perPage),
    d
      .select({ n: sql<number>`count(*)` })
      .from(tasks)
      .where(where),
  ]);
  return { rows, total: total[0]?.n ?? 0 };
}
