import { and, eq, ne, or, sql, type AnyColumn, type SQL } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import {
  contacts,
  emailTemplates,
  enrollmentActionJobs,
  enrollments,
  imports,
  jobs,
  lists,
  mailboxes,
  messages,
  schedules,
  sequences,
  sequenceShares,
  tasks,
  users,
  workflows,
} from "../db/schema";
import type { Caller } from "../env";
import { ANSWER_STEP_PREFIX } from "../lib/answer-step";
import { ApiError, notFound } from "../lib/errors";

/**
 * Who may do what: the one table of the product's permissions (invariants 8, 9 and 12), printed in
 * the README's Security section (a test keeps the two in step). Every read and write of a resource
 * calls `authorize` (through the loaders below); nothing else in the worker compares roles.
 *
 * Relations a caller can have to a resource:
 * - `admin`: a team admin (or a master API key);
 * - `owner`: the user the resource belongs to (sequence, mailbox, schedule creator, contact, workflow, task assignee);
 * - `editor` / `viewer`: a sequence shared with the user for editing / viewing;
 * - `member`: anyone in the team.
 * `key` says whether a standard API key may do it at all: a standard key acts as a member (never with
 * its creator's admin rights) and never does the owner-only administration marked `key: false`.
 */
export const RULES = {
  "sequence.view": {
    who: ["admin", "owner", "editor", "viewer"],
    key: true,
    says: "see a sequence, its steps, contacts, jobs, emails and report",
  },
  "sequence.create": { who: ["member"], key: true, says: "create a sequence (they own it)" },
  "sequence.edit": {
    who: ["admin", "owner", "editor"],
    key: true,
    says: "change steps, settings, schedule, turn on/off; add, pause, resume, finish, remove contacts",
  },
  "sequence.manage": { who: ["admin", "owner"], key: false, says: "change the owner, sharing; archive, unarchive; delete one never used" },
  "mailbox.view": { who: ["member"], key: true, says: "see the team's mailboxes and their capacity" },
  "mailbox.connect": { who: ["member"], key: false, says: "connect a mailbox of one's own (admins: for anyone in the team)" },
  "mailbox.manage": { who: ["admin", "owner"], key: false, says: "change, test, disconnect, reconnect, remove a mailbox" },
  "mailbox.send": { who: ["admin", "owner"], key: true, says: "send a sequence's emails from a mailbox" },
  "schedule.view": { who: ["member"], key: true, says: "see the team's sending schedules" },
  "schedule.create": { who: ["member"], key: false, says: "create a schedule" },
  "schedule.manage": { who: ["admin", "owner"], key: false, says: "change or delete a schedule (its creator; the seeded ones: admins)" },
  "schedule.default": {
    who: ["admin"],
    key: false,
    says: "make a schedule the team's default, or change the default (it times every sequence without one; it is never deleted, only handed on)",
  },
  "contact.view": { who: ["member"], key: true, says: "see the team's contacts and lists" },
  "contact.edit": {
    who: ["member"],
    key: true,
    says: "create, edit and delete contacts (one in a sequence: with sequence.edit there), change stages, create lists and add to them",
  },
  "contact.reassign": { who: ["admin", "owner"], key: false, says: "change a contact's owner (a member may take an unowned contact)" },
  "list.manage": { who: ["admin", "owner"], key: true, says: "rename or delete a list (its creator or an admin; the contacts stay)" },
  "workflow.view": { who: ["admin", "owner", "editor", "viewer"], key: true, says: "see a workflow (as its sequence)" },
  "workflow.create": {
    who: ["member"],
    key: false,
    says: "create a workflow (they own it; they must be able to edit its sequence and send from its mailboxes)",
  },
  "workflow.manage": {
    who: ["admin", "owner"],
    key: false,
    says: "create, change, run, delete a workflow (and be able to edit its sequence)",
  },
  "task.work": {
    who: ["admin", "owner", "editor"],
    key: true,
    says: "complete, skip, reschedule or reassign a task (its assignee, the sequence's editors, admins); a task of no sequence: its assignee or an admin, to anyone in the team",
  },
  "import.use": {
    who: ["admin", "owner"],
    key: true,
    says: "see, map and save an uploaded CSV file (its uploader, admins); adding its contacts to a sequence also needs sequence.edit",
  },
  "credits.view": { who: ["member"], key: true, says: "see credits and the ledger" },
  "users.view": { who: ["member"], key: true, says: "see the team's users" },
  "users.manage": {
    who: ["admin"],
    key: false,
    says: "invite people, re-issue and revoke invites, change a user's role, disable or enable a user (signed in)",
  },
  "api_keys.manage": { who: ["admin"], key: false, says: "create, list, revoke API keys (signed in; keys can't manage keys)" },
  "webhooks.manage": { who: ["admin"], key: false, says: "create or rotate the team's meetings webhook secret (signed in)" },
  "outgoing_webhooks.manage": {
    who: ["admin"],
    key: false,
    says: "subscribe URLs to events (replies, bounces, unsubscribes, meetings, runs ended), rotate their secrets, see their deliveries",
  },
  "template.view": {
    who: ["member"],
    key: true,
    says: "see the team's shared email templates and one's own private ones (another's private template is not found)",
  },
  "template.create": { who: ["member"], key: false, says: "save an email template (they own it; private, or shared with the team)" },
  "template.manage": {
    who: ["admin", "owner"],
    key: false,
    says: "change or delete an email template (its owner, or an admin for a shared one)",
  },
  "suppressions.manage": {
    who: ["admin"],
    key: true,
    says: "see, add and lift the team's suppressed addresses (Do not email; lifting an unsubscribe needs an explicit confirmation)",
  },
} as const satisfies Record<string, { who: readonly Relation[]; key: boolean; says: string }>;

