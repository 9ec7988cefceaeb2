import { z } from "@hono/zod-openapi";
import { and, asc, count, desc, eq, gt, isNotNull, isNull, lt, lte, or, sql, type SQL } from "drizzle-orm";
import { batchSql, db, type Db } from "../db/client";
import { inList, listParam } from "../db/in-list";
import { auditLog, contactChanges, contacts, jobOutcomes, jobs, sequences, users, workflowRuns, workflows } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { idList } from "../lib/schemas";
import { authorize, mailboxFor, sequenceFor, teamUser, visibleSequence, workflowAllows, workflowFor } from "./access";
import { auditEntry } from "./audit";
import { commitAddContacts } from "./add-contacts/jobs";
import { settleJobStatements } from "./credits";
import { OUTCOME_REASONS, PLAN_PAGE, type AddContactsRequest } from "./add-contacts/request";
import { MAX_SEARCH_WORDS, peopleWhere, words, type PeopleFilters } from "./people-search";
import { assertWorkflowCanRun, refusedBy } from "./state-preconditions";

/**
 * Workflows: automations that add contacts to a sequence through the one add-contacts pipeline.
 * - "schedule": every interval, a people search's net-new matches (Net New Check). The unique
 *   (workflow, slot) run row is the lease: overlapping cron ticks never run one slot twice.
 * - "change": for logged contact changes (created, stage changed, a field changed) whose contact matches
 *   the filters. A tick claims the changes past the workflow's cursor as one run holding their contacts (the
 *   run row and the cursor's move in one transaction), so a change is acted on once however often ticks
 *   overlap, and a list import that changes 2,000 contacts makes one run and one job, not 2,000. The run's
 *   job has the run's id and its first change as idempotency key, so a retried run commits one job.
 * Every run that adds nobody carries a reason (invariant 10).
 */

/**
 * How long a claimed run is held before another tick may call it interrupted: with the first retry's wait
 * (INTERRUPTED_RETRY_BASE_MS), shorter than the quiet time after which the cron fails a job still preparing
 * (QUIET_MS), so the retry of a run (a change's, a slot's, a Run now's) whose tick died between committing its job
 * and starting it starts that job first.
 */
const LEASE_MS = 5 * 60_000;
/** Changes one change workflow looks at per tick. */
const CHANGES_PER_TICK = 500;
/** Change log rows are kept this long (a workflow that is on catches up within a minute). */
/** Change workflows one cron tick looks at (those furthest behind first). */
const CHANGE_WORKFLOWS_PER_TICK = 50;
const CHANGE_RETENTION_MS = 7 * 86_400_000;
/** Failed ticks in a row that turn a change workflow off (checkChanges). */
const CHECK_FAILURES_OFF = 3;
/**
 * A change run that failed or was interrupted before its job was committed is tried again (its job's
 * idempotency key is the change, so a try that did commit is found, not committed twice): at most this
 * many tries in all, ...
 */
export const CHANGE_RUN_ATTEMPTS = 8;
/** ... within a day of the first (acting on a change later than that would surprise whoever made it) ... */
const CHANGE_RETRY_WINDOW_MS = 86_400_000;
/** ... each one this long after the last failed, doubling (10, 20, 40 … 640 minutes) ... */
const CHANGE_RETRY_BASE_MS = 10 * 60_000;
/**
 * ... or, for a run whose tick died (interrupted), this long after its lease ran out (not after the sweep that saw it,
 * whenever that came), doubling (1, 2, 4 … 64 minutes):
 * the first try comes before the cron fails a job the dead tick left preparing as quiet (lease 5 + 1 < QUIET_MS 10),
 * and a tick that dies every time is not tried again every lease alike. After CHANGE_RUN_ATTEMPTS the sweep gives the
 * run up (reason gave_up) and the job a try committed, never started, is cancelled (endUnretriedJobs).
 */
const INTERRUPTED_RETRY_BASE_MS = 60_000;
/**
 * People a schedule workflow's job held back (a warning such as an unverified email) or skipped stay net-new, so
 * its search would find them first again every run and add nobody for good: its runs leave out those its jobs
 * held back or skipped in this long. After it they are looked at again (an email may have been verified since).
 */
const HELD_BACK_MS = 30 * 86_400_000;
/**
 * Failures another try doesn't mend: the owner gone or without the sequence, the contact no longer matching, a run
 * given up after its ticks died CHANGE_RUN_ATTEMPTS times, a run whose job was cancelled as its workflow was off.
 */
const FINAL_REASONS = ["owner_missing", "forbidden", "not_found", "no_longer_matches", "gave_up", "workflow_off"];

/**
 * SQL: the run (a workflow_runs row) failed before its job was committed and may be tried again at `t`: a change
 * run (`kind` "change"), or a schedule's run whose tick died ("schedule": a slot's or a Run now's, interrupted only;
 * one that failed on its own leaves its people to the next slot, and whoever asked for a Run now saw why), after
 * its wait (CHANGE_RETRY_BASE_MS, INTERRUPTED_RETRY_BASE_MS), at most CHANGE_RUN_ATTEMPTS tries. Read through
 * workflow_runs_retry_idx (failed runs without a job, by finish time): the `+` keeps the planner off
 * workflow_runs_change_uq, which holds every change run the workflow ever had. Its finish time is bounded below by
 * the retry window (exact: a run finishes after it starts), so the read ranges over the window's failed runs, not
 * over every one the workflow ever had (one short on credits each slot keeps them for good).
 */
const retryDue = (t: number, kind: "change" | "schedule") => sql`(${workflowRuns.status} = 'failed' AND ${workflowRuns.jobId} IS NULL
  AND ${
    kind === "change"
      ? sql`+${workflowRuns.changeId} IS NOT NULL`
      : sql`+${workflowRuns.changeId} IS NULL AND coalesce(${workflowRuns.changeKind}, 'manual') = 'manual' AND ${workflowRuns.slot} >= 0
            AND ${workflowRuns.reason} = 'interrupted'`
  }
  AND ${workflowRuns.finishedAt} <= ${t} AND ${workflowRuns.finishedAt} >= ${t - CHANGE_RETRY_WINDOW_MS}
  AND ${workflowRuns.attempts} < ${CHANGE_RUN_ATTEMPTS} AND ${workflowRuns.startedAt} >= ${t - CHANGE_RETRY_WINDOW_MS}
  AND coalesce(${workflowRuns.reason}, '') NOT IN (SELECT value FROM json_each(${JSON.stringify(FINAL_REASONS)}))
  AND (CASE WHEN ${workflowRuns.reason} = 'interrupted'
             THEN ${workflowRuns.leaseUntil} + ${INTERRUPTED_RETRY_BASE_MS} * (1 << (${workflowRuns.attempts} - 1))
             ELSE ${workflowRuns.finishedAt} + ${CHANGE_RETRY_BASE_MS} * (1 << (${workflowRuns.attempts} - 1)) END) <= ${t})`;

/** Whether a run will be tried again (the run log says so, or that it was given up): as retryDue. */
const willRetry = (
  r: {
    status: string;
    job_id: string | null;
    change_id: number | null;
    change_kind: string | null;
    slot: number;
    attempts: number;
    started_at: number;
    reason: string | null;
  },
  kind: "change" | "schedule",
) =>
  r.status === "failed" &&
  r.job_id === null &&
  (kind === "change"
    ? r.change_id !== null
    : r.change_id === null && (r.change_kind ?? "manual") === "manual" && r.slot >= 0 && r.reason === "interrupted") &&
  r.attempts < CHANGE_RUN_ATTEMPTS &&
  r.started_at >= now() - CHANGE_RETRY_WINDOW_MS &&
  !FINAL_REASONS.includes(r.reason ?? "");

export const CHANGE_KINDS = ["created", "stage", "field"] as const;
/** The contact fields whose change a workflow can trigger on (those the change log records). */
export const CHANGE_FIELDS = [
  "first_name",
  "last_name",
  "title",
  "company",
  "domain",
  "email",
  "email_status",
  "phone",
  "linkedin_url",
  "city",
  "country",
  "time_zone",
  "owner_id",
] as const;

/** A filter's ids: at most 50 different ones (a repeat counts once, as in every list of ids). */
const filterIds = () => idList(50, { min: 0 }).optional();

/** Which contacts a change workflow acts on: every array is OR within itself, AND across. */
export const ContactFilters = z
  .object({
    stage_ids: filterIds().openapi({ description: "The contact is (now) in one of these stages" }),
    owner_ids: filterIds().openapi({ description: "The contact is owned by one of these users" }),
    list_ids: filterIds().openapi({ description: "The contact is in one of these lists" }),
    titles: z
      .array(
        z
          .string()
          .trim()
          .min(1)
          .max(200)
          // As the people search's titles: a title's words are each a term of the match, so they are bounded.
          .refine((v) => words(v).length <= MAX_SEARCH_WORDS, {
            message: `Titles take at most ${MAX_SEARCH_WORDS} words (small words such as “of” and “the” aside)`,
          }),
      )
      .max(50)
      .optional()
      .openapi({
        description: `The title has every word of one of these, as whole words ("CTO" finds "Co-founder & CTO", not "Director"); each at most ${MAX_SEARCH_WORDS} words`,
      }),
    countries: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
    email_statuses: z
      .array(z.enum(["verified", "unverified", "guessed", "unavailable"]))
      .max(4)
      .optional(),
  })
  // Strict: a misspelt key (stage_id) stripped away would leave no filter, and the workflow would act on every contact.
  .strict()
  .openapi("WorkflowContactFilters");
