import { and, asc, eq, exists, isNotNull, isNull, sql, type AnyColumn, type SQL } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { batchSql, type BatchStatement, type Db } from "../db/client";
import { contains } from "../db/contains";
import { inList } from "../db/in-list";
import {
  auditLog,
  deletedSteps,
  enrollments,
  schedules,
  sequenceCounts,
  sequences,
  sequenceShares,
  steps,
  stepVariants,
  users,
  workflows,
} from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { engine } from "../../durable-objects/engine";
import { authorize, sequenceAllows, sequenceFor, teamUser, visibleSequence } from "./access";
import { auditEntry } from "./audit";
import { abortUnless, assertCanTurnOn, canTurnOn, refusedBy } from "./state-preconditions";
import { notStartedJobsOf, SEQUENCE_ARCHIVED, stopJobStatements } from "./add-contacts/jobs";
import { rewindowTeam } from "./schedules";
import { replyRate } from "./reports/thresholds";
import { editableSequence, stepsWithVariants } from "./steps";

/**
 * Sequences: the one module that reads and writes `sequences` and `sequence_shares` (and asks the
 * SequenceDO to release or finish a sequence's contacts when it is turned on or archived). The /api
 * routes and Apollo's campaign endpoints both call it, so the per-sequence counts are written once.
 */

export type SequenceSettings = {
  finish_on_reply?: boolean;
  allow_other_owners?: boolean;
  colleague_reply?: "nothing" | "pause" | "finish";
};

/** A new sequence's settings where its request names none (the readers assume the same when a key is absent). */
export const SEQUENCE_DEFAULTS: Required<SequenceSettings> = {
  finish_on_reply: true,
  allow_other_owners: true,
  colleague_reply: "nothing",
};

/**
 * A sequence in a list: its row plus step, enrollment and message counts, and the caller's share.
 * Every column answers under its own name (`.as` where two tables share one): the list is read in a
 * D1 batch, which answers rows by column name, so the caller's session can ride with it
 * (db/riding-check.ts); a second `name` or `active` would overwrite the first.
 */
function summaryColumns(caller: Caller) {
  return {
    id: sequences.id,
    name: sequences.name,
    active: sequences.active,
    archived_at: sequences.archivedAt,
    owner_id: sequences.ownerId,
    owner_name: sql<string | null>`${users.name}`.as("owner_name"),
    schedule_id: sequences.scheduleId,
    created_at: sequences.createdAt,
    steps: sql<number>`(select count(*) from steps s where s.sequence_id = ${sequences.id})`,
    steps_on: sql<number>`(select count(*) from steps s where s.sequence_id = ${sequences.id} and s.enabled = 1)`,
    // Enrollments by status, emails sent, bounced and replied to: the sequence's one row of sequence_counts
    // (joined below; kept by triggers, counting emails as the report's rollup does), not a walk over all its
    // enrollments and emails.
    byStatus: {
      scheduled: sequenceCounts.scheduled,
      active: sql<number | null>`${sequenceCounts.active}`.as("active_count"),
      paused: sequenceCounts.paused,
      held: sequenceCounts.held,
      finished: sequenceCounts.finished,
      failed: sequenceCounts.failed,
      removed: sequenceCounts.removed,
    },
    sent: sequenceCounts.sent,
    bounced: sequenceCounts.bounced,
    replied: sequenceCounts.replied,
    shared: sql<
      string | null
    >`(select x.access from sequence_shares x where x.sequence_id = ${sequences.id} and x.user_id = ${caller.userId})`,
    in_use: inUseSql(caller.teamId, sequences.id).as("in_use"),
  };
}