export type Relation = "admin" | "owner" | "editor" | "viewer" | "member";
export type Action = keyof typeof RULES;

/** A check a request passed; an idempotent replay re-runs them all before answering (invariant 12). */
export interface Grant {
  action: Action;
  id?: string;
  /** Which loader checked it (a list is checked with "contact.edit", so the action's prefix can't tell). */
  on?: Resource;
}

type Resource = "sequence" | "mailbox" | "schedule" | "contact" | "list" | "workflow" | "task" | "import" | "template";

const isStandardKey = (caller: Caller) => caller.via === "api_key" && caller.apiKeyKind === "standard";

/** The caller's relations to a resource it belongs to (`ownerId`), plus a sequence share. */
function relations(caller: Caller, ownerId: string | null | undefined, share?: "view" | "edit" | null): Relation[] {
  const r: Relation[] = ["member"];
  if (caller.role === "admin" && !isStandardKey(caller)) r.push("admin");
  if (ownerId && ownerId === caller.userId) r.push("owner");
  if (share === "edit") r.push("editor", "viewer");
  if (share === "view") r.push("viewer");
  return r;
}

export function allowed(caller: Caller, action: Action, rel: readonly Relation[]): boolean {
  const rule = RULES[action];
  if (isStandardKey(caller) && !rule.key) return false;
  return rule.who.some((w) => rel.includes(w));
}

function record(caller: Caller, action: Action, id?: string, on?: Resource) {
  caller.grants?.push(id === undefined ? { action } : { action, id, on: on ?? (action.split(".")[0] as Resource) });
}

const forbidden = (message: string) => new ApiError("forbidden", message);

const STANDARD_KEY_REFUSED = "A standard API key can't do this; use a master key or sign in";

/**
 * The refusal of `action`: when only the key's kind stands in the way (its user, signed in, would be let
 * through), it says so, so an owner's or an admin's standard key isn't told that only the owner or an admin may.
 */
function refusal(caller: Caller, action: Action, ownerId: string | null | undefined, message: string, share?: "view" | "edit" | null) {
  if (isStandardKey(caller)) {
    const signedIn: Caller = { teamId: caller.teamId, userId: caller.userId, role: caller.userRole ?? caller.role, via: "session" };
    if (allowed(signedIn, action, relations(signedIn, ownerId, share))) return forbidden(STANDARD_KEY_REFUSED);
  }
  return forbidden(message);
}

/** Team-level actions (no single resource): create, connect, manage keys. 403 when refused. */
export function authorize(caller: Caller, action: Action, message = "You don't have permission to do this") {
  if (!allowed(caller, action, relations(caller, null))) throw refusal(caller, action, null, message);
  record(caller, action);
}

export type SequenceAccess = "owner" | "admin" | "edit" | "view";

/**
 * A sequence the caller may see (404 otherwise: members don't learn that others' sequences exist),
 * checked for `action` (403 when it is visible but the action is not allowed).
 */