export type ContactFilters = z.infer<typeof ContactFilters>;

export const WorkflowTrigger = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("schedule") }).strict(),
    z
      .object({
        kind: z.literal("change"),
        on: z
          .array(z.enum(CHANGE_KINDS))
          .min(1)
          .max(3)
          .openapi({ description: "A contact is created, its stage changes, or one of its fields changes" }),
        fields: z
          .array(z.enum(CHANGE_FIELDS))
          .max(CHANGE_FIELDS.length)
          .optional()
          .openapi({ description: "For field changes: only these fields (none: any)" }),
        filters: ContactFilters.default({}),
      })
      .strict(),
  ])
  .openapi("WorkflowTrigger");
export type WorkflowTrigger = z.infer<typeof WorkflowTrigger>;

export interface WorkflowOptions {
  mailbox_ids?: string[];
  overrides?: AddContactsRequest["overrides"];
  enrich?: boolean;
}

export interface WorkflowInput {
  name: string;
  sequence_id: string;
  filters: PeopleFilters;
  trigger?: WorkflowTrigger;
  interval_minutes?: number;
  max_per_run?: number;
  active?: boolean;
  mailbox_ids?: string[];
  overrides?: AddContactsRequest["overrides"];
  enrich?: boolean;
}

type WorkflowRow = typeof workflows.$inferSelect;

const runColumns = {
  id: workflowRuns.id,
  slot: workflowRuns.slot,
  status: workflowRuns.status,
  found: workflowRuns.found,
  job_id: workflowRuns.jobId,
  // Null until the job has finished: jobs.enrolled is 0 (never null) while it is still adding, which read "Added 0".
  added: sql<number | null>`CASE WHEN ${jobs.status} IN ('completed', 'failed', 'cancelled') THEN ${jobs.enrolled} END`,
  // As added: what the job skipped and held back (a warning), once it has finished. A change run adds a batch of
  // contacts, so its log line counts them instead of naming one contact.
  skipped: sql<number | null>`CASE WHEN ${jobs.status} IN ('completed', 'failed', 'cancelled') THEN ${jobs.skipped} END`,
  held_back: sql<number | null>`CASE WHEN ${jobs.status} IN ('completed', 'failed', 'cancelled') THEN ${jobs.warned} END`,
  // Why its job skipped whom, counted per reason (a JSON object): a run that skipped everyone (`reason` below:
  // all_skipped) says why ("Already in this sequence"), not a guess. Read through job_outcomes_outcome_idx, and only
  // for those runs: a page of runs that added people reads none of their outcomes.
  skip_reasons: sql<
    string | null
  >`CASE WHEN ${jobs.status} = 'completed' AND ${jobs.enrolled} = 0 AND ${jobs.warned} = 0 AND ${jobs.skipped} > 0
    THEN (SELECT json_group_object(reason, n) FROM (SELECT r.value AS reason, count(*) AS n FROM ${jobOutcomes} o, json_each(o.reasons) r
          WHERE o.job_id = ${jobs.id} AND o.outcome = 'skipped' GROUP BY r.value ORDER BY n DESC, r.value)) END`.as("skip_reasons"),
  // Named apart from the run's status: a batch answers rows by column name (listWorkflows reads runs in one).
  job_status: sql<string | null>`${jobs.status}`.as("job_status"),
  // A run whose job added nobody says why (invariant 10): everyone it found was held back by a warning, or skipped.
  // A run limited by the balance (limited_by_credits) that added nobody says why it added nobody.
  reason: sql<
    string | null
  >`coalesce(nullif(${workflowRuns.reason}, 'limited_by_credits'), CASE WHEN ${jobs.status} = 'completed' AND ${jobs.enrolled} = 0
    THEN CASE WHEN ${jobs.warned} > 0 THEN 'held_back' WHEN ${jobs.skipped} > 0 THEN 'all_skipped' END END, ${workflowRuns.reason})`,
  started_at: workflowRuns.startedAt,
  finished_at: workflowRuns.finishedAt,
  change_id: workflowRuns.changeId,
  change_kind: workflowRuns.changeKind,
  contact_id: workflowRuns.contactId,
  attempts: workflowRuns.attempts,
  contact_name: sql<
    string | null
  >`(select trim(${contacts.firstName} || ' ' || ${contacts.lastName}) from ${contacts} where ${contacts.id} = ${workflowRuns.contactId})`,
};

type RunRow = Awaited<ReturnType<typeof runsQuery>>[number];

function runsQuery(d: Db, where: SQL | undefined) {
  return d.select(runColumns).from(workflowRuns).leftJoin(jobs, eq(jobs.id, workflowRuns.jobId)).where(where);
}

export interface RunTrigger {
  kind: "schedule" | "manual" | "change";
  change_id: number | null;
  change: (typeof CHANGE_KINDS)[number] | null;
  contact_id: string | null;
  contact_name: string | null;
}

const isChangeKind = (k: string | null): k is (typeof CHANGE_KINDS)[number] => (CHANGE_KINDS as readonly (string | null)[]).includes(k);