export interface SequenceSummary {
  id: string;
  name: string;
  active: boolean;
  archived_at: number | null;
  owner_id: string;
  owner_name: string;
  schedule_id: string | null;
  created_at: number;
  steps: number;
  steps_on: number;
  /** Runs (enrollments) by status, from sequence_counts: a contact restarted or added again counts once per run. */
  counts: Record<string, number>;
  /** Emails that went out, bounced ones included: the sequence report's `sent` without filters. */
  sent: number;
  bounced: number;
  replied: number;
  /** The report's reply rate (replies over the emails that arrived). */
  reply_rate: number;
  can_edit: boolean;
  /** Archive, unarchive, delete, share (sequence.manage): its owner or an admin. */
  can_manage: boolean;
  /** What keeps it from being deleted (inUseSql): contacts were added, an add is pending or ran, a workflow adds to it; null: it can be. */
  in_use: InUse | null;
}

export interface SequenceFilter {
  /** Name contains. */
  q?: string;
  status?: "active" | "inactive" | "archived" | "all";
  /** Only these ids (Apollo's campaign answers). */
  ids?: readonly string[];
  /** Archived ones too (Apollo lists them with `archived: true`). */
  withArchived?: boolean;
}

/** Sequences the caller may see (services/access.ts), a page of them with their counts, and the total. */
export async function listSequences(
  d: Db,
  caller: Caller,
  f: SequenceFilter,
  page: number,
  perPage: number,
): Promise<{ rows: SequenceSummary[]; total: number }> {
  const conds: (SQL | undefined)[] = [eq(sequences.teamId, caller.teamId), visibleSequence(caller, sequences.id)];
  if (f.q) conds.push(contains(sequences.name, f.q));
  if (f.ids) conds.push(inList(sequences.id, f.ids));
  const status = f.status ?? "all";
  if (status === "archived") conds.push(isNotNull(sequences.archivedAt));
  else if (!f.withArchived) conds.push(isNull(sequences.archivedAt));
  if (status === "active" || status === "inactive") conds.push(eq(sequences.active, status === "active"));
  const where = and(...conds);
  // The page and the total in one statement (one D1 round trip): the window count sees every match.
  // As a batch of one, which the caller's session rides in (summaryColumns).
  const [rows] = await d.batch([
    d
      .select({ ...summaryColumns(caller), total: sql<number>`count(*) over ()` })
      .from(sequences)
      .leftJoin(users, eq(users.id, sequences.ownerId))
      .leftJoin(sequenceCounts, eq(sequenceCounts.sequenceId, sequences.id))
      .where(where)
      .orderBy(asc(sequences.name), asc(sequences.id))
      .limit(perPage)
      .offset((page - 1) * perPage),
  ]);
  const total =
    rows[0]?.total ??
    (page > 1
      ? ((
          await d
            .select({ n: sql<number>`count(*)` })
            .from(sequences)
            .where(where)
        )[0]?.n ?? 0)
      : 0);
  return {
    rows: rows.map(({ shared, total: _, byStatus, sent, bounced, replied, ...r }) => {
      const mail = { sent: sent ?? 0, bounced: bounced ?? 0, replied: replied ?? 0 };
      return {
        ...r,
        ...mail,
        reply_rate: replyRate(mail),
        owner_name: r.owner_name ?? "",
        // The statuses the sequence has (as the count by status always answered), none at zero.
        counts: Object.fromEntries(Object.entries(byStatus ?? {}).filter(([, n]) => n)) as Record<string, number>,
        can_edit: sequenceAllows(caller, "sequence.edit", r.owner_id, shared === "edit" || shared === "view" ? shared : null),
        can_manage: sequenceAllows(caller, "sequence.manage", r.owner_id, shared === "edit" || shared === "view" ? shared : null),
      };
    }),
    total,
  };
}

async function checkSchedule(d: Db, teamId: string, scheduleId: string | null | undefined) {
  if (!scheduleId) return;
  const s = await d.query.schedules.findFirst({
    columns: { id: true },
    where: and(eq(schedules.id, scheduleId), eq(schedules.teamId, teamId)),
  });
  if (!s)
    throw new ApiError("validation_failed", "Schedule not found", {
      fields: [{ field: "schedule_id", message: "No such schedule in your team" }],
    });
}