export async function sequenceFor(d: Db, caller: Caller, sequenceId: string, action: Action = "sequence.view") {
  // The sequence and the caller's share in one D1 round trip, as a batch of one: the caller's session
  // rides in it when it is the request's first read (db/riding-check.ts).
  const query = sequenceRowQuery(d, caller, sequenceId);
  const [result] = await batchSql(d, [query]);
  return sequenceFromBatch(caller, query, result, action);
}

/** The query `sequenceFor` runs: a sequence of the caller's team and the caller's share of it. */
export function sequenceRowQuery(d: Db, caller: Caller, sequenceId: string | SQL) {
  return d
    .select({ seq: sequences, share: sequenceShares.access })
    .from(sequences)
    .leftJoin(sequenceShares, and(eq(sequenceShares.sequenceId, sequences.id), eq(sequenceShares.userId, caller.userId)))
    .where(and(eq(sequences.id, sequenceId), eq(sequences.teamId, caller.teamId)))
    .limit(1);
}

/**
 * `sequenceFor` on the result of `sequenceRowQuery` run inside a batch (`batchSql`) with reads that
 * depend on it, so a page and its sequence cost one D1 round trip. Those reads must be scoped to the
 * caller's team themselves, and nothing of them may be answered before this has passed. (A batch
 * answers rows as objects, so the query's column names must stay unique: no `access` on sequences.)
 */
export function sequenceFromBatch(
  caller: Caller,
  query: ReturnType<typeof sequenceRowQuery>,
  result: D1Result | undefined,
  action: Action = "sequence.view",
) {
  const [row] = query.prepare().mapAllResult(result, true) as { seq: typeof sequences.$inferSelect; share: "view" | "edit" | null }[];
  return sequenceAccess(caller, row, action);
}

/** `sequenceFor`'s decision on a sequence row of the caller's team (or none) and the caller's share of it. */
function sequenceAccess(
  caller: Caller,
  row: { seq: typeof sequences.$inferSelect; share: "view" | "edit" | null } | undefined,
  action: Action,
) {
  if (!row) throw notFound("Sequence");
  const seq = row.seq;
  const share = seq.ownerId === caller.userId || caller.role === "admin" ? null : row.share;
  const rel = relations(caller, seq.ownerId, share);
  if (!allowed(caller, "sequence.view", rel)) throw notFound("Sequence");
  if (!allowed(caller, action, rel)) {
    throw refusal(
      caller,
      action,
      seq.ownerId,
      action === "sequence.edit"
        ? "You can view this sequence but not change it. Ask its owner for edit access."
        : "Only the sequence's owner or an admin can do this",
      share,
    );
  }
  record(caller, action, seq.id);
  const access: SequenceAccess = rel.includes("owner")
    ? "owner"
    : rel.includes("admin")
      ? "admin"
      : rel.includes("editor")
        ? "edit"
        : "view";
  return { seq, access };
}

/** Whether the caller may do `action` on a sequence, without throwing (for `can_edit` flags). */
export function sequenceAllows(caller: Caller, action: Action, ownerId: string, share: "view" | "edit" | null) {
  return allowed(caller, action, relations(caller, ownerId, share));
}

/** Sequences the caller may see, as a SQL condition over `sequences` (lists and counts). */
export function canSeeAllSequences(caller: Caller) {
  return caller.role === "admin" && !isStandardKey(caller);
}

export const canEdit = (a: SequenceAccess) => a !== "view";

/**
 * The same visibility for lists (jobs, emails, scheduled emails, tasks, workflows): a SQL condition
 * on a `sequence_id` column, or undefined when the caller sees every sequence of the team.
 */
export function visibleSequence(caller: Caller, column: AnyColumn | SQL): SQL | undefined {
  if (canSeeAllSequences(caller)) return undefined;
  return sql`${column} in (select s.id from sequences s where s.team_id = ${caller.teamId} and (s.owner_id = ${caller.userId} or exists (select 1 from sequence_shares x where x.sequence_id = s.id and x.user_id = ${caller.userId})))`;
}

/**
 * Whether the job `jobId` names is one the caller may open (jobWithAccess's rule, as SQL for a list's
 * rows): under its sequence when it has one, otherwise its creator's and admins'.
 */