/** A run's skips per reason, most first, in words (the add-contacts job's reasons), from its `skip_reasons` object. */
function skippedReasons(json: string | null): { reason: string; label: string; count: number }[] | null {
  if (!json) return null;
  const counts = JSON.parse(json) as Record<string, number>;
  return Object.entries(counts)
    .map(([reason, n]) => ({ reason, label: OUTCOME_REASONS[reason as keyof typeof OUTCOME_REASONS]?.label ?? reason, count: n }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

/** A run as the run log shows it: what it found, what its job added, and what triggered it. */
export function presentRun(r: RunRow, w: Pick<WorkflowRow, "active" | "triggerKind">) {
  const trigger: RunTrigger =
    r.change_id !== null
      ? {
          kind: "change",
          change_id: r.change_id,
          change: isChangeKind(r.change_kind) ? r.change_kind : null,
          contact_id: r.contact_id,
          contact_name: r.contact_name,
        }
      : { kind: r.change_kind === "manual" ? "manual" : "schedule", change_id: null, change: null, contact_id: null, contact_name: null };
  return {
    id: r.id,
    slot: r.slot,
    status: r.status,
    found: r.found,
    job_id: r.job_id,
    added: r.added ?? null,
    skipped: r.skipped ?? null,
    held_back: r.held_back ?? null,
    skipped_reasons: skippedReasons(r.skip_reasons),
    job_status: r.job_status as string | null,
    reason: r.reason,
    started_at: r.started_at,
    finished_at: r.finished_at,
    trigger,
    attempts: r.attempts,
    // Only an active workflow's tick tries runs again: one turned off says so by not promising it.
    will_retry: w.active && willRetry(r, w.triggerKind === "change" ? "change" : "schedule"),
  };
}

async function present(d: Db, caller: Caller, w: WorkflowRow) {
  const [seq, last] = await Promise.all([
    d.query.sequences.findFirst({
      columns: { name: true, active: true, archivedAt: true },
      where: and(eq(sequences.id, w.sequenceId), eq(sequences.teamId, w.teamId)),
    }),
    runsQuery(d, eq(workflowRuns.workflowId, w.id)).orderBy(desc(workflowRuns.startedAt), desc(workflowRuns.id)).limit(1),
  ]);
  return presentWith(caller, w, seq, last[0]);
}

type SequenceFacts = { name: string; active: boolean; archivedAt: number | null } | undefined;

function presentWith(caller: Caller, w: WorkflowRow, seq: SequenceFacts, last: RunRow | undefined) {
  const options = w.options as WorkflowOptions;
  const trigger: WorkflowTrigger = w.triggerKind === "change" ? (w.trigger as WorkflowTrigger) : { kind: "schedule" };
  return {
    id: w.id,
    name: w.name,
    owner_id: w.ownerId,
    sequence_id: w.sequenceId,
    sequence_name: seq?.name ?? null,
    sequence_active: !!seq?.active && !seq?.archivedAt,
    filters: { saved: "any", ...w.filters } as PeopleFilters,
    trigger,
    interval_minutes: w.intervalMinutes,
    max_per_run: w.maxPerRun,
    active: w.active,
    off_reason: w.active ? null : w.offReason,
    mailbox_ids: options.mailbox_ids ?? [],
    overrides: (options.overrides ?? {}) as Record<string, boolean>,
    enrich: !!options.enrich,
    next_run_at: w.triggerKind === "schedule" ? w.nextRunAt : null,
    last_run_at: w.lastRunAt,
    last_run: last ? presentRun(last, w) : null,
    created_at: w.createdAt,
    // Its switch, Run now, Edit and Delete are its owner's and admins' (workflowFor): hidden from the others.
    can_manage: workflowAllows(caller, "workflow.manage", w.ownerId),
  };
}

export type WorkflowView = ReturnType<typeof presentWith>;

/**
 * The team's workflows the caller may see (as their sequences), by name, with their last run: the workflows,
 * their sequences and their last runs read in one batch (one round trip, the caller's check riding with it).
 * Each workflow read its sequence and its last run on its own: 1 + 2N round trips for N workflows.
 */
export async function listWorkflows(d: Db, caller: Caller): Promise<WorkflowView[]> {
  const visible = and(eq(workflows.teamId, caller.teamId), visibleSequence(caller, workflows.sequenceId));
  // In a subquery (the workflows the list shows), its own table reference: visibleSequence names workflows.sequence_id.
  const shown = (col: SQL) => sql`(SELECT ${col} FROM ${workflows} WHERE ${visible})`;
  const [rows, seqs, runs] = await d.batch([
    d.select().from(workflows).where(visible).orderBy(asc(workflows.name), asc(workflows.id)),
    d
      .select({ id: sequences.id, name: sequences.name, active: sequences.active, archivedAt: sequences.archivedAt })
      .from(sequences)
      .where(and(eq(sequences.teamId, caller.teamId), sql`${sequences.id} IN ${shown(sql`${workflows.sequenceId}`)}`)),
    d
      .select({ ...runColumns, workflow_id: workflowRuns.workflowId })
      .from(workflowRuns)
      .leftJoin(jobs, eq(jobs.id, workflowRuns.jobId))
      .where(
        and(
          eq(workflowRuns.teamId, caller.teamId),
          sql`${workflowRuns.id} IN ${shown(
            sql`(SELECT r.id FROM workflow_runs r WHERE r.workflow_id = ${workflows.id} ORDER BY r.started_at DESC, r.id DESC LIMIT 1)`,
          )}`,
        ),
      ),
  ]);
  const seqById = new Map(seqs.map((s) => [s.id, s]));
  const lastByWorkflow = new Map(runs.map((r) => [r.workflow_id, r]));
  return rows.map((w) => presentWith(caller, w, seqById.get(w.sequenceId), lastByWorkflow.get(w.id)));
}

export async function getWorkflow(d: Db, caller: Caller, id: string): Promise<WorkflowView> {
  return present(d, caller, await workflowFor(d, caller, id));
}

/** A workflow adds to a sequence from mailboxes: its owner must be allowed to do both (invariant 9). */
async function checkTargets(
  d: Db,
  caller: Caller,
  sequenceId: string | undefined,
  mailboxIds: readonly string[] | undefined,
  trigger?: WorkflowTrigger,
) {
  if (sequenceId) await sequenceFor(d, caller, sequenceId, "sequence.edit");
  for (const id of new Set(mailboxIds ?? [])) await mailboxFor(d, caller, id, "mailbox.send");
  if (trigger?.kind === "change") await checkContactFilters(d, caller.teamId, trigger.filters);
}

/**
 * An admin's edit of someone else's workflow: it runs as its owner (ownerCaller), so the owner must be able to
 * add to the sequence and send from the mailboxes it names. Checked only as the admin, such an edit was saved
 * and the owner's next run failed "forbidden" and turned the workflow off; now it is a 422 naming the field.
 * Given to a new owner (`newOwner`), the workflow's sequence and mailboxes as they will be are checked against
 * them: a target the patch doesn't change is named as `owner_id`, the field that made it fail.
 */
async function checkOwnerTargets(d: Db, w: WorkflowRow, b: WorkflowPatch, newOwner: Caller | null) {
  const owner = newOwner ?? (await ownerCaller(d, w));
  // A disabled or removed owner runs nothing (owner_missing): there are no rights of theirs to check against.
  if (!owner) return;
  const who = newOwner ? "The new owner" : "The workflow's owner";
  const asField = async (field: string, message: string, check: () => Promise<unknown>) => {
    try {
      await check();
    } catch (err) {
      if (err instanceof ApiError && (err.code === "forbidden" || err.code === "not_found"))
        throw new ApiError("validation_failed", message, { fields: [{ field, message }] });
      throw err;
    }
  };
  const sequenceId = b.sequence_id ?? (newOwner ? w.sequenceId : undefined);
  if (sequenceId)
    await asField(
      b.sequence_id ? "sequence_id" : "owner_id",
      `${who} can't add contacts to ${b.sequence_id ? "this" : "the workflow's"} sequence (it isn't shared with them to edit)`,
      () => sequenceFor(d, owner, sequenceId, "sequence.edit"),
    );
  const mailboxIds = b.mailbox_ids ?? (newOwner ? ((w.options as WorkflowOptions).mailbox_ids ?? []) : []);
  for (const id of new Set(mailboxIds))
    await asField(
      b.mailbox_ids ? "mailbox_ids" : "owner_id",
      b.mailbox_ids
        ? `${who} can't send from this mailbox (only its user or an admin can)`
        : `${who} can't send from a mailbox the workflow sends from (only its user or an admin can): untick it, or give them the mailbox first`,
      () => mailboxFor(d, owner, id, "mailbox.send"),
    );
}

/**
 * A change workflow's lists, stages and owners must be the team's (404 naming those that aren't, as for
 * any foreign id): one that isn't matches nobody, and the workflow would wait forever on nothing.
 */
async function checkContactFilters(d: Db, teamId: string, f: ContactFilters) {
  const ids = (v: readonly string[] | undefined) => listParam([...new Set(v ?? [])]);
  const [found] = await d.all<{ lists: string; stages: string; owners: string }>(sql`
    SELECT (SELECT json_group_array(id) FROM lists WHERE team_id = ${teamId} AND id IN (SELECT value FROM json_each(${ids(f.list_ids)}))) AS lists,
           (SELECT json_group_array(id) FROM contact_stages WHERE team_id = ${teamId} AND id IN (SELECT value FROM json_each(${ids(f.stage_ids)}))) AS stages,
           (SELECT json_group_array(id) FROM users WHERE team_id = ${teamId} AND id IN (SELECT value FROM json_each(${ids(f.owner_ids)}))) AS owners`);
  const missing = (asked: readonly string[] | undefined, json: string | undefined) => {
    const have = new Set(JSON.parse(json ?? "[]") as string[]);
    return [...new Set(asked ?? [])].filter((id) => !have.has(id));
  };
  const details = Object.fromEntries(
    (
      [
        ["list_ids", missing(f.list_ids, found?.lists)],
        ["stage_ids", missing(f.stage_ids, found?.stages)],
        ["owner_ids", missing(f.owner_ids, found?.owners)],
      ] as const
    ).filter(([, m]) => m.length),
  );
  if (Object.keys(details).length)
    throw new ApiError("not_found", "The trigger's filters name lists, stages or users that are not in your team", details);
}

/** The team's change workflows whose trigger filters on this list (a list they name can't be deleted). */
export function workflowsFilteringOnList(d: Db, teamId: string, listId: string) {
  return d.all<{ id: string; name: string }>(sql`
    SELECT w.id, w.name FROM workflows w
     WHERE w.team_id = ${teamId} AND w.trigger_kind = 'change'
       AND EXISTS (SELECT 1 FROM json_each(w."trigger", '$.filters.list_ids') l WHERE l.value = ${listId})
     ORDER BY w.name`);
}

/** The newest change logged for a team: a change workflow turned on starts after it. */
async function lastChangeId(d: Db, teamId: string): Promise<number> {
  const r = await d
    .select({ id: sql<number | null>`max(${contactChanges.id})` })
    .from(contactChanges)
    .where(eq(contactChanges.teamId, teamId));
  return r[0]?.id ?? 0;
}

/**
 * A workflow's sequence_id as a write of it: the sequence's id while it is still one of the team's, else NULL,
 * which the column refuses (NOT NULL), failing the write's whole batch. checkTargets read the sequence, but a
 * delete committed since then (its in-batch guard sees only workflows that already exist) left a workflow
 * pointing at nothing; the write itself now holds only while the sequence exists. Its callers tell that failure
 * apart with refusedBy(err, "workflows.sequence_id") and answer the 404 checkTargets would have.
 */
const liveSequenceId = (teamId: string, sequenceId: string) =>
  sql<string>`(SELECT id FROM ${sequences} WHERE ${sequences.id} = ${sequenceId} AND ${sequences.teamId} = ${teamId})`;

/**
 * A new workflow, owned by the caller. It starts off unless `active: true` is asked for (then its
 * sequence must be on): a workflow adds contacts on its own, so the user turns it on knowingly.
 */
export async function createWorkflow(d: Db, caller: Caller, b: WorkflowInput): Promise<string> {
  authorize(caller, "workflow.create");
  await checkTargets(d, caller, b.sequence_id, b.mailbox_ids, b.trigger);
  const active = b.active === true;
  if (active) await assertWorkflowCanRun(d, caller.teamId, b.sequence_id);
  const id = newId();
  const t = now();
  const trigger = b.trigger ?? { kind: "schedule" as const };
  const write = d.batch([
    d.insert(workflows).values({
      id,
      teamId: caller.teamId,
      ownerId: caller.userId,
      name: b.name,
      sequenceId: liveSequenceId(caller.teamId, b.sequence_id),
      filters: b.filters,
      options: { mailbox_ids: b.mailbox_ids, overrides: b.overrides, enrich: b.enrich },
      intervalMinutes: b.interval_minutes ?? 1440,
      maxPerRun: b.max_per_run ?? 100,
      active,
      nextRunAt: t + 60_000,
      triggerKind: trigger.kind,
      trigger,
      changeCursor: await lastChangeId(d, caller.teamId),
      createdAt: t,
    }),
    d.insert(auditLog).values(auditEntry(caller, "workflow.create", "workflow", id)),
  ]);
  await write.catch((err: unknown) => {
    throw refusedBy(err, "workflows.sequence_id") ? notFound("Sequence") : err;
  });
  return id;
}

/** A workflow's patch: its fields, and (admins only) a new owner it runs as. */
export type WorkflowPatch = Partial<WorkflowInput> & { owner_id?: string };

/**
 * The user a workflow is given to (admins only): an active user of the team, else 422 naming owner_id. A disabled
 * user's workflows turn off at their next run (owner_missing); this is how someone else takes them over.
 */
async function newOwnerOf(d: Db, caller: Caller, w: WorkflowRow, ownerId: string | undefined): Promise<Caller | null> {
  if (ownerId === undefined || ownerId === w.ownerId) return null;
  authorize(caller, "workflow.manage", "Only an admin can give a workflow to someone else");
  const u = await teamUser(d, caller, ownerId, "owner_id");
  return { teamId: w.teamId, userId: u.id, role: u.role, via: "api_key" };
}

/** Run-given reasons that were about its owner: a new owner makes them untrue. */
const OWNER_OFF_REASONS = ["owner_missing", "forbidden"];

/** Change a workflow or turn it on/off (its owner or an admin); an admin may give it to another user. */
export async function updateWorkflow(d: Db, caller: Caller, id: string, b: WorkflowPatch): Promise<void> {
  const w = await workflowFor(d, caller, id, "workflow.manage");
  const newOwner = await newOwnerOf(d, caller, w, b.owner_id);
  await checkTargets(d, caller, b.sequence_id, b.mailbox_ids, b.trigger);
  if (newOwner || w.ownerId !== caller.userId) await checkOwnerTargets(d, w, b, newOwner);
  const active = b.active ?? w.active;
  // Turning it on, or pointing a workflow that is on at another sequence: that sequence must be on.
  if (b.active === true || (b.sequence_id && active)) await assertWorkflowCanRun(d, caller.teamId, b.sequence_id ?? w.sequenceId);
  const options = {
    ...(w.options as WorkflowOptions),
    ...(b.mailbox_ids && { mailbox_ids: b.mailbox_ids }),
    ...(b.overrides && { overrides: b.overrides }),
    ...(b.enrich !== undefined && { enrich: b.enrich }),
  };
  const patch: Partial<typeof workflows.$inferInsert> = { options, active };
  // Turned on or off by a user: no longer off for the reason a run gave (turnOff).
  if (b.active !== undefined) patch.offReason = null;
  if (newOwner) {
    patch.ownerId = newOwner.userId;
    // It stays off (someone turns it on knowingly, as a new workflow), but no longer for its old owner's sake.
    if (w.offReason && OWNER_OFF_REASONS.includes(w.offReason)) patch.offReason = null;
  }
  if (b.name !== undefined) patch.name = b.name;
  if (b.filters !== undefined) patch.filters = b.filters;
  if (b.interval_minutes !== undefined) patch.intervalMinutes = b.interval_minutes;
  if (b.max_per_run !== undefined) patch.maxPerRun = b.max_per_run;
  if (b.trigger !== undefined) {
    patch.triggerKind = b.trigger.kind;
    patch.trigger = b.trigger;
    // Becoming a change workflow: it acts on changes from now on, not on ones logged for others before.
    if (b.trigger.kind === "change" && w.triggerKind !== "change") patch.changeCursor = await lastChangeId(d, caller.teamId);
  }
  if (b.active === true && !w.active) {
    // Turned on: the next slot is a minute away, and a change workflow acts on changes from now on.
    patch.nextRunAt = now() + 60_000;
    patch.changeCursor = await lastChangeId(d, caller.teamId);
    patch.checkFailures = 0;
  } else if (b.trigger?.kind === "schedule" && w.triggerKind !== "schedule") {
    // Becoming a schedule: its first slot is a minute away (its old next_run_at may be a month old).
    patch.nextRunAt = now() + 60_000;
  } else if (b.interval_minutes !== undefined && b.interval_minutes !== w.intervalMinutes) {
    // A new interval counts from the last run (or from now): not after the old interval's slot.
    patch.nextRunAt = Math.max(now() + 60_000, (w.lastRunAt ?? now()) + b.interval_minutes * 60_000);
  }
  await d
    .batch([
      d
        .update(workflows)
        .set({ ...patch, ...(b.sequence_id !== undefined && { sequenceId: liveSequenceId(caller.teamId, b.sequence_id) }) })
        .where(eq(workflows.id, w.id)),
      d
        .insert(auditLog)
        .values(auditEntry(caller, "workflow.update", "workflow", w.id, { ...b, ...(newOwner && { previous_owner_id: w.ownerId }) })),
    ])
    .catch((err: unknown) => {
      throw refusedBy(err, "workflows.sequence_id") ? notFound("Sequence") : err;
    });
}

/** Delete a workflow and its run log (its runs' jobs stay). */
export async function deleteWorkflow(d: Db, caller: Caller, id: string): Promise<void> {
  const w = await workflowFor(d, caller, id, "workflow.manage");
  await d.batch([
    d.delete(workflows).where(eq(workflows.id, w.id)),
    d.delete(workflowRuns).where(eq(workflowRuns.workflowId, w.id)),
    d.insert(auditLog).values(auditEntry(caller, "workflow.delete", "workflow", w.id)),
  ]);
}

/** A workflow's run log, newest first. */
export async function workflowRunLog(d: Db, caller: Caller, id: string, page: number, perPage: number) {
  const w = await workflowFor(d, caller, id);
  const [rows, total] = await Promise.all([
    runsQuery(d, eq(workflowRuns.workflowId, w.id))
      .orderBy(desc(workflowRuns.startedAt), desc(workflowRuns.id))
      .limit(perPage)
      .offset((page - 1) * perPage),
    d.select({ n: count() }).from(workflowRuns).where(eq(workflowRuns.workflowId, w.id)),
  ]);
  return { runs: rows.map((r) => presentRun(r, w)), total: total[0]?.n ?? 0 };
}

/**
 * Whether another run of this schedule workflow is still at work: running within its lease (its latest runs by
 * slot: a lease lasts minutes), or any job of the workflow still adding contacts, however many slots ago it was
 * committed (found by the jobs' idempotency keys, runKey: 'workflow:<id>:…', on their unique index). Looking
 * only at the last few slots let a long first job be overtaken: a later slot committed a second job for the
 * same people, who were not contacts yet.
 */
async function previousRunBusy(d: Db, wf: { id: string; teamId: string }, exceptRunId: string | null, t: number): Promise<boolean> {
  const prefix = `workflow:${wf.id}:`;
  // Of two runs claimed at once, the later claim gives way to the earlier (one of them runs, not neither). A claim's
  // time is its lease's start (a claim and a reclaim both lease for LEASE_MS from their time), not started_at: a
  // slot's run tried again keeps the slot's started_at, so it and a Run now claimed meanwhile each saw the other as
  // the earlier, and both gave way.
  const [row] = await d.all<{ busy: number }>(sql`
    SELECT EXISTS (SELECT 1 FROM (SELECT id, status, lease_until - ${LEASE_MS} AS claimed_at, lease_until FROM workflow_runs
                                   WHERE workflow_id = ${wf.id} AND slot >= 0 ORDER BY slot DESC LIMIT 10) r
                    WHERE r.id IS NOT ${exceptRunId} AND r.status = 'running' AND r.lease_until >= ${t}
                      AND (${exceptRunId} IS NULL OR r.claimed_at < ${t} OR (r.claimed_at = ${t} AND r.id < ${exceptRunId})))
        OR EXISTS (SELECT 1 FROM jobs j WHERE j.team_id = ${wf.teamId} AND j.idempotency_key >= ${prefix} AND j.idempotency_key < ${`${prefix.slice(0, -1)};`}
                      AND j.status IN ('preparing', 'scheduled', 'queued', 'running')) AS busy`);
  return !!row?.busy;
}

/** "Run now": one run of a schedule workflow outside its schedule (409 while another run is still at work). */
export async function runWorkflowNow(env: Env, d: Db, caller: Caller, id: string) {
  const w = await workflowFor(d, caller, id, "workflow.manage");
  if (w.triggerKind === "change") throw new ApiError("conflict", "This workflow runs when contacts change; it has no run on demand");
  if (await previousRunBusy(d, w, null, now()))
    throw new ApiError("conflict", "This workflow's last run is still adding its contacts; run it again once that is done");
  const runId = await runWorkflow(env, w.id, now(), true, d);
  const [run] = runId ? await runsQuery(d, eq(workflowRuns.id, runId)) : [];
  if (!run) throw new ApiError("conflict", "This workflow is running right now");
  return presentRun(run, w);
}

/** The workflow's owner acting (a disabled or removed owner: no run). */
async function ownerCaller(d: Db, wf: WorkflowRow): Promise<Caller | null> {
  const owner = await d.query.users.findFirst({
    columns: { id: true, role: true, disabledAt: true },
    where: and(eq(users.id, wf.ownerId), eq(users.teamId, wf.teamId)),
  });
  if (!owner || owner.disabledAt) return null;
  return { teamId: wf.teamId, userId: owner.id, role: owner.role, via: "api_key" };
}

const addRequest = (wf: WorkflowRow, source: AddContactsRequest["source"]): AddContactsRequest => {
  const options = wf.options as WorkflowOptions;
  return {
    source,
    mailbox_ids: options.mailbox_ids,
    overrides: options.overrides,
    skip_validation: false,
    enrich: options.enrich ?? false,
  };
};

async function finishRun(
  d: Db,
  runId: string,
  status: "completed" | "failed",
  f: { found?: number; jobId?: string | null; reason?: string | null },
) {
  await d
    .update(workflowRuns)
    .set({ status, found: f.found ?? 0, jobId: f.jobId ?? null, reason: f.reason ?? null, finishedAt: now() })
    .where(eq(workflowRuns.id, runId));
}

/**
 * Why a run turns its workflow off: its owner may no longer add to its sequence (disabled or removed, the
 * sequence's share taken away or made view-only, the sequence or a mailbox gone, the sequence archived). Another
 * run would only fail the same way every slot or change; off, the workflow says why, and its owner or an admin
 * turns it on again (an archived sequence must be unarchived first: turning on checks it).
 */
const OFF_REASONS = new Set(["owner_missing", "forbidden", "not_found", "sequence_archived"]);

async function turnOff(d: Db, workflowId: string, reason: string) {
  await d
    .update(workflows)
    .set({ active: false, offReason: reason })
    .where(and(eq(workflows.id, workflowId), eq(workflows.active, true)));
}

/** Commit the run's job; a precondition (sequence off, no mailbox, short on credits…) becomes the run's reason. */
async function commitRun(
  env: Env,
  d: Db,
  wf: WorkflowRow,
  runId: string,
  caller: Caller,
  source: AddContactsRequest["source"],
  found: number,
  key: string,
  /** The job's id, taken with the claim (change runs: the run's), so a retry gets the job an earlier try committed. */
  fixedId?: string,
) {
  let jobId: string;
  let limited = false;
  // A job an earlier try committed under the fixed id stands as it was, and is started if that try died before
  // starting it: asked for by its id, as the key's replay would answer it unstarted (and the cron fail it as quiet).
  const byId = fixedId ? and(eq(jobs.teamId, wf.teamId), eq(jobs.id, fixedId)) : undefined;
  const prior = byId ? await d.query.jobs.findFirst({ columns: { id: true, status: true }, where: byId }) : undefined;
  // That job ended before it started (cancelled as nothing would retry its run, failed by the cron as quiet): it
  // added nobody and won't, so the run isn't completed with it (the log read "completed", nothing added or retried).
  if (prior && (prior.status === "cancelled" || prior.status === "failed")) {
    await finishRun(d, runId, "failed", { found, jobId: prior.id, reason: "job_ended" });
    return;
  }
  const commit = (s: AddContactsRequest["source"]) =>
    commitAddContacts(env, d, caller, wf.sequenceId, addRequest(wf, s), prior ? null : key, "workflow", fixedId);
  try {
    try {
      jobId = String((await commit(source)).job.id);
    } catch (err) {
      // A balance short of the whole run refused it, every run, until credits were bought: the people it covers
      // (the first `fits`, in the run's priority order) are added, and the run says it was limited.
      const fits =
        err instanceof ApiError && err.code === "insufficient_credits" ? Number((err.details as { fits?: number })?.fits ?? 0) : 0;
      if (!(fits > 0 && "people_ids" in source && source.people_ids && fits < source.people_ids.length)) throw err;
      jobId = String((await commit({ people_ids: source.people_ids.slice(0, fits) })).job.id);
      limited = true;
    }
  } catch (err) {
    // The job may have been written before the failure (its start, queuing its chunks, failed): it is there and
    // the cron starts it, so it adds its people; the run says so rather than "Failed".
    const committed = await d.query.jobs
      .findFirst({ columns: { id: true }, where: or(and(eq(jobs.teamId, wf.teamId), eq(jobs.idempotencyKey, key)), byId) })
      .catch(() => undefined);
    if (committed) {
      console.error("workflow run: its job was committed, then failed to start", wf.id, err);
      await finishRun(d, runId, "completed", { found, jobId: committed.id });
      return;
    }
    await finishRun(d, runId, "failed", { found, reason: err instanceof ApiError ? err.code : "internal_error" });
    if (!(err instanceof ApiError)) console.error("workflow run failed", wf.id, err);
    else if (OFF_REASONS.has(err.code)) await turnOff(d, wf.id, err.code);
    return;
  }
  // Outside the try: the job is committed and adding its contacts, so a failure to record that is not the
  // run's failure. The run stays "running" and the sweep completes it with its job (runDueWorkflows).
  await finishRun(d, runId, "completed", { found, jobId, reason: limited ? "limited_by_credits" : null });
}

type RunClaim = Pick<typeof workflowRuns.$inferInsert, "slot" | "changeKind" | "changeId" | "contactId">;

/**
 * The Idempotency-Key of a run's job: a retried run commits one job, and the lease sweep finds the job of
 * a run whose tick died (runDueWorkflows builds the same text in SQL).
 */
const runKey = (workflowId: string, run: { slot: number } | { changeId: number }) =>
  "changeId" in run ? `workflow:${workflowId}:change:${run.changeId}` : `workflow:${workflowId}:${run.slot}`;

/**
 * The run row that claims a slot or a change, leased and running (answers the row if this call made it,
 * none if it was there). Its unique (workflow, slot) key is the lease: a second claim of the same slot (a
 * schedule's slot, or minus a change's id) finds it taken.
 */
const claimStatement = (d: Db, wf: { id: string; teamId: string }, runId: string, t: number, run: RunClaim) =>
  d
    .insert(workflowRuns)
    .values({ id: runId, teamId: wf.teamId, workflowId: wf.id, status: "running", leaseUntil: t + LEASE_MS, startedAt: t, ...run })
    .onConflictDoNothing()
    .returning({ id: workflowRuns.id });

async function claimRun(d: Db, wf: { id: string; teamId: string }, runId: string, t: number, run: RunClaim): Promise<boolean> {
  return (await claimStatement(d, wf, runId, t, run)).length > 0;
}

/**
 * Claim again a run that failed or was interrupted before its job was committed (retryDue: a change run, or a
 * schedule's slot run whose tick died): leased and running, one more attempt. A conditional write, so two ticks
 * can't both take it. Answers its id, or none.
 */
async function reclaimRun(d: Db, wf: WorkflowRow, runId: string, t: number): Promise<string | null> {
  const [row] = await d
    .update(workflowRuns)
    .set({
      status: "running",
      leaseUntil: t + LEASE_MS,
      attempts: sql`${workflowRuns.attempts} + 1`,
      reason: null,
      finishedAt: null,
    })
    .where(
      and(
        eq(workflowRuns.workflowId, wf.id),
        eq(workflowRuns.id, runId),
        retryDue(t, wf.triggerKind === "change" ? "change" : "schedule"),
        stillActsOn(wf),
      ),
    )
    .returning({ id: workflowRuns.id });
  return row?.id ?? null;
}

/**
 * SQL: the workflow is still as the tick read it: there, on, with the same trigger (changes or a schedule), adding
 * to the same sequence. A claim made on this condition can't act for a workflow turned off, deleted, given the
 * other trigger or pointed at another sequence since it was read.
 */
const stillActsOn = (wf: WorkflowRow) =>
  sql`EXISTS (SELECT 1 FROM workflows w WHERE w.id = ${wf.id} AND w.team_id = ${wf.teamId} AND w.active = 1
                 AND w.trigger_kind = ${wf.triggerKind} AND w.sequence_id = ${wf.sequenceId})`;

/**
 * The schedule's next slot after one that runs at `t`: on its grid (slot + k intervals), the first one
 * still ahead. A schedule that fell behind (the cron was down, an interval shortened from a month to
 * minutes) runs once now, not once a minute for every slot it missed, each adding and charging anew.
 */
export function nextSlotAfter(slot: number, intervalMinutes: number, t: number): number {
  const every = intervalMinutes * 60_000;
  return slot + Math.max(1, Math.floor((t - slot) / every) + 1) * every;
}

/**
 * One run of a schedule workflow for one slot. The unique (workflow, slot) row is the lease:
 * overlapping cron ticks (or a tick and a "run now") can't run the same slot twice. Net New Check:
 * only people the team has not saved yet are considered, at most max_per_run of them.
 */
export async function runWorkflow(env: Env, workflowId: string, slot: number, manual = false, d: Db = db(env.DB)): Promise<string | null> {
  const t = now();
  const wf = await d.query.workflows.findFirst({ where: eq(workflows.id, workflowId) });
  if (!wf) return null;
  // Read now, not as the tick's list had it: a workflow turned off (or made a change workflow) since runs no slot.
  if (!manual && (!wf.active || wf.triggerKind !== "schedule")) return null;
  const runId = newId();
  if (!manual) {
    // The claim and the move to the next slot in one transaction: apart, a crash between them left
    // next_run_at on a slot already claimed, which every later tick found taken, so the workflow never
    // ran again (and 20 such held back every team's). A slot claimed before still moves the schedule on.
    const [claimed] = await d.batch([
      claimStatement(d, wf, runId, t, { slot, changeKind: null }),
      d
        .update(workflows)
        .set({ nextRunAt: nextSlotAfter(slot, wf.intervalMinutes, t), lastRunAt: t })
        .where(and(eq(workflows.id, wf.id), eq(workflows.nextRunAt, slot))),
    ]);
    if (!claimed.length) return null;
  } else {
    if (!(await claimRun(d, wf, runId, t, { slot, changeKind: "manual" }))) return null;
    await d.update(workflows).set({ lastRunAt: t }).where(eq(workflows.id, wf.id));
  }
  await actOnSlot(env, d, wf, runId, slot, t, false);
  return runId;
}

/**
 * Try again a schedule's slot run whose tick died before its job was committed or started (retryDue): the slot's
 * one run, reclaimed as a change run is (reclaimRun), only while the workflow is still on and on a schedule.
 */
async function retrySlotRun(env: Env, d: Db, workflowId: string, runId: string, slot: number) {
  const t = now();
  const wf = await d.query.workflows.findFirst({ where: eq(workflows.id, workflowId) });
  if (!wf?.active || wf.triggerKind !== "schedule") return;
  if (!(await reclaimRun(d, wf, runId, t))) return;
  await actOnSlot(env, d, wf, runId, slot, t, true);
}

/** A claimed schedule run (a slot's, a Run now's, or one tried again): its people, added in one job with the run's id. */
async function actOnSlot(env: Env, d: Db, wf: WorkflowRow, runId: string, slot: number, t: number, retry: boolean) {
  const caller = await ownerCaller(d, wf);
  if (!caller) {
    await finishRun(d, runId, "failed", { reason: "owner_missing" });
    await turnOff(d, wf.id, "owner_missing");
    return;
  }
  const key = runKey(wf.id, { slot });
  // A try that died after committing the run's job (its id is the run's) left it as it was, preparing: it stands,
  // with the people it took then, and commitRun starts it (the cron would fail it as quiet). Neither the busy check
  // (that job is what it would find) nor the search is asked again; the source is not read for a job that stands.
  const prior = retry
    ? await d.query.jobs.findFirst({ columns: { total: true }, where: and(eq(jobs.teamId, wf.teamId), eq(jobs.id, runId)) })
    : undefined;
  if (prior) {
    await commitRun(env, d, wf, runId, caller, { people_ids: [] }, prior.total, key, runId);
    return;
  }
  // A run before still at work, or its job still adding its people: they are not contacts yet, so the Net New
  // Check would pick them again (a second hold for the same people). This slot passes, saying why. Asked after
  // the claim, Run now too (it asked before as well, to answer 409): two at once each see the other's claim.
  if (await previousRunBusy(d, wf, runId, t)) {
    await finishRun(d, runId, "completed", { found: 0, reason: "previous_run_in_progress" });
    return;
  }
  const filters = { ...(wf.filters as PeopleFilters), saved: "net_new" as const };
  // Saved before such a range was refused (or written around the API): it matches nobody, so the run
  // says why instead of reading as "no new people" forever.
  if (filters.score_min != null && filters.score_max != null && filters.score_min > filters.score_max) {
    await finishRun(d, runId, "failed", { reason: "empty_score_range" });
    return;
  }
  const ids = await nextPeople(d, wf, filters, t);
  if (!ids.length) {
    await finishRun(d, runId, "completed", { found: 0, reason: "no_new_people" });
    return;
  }
  // The job takes the run's id, as a change run's does: a retry of this run finds the job this try committed.
  await commitRun(env, d, wf, runId, caller, { people_ids: ids }, ids.length, key, runId);
}

/**
 * A schedule run's people: net-new matches in priority order (score, then id), at most max_per_run, leaving out
 * those this workflow's jobs held back or skipped lately (HELD_BACK_MS), so a run reaches the next people, and
 * those it added or whose contact was deleted since.
 */
async function nextPeople(d: Db, wf: WorkflowRow, filters: PeopleFilters, t: number): Promise<string[]> {
  const rows = await d.all<{ id: string }>(sql`
    SELECT p.id FROM people p
     WHERE ${peopleWhere(filters, wf.teamId)}
       AND p.id NOT IN (SELECT o.person_id FROM workflow_runs r JOIN job_outcomes o ON o.job_id = r.job_id
                         WHERE r.workflow_id = ${wf.id} AND r.team_id = ${wf.teamId} AND r.job_id IS NOT NULL AND r.started_at >= ${t - HELD_BACK_MS}
                           AND o.outcome <> 'enrolled' AND o.person_id IS NOT NULL
                           -- A chunk that failed (not_processed) decided nothing about its people: they come again.
                           AND NOT EXISTS (SELECT 1 FROM json_each(o.reasons) WHERE value = 'not_processed'))
       -- Someone whose contact was deleted counts as net-new to the search, but was removed on purpose: a run
       -- re-added, re-charged and re-emailed them. Left out: those this workflow ever added, and anyone whose
       -- contact in the team was deleted (saved from the person, or with their address).
       AND p.id NOT IN (SELECT o.person_id FROM workflow_runs r JOIN job_outcomes o ON o.job_id = r.job_id
                         WHERE r.workflow_id = ${wf.id} AND r.team_id = ${wf.teamId} AND r.job_id IS NOT NULL
                           AND o.outcome = 'enrolled' AND o.person_id IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.team_id = ${wf.teamId} AND c.person_id = p.id AND c.deleted_at IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.team_id = ${wf.teamId} AND lower(c.email) = lower(p.email) AND c.deleted_at IS NOT NULL)
     ORDER BY p.score DESC, p.id LIMIT ${wf.maxPerRun}`);
  return rows.map((r) => r.id);
}

/** SQL: the contact `c` matches a change workflow's contact filters. */
export function contactMatches(f: ContactFilters): SQL {
  const conds: SQL[] = [sql`1 = 1`];
  if (f.stage_ids?.length) conds.push(inList(contacts.stageId, f.stage_ids));
  if (f.owner_ids?.length) conds.push(inList(contacts.ownerId, f.owner_ids));
  if (f.countries?.length) conds.push(inList(contacts.country, f.countries));
  if (f.email_statuses?.length) conds.push(inList(contacts.emailStatus, f.email_statuses));
  if (f.list_ids?.length)
    conds.push(
      sql`exists (select 1 from list_members m where m.contact_id = ${contacts.id} and m.list_id in (select value from json_each(${listParam(f.list_ids)})))`,
    );
  if (f.titles?.length) conds.push(titlesMatch(f.titles));
  return and(...conds)!;
}

/** Punctuation a title's words are split on ("Co-founder & CTO", "VP, Sales / Ops"). */
const TITLE_PUNCTUATION = ["-", "&", ",", ".", "/", "\\", "(", ")", ":", ";", "|", "'", '"', "!", "?", "+", "#", "@", "_", "*", "\t"];
/** The contact's title in lower case, punctuation as spaces, one space either side: its words are " word ". */
const titleWords = sql.raw(
  `(' ' || ${TITLE_PUNCTUATION.reduce((e, ch) => `replace(${e}, '${ch.replace(/'/g, "''")}', ' ')`, "lower(coalesce(contacts.title, ''))")} || ' ')`,
);

/**
 * SQL: the contact's title has every word of one of `titles` as a whole word, in any order (stop words and
 * punctuation aside), as the people search matches titles: "CTO" finds "CTO" and "Co-founder & CTO", never
 * "Director" (a substring match did), nor "COO" "Coordinator". A title with no word to look for matches nobody.
 * The titles' words are one bound parameter (JSON): one parameter per word went past D1's 100 with a few
 * dozen titles, and the tick's query failed every minute.
 */
function titlesMatch(titles: readonly string[]): SQL {
  const wordSets = titles.map(words).filter((w) => w.length);
  if (!wordSets.length) return sql`0`;
  return sql`EXISTS (SELECT 1 FROM json_each(${JSON.stringify(wordSets)}) t
    WHERE NOT EXISTS (SELECT 1 FROM json_each(t.value) w WHERE instr(${titleWords}, ' ' || w.value || ' ') = 0))`;
}

/** Most contacts one change run (and so its job) takes: a larger job is planned through queued pages, which a fixed job id doesn't reach. */
export const CHANGE_BATCH_MAX = PLAN_PAGE;

/** The changes one claim takes for one workflow: the first (the run's key), their kind if they share one, their contacts (each once). */
interface ChangeBatch {
  changeId: number;
  kind: string | null;
  contactIds: string[];
}

/**
 * Claim a batch of changes: its run row, holding the batch's contacts, and the workflow's cursor moved past the
 * changes looked at, in one transaction, only while the cursor is still where this tick read it and the workflow
 * still acts as read (stillActsOn). Of two ticks at once one claims; the other finds the cursor moved and stops.
 * A tick that dies after the claim leaves the run with its contacts for the lease sweep and the retry: the
 * changes are neither lost (the cursor has passed them) nor claimed again. Answers whether this call claimed.
 */
async function claimChangeBatch(d: Db, wf: WorkflowRow, runId: string, t: number, batch: ChangeBatch, from: number, to: number) {
  const [claimed] = await batchSql(d, [
    sql`INSERT INTO workflow_runs (id, team_id, workflow_id, status, lease_until, started_at, slot, change_id, contact_id, change_kind, contact_ids, found)
      SELECT ${runId}, ${wf.teamId}, ${wf.id}, 'running', ${t + LEASE_MS}, ${t}, ${-batch.changeId}, ${batch.changeId},
             ${batch.contactIds.length === 1 ? batch.contactIds[0]! : null}, ${batch.kind}, ${JSON.stringify(batch.contactIds)}, ${batch.contactIds.length}
       WHERE ${stillActsOn(wf)} AND EXISTS (SELECT 1 FROM workflows w WHERE w.id = ${wf.id} AND w.change_cursor = ${from})
      ON CONFLICT DO NOTHING RETURNING id`,
    sql`UPDATE workflows SET change_cursor = ${to}, last_run_at = ${t}
         WHERE id = ${wf.id} AND change_cursor = ${from} AND EXISTS (SELECT 1 FROM workflow_runs r WHERE r.id = ${runId})`,
  ]);
  return (claimed?.results?.length ?? 0) > 0;
}

/**
 * Add a claimed run's contacts through the pipeline, in one job whose id is the run's (taken with the claim) and
 * whose Idempotency-Key is the run's first change (runKey): a retried run finds the job an earlier try committed.
 */
async function commitChangeRun(
  env: Env,
  d: Db,
  wf: WorkflowRow,
  runId: string,
  changeId: number,
  contactIds: string[],
  /** The run's count: a job an earlier try committed counts the contacts it took. */
  found = contactIds.length,
) {
  const caller = await ownerCaller(d, wf);
  if (!caller) {
    await finishRun(d, runId, "failed", { found, reason: "owner_missing" });
    await turnOff(d, wf.id, "owner_missing");
    return;
  }
  await commitRun(env, d, wf, runId, caller, { contact_ids: contactIds }, found, runKey(wf.id, { changeId }), runId);
}

/** Of `ids`, the team's live contacts that match the filters now, in the order given. */
async function stillMatching(d: Db, wf: WorkflowRow, filters: ContactFilters, ids: string[]): Promise<string[]> {
  if (!ids.length) return [];
  const rows = await d
    .select({ id: contacts.id })
    .from(contacts)
    .where(
      and(
        eq(contacts.teamId, wf.teamId),
        isNull(contacts.deletedAt),
        sql`${contacts.id} IN (SELECT value FROM json_each(${listParam(ids)}))`,
        contactMatches(filters),
      ),
    );
  const live = new Set(rows.map((r) => r.id));
  return ids.filter((id) => live.has(id));
}

/**
 * One change workflow's tick: first its runs due another try (failed or interrupted before their job was
 * committed), with those of their contacts that still match; then the changes logged since its cursor, those of
 * the kinds it triggers on whose contact (live) matches its filters now, claimed as one run and added in one job
 * (at most CHANGE_BATCH_MAX contacts a job, max_per_run a tick in all): a list import that changed 2,000 contacts
 * made 2,000 runs and jobs, one per change. The cursor moves past what was looked at. Answers the runs started.
 */
export async function runChangeWorkflow(env: Env, d: Db, listed: WorkflowRow): Promise<number> {
  // Read now, not as the tick's list had it: one turned off, deleted, narrowed or pointed elsewhere since acts as it is now (or not).
  const wf = await d.query.workflows.findFirst({ where: and(eq(workflows.id, listed.id), eq(workflows.teamId, listed.teamId)) });
  if (!wf?.active || wf.triggerKind !== "change") return 0;
  const trig = WorkflowTrigger.safeParse(wf.trigger);
  if (!trig.success || trig.data.kind !== "change") return 0;
  const { on, fields, filters } = trig.data;
  const fieldHit = fields?.length
    ? sql`(${sql.join(
        fields.map((f) => sql`instr(',' || coalesce(${contactChanges.fields}, '') || ',', ${`,${f},`}) > 0`),
        sql` or `,
      )})`
    : sql`1 = 1`;
  const rows = await d
    .select({
      id: contactChanges.id,
      contactId: contactChanges.contactId,
      kind: contactChanges.kind,
      hit: sql<number>`(${contactChanges.kind} in (select value from json_each(${listParam(on)}))
                        and (${contactChanges.kind} <> 'field' or ${fieldHit})
                        and ${contacts.id} is not null and ${contacts.deletedAt} is null and ${contactMatches(filters)}
                        -- A change that is already a run's first (the cursor wound back, or a run claimed before runs
                        -- took batches and the cursor moved) is that run's, retried through it: not claimed again.
                        and not exists (select 1 from workflow_runs r where r.workflow_id = ${wf.id} and r.change_id = ${contactChanges.id}))`,
    })
    .from(contactChanges)
    .leftJoin(contacts, and(eq(contacts.id, contactChanges.contactId), eq(contacts.teamId, contactChanges.teamId)))
    .where(and(eq(contactChanges.teamId, wf.teamId), gt(contactChanges.id, wf.changeCursor)))
    .orderBy(asc(contactChanges.id))
    .limit(CHANGES_PER_TICK);
  let ran = 0;
  let budget = wf.maxPerRun;
  const t = now();
  const retries = await d
    .select({
      runId: workflowRuns.id,
      changeId: workflowRuns.changeId,
      contactId: workflowRuns.contactId,
      contactIds: workflowRuns.contactIds,
      // As a new change is judged, by the trigger as it is now: a run whose changes were all of one kind is given up
      // when that kind (or, for a field change, the run's first change's fields) no longer triggers the workflow.
      kindHit: sql<number>`(${workflowRuns.changeKind} IS NULL OR (${workflowRuns.changeKind} in (select value from json_each(${listParam(on)}))
                        and (${workflowRuns.changeKind} <> 'field' or ${fieldHit})))`,
    })
    .from(workflowRuns)
    .leftJoin(contactChanges, and(eq(contactChanges.id, workflowRuns.changeId), eq(contactChanges.teamId, workflowRuns.teamId)))
    .where(and(eq(workflowRuns.workflowId, wf.id), retryDue(t, "change")))
    .orderBy(asc(workflowRuns.changeId))
    .limit(wf.maxPerRun);
  for (const r of retries) {
    // Runs from before batching name their one contact alone.
    const claimedIds: string[] = r.contactIds ? (JSON.parse(r.contactIds) as string[]) : r.contactId ? [r.contactId] : [];
    // A try that committed the run's job (its id is the run's) and died before starting it left a job that stands
    // with the contacts it took (commitAddContacts' rule): the run is reclaimed to start it whatever matches now.
    // Judged by what still matches, it was given up as no_longer_matches and the cron failed its job as quiet.
    const committed = await d.query.jobs.findFirst({
      columns: { total: true },
      where: and(eq(jobs.teamId, wf.teamId), eq(jobs.id, r.runId)),
    });
    const still = committed ? claimedIds : r.kindHit ? await stillMatching(d, wf, filters, claimedIds) : [];
    const found = committed ? committed.total : still.length;
    if (!committed && !still.length) {
      await d
        .update(workflowRuns)
        .set({ reason: "no_longer_matches", finishedAt: t })
        .where(and(eq(workflowRuns.id, r.runId), retryDue(t, "change")));
      continue;
    }
    // The tick's budget; a run larger than all of it (max_per_run lowered since) still goes alone, or it never would.
    if (ran > 0 && found > budget) break;
    const runId = await reclaimRun(d, wf, r.runId, t);
    if (!runId) continue;
    await d.update(workflows).set({ lastRunAt: t }).where(eq(workflows.id, wf.id));
    await commitChangeRun(env, d, wf, runId, r.changeId!, still, found);
    ran++;
    budget -= found;
  }
  let from = wf.changeCursor;
  let cursor = from;
  let i = 0;
  while (i < rows.length) {
    const cap = Math.min(budget, CHANGE_BATCH_MAX);
    const seen = new Set<string>();
    const kinds = new Set<string>();
    let first: number | null = null;
    for (; i < rows.length; i++) {
      const r = rows[i]!;
      if (r.hit && !seen.has(r.contactId)) {
        // Full: this change starts the next batch (or the next tick's).
        if (seen.size >= cap) break;
        seen.add(r.contactId);
      }
      if (r.hit) {
        first ??= r.id;
        kinds.add(r.kind);
      }
      cursor = r.id;
    }
    if (first === null) break;
    const batch: ChangeBatch = { changeId: first, kind: kinds.size === 1 ? [...kinds][0]! : null, contactIds: [...seen] };
    const runId = newId();
    // Another tick claimed these changes (or the workflow changed since it was read): that tick acts on them.
    if (!(await claimChangeBatch(d, wf, runId, t, batch, from, cursor))) return ran;
    await commitChangeRun(env, d, wf, runId, first, batch.contactIds);
    ran++;
    budget -= seen.size;
    from = cursor;
  }
  if (cursor > from)
    await d
      .update(workflows)
      .set({ changeCursor: sql`max(${workflows.changeCursor}, ${cursor})` })
      .where(eq(workflows.id, wf.id));
  return ran;
}

/**
 * One change workflow's tick, counting failures in a row: a passing one (D1 out of reach) is tried again next
 * tick; one that keeps failing would never move its cursor, add anybody nor let the change log be pruned, so
 * after CHECK_FAILURES_OFF in a row it is turned off, saying why.
 */
async function checkChanges(env: Env, d: Db, w: WorkflowRow) {
  try {
    await runChangeWorkflow(env, d, w);
  } catch (err) {
    console.error(`workflow ${w.id}: tick failed`, err);
    await d
      .update(workflows)
      .set({ checkFailures: sql`${workflows.checkFailures} + 1` })
      .where(eq(workflows.id, w.id));
    if (w.checkFailures + 1 >= CHECK_FAILURES_OFF) await turnOff(d, w.id, "check_failed");
    return;
  }
  if (w.checkFailures) await d.update(workflows).set({ checkFailures: 0 }).where(eq(workflows.id, w.id));
}

/**
 * Jobs a dead tick committed and left unstarted (preparing, holding their credits) for a run nothing will try again:
 * given up (gave_up), or its workflow off (or given the other trigger) when the retry would come. They are cancelled
 * saying why, their hold returned, and the run names its job (workflow_off, or still gave_up): left alone, the cron
 * failed each as "interrupted before the job started" (QUIET_MS) and the run log read "the next run tries again".
 * A workflow turned on again before this tick's look has its run retried, which starts the job (commitRun).
 */
async function endUnretriedJobs(d: Db) {
  // The run nothing will retry: failed without a job, given up or its workflow no longer on with its trigger. Asked
  // again by the cancel itself (below), not only by this read: a workflow turned on since, whose overlapping tick
  // reclaimed the run, starts the job, and a cancel behind its back left the run completed with a cancelled job.
  const unretried = (r: string) =>
    sql.raw(`${r}.status = 'failed' AND ${r}.job_id IS NULL AND ${r}.reason IN ('interrupted', 'gave_up')
       AND (${r}.reason = 'gave_up' OR NOT EXISTS (SELECT 1 FROM workflows w WHERE w.id = ${r}.workflow_id AND w.active = 1
              AND w.trigger_kind = CASE WHEN ${r}.change_id IS NOT NULL THEN 'change' ELSE 'schedule' END))`);
  const stranded = await d.all<{ id: string; reason: string; attempts: number }>(sql`
    SELECT r.id, r.reason, r.attempts FROM jobs j CROSS JOIN workflow_runs r ON r.id = j.id AND r.team_id = j.team_id
     -- From the jobs still preparing (jobs_status_run_idx: a few at any time), each to its run by id (a run's job
     -- takes its id): not through the failed runs without a job, which pile up for good.
     WHERE j.status = 'preparing' AND ${unretried("r")}
     LIMIT 50`);
  for (const r of stranded) {
    const why =
      r.reason === "gave_up"
        ? `Not started: the workflow run that committed it was interrupted ${r.attempts} times and given up`
        : "Not started: the workflow run that committed it was interrupted, and the workflow is off";
    // One transaction: the job cancelled (only from preparing, and only while its run is still one nothing retries),
    // its hold returned, and the run naming it, so no retry (retryDue: a run without its job) can reclaim the run
    // between the cancel and the run's write and then find its job cancelled.
    await batchSql(d, [
      sql`UPDATE jobs SET status = 'cancelled', error = ${`${why} (the credits held for it are returned)`},
            finished_at = coalesce(finished_at, ${now()})
          WHERE id = ${r.id} AND status = 'preparing'
            AND EXISTS (SELECT 1 FROM workflow_runs r WHERE r.id = jobs.id AND r.team_id = jobs.team_id AND ${unretried("r")})`,
      ...settleJobStatements(r.id),
      d
        .update(workflowRuns)
        .set({ jobId: r.id, reason: sql`CASE WHEN ${workflowRuns.reason} = 'gave_up' THEN 'gave_up' ELSE 'workflow_off' END` })
        .where(
          and(
            eq(workflowRuns.id, r.id),
            eq(workflowRuns.status, "failed"),
            isNull(workflowRuns.jobId),
            sql`EXISTS (SELECT 1 FROM jobs j WHERE j.id = ${workflowRuns.id} AND j.status = 'cancelled')`,
          ),
        ),
    ]);
  }
}

/** Cron: run every active schedule workflow whose slot has come and every active change workflow; tidy runs whose lease ran out. */
export async function runDueWorkflows(env: Env, d: Db = db(env.DB)): Promise<number> {
  const t = now();
  // Runs whose lease ran out: the tick running them died. One that had committed its job says so (the job's
  // idempotency key names its run: runKey): it read "interrupted" with no job while its contacts were being
  // added. The others read "interrupted", and so does a run whose job is still preparing (its tick died before
  // starting it): the retry (retryDue) starts that job (commitRun), which the cron would otherwise fail as quiet.
  // A run whose last try this was is given up (gave_up), and a job one of its tries committed is cancelled below.
  await batchSql(d, [
    sql`UPDATE workflow_runs SET status = 'completed', job_id = j.id, found = j.total, reason = NULL, finished_at = ${t}
      FROM jobs j
      WHERE workflow_runs.status = 'running' AND workflow_runs.lease_until < ${t} AND j.team_id = workflow_runs.team_id
        AND j.idempotency_key = 'workflow:' || workflow_runs.workflow_id || ':' ||
            CASE WHEN workflow_runs.change_id IS NOT NULL THEN 'change:' || workflow_runs.change_id ELSE workflow_runs.slot END
        AND j.status <> 'preparing'`,
    d
      .update(workflowRuns)
      .set({
        status: "failed",
        reason: sql`CASE WHEN ${workflowRuns.attempts} >= ${CHANGE_RUN_ATTEMPTS} THEN 'gave_up' ELSE 'interrupted' END`,
        finishedAt: t,
      })
      .where(and(eq(workflowRuns.status, "running"), lt(workflowRuns.leaseUntil, t))),
  ]);
  await endUnretriedJobs(d);
  const due = await d
    .select({ id: workflows.id, nextRunAt: workflows.nextRunAt })
    .from(workflows)
    .where(
      and(eq(workflows.active, true), eq(workflows.triggerKind, "schedule"), isNotNull(workflows.nextRunAt), lte(workflows.nextRunAt, t)),
    )
    .orderBy(asc(workflows.nextRunAt))
    .limit(20);
  // One workflow that fails (D1 out of reach for its run) doesn't keep the others of this tick from theirs.
  const each = async (id: string, run: () => Promise<unknown>) => {
    await run().catch((err: unknown) => console.error(`workflow ${id}: tick failed`, err));
  };
  // Slot runs whose tick died, tried again before any new slot, so a new slot's run finds the job it started.
  const retries = await d
    .select({ id: workflowRuns.id, workflowId: workflowRuns.workflowId, slot: workflowRuns.slot })
    .from(workflowRuns)
    .innerJoin(workflows, eq(workflows.id, workflowRuns.workflowId))
    .where(and(eq(workflows.active, true), eq(workflows.triggerKind, "schedule"), retryDue(t, "schedule")))
    .orderBy(asc(workflowRuns.finishedAt))
    .limit(20);
  for (const r of retries) await each(r.workflowId, () => retrySlotRun(env, d, r.workflowId, r.id, r.slot));
  for (const w of due) await each(w.id, () => runWorkflow(env, w.id, w.nextRunAt!, false, d));
  // Change workflows with changes past their cursor, furthest behind first: a workflow looked at moves its
  // cursor on, so each gets its turn however many there are (by id, the 51st never ran).
  const onChange = await d
    .select()
    .from(workflows)
    .where(
      and(
        eq(workflows.active, true),
        eq(workflows.triggerKind, "change"),
        sql`(EXISTS (SELECT 1 FROM ${contactChanges} c WHERE c.team_id = ${workflows.teamId} AND c.id > ${workflows.changeCursor})
             OR EXISTS (SELECT 1 FROM ${workflowRuns} WHERE ${workflowRuns.workflowId} = ${workflows.id} AND ${retryDue(t, "change")}))`,
      ),
    )
    // Those whose last ticks failed after the others: failing every tick with its cursor unmoved, 50 of them came
    // first each minute and no other team's ever ran.
    .orderBy(asc(workflows.checkFailures), asc(workflows.changeCursor), asc(workflows.id))
    .limit(CHANGE_WORKFLOWS_PER_TICK);
  for (const w of onChange) await each(w.id, () => checkChanges(env, d, w));
  // Changes every workflow has looked at long ago are of no further use; one an active change workflow of
  // the team has not reached yet is kept for it.
  await d.delete(contactChanges).where(
    and(
      lt(contactChanges.at, t - CHANGE_RETENTION_MS),
      sql`NOT EXISTS (SELECT 1 FROM ${workflows} w WHERE w.team_id = ${contactChanges.teamId} AND w.active = 1
                         AND w.trigger_kind = 'change' AND w.change_cursor < ${contactChanges.id})`,
    ),
  );
  return due.length + onChange.length;
}

/** Job ids a workflow's runs committed, for labelling jobs as workflow runs. */
export async function workflowOfJobs(d: Db, teamId: string, jobIds: readonly string[]) {
  if (!jobIds.length) return [];
  return d
    .select({ job_id: workflowRuns.jobId, workflow_id: workflows.id, name: workflows.name })
    .from(workflowRuns)
    .innerJoin(workflows, eq(workflows.id, workflowRuns.workflowId))
    .where(and(eq(workflowRuns.teamId, teamId), inList(workflowRuns.jobId, jobIds)));
}