/** A new sequence owned by the caller, inactive until turned on. Returns its id. */
export async function createSequence(
  d: Db,
  caller: Caller,
  input: { name: string; schedule_id?: string | null; settings?: SequenceSettings },
): Promise<string> {
  authorize(caller, "sequence.create");
  await checkSchedule(d, caller.teamId, input.schedule_id);
  const id = newId();
  const t = now();
  await batchSql(d, [
    d.insert(sequences).values({
      id,
      teamId: caller.teamId,
      ownerId: caller.userId,
      name: input.name,
      active: false,
      scheduleId: input.schedule_id ?? null,
      settings: { ...SEQUENCE_DEFAULTS, ...input.settings },
      createdAt: t,
      updatedAt: t,
    }),
    d.insert(auditLog).values(auditEntry(caller, "sequence.create", "sequence", id, { name: input.name })),
  ]);
  return id;
}

export interface SequencePatch {
  name?: string;
  schedule_id?: string | null;
  settings?: SequenceSettings;
  active?: boolean;
  owner_id?: string;
}

const archivedCantTurnOn = () => new ApiError("conflict", "Archived sequences can't be turned on. Unarchive it first.");

/** Rename, reschedule, change settings, turn on/off or hand over a sequence. */
export async function updateSequence(env: Env, d: Db, caller: Caller, sequenceId: string, body: SequencePatch): Promise<void> {
  // Its name, schedule and settings are an archived sequence's edits (editableSequence refuses them);
  // turning it off or handing it over are not.
  const edits = body.name !== undefined || body.schedule_id !== undefined || body.settings !== undefined;
  const { seq } = edits ? await editableSequence(d, caller, sequenceId) : await sequenceFor(d, caller, sequenceId, "sequence.edit");
  // Changing the owner is the owner's or an admin's call, never an editor's (they could lock the owner out).
  if (body.owner_id !== undefined && body.owner_id !== seq.ownerId) await sequenceFor(d, caller, seq.id, "sequence.manage");
  if (seq.archivedAt && body.active) throw archivedCantTurnOn();
  if (body.active && !seq.active) await assertCanTurnOn(d, seq.id);
  await checkSchedule(d, caller.teamId, body.schedule_id);
  if (body.owner_id !== undefined) await teamUser(d, caller, body.owner_id, "owner_id");
  const patch: SQLiteUpdateSetSource<typeof sequences> = { updatedAt: now() };
  if (body.name !== undefined) patch.name = body.name;
  if (body.schedule_id !== undefined) patch.scheduleId = body.schedule_id;
  // Merged by D1 as it writes (only the keys sent): merging into the settings read above wrote the whole
  // object back, so two editors changing two settings at once lost the first one's change. The route
  // admits no null, which json_patch would read as "remove the key" (readers take the default then).
  if (body.settings !== undefined) patch.settings = sql`json_patch(${sequences.settings}, ${JSON.stringify(body.settings)})`;
  if (body.active !== undefined) patch.active = body.active;
  if (body.owner_id !== undefined) patch.ownerId = body.owner_id;
  // A handover keeps the former owner as an editor (they'd otherwise lose a sequence they just gave
  // away, mid-request); the new owner needs no share of their own.
  const handover =
    body.owner_id !== undefined && body.owner_id !== seq.ownerId
      ? [
          d.delete(sequenceShares).where(and(eq(sequenceShares.sequenceId, seq.id), eq(sequenceShares.userId, body.owner_id))),
          d
            .insert(sequenceShares)
            .values({ sequenceId: seq.id, userId: seq.ownerId, teamId: seq.teamId, access: "edit" })
            .onConflictDoUpdate({ target: [sequenceShares.sequenceId, sequenceShares.userId], set: { access: "edit" } }),
        ]
      : [];
  try {
    await batchSql(d, [
      // Checked above from a read, and again when written: another editor turning off or deleting the
      // last step on, or archiving the sequence, in between would leave it on with nothing to send (its
      // released contacts finished "completed all steps", never emailed) or on and archived. Asked
      // whenever it is to be on (a PATCH of an "on" sequence read just before it was turned off too).
      ...(body.active ? [abortUnless(d, seq.id, canTurnOn(seq.id))] : []),
      d.update(sequences).set(patch).where(eq(sequences.id, seq.id)),
      ...handover,
      d.insert(auditLog).values(auditEntry(caller, "sequence.update", "sequence", seq.id, { ...body })),
    ]);
  } catch (err) {
    if (!refusedBy(err)) throw err;
    // Nothing was written: why, as the sequence is now.
    const current = await d.query.sequences.findFirst({ columns: { archivedAt: true }, where: eq(sequences.id, seq.id) });
    if (current?.archivedAt) throw archivedCantTurnOn();
    await assertCanTurnOn(d, seq.id);
    throw new ApiError("conflict", "The sequence changed while it was being turned on: try again");
  }
  // Turning a sequence on releases the enrollments held while it was off. Asked again when it is on
  // already (it releases nothing twice): a retry after this call failed must still release them, as the
  // cron's repair does when nobody retries (repairSequenceEngines).
  if (body.active && !seq.archivedAt) await engine.sequence(env, seq.id, seq.teamId).activate();
  // Another schedule: its queued emails follow it now.
  if (body.schedule_id !== undefined && body.schedule_id !== seq.scheduleId) await rewindowTeam(env, d, seq.teamId);
}