export function visibleJob(caller: Caller, jobId: AnyColumn | SQL): SQL {
  // Its own alias (vj): a caller whose outer query names jobs `j` would otherwise have `jobId` resolve
  // to the inner row, and every job would pass.
  if (canSeeAllSequences(caller)) return sql`exists (select 1 from jobs vj where vj.id = ${jobId} and vj.team_id = ${caller.teamId})`;
  return sql`exists (select 1 from jobs vj where vj.id = ${jobId} and vj.team_id = ${caller.teamId} and (
    (vj.sequence_id is not null and ${visibleSequence(caller, sql`vj.sequence_id`)})
    or (vj.sequence_id is null and vj.user_id = ${caller.userId})))`;
}

export async function mailboxFor(d: Db, caller: Caller, mailboxId: string, action: Action = "mailbox.view") {
  // A removed mailbox is gone for every action (its row stays only for the history of what it sent).
  const m = await d.query.mailboxes.findFirst({
    where: and(eq(mailboxes.id, mailboxId), eq(mailboxes.teamId, caller.teamId), ne(mailboxes.status, "removed")),
  });
  if (!m) throw notFound("Mailbox");
  if (!allowed(caller, action, relations(caller, m.userId))) {
    throw refusal(
      caller,
      action,
      m.userId,
      action === "mailbox.send"
        ? `You can't send from ${m.email}: only its owner or an admin can`
        : `Only ${m.email}'s owner or an admin can change or test it`,
    );
  }
  record(caller, action, m.id);
  return m;
}

export function mailboxAllows(caller: Caller, action: Action, ownerId: string) {
  return allowed(caller, action, relations(caller, ownerId));
}

/** The mailboxes (of `rows`) the caller may send from: their own; admins any of the team's. */
export function sendableMailboxes<T extends { userId: string }>(caller: Caller, rows: readonly T[]): T[] {
  return rows.filter((m) => mailboxAllows(caller, "mailbox.send", m.userId));
}

export async function scheduleFor(d: Db, caller: Caller, scheduleId: string, action: Action = "schedule.view") {
  const s = await d.query.schedules.findFirst({ where: and(eq(schedules.id, scheduleId), eq(schedules.teamId, caller.teamId)) });
  if (!s) throw notFound("Schedule");
  if (!allowed(caller, action, relations(caller, s.createdBy))) throw forbidden("Only the schedule's creator or an admin can change it");
  record(caller, action, s.id);
  return s;
}

export function scheduleAllows(caller: Caller, action: Action, createdBy: string | null) {
  return allowed(caller, action, relations(caller, createdBy));
}

export async function contactFor(d: Db, caller: Caller, contactId: string, action: Action = "contact.view", newOwnerId?: string | null) {
  const ct = await d.query.contacts.findFirst({ where: and(eq(contacts.id, contactId), eq(contacts.teamId, caller.teamId)) });
  if (!ct || ct.deletedAt) throw notFound("Contact");
  assertContact(caller, action, ct.ownerId, newOwnerId);
  record(caller, action, ct.id);
  return ct;
}

/** Reassigning: the contact's owner or an admin; a member may take an unowned contact for themself. */
export function assertContact(caller: Caller, action: Action, ownerId: string | null, newOwnerId?: string | null) {
  if (action === "contact.reassign" && !ownerId && newOwnerId === caller.userId && !isStandardKey(caller)) return;
  if (!allowed(caller, action, relations(caller, ownerId))) {
    throw forbidden(
      action === "contact.reassign"
        ? // A standard key is refused whoever owns the contact: naming the owner and admins sent its user looking for them.
          isStandardKey(caller)
          ? "A standard API key can't change a contact's owner; use a master key or sign in"
          : "Only a contact's owner or an admin can give it to someone else"
        : "You don't have permission to change this contact",
    );
  }
}

/** A list of the caller's team, checked for `list.manage` (rename, delete): its creator or an admin. */
export async function listFor(d: Db, caller: Caller, listId: string, action: Action = "list.manage") {
  const l = await d.query.lists
    .findFirst({ columns: { id: true, ownerId: true, name: true }, where: and(eq(lists.id, listId), eq(lists.teamId, caller.teamId)) })
    .then((r) => r && { id: r.id, owner_id: r.ownerId, name: r.name });
  if (!l) throw notFound("List");
  if (!allowed(caller, action, relations(caller, l.owner_id)))
    throw forbidden("Only the list's creator or an admin can rename or delete it");
  record(caller, action, l.id, "list");
  return l;
}

/** Whether the caller may rename or delete a list owned by `ownerId` (listFor's rule, for the lists' `can_manage`). */
export function listAllows(caller: Caller, ownerId: string) {
  return allowed(caller, "list.manage", relations(caller, ownerId));
}

/** Whether the caller may change, run or delete a workflow owned by `ownerId` (workflowFor's rule, for a list's rows). */
export function workflowAllows(caller: Caller, action: Action, ownerId: string) {
  return allowed(caller, action, relations(caller, ownerId));
}

export async function workflowFor(d: Db, caller: Caller, workflowId: string, action: Action = "workflow.view") {
  const w = await d.query.workflows.findFirst({ where: and(eq(workflows.id, workflowId), eq(workflows.teamId, caller.teamId)) });
  if (!w) throw notFound("Workflow");
  // A workflow is as visible as the sequence it adds to; changing it needs its owner (or an admin).
  await sequenceFor(d, caller, w.sequenceId, "sequence.view").catch((e) => {
    throw e instanceof ApiError && e.status === 404 ? notFound("Workflow") : e;
  });
  if (action !== "workflow.view" && !allowed(caller, action, relations(caller, w.ownerId))) {
    throw refusal(caller, action, w.ownerId, "Only the workflow's owner or an admin can change it");
  }
  record(caller, action, w.id);
  return w;
}

/** A job is as visible as its sequence (a job without one: its creator and admins); cancelling needs edit rights. */
export async function jobFor(d: Db, caller: Caller, jobId: string, action: "sequence.view" | "sequence.edit" = "sequence.view") {
  return (await jobWithAccess(d, caller, jobId, action)).job;
}

/** jobFor, and whether the caller may also change the job (cancel it): edit rights on its sequence. */
export async function jobWithAccess(d: Db, caller: Caller, jobId: string, action: "sequence.view" | "sequence.edit" = "sequence.view") {
  // The job, its sequence and the caller's share of it in one D1 round trip (a job status is polled):
  // two statements in one batch (a batch answers rows by column name, which the job's and the
  // sequence's columns share), which the caller's session rides in when it is the request's first read.
  const jobQuery = d
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, jobId), eq(jobs.teamId, caller.teamId)))
    .limit(1);
  const seqQuery = sequenceRowQuery(
    d,
    caller,
    sql`(SELECT ${jobs.sequenceId} FROM ${jobs} WHERE ${jobs.id} = ${jobId} AND ${jobs.teamId} = ${caller.teamId})`,
  );
  const [jobResult, seqResult] = await batchSql(d, [jobQuery, seqQuery]);
  const [job] = jobQuery.prepare().mapAllResult(jobResult, true) as (typeof jobs.$inferSelect)[];
  if (!job) throw notFound("Job");
  if (job.sequenceId) {
    try {
      const { access } = sequenceFromBatch(caller, seqQuery, seqResult, action);
      return { job, canEdit: access !== "view" };
    } catch (e) {
      throw e instanceof ApiError && e.status === 404 ? notFound("Job") : e;
    }
  } else if (!relations(caller, job.userId).some((r) => r === "admin" || r === "owner")) {
    throw notFound("Job");
  }
  return { job, canEdit: true };
}

/** An action on a sequence's enrollments run as a job: as visible as its sequence, and found only under it (404 otherwise). */
export async function enrollmentJobFor(d: Db, caller: Caller, sequenceId: string, jobId: string) {
  const { seq } = await sequenceFor(d, caller, sequenceId);
  const job = await d.query.enrollmentActionJobs.findFirst({
    where: and(
      eq(enrollmentActionJobs.id, jobId),
      eq(enrollmentActionJobs.teamId, caller.teamId),
      eq(enrollmentActionJobs.sequenceId, seq.id),
    ),
  });
  if (!job) throw notFound("Action job");
  return job;
}

/**
 * An import (an uploaded CSV) is its uploader's; admins see the team's. Others get 404 (their
 * imports hold contact data of someone else's file).
 */
export async function importFor(d: Db, caller: Caller, importId: string) {
  const row = await d.query.imports.findFirst({ where: and(eq(imports.id, importId), eq(imports.teamId, caller.teamId)) });
  if (!row || !allowed(caller, "import.use", relations(caller, row.userId))) throw notFound("Import");
  record(caller, "import.use", importId);
  return row;
}