/** Longest sequence name the API takes (routes/sequences.ts). */
const MAX_NAME = 120;
/** "<name> (copy)", the original cut so the copy's name is no longer than a name may be (one of 120 gave 127). */
// Counted in UTF-16 units, as the route's max(120) counts them; a cut through an emoji drops its half.
const copyName = (name: string) =>
  `${name
    .slice(0, MAX_NAME - " (copy)".length)
    .replace(/[\uD800-\uDBFF]$/, "")
    .trimEnd()} (copy)`;

/** A copy of a sequence with its steps and variants, inactive and owned by the caller. Returns its id. */
export async function cloneSequence(d: Db, caller: Caller, sequenceId: string, name?: string): Promise<string> {
  const { seq } = await sequenceFor(d, caller, sequenceId);
  const id = newId();
  const t = now();
  const { steps: srcSteps, variants: srcVariants } = await stepsWithVariants(d, seq.id);
  const stepMap = new Map(srcSteps.map((s) => [s.id, newId()]));
  const stmts: BatchStatement[] = [
    d.insert(sequences).values({
      id,
      teamId: caller.teamId,
      ownerId: caller.userId,
      name: name ?? copyName(seq.name),
      active: false,
      scheduleId: seq.scheduleId,
      settings: seq.settings,
      createdAt: t,
      updatedAt: t,
    }),
    d.insert(auditLog).values(auditEntry(caller, "sequence.clone", "sequence", id, { from: seq.id })),
  ];
  for (const s of srcSteps) stmts.push(d.insert(steps).values({ ...s, id: stepMap.get(s.id)!, sequenceId: id, createdAt: t }));
  for (const v of srcVariants)
    stmts.push(d.insert(stepVariants).values({ ...v, id: newId(), stepId: stepMap.get(v.stepId)!, createdAt: t }));
  await batchSql(d, stmts);
  return id;
}

/**
 * Archive: the sequence turns off, the jobs adding contacts to it that have not started stop (their
 * credits return, in the same transaction), and its open contacts finish (through its SequenceDO). A
 * started job is left to its chunks: each one not yet run skips its contacts (sequence_archived), one
 * already past that check writes what it did, and the job settles once, when its last chunk is in.
 */