/** Imports the caller may see, as a condition on `imports` (undefined: all of the team's, for admins). */
export const visibleImports = (caller: Caller): SQL | undefined =>
  allowed(caller, "import.use", relations(caller, null)) ? undefined : eq(imports.userId, caller.userId);

/** An email is as visible as its sequence; a mailbox's test email (no sequence) to whoever may manage the mailbox. */
export async function messageFor(d: Db, caller: Caller, messageId: string) {
  const m = await d.query.messages.findFirst({ where: and(eq(messages.id, messageId), eq(messages.teamId, caller.teamId)) });
  if (!m) throw notFound("Message");
  const check = m.sequenceId
    ? sequenceFor(d, caller, m.sequenceId, "sequence.view")
    : m.stepId.startsWith(ANSWER_STEP_PREFIX)
      ? answerRunFor(d, caller, m.enrollmentId)
      : mailboxFor(d, caller, m.mailboxId, "mailbox.manage");
  await check.catch((e) => {
    throw e instanceof ApiError && (e.status === 404 || e.status === 403) ? notFound("Message") : e;
  });
  return m;
}

/**
 * An answer written to a reply (sequence_id '', step `reply:<key>`) has no sequence of its own: it is seen by
 * whoever sees the run it answers in (the timeline's rule), not by the test emails' mailbox rule.
 */
async function answerRunFor(d: Db, caller: Caller, enrollmentId: string) {
  if (canSeeAllSequences(caller)) return;
  const e = await d.query.enrollments.findFirst({
    columns: { sequenceId: true },
    where: and(eq(enrollments.id, enrollmentId), eq(enrollments.teamId, caller.teamId)),
  });
  if (!e) throw notFound("Message");
  await sequenceFor(d, caller, e.sequenceId, "sequence.view");
}

/**
 * The emails a caller may see, as a SQL condition over `messages` (undefined: all of the team's): a sequence's
 * under its sequence, an answer to a reply under its run's sequence, a test email (no sequence) its mailbox owner's.
 */
export function visibleMessages(caller: Caller): SQL | undefined {
  const seen = visibleSequence(caller, messages.sequenceId);
  if (!seen) return undefined;
  const runSeen = visibleSequence(
    caller,
    sql`(select e.sequence_id from enrollments e where e.id = ${messages.enrollmentId} and e.team_id = ${caller.teamId})`,
  );
  // The pattern as a literal, as it was written: a bound one would add parameters to every list using this.
  const answer = sql.raw(`'${ANSWER_STEP_PREFIX}%'`);
  return sql`(${seen} or (${messages.sequenceId} = '' and ${messages.stepId} like ${answer} and ${runSeen}) or (${messages.sequenceId} = '' and ${messages.stepId} not like ${answer} and ${messages.mailboxId} in (select m.id from mailboxes m where m.team_id = ${caller.teamId} and m.user_id = ${caller.userId})))`;
}

/**
 * Whether the caller may complete or skip this task (taskFor's rule, for a list's rows): `seqOwnerId`
 * and `share` are the task's sequence's owner and the caller's share of it (none without a sequence).
 */
export function mayWorkTask(
  caller: Caller,
  t: { assigneeId: string | null; sequenceId: string | null; seqOwnerId: string | null; share: "view" | "edit" | null },
): boolean {
  const share = t.sequenceId && t.assigneeId !== caller.userId ? (t.seqOwnerId === caller.userId ? "edit" : t.share) : null;
  return allowed(caller, "task.work", relations(caller, t.assigneeId, share));
}

/**
 * Whether `user` may be given a task (be its assignee: PATCH's assignee_id, the Reassign picker's `assignable_ids`).
 * A sequence's task: whoever could work it without it being theirs (an admin, the sequence's owner, an editor).
 * A task of no sequence (a one-off to-do) is its assignee's alone: anyone in the team may be given it, and its
 * assignee or an admin may hand it on (taskFor); a member may not take or hand on a teammate's.
 */
export function mayBeGivenTask(
  user: Caller,
  t: { sequenceId: string | null; seqOwnerId: string | null; share: "view" | "edit" | null },
): boolean {
  return mayWorkTask(user, { ...t, assigneeId: t.sequenceId ? null : user.userId });
}