export async function archiveSequence(env: Env, d: Db, caller: Caller, sequenceId: string): Promise<void> {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.manage");
  // Archived already: nothing happens, so nothing is audited and its date stays (as unarchiveSequence).
  if (seq.archivedAt !== null) return;
  const t = now();
  const notStarted = await notStartedJobsOf(d, seq.teamId, seq.id);
  await batchSql(d, [
    d.update(sequences).set({ archivedAt: t, active: false, updatedAt: t }).where(eq(sequences.id, seq.id)),
    ...notStarted.flatMap((jobId) => stopJobStatements(d, jobId, SEQUENCE_ARCHIVED)),
    d.insert(auditLog).values(auditEntry(caller, "sequence.archive", "sequence", seq.id, { jobs_stopped: notStarted })),
  ]);
  const open = await openEnrollmentIds(d, seq.id);
  if (open.length) await engine.sequence(env, seq.id, seq.teamId).finish(open, "sequence_archived");
}

type SequenceRef = SQL | AnyColumn | string;

/** "Contacts were added to it": it has a run (one since ended or removed counts too). */
const hasRuns = (sequenceId: SequenceRef) => sql`EXISTS (SELECT 1 FROM enrollments e WHERE e.sequence_id = ${sequenceId})`;

/** An add-contacts job that has not finished: being planned, scheduled, queued or running. */
const UNFINISHED_ADD = sql.raw("('preparing','scheduled','queued','running')");

/** "Contacts are about to be added to it": an add-contacts job naming it has not finished. */
const addPending = (teamId: string, sequenceId: SequenceRef) =>
  sql`EXISTS (SELECT 1 FROM jobs j WHERE j.team_id = ${teamId} AND j.sequence_id = ${sequenceId} AND j.status IN ${UNFINISHED_ADD})`;

/**
 * "An add-contacts job named it", whatever became of it. A finished one that added nobody (every contact
 * skipped), a failed one and a cancelled one count too: the job's record (its per-contact outcomes, the
 * credits it charged or gave back) is found and shown through its sequence (jobs are as visible as their
 * sequences), so deleting the sequence would leave that record pointing at nothing. Such a sequence is
 * archived instead, as one contacts were added to.
 */
const hadAdd = (teamId: string, sequenceId: SequenceRef) =>
  sql`EXISTS (SELECT 1 FROM jobs j WHERE j.team_id = ${teamId} AND j.sequence_id = ${sequenceId})`;

/**
 * "Somebody was ever added to it, or an add named it": a run, a job, or an email or a task of the sequence.
 * Such a sequence is archived, never deleted: its reports, replies, jobs and the contacts' timelines point at it.
 */
const hasHistory = (teamId: string, sequenceId: string) =>
  sql`(${hasRuns(sequenceId)} OR ${hadAdd(teamId, sequenceId)}
    OR EXISTS (SELECT 1 FROM messages WHERE sequence_id = ${sequenceId})
    OR EXISTS (SELECT 1 FROM tasks WHERE sequence_id = ${sequenceId}))`;

/** "A workflow adds contacts to it" (on or off: deleted, it would point at nothing). */
const inWorkflow = (teamId: string, sequenceId: SequenceRef) =>
  sql`EXISTS (SELECT 1 FROM workflows w WHERE w.team_id = ${teamId} AND w.sequence_id = ${sequenceId})`;

/** What keeps a sequence from being deleted (inUseSql); null: it can go. */
export type InUse = "contacts" | "add_pending" | "add_history" | "workflow";

/**
 * What keeps a sequence from being deleted, the one place that decides it for the screens (the list's and
 * the editor's menu) and for deleteSequence's refusal: "contacts" once anyone was added to it (a run);
 * "add_pending" while an add-contacts job naming it has not finished (scheduled, being planned, queued or
 * running) and nobody is in it yet; "add_history" when only a finished, failed or cancelled add named it
 * (hadAdd: its record stays with the sequence); "workflow" while a workflow adds to it; null when it can go.
 * The first that holds wins, so a sequence is never said to have contacts it has not. Only its runs, jobs
 * and workflows are read (indexed, cheap on a page of sequences); deleteSequence also checks its emails and
 * tasks in the delete itself.
 */