/** Completing or skipping a task: its assignee, the sequence's owner and editors, admins. */
export async function taskFor(d: Db, caller: Caller, taskId: string) {
  const t = await d.query.tasks.findFirst({ where: and(eq(tasks.id, taskId), eq(tasks.teamId, caller.teamId)) });
  if (!t) throw notFound("Task");
  let share: "view" | "edit" | null = null;
  if (t.sequenceId && t.assigneeId !== caller.userId) {
    const { access } = await sequenceFor(d, caller, t.sequenceId, "sequence.view").catch((e) => {
      throw e instanceof ApiError && e.status === 404 ? notFound("Task") : e;
    });
    share = access === "view" ? "view" : "edit";
  }
  // A task of no sequence is listed to the whole team (Tasks → Everyone): visible, so refused (403) with why, not hidden.
  if (!allowed(caller, "task.work", relations(caller, t.assigneeId, share))) throw forbidden("This task is assigned to someone else");
  record(caller, "task.work", t.id);
  return t;
}

/**
 * The email templates the caller sees: the team's shared ones and their own. A private template is its owner's
 * alone, admins included: it is a draft until shared.
 */
export const visibleTemplates = (caller: Caller): SQL =>
  and(eq(emailTemplates.teamId, caller.teamId), or(eq(emailTemplates.shared, true), eq(emailTemplates.ownerId, caller.userId)))!;

/**
 * An email template the caller sees (404 otherwise, as for another team's), checked for `action`: changing or
 * deleting one needs its owner or an admin (403), and never a standard key.
 */
export async function emailTemplateFor(d: Db, caller: Caller, templateId: string, action: Action = "template.view") {
  const t = await d.query.emailTemplates.findFirst({ where: and(eq(emailTemplates.id, templateId), visibleTemplates(caller)) });
  if (!t) throw notFound("Template");
  if (!allowed(caller, action, relations(caller, t.ownerId)))
    throw refusal(caller, action, t.ownerId, "Only the template's owner or an admin can change or delete it");
  record(caller, action, t.id, "template");
  return t;
}

/** Whether the caller may change or delete a template owned by `ownerId` (emailTemplateFor's rule, for a list's rows). */
export function templateAllows(caller: Caller, ownerId: string) {
  return allowed(caller, "template.manage", relations(caller, ownerId));
}

/**
 * A user of the caller's team, disabled ones included, for a filter on what they did (a report's "added by"):
 * 404 for anyone else's id, as for any foreign id, not an answer of zeros.
 */
export async function teamUserFor(d: Db, caller: Caller, userId: string) {
  const u = await d.query.users.findFirst({ columns: { id: true }, where: and(eq(users.id, userId), eq(users.teamId, caller.teamId)) });
  if (!u) throw notFound("User");
  return u;
}

/**
 * An active user of the caller's team (for owner, assignee and share fields); 422 naming the field otherwise.
 * A disabled user can't sign in or work anything given to them, so nothing new is given to one.
 */
export async function teamUser(d: Db, caller: Caller, userId: string, field: string) {
  const u = await d.query.users.findFirst({ where: and(eq(users.id, userId), eq(users.teamId, caller.teamId)) });
  const message = !u ? "No such user in your team" : u.disabledAt ? "This user is disabled" : null;
  if (message) throw new ApiError("validation_failed", message, { fields: [{ field, message }] });
  return u!;
}

/**
 * Re-runs the checks a request passed, for the caller now (before an idempotent replay): a caller
 * who lost a right since, or another caller, gets the same 403/404 a fresh request would.
 */
export async function recheck(d: Db, caller: Caller, grants: readonly Grant[]) {
  for (const g of grants) {
    const kind = g.on ?? g.action.split(".")[0];
    if (!g.id) {
      authorize(caller, g.action);
      continue;
    }
    if (kind === "sequence") await sequenceFor(d, caller, g.id, g.action);
    else if (kind === "mailbox") await mailboxFor(d, caller, g.id, g.action);
    else if (kind === "schedule") await scheduleFor(d, caller, g.id, g.action);
    else if (kind === "contact") await contactFor(d, caller, g.id, g.action, caller.userId);
    else if (kind === "workflow") await workflowFor(d, caller, g.id, g.action);
    else if (kind === "task") await taskFor(d, caller, g.id);
    else if (kind === "import") await importFor(d, caller, g.id);
    else if (kind === "list") await listFor(d, caller, g.id, g.action);
    else if (kind === "template") await emailTemplateFor(d, caller, g.id, g.action);
    else throw new ApiError("forbidden", "You don't have permission to do this");
  }
}