export const inUseSql = (teamId: string, sequenceId: SequenceRef) =>
  sql<InUse | null>`CASE WHEN ${hasRuns(sequenceId)} THEN 'contacts'
    WHEN ${addPending(teamId, sequenceId)} THEN 'add_pending'
    WHEN ${hadAdd(teamId, sequenceId)} THEN 'add_history'
    WHEN ${inWorkflow(teamId, sequenceId)} THEN 'workflow' END`;

/** The 409 sequence_has_history's words for each in_use that means history (inUseSql decides which applies). */
const HISTORY_WORDS: Record<Exclude<InUse, "workflow">, (people: number) => string> = {
  contacts: (n) =>
    `${n === 1 ? "1 person was" : `${n.toLocaleString("en-US")} people were`} added to it: archive it instead, its reports and replies stay`,
  add_pending: () => "An add of contacts to it is scheduled or under way (nobody is in it yet): archive it instead, which stops the add",
  add_history: () =>
    "An add of contacts to it finished or was cancelled (nobody is in it): its record stays with it, so archive it instead",
};

/** Why this sequence can't be deleted now, as the 409 to answer; null when it can. */
async function deleteRefusal(d: Db, teamId: string, sequenceId: string): Promise<ApiError | null> {
  const [[used], flows] = await Promise.all([
    d.all<{ people: number; history: number; in_use: InUse | null }>(
      sql`SELECT (SELECT count(DISTINCT contact_id) FROM enrollments WHERE sequence_id = ${sequenceId}) AS people, ${hasHistory(teamId, sequenceId)} AS history, ${inUseSql(teamId, sequenceId)} AS in_use`,
    ),
    d
      .select({ id: workflows.id, name: workflows.name })
      .from(workflows)
      .where(and(eq(workflows.teamId, teamId), eq(workflows.sequenceId, sequenceId)))
      .orderBy(asc(workflows.name), asc(workflows.id)),
  ]);
  if (used?.history) {
    const use = used.in_use;
    return new ApiError(
      "sequence_has_history",
      // Emails or tasks but no run and no job (none of which the screens read): its history all the same.
      use && use !== "workflow" ? HISTORY_WORDS[use](used.people) : "It has emails or tasks: archive it instead, its history stays",
      { people: used.people, in_use: use === "workflow" ? null : use },
    );
  }
  if (flows.length)
    return new ApiError(
      "sequence_in_workflow",
      `${flows.length === 1 ? "The workflow" : "The workflows"} ${flows.map((w) => `“${w.name}”`).join(", ")} ${flows.length === 1 ? "adds" : "add"} contacts to it: delete ${flows.length === 1 ? "it" : "them"} or point ${flows.length === 1 ? "it" : "them"} at another sequence first`,
      { workflows: flows },
    );
  return null;
}

/**
 * Delete a sequence for good, archived or not: only one nobody was ever added to and no add named
 * (hasHistory; otherwise 409 sequence_has_history, its words by in_use: archive it instead) and no workflow adds to (409 sequence_in_workflow, naming
 * them), by whoever may archive it. Its steps, their variants, its deleted-step links, shares and counters
 * go in one batch that holds only while it is still unused: otherwise the batch fails whole (abortUnless,
 * also when an add's job commits just before it) and deleteRefusal answers why. An add that reads the
 * sequence before this and commits after finds it gone and writes no job (add-contacts/jobs.ts). Then its
 * SequenceDO lets go of what it kept (its binding and places; it never had a run).
 */
export async function deleteSequence(env: Env, d: Db, caller: Caller, sequenceId: string): Promise<void> {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.manage");
  const entry = auditEntry(caller, "sequence.delete", "sequence", seq.id, { name: seq.name });
  try {
    await batchSql(d, [
      abortUnless(d, seq.id, sql`NOT ${hasHistory(seq.teamId, seq.id)} AND NOT ${inWorkflow(seq.teamId, seq.id)}`),
      // Audited only when there is still a sequence to delete (two deletes at once: one entry).
      sql`INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
          SELECT ${entry.id}, ${entry.teamId}, ${entry.userId}, ${entry.apiKeyId}, ${entry.action}, ${entry.targetType}, ${entry.targetId}, ${JSON.stringify(entry.details)}, ${entry.createdAt}
           WHERE EXISTS (SELECT 1 FROM sequences WHERE id = ${seq.id} AND team_id = ${seq.teamId})`,
      sql`DELETE FROM step_variants WHERE team_id = ${seq.teamId} AND step_id IN (SELECT id FROM steps WHERE sequence_id = ${seq.id})`,
      d.delete(steps).where(eq(steps.sequenceId, seq.id)),
      d.delete(deletedSteps).where(eq(deletedSteps.sequenceId, seq.id)),
      d.delete(sequenceShares).where(eq(sequenceShares.sequenceId, seq.id)),
      d.delete(sequenceCounts).where(eq(sequenceCounts.sequenceId, seq.id)),
      d.delete(sequences).where(and(eq(sequences.id, seq.id), eq(sequences.teamId, seq.teamId))),
    ]);
  } catch (err) {
    if (!refusedBy(err)) throw err;
    throw (await deleteRefusal(d, seq.teamId, seq.id)) ?? new ApiError("conflict", "Contacts are being added to it: archive it instead");
  }
  // A failure here leaves only the object's binding behind: it answers a sequence it can't load as gone.
  await engine
    .sequence(env, seq.id, seq.teamId)
    .forget()
    .catch((err: unknown) => console.error(`sequence ${seq.id} deleted; its SequenceDO kept its storage`, err));
}

/** The enrollments an archive finishes: those still open (`limit`: a page of them, in no order). */
async function openEnrollmentIds(d: Db, sequenceId: string, limit?: number): Promise<string[]> {
  const q = d
    .select({ id: enrollments.id })
    .from(enrollments)
    .where(and(eq(enrollments.sequenceId, sequenceId), inList(enrollments.status, ["active", "paused", "held"])));
  return (await (limit ? q.limit(limit) : q)).map((r) => r.id);
}

/** Bring an archived sequence back (off; its finished contacts stay finished), audited as the archive is. */
export async function unarchiveSequence(d: Db, caller: Caller, sequenceId: string): Promise<void> {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.manage");
  // One not archived is left as it is: nothing happened, so nothing is audited.
  if (seq.archivedAt === null) return;
  await batchSql(d, [
    d.update(sequences).set({ archivedAt: null, updatedAt: now() }).where(eq(sequences.id, seq.id)),
    d.insert(auditLog).values(auditEntry(caller, "sequence.unarchive", "sequence", seq.id, { archived_at: seq.archivedAt })),
  ]);
}

/**
 * Replace who the sequence is shared with; every user must be an active user of the caller's team (422
 * on shares.user_id naming the others): a disabled user can't sign in to use a share (teamUser's rule).
 */
export async function replaceShares(
  d: Db,
  caller: Caller,
  sequenceId: string,
  shares: readonly { user_id: string; access: "view" | "edit" }[],
): Promise<void> {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.manage");
  const ids = [...new Set(shares.map((s) => s.user_id))];
  const members = ids.length
    ? await d
        .select({ id: users.id, disabledAt: users.disabledAt })
        .from(users)
        .where(and(eq(users.teamId, caller.teamId), inList(users.id, ids)))
    : [];
  const refused = ids.flatMap((i) => {
    const m = members.find((u) => u.id === i);
    return m && !m.disabledAt ? [] : [{ field: "shares.user_id", message: m ? `User ${i} is disabled` : `No user ${i} in your team` }];
  });
  if (refused.length)
    throw new ApiError("validation_failed", refused.length === 1 ? refused[0]!.message : "Some users can't be given a share", {
      fields: refused,
    });
  await batchSql(d, [
    d.delete(sequenceShares).where(eq(sequenceShares.sequenceId, seq.id)),
    // A user named twice keeps the last access given.
    ...[...new Map(shares.filter((s) => s.user_id !== seq.ownerId).map((s) => [s.user_id, s.access]))].map(([userId, access]) =>
      d.insert(sequenceShares).values({ sequenceId: seq.id, userId, teamId: caller.teamId, access }),
    ),
    d.insert(auditLog).values(auditEntry(caller, "sequence.share", "sequence", seq.id, { shares })),
  ]);
}

/** Engine calls the cron's repair makes per tick at most, for each of its two repairs. */
const REPAIR_CALLS = 25;
/** Open enrollments of an archived sequence finished per call of its repair. */
const FINISH_PAGE = 500;
/**
 * Held for these reasons, a contact of a sequence that is on with a step on should have been released:
 * held while it was off, or while every step was off (SequenceDO.processDue).
 */
const HELD_UNTIL_ON = ["sequence_inactive", "no_step_on"];

/**
 * Invariant 10's repair of turning a sequence on and of archiving it, run by the cron: D1 is written
 * first and the SequenceDO told after (updateSequence, archiveSequence), so an engine call that failed
 * (object out of reach, request cancelled) left held contacts under a sequence that shows On, which
 * nothing else releases, or open contacts in an archived sequence, which count as "active in another
 * sequence" elsewhere. Each is asked again, tick after tick, until D1 shows it done; both calls are
 * idempotent. When nothing is wrong it reads the partial indexes of the sequences that are on and of
 * those archived (migration 0048), one index probe each, and calls nothing. A failing sequence doesn't
 * stop the others; the step fails at the end, naming how many.
 */
export async function repairSequenceEngines(env: Env, d: Db): Promise<{ activated: number; finished: number }> {
  const failures: unknown[] = [];
  let activated = 0;
  let finished = 0;
  // `active = 1` spelled out (not bound): only a literal lets SQLite use the partial index.
  const released = await d
    .select({ id: sequences.id, teamId: sequences.teamId })
    .from(sequences)
    .where(
      and(
        sql`${sequences.active} = 1`,
        isNull(sequences.archivedAt),
        exists(
          d
            .select({ x: sql`1` })
            .from(steps)
            .where(and(eq(steps.sequenceId, sequences.id), eq(steps.enabled, true))),
        ),
        exists(
          d
            .select({ x: sql`1` })
            .from(enrollments)
            .where(
              and(eq(enrollments.sequenceId, sequences.id), eq(enrollments.status, "held"), inList(enrollments.reason, HELD_UNTIL_ON)),
            ),
        ),
      ),
    )
    .orderBy(asc(sequences.id))
    .limit(REPAIR_CALLS);
  for (const s of released) {
    try {
      activated += await engine.sequence(env, s.id, s.teamId).activate();
    } catch (err) {
      failures.push(err);
    }
  }
  const archived = await d
    .select({ id: sequences.id, teamId: sequences.teamId })
    .from(sequences)
    .where(
      and(
        isNotNull(sequences.archivedAt),
        exists(
          d
            .select({ x: sql`1` })
            .from(enrollments)
            .where(and(eq(enrollments.sequenceId, sequences.id), inList(enrollments.status, ["active", "paused", "held"]))),
        ),
      ),
    )
    .orderBy(asc(sequences.id))
    .limit(REPAIR_CALLS);
  let calls = 0;
  for (const s of archived) {
    try {
      // A page per call, while this tick's calls last; the next tick goes on with the rest.
      // A page that changed nothing (rows D1 still shows open that the object has closed) is not asked
      // again this tick.
      for (let page = FINISH_PAGE; page === FINISH_PAGE && calls < REPAIR_CALLS;) {
        const open = await openEnrollmentIds(d, s.id, FINISH_PAGE);
        if (!open.length) break;
        calls++;
        const changed = await engine.sequence(env, s.id, s.teamId).finish(open, "sequence_archived");
        finished += changed.length;
        page = changed.length ? open.length : 0;
      }
    } catch (err) {
      failures.push(err);
    }
    if (calls >= REPAIR_CALLS) break;
  }
  if (failures.length)
    throw new AggregateError(
      failures,
      `${failures.length} sequence(s) could not be told they were turned on or archived; tried again next tick`,
    );
  return { activated, finished };
}
