import { and, count, eq, gte, inArray, lt, sql } from "drizzle-orm";
import { bulkInsertSql, type Row } from "../../db/bulk";
import { batchSql, db, isUniqueViolation, type BatchStatement, type Db } from "../../db/client";
import { chunked, inList, teamRowsById } from "../../db/in-list";
import {
  apiKeys,
  contacts,
  contactStages,
  enrichments,
  enrollments,
  jobCandidates,
  jobOutcomes,
  jobs,
  mailboxes,
  sequences,
  users,
} from "../../db/schema";
import type { Caller, Env } from "../../env";
import { now } from "../../lib/clock";
import { sha256Hex } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import { newId, orderedIdFrom } from "../../lib/ids";
import { engine } from "../../../durable-objects/engine";
import type { ContactState } from "../../../durable-objects/eligibility";
import type { QueueMessage } from "../../queue/messages";
import { holdExists, holdRef, holdStatements, settleJobStatements } from "../credits";
import { sequenceFor } from "../access";
import { callerNow, storedCaller } from "../auth";
import { assignFrom, loadMailboxLoads, roomOf } from "./capacity";
import {
  countCandidates,
  keyOf,
  liveContactsOfPeople,
  loadFacts,
  rulesOf,
  stageCandidatesSql,
  type Candidate,
  type Facts,
} from "./candidates";
import { checkPreconditions, planSmall, refuse } from "./plan";
import { CHUNK_SIZE, PLAN_PAGE, type AddContactsRequest } from "./request";
import { evaluateAll, validationFor, type Evaluation } from "./validate";
import { CONTACT_FROM_PERSON_COLUMNS, contactFromPerson } from "../contact-from-person";

export type JobRow = typeof jobs.$inferSelect;

/** What a job keeps of its request (the ids of the source stay in job_candidates). */
export type JobOptions = AddContactsRequest & { request_hash: string; via: string; mailbox_ids: string[] };
export const optionsOf = (job: JobRow) => job.options as unknown as JobOptions;

/** Candidate rows per statement of a commit (a page is at most PLAN_PAGE): each statement's JSON stays far below 1 MB. */
const CANDIDATE_ROWS = 2000;

/** Deterministic ids make every chunk step repeatable: a redelivered chunk finds its own rows. */
const idFrom = async (...parts: string[]) => (await sha256Hex(parts.join(":"))).slice(0, 24);

function sourceSummary(req: AddContactsRequest, via?: string) {
  const s = req.source;
  // A workflow's jobs are labelled as workflow runs (job page, Credits chart), whatever they picked.
  const kind =
    via === "workflow"
      ? "workflow"
      : s.not_processed_of_job
        ? "retry"
        : s.import_id
          ? "csv"
          : s.search
            ? "search"
            : s.list_ids?.length
              ? "lists"
              : s.people_ids?.length
                ? "people"
                : "contacts";
  return {
    kind,
    list_ids: s.list_ids ?? [],
    // Distinct ids, as the job counts them: a label says "2 people picked" for [p1, p2, p1].
    people: new Set(s.people_ids).size,
    contacts: new Set(s.contact_ids).size,
    search: s.search ?? null,
    ...(s.import_id ? { import_id: s.import_id } : {}),
    ...(s.not_processed_of_job ? { retry_of: s.not_processed_of_job } : {}),
  };
}

function jobOptions(req: AddContactsRequest, requestHash: string, via: string, mailboxIds: string[]): JobOptions {
  const { search: _s, people_ids: _p, contact_ids: _c, ...restSource } = req.source;
  return { ...req, source: restSource, request_hash: requestHash, via, mailbox_ids: mailboxIds };
}

const jobById = (d: Db, jobId: string) => d.query.jobs.findFirst({ where: eq(jobs.id, jobId) });

/** What the plan made of one contact as its job was committed (a move acts on it at once). */
export interface Planned {
  contactId: string | null;
  evaluation: Evaluation;
}

/** A contact a move takes: the target enrolls it, or already has it open (then it only leaves the source). */
export const takenByMove = (e: Pick<Evaluation, "outcome" | "skips">) =>
  e.outcome === "enrolled" || (e.skips.length === 1 && e.skips[0] === "already_in_sequence");

/**
 * Commit an add-contacts request: the preconditions (checked once; nothing written if any fails),
 * then a small selection is planned here (credit hold for the maximum spend, the job with its
 * ordered candidates and mailboxes, chunks on the queue or a start time for the cron) and a large
 * one through queued plan pages. A repeated Idempotency-Key returns the same job.
 */
export async function commitAddContacts(
  env: Env,
  d: Db,
  caller: Caller,
  sequenceId: string,
  req: AddContactsRequest,
  idempotencyKey: string | null,
  via: string,
  /** The job's id when the caller must get the same job on a retry (a move job's page): a job with it stands. */
  fixedId?: string,
): Promise<{ job: JobRow; replayed: boolean; planned: Planned[] | null }> {
  const requestHash = await sha256Hex(JSON.stringify({ sequenceId, req }));
  const replay = await replayOf(d, caller, idempotencyKey, requestHash);
  if (replay) return { job: replay, replayed: true, planned: null };
  if (fixedId) {
    // Committed by an earlier try: that job stands, with the contacts it took then (its candidates), whatever
    // the target and the contacts look like now. The try may have failed before the job was queued, or while
    // its chunks were being sent: started, or its chunks sent again while none has run (a chunk delivered
    // twice enrolls and charges once).
    const prior = await jobById(d, fixedId);
    if (prior && prior.teamId !== caller.teamId) throw new Error(`job ${fixedId} belongs to another team`);
    if (prior) {
      if (prior.status === "preparing") await startJob(env, d, prior.id);
      else if (prior.status === "queued" && prior.processed === 0 && prior.total > 0) await sendChunks(env, prior.id, prior.total);
      return { job: (await jobById(d, prior.id))!, replayed: true, planned: null };
    }
  }
  const prepared = await checkPreconditions(d, caller, sequenceId, req);
  refuse(prepared.preconditions);
  // A selection larger than one page is planned page by page through the queue, never in this request.
  if ((await countCandidates(d, caller.teamId, req.source)) > PLAN_PAGE)
    return {
      ...(await commitPaged(env, d, caller, sequenceId, req, idempotencyKey, via, requestHash, prepared.mailboxIds)),
      planned: null,
    };
  const plan = await planSmall(env, d, caller, prepared, req);
  if (plan.problem) refuse([plan.problem]);
  const planned = plan.contacts.map((c) => ({ contactId: c.facts.contactId, evaluation: c.evaluation }));
  // A move's job gets only the contacts the target takes now (they leave their sequence in this request):
  // one held back stays there, and must not be enrolled here later, when its email is verified meanwhile.
  const move = via === "move";
  if (move) plan.contacts = plan.contacts.filter((c) => takenByMove(c.evaluation));
  const t = now();
  const jobId = fixedId ?? newId();
  const scheduled = req.add_at !== undefined && req.add_at > t;
  const held = plan.credits.maximum;
  const ref = holdRef(jobId);
  // A move's job names the contacts it takes (the others stay where they are).
  const summary = move ? { ...sourceSummary(req, via), contacts: plan.contacts.length } : sourceSummary(req, via);
  const live = sequenceStillThere(caller.teamId, sequenceId);
  const insertJob = sql`
    INSERT INTO jobs (id, team_id, user_id, caller, kind, sequence_id, source, options, status, run_at, total, credits_held, idempotency_key, created_at)
    SELECT ${jobId}, ${caller.teamId}, ${caller.userId}, ${JSON.stringify(storedCaller(caller))}, 'add_contacts', ${sequenceId}, ${JSON.stringify(summary)}, ${JSON.stringify(jobOptions(req, requestHash, via, plan.mailboxIds))},
           ${scheduled ? "scheduled" : "preparing"}, ${scheduled ? req.add_at! : t}, ${plan.contacts.length}, ${held}, ${idempotencyKey}, ${t}
     WHERE (${held} = 0 OR EXISTS (SELECT 1 FROM credit_ledger WHERE team_id = ${caller.teamId} AND ref = ${ref})) AND ${live}`;
  // The job and its candidates in one transaction: a crash between them left a job without candidates,
  // which a retry with the same Idempotency-Key returned and the cron started, and which never ended.
  // person_id marks a net-new person (a saved contact's row carries only its contact id).
  const candidateRows = plan.contacts.map((c) => [
    c.facts.contactId ? null : c.facts.personId,
    c.facts.contactId,
    c.mailboxId,
    // The candidate query's bits (duplicate email, same company), as a job staged by stageCandidatesSql keeps them.
    Number(c.facts.duplicate ?? 0),
  ]);
  const insertCandidates = chunked(candidateRows, CANDIDATE_ROWS).map(
    (part, k) => sql`
      INSERT INTO job_candidates (job_id, idx, team_id, person_id, contact_id, mailbox_id, duplicate)
      SELECT ${jobId}, ${k * CANDIDATE_ROWS} + key, ${caller.teamId}, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]')
        FROM json_each(${JSON.stringify(part)}) WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ${jobId})`,
  );
  try {
    await batchSql(d, [
      ...(held > 0 ? holdStatements(caller.teamId, ref, held, jobId, summary.kind, "Held for adding contacts", live) : []),
      insertJob,
      ...insertCandidates,
    ]);
  } catch (err) {
    // Two requests with one Idempotency-Key at once: the unique index lets one through.
    if (idempotencyKey && isUniqueViolation(err)) return commitAddContacts(env, d, caller, sequenceId, req, idempotencyKey, via);
    throw err;
  }
  // No job: the sequence was deleted while this was planned (404 here), or the balance changed (below).
  if (!(await jobById(d, jobId))) await sequenceFor(d, caller, sequenceId);
  if (held > 0 && !(await holdExists(d, caller.teamId, ref))) {
    throw new ApiError(
      "insufficient_credits",
      "The balance changed and no longer covers this batch",
      { fix: "Preview again", maximum: held },
      422,
    );
  }
  if (!scheduled) await startJob(env, d, jobId);
  return { job: (await jobById(d, jobId))!, replayed: false, planned };
}

/** The contacts a committed job of the team takes (its candidates' contacts), or null when it has no such job. */
export async function takenBy(d: Db, teamId: string, jobId: string): Promise<Set<string> | null> {
  const rows = await d.all<{ id: string; contact_id: string | null }>(
    sql`SELECT j.id, c.contact_id FROM jobs j LEFT JOIN job_candidates c ON c.job_id = j.id WHERE j.id = ${jobId} AND j.team_id = ${teamId}`,
  );
  return rows.length ? new Set(rows.flatMap((r) => (r.contact_id ? [r.contact_id] : []))) : null;
}

/** The job an Idempotency-Key already made (refused when the key came with another request). */
async function replayOf(d: Db, caller: Caller, idempotencyKey: string | null, requestHash: string): Promise<JobRow | null> {
  if (!idempotencyKey) return null;
  const existing = await d.query.jobs.findFirst({ where: and(eq(jobs.teamId, caller.teamId), eq(jobs.idempotencyKey, idempotencyKey)) });
  if (!existing) return null;
  if (optionsOf(existing).request_hash !== requestHash) {
    throw new ApiError("idempotency_key_reused", "This Idempotency-Key was used with a different request", {
      idempotency_key: idempotencyKey,
    });
  }
  return existing;
}

/**
 * Commit of a large selection (more than PLAN_PAGE candidates): the job ("preparing") and its
 * candidates are written in priority order inside D1 (one statement, no ids in the Worker), and the
 * first plan page is queued. The pages validate, add up the maximum spend and assign mailboxes; the
 * last one holds the credits (or fails the job with the reason when the balance can't cover the
 * maximum, before anything is charged or enrolled) and fans out the chunks.
 */
async function commitPaged(
  env: Env,
  d: Db,
  caller: Caller,
  sequenceId: string,
  req: AddContactsRequest,
  idempotencyKey: string | null,
  via: string,
  requestHash: string,
  mailboxIds: string[],
): Promise<{ job: JobRow; replayed: boolean }> {
  const t = now();
  const jobId = newId();
  const loads = await loadMailboxLoads(env, d, caller.teamId, mailboxIds, t);
  try {
    await batchSql(d, [
      d.insert(jobs).values({
        id: jobId,
        teamId: caller.teamId,
        userId: caller.userId,
        caller: storedCaller(caller),
        kind: "add_contacts",
        sequenceId,
        source: sourceSummary(req, via),
        options: jobOptions(
          req,
          requestHash,
          via,
          loads.map((m) => m.id),
        ),
        status: "preparing",
        runAt: t,
        total: 0,
        creditsHeld: 0,
        idempotencyKey,
        createdAt: t,
      }),
      stageCandidatesSql(jobId, caller.teamId, req.source, rulesOf(sequenceId, req)),
      d
        .update(jobs)
        .set({ total: sql`(SELECT count(*) FROM job_candidates WHERE job_id = ${jobId})` })
        .where(eq(jobs.id, jobId)),
      // The sequence deleted while this was read: the job and its candidates are taken back in the same
      // transaction, so nothing is written (deleteSequence refuses a sequence with a job: only one commits).
      sql`DELETE FROM job_candidates WHERE job_id = ${jobId} AND NOT ${sequenceStillThere(caller.teamId, sequenceId)}`,
      sql`DELETE FROM jobs WHERE id = ${jobId} AND NOT ${sequenceStillThere(caller.teamId, sequenceId)}`,
    ]);
  } catch (err) {
    if (idempotencyKey && isUniqueViolation(err)) return commitAddContacts(env, d, caller, sequenceId, req, idempotencyKey, via);
    throw err;
  }
  // No job: the sequence was deleted while this was read (404 here). Read before its plan page is queued:
  // the job as committed is the answer.
  const job = await jobById(d, jobId);
  if (!job) await sequenceFor(d, caller, sequenceId);
  await env.JOBS.send({ kind: "add_contacts_plan", jobId, from: 0, left: roomOf(loads, req.rotation), maximum: 0 });
  return { job: job!, replayed: false };
}

/**
 * "The sequence still exists", as a condition of the writes that commit an add's job: a sequence deleted
 * after the add read it (services/sequences.ts, deleteSequence) gets no job, no candidates and no hold.
 */
const sequenceStillThere = (teamId: string, sequenceId: string) =>
  sql`EXISTS (SELECT 1 FROM sequences WHERE id = ${sequenceId} AND team_id = ${teamId})`;

/** Fan the job out: one queue message per chunk of candidate indexes. */
export async function startJob(env: Env, d: Db, jobId: string) {
  // run_at becomes the queued job's heartbeat from now (a scheduled job's was its start time).
  const job = await d
    .update(jobs)
    .set({ status: "queued", runAt: now() })
    .where(and(eq(jobs.id, jobId), inArray(jobs.status, ["preparing", "scheduled"])))
    .returning()
    .get();
  if (!job) return;
  if (job.total === 0) return finishJob(d, jobId);
  await sendChunks(env, jobId, job.total);
}

/** Chunk starts 0, CHUNK_SIZE, … below total (every range the job fans out). */
function chunkStarts(total: number): number[] {
  const starts: number[] = [];
  for (let from = 0; from < total; from += CHUNK_SIZE) starts.push(from);
  return starts;
}

async function sendChunks(env: Env, jobId: string, total: number, starts = chunkStarts(total)) {
  const messages = starts.map((from) => ({
    body: { kind: "add_contacts_chunk", jobId, from, to: Math.min(total, from + CHUNK_SIZE) } satisfies QueueMessage,
  }));
  for (let i = 0; i < messages.length; i += 100) await env.JOBS.sendBatch(messages.slice(i, i + 100));
}

/**
 * One chunk: re-validate (the state may have moved since the commit), enrich, save net-new people,
 * enroll through the SequenceDO, then store the outcomes and charges. Every step is idempotent, so
 * a redelivered chunk neither enrolls nor charges twice; the outcome row (primary key job, idx) is
 * written last and is the charge.
 */
export async function processChunk(env: Env, jobId: string, from: number, to: number, d: Db = db(env.DB)) {
  // One round trip for everything the chunk reads before validating (its candidates are read even
  // when a redelivery finds the chunk done: rare, and cheaper than a second round trip every time).
  const [[job], [done], [seq], cands, mailboxRows] = await d.batch([
    d.select().from(jobs).where(eq(jobs.id, jobId)),
    d
      .select({ n: count() })
      .from(jobOutcomes)
      .where(and(eq(jobOutcomes.jobId, jobId), gte(jobOutcomes.idx, from), lt(jobOutcomes.idx, to))),
    d
      .select({ settings: sequences.settings, archivedAt: sequences.archivedAt })
      .from(sequences)
      .where(eq(sequences.id, sql`(SELECT ${jobs.sequenceId} FROM ${jobs} WHERE ${jobs.id} = ${jobId})`)),
    d
      .select()
      .from(jobCandidates)
      .where(and(eq(jobCandidates.jobId, jobId), gte(jobCandidates.idx, from), lt(jobCandidates.idx, to)))
      .orderBy(jobCandidates.idx),
    // The job's mailboxes as they are now: one removed or disconnected since the commit sends nothing.
    d
      .select({ id: mailboxes.id, email: mailboxes.email, status: mailboxes.status })
      .from(mailboxes)
      .where(
        sql`${mailboxes.teamId} = (SELECT ${jobs.teamId} FROM ${jobs} WHERE ${jobs.id} = ${jobId})
            AND ${mailboxes.id} IN (SELECT value FROM json_each((SELECT ${jobs.options} FROM ${jobs} WHERE ${jobs.id} = ${jobId}), '$.mailbox_ids'))`,
      ),
  ]);
  if (!job || ["completed", "cancelled", "failed"].includes(job.status)) return;
  const connected = optionsOf(job).mailbox_ids.filter((id) => mailboxRows.some((m) => m.id === id && m.status === "connected"));
  type Progress = { processed: number; total: number };
  let progress: Progress | null | undefined;
  if ((done?.n ?? 0) >= to - from)
    progress = await d.get<Progress>(sql`SELECT processed, total FROM jobs WHERE id = ${jobId} AND status IN ${OPEN_SQL}`);
  else if (seq?.archivedAt)
    // Archived since the job started: nobody more is saved, charged or enrolled. The range is skipped
    // through its outcomes (each says why), never by ending the job here: sibling chunks may be saving
    // and charging right now, and theirs must be counted before the hold is settled (last chunk in).
    progress = await recordOutcomes(d, job, from, to, await unprocessedResults(d, job, cands, "sequence_archived"), now());
  else {
    // Each chunk acts with the rights its caller has now, as a request would: a revoked key, a disabled user
    // or lost edit rights stop what is left (skipped the same way as above, each with its cause, so the hold
    // is settled once).
    const refused = await callerRefused(d, job);
    if (refused)
      progress = await recordOutcomes(
        d,
        job,
        from,
        to,
        await unprocessedResults(d, job, cands, refused.reason),
        now(),
        `Stopped: ${refused.words}`,
      );
    else if (!connected.length)
      // Every mailbox of the job was removed or disconnected since the commit: enrolled there, its contacts
      // would wait for a mailbox that may never come back. Skipped the same way, saying why.
      progress = await recordOutcomes(
        d,
        job,
        from,
        to,
        await unprocessedResults(d, job, cands, "mailbox_not_connected"),
        now(),
        `Stopped: ${mailboxRows.map((m) => m.email).join(", ") || "its mailbox"} ${mailboxRows.length > 1 ? "are" : "is"} no longer connected`,
      );
    else progress = await runChunk(env, d, job, seq?.settings, cands, from, to, connected);
  }
  if (progress && progress.processed >= progress.total) await finishJob(d, jobId);
}

/**
 * Who a candidate is now. A contact stays that contact. A person (net-new when committed) is: saved
 * by this job in an earlier try (its candidate row carries the contact it created: still net-new for
 * the charge), saved by the team meanwhile (added as that contact, at no charge: invariant 6 charges
 * a person once), or still net-new (this try saves it).
 */
interface Who {
  /** What to load facts for. */
  lookup: Candidate;
  contactId: string;
  netNew: boolean;
  /** This try creates the contact. */
  creates: boolean;
}

type CandidateRow = typeof jobCandidates.$inferSelect;

/** The team's contacts of these people: person id → contact id. */
async function contactsOfPeople(d: Db, teamId: string, personIds: string[]): Promise<Map<string, string>> {
  if (!personIds.length) return new Map();
  const rows = await d
    .select({ personId: contacts.personId, id: contacts.id })
    .from(contacts)
    .where(and(eq(contacts.teamId, teamId), inList(contacts.personId, personIds)));
  return new Map(rows.map((r) => [r.personId!, r.id]));
}

async function whoAre(d: Db, job: JobRow, cands: CandidateRow[]): Promise<Who[]> {
  // By person or by address, as the candidates were resolved (a contact made by import, the API or by
  // hand is that person's), or the person's own deleted contact: never a second contact of someone.
  const savedNow = await liveContactsOfPeople(
    d,
    job.teamId,
    cands.flatMap((c) => (c.personId && !c.contactId ? [c.personId] : [])),
    true,
  );
  return Promise.all(
    cands.map(async (c): Promise<Who> => {
      if (!c.personId)
        return {
          lookup: { personId: null, contactId: c.contactId, duplicate: c.duplicate },
          contactId: c.contactId!,
          netNew: false,
          creates: false,
        };
      if (c.contactId)
        return {
          lookup: { personId: c.personId, contactId: null, duplicate: c.duplicate },
          contactId: c.contactId,
          netNew: true,
          creates: false,
        };
      const saved = savedNow.get(c.personId);
      if (saved)
        return { lookup: { personId: null, contactId: saved, duplicate: c.duplicate }, contactId: saved, netNew: false, creates: false };
      return {
        lookup: { personId: c.personId, contactId: null, duplicate: c.duplicate },
        contactId: await idFrom("contact", job.teamId, c.personId),
        netNew: true,
        creates: true,
      };
    }),
  );
}

interface ChunkResult {
  idx: number;
  contactId: string | null;
  personId: string | null;
  outcome: "enrolled" | "warned" | "skipped";
  reasons: string[];
  cost: number;
  mailboxId: string | null;
  enroll?: { score: number; timeZone: string | null; creates: boolean; contact?: ContactState; company?: string | null };
}

/**
 * The contact a chunk enrolls as its facts read it at the chunk's start, with the address the chunk gives it
 * (an address the enrichment found was checked against the suppressions: skipSuppressedFinds), for the
 * SequenceDO's hand-over of a first email due at once (EnrollItem.contact): what stepDue decides on (a new
 * contact's stage is not read: only Do Not Contact blocks, and a new contact is never in it). Only where the
 * facts are that row's: not for a person an earlier try saved (the facts are the person's), nor, set below,
 * a person someone else saved while the chunk ran.
 */
function contactAsChecked(f: Facts, w: Who, ev: Evaluation, t: number): ContactState | undefined {
  if (w.netNew && !w.creates) return undefined;
  return {
    id: w.contactId,
    email: ev.email,
    timeZone: f.timeZone,
    score: f.score,
    unsubscribedAt: f.unsubscribed ? t : null,
    bouncedAt: f.bounced ? t : null,
    deletedAt: f.found ? null : t,
    stageCategory: f.stageCategory,
    suppressed: f.suppressed,
  };
}

/** Runs one chunk; answers the job's progress once its outcomes are in (null if the job ended meanwhile). */
async function runChunk(
  env: Env,
  d: Db,
  job: JobRow,
  sequenceSettings: unknown,
  cands: CandidateRow[],
  from: number,
  to: number,
  /** The job's mailboxes still connected (at least one). */
  connected: string[],
): Promise<{ processed: number; total: number } | null> {
  const t = now();
  const options = optionsOf(job);
  // A contact planned on a mailbox removed or disconnected since the commit goes to one still connected,
  // as the job's rotation would pick (the loads are read once, and only when a contact needs them).
  let rotation: { ids: string[]; left: number[] } | null = null;
  const sendFrom = async (planned: string | null) => {
    if (planned !== null && connected.includes(planned)) return planned;
    if (!rotation) {
      const loads = await loadMailboxLoads(env, d, job.teamId, connected, t);
      rotation = { ids: loads.map((m) => m.id), left: roomOf(loads, options.rotation) };
    }
    return assignFrom(rotation.ids, rotation.left, 1)[0]!;
  };
  const who = await whoAre(d, job, cands);
  const facts = await loadFacts(
    d,
    job.teamId,
    job.sequenceId!,
    who.map((w) => w.lookup),
    t,
    job.id,
    [],
    // Read again as the chunk runs: another add may have enrolled a colleague since this job staged its candidates.
    !!options.skip_same_company,
  );
  // What an earlier try of this chunk enrolled is read only when there may be some: the facts walk each
  // contact's enrollments anyway and flag the job's own; a person this job saved before is read by its person
  // (no enrollments walked), and a contact not found may be one the earlier try enrolled before it was deleted.
  const mayHaveEarlier = facts.some((f) => f.enrolledByOwnJob || !f.found) || who.some((w) => w.netNew && !w.creates);
  const earlier = await enrolledEarlier(d, job, mayHaveEarlier ? who.map((w) => w.contactId) : []);
  // Addresses an earlier try found for saved contacts and wrote (with its enrichments, one batch) before it
  // failed, short of enrolling them: this try finds the address there and needs no enrichment, but the job
  // paid for it and charges it once, as the first try would have.
  const foundBefore = options.enrich
    ? await enrichedEarlier(
        d,
        job,
        who.flatMap((w) => (!w.netNew && !earlier.has(w.contactId) ? [w.contactId] : [])),
      )
    : new Map<string, number>();
  const factsByKey = new Map(facts.map((f) => [keyOf(f), f]));
  const validation = validationFor(job.userId!, sequenceSettings, options, false);

  const stmts: BatchStatement[] = [];
  const newContacts: Row[] = [];
  /** Candidates whose contact this try creates: [idx, contact id, person id]. */
  const claims: [number, string, string][] = [];
  const results: ChunkResult[] = [];
  const evaluations = await evaluateAll(
    d,
    job.teamId,
    who.map((w) => factsByKey.get(keyOf(w.lookup))!),
    validation,
  );
  const peopleNeeded = cands.filter((_, i) => who[i]!.creates && evaluations[i]!.outcome === "enrolled").map((c) => c.personId!);
  const people = new Map(
    (peopleNeeded.length ? await d.query.people.findMany({ where: (p) => inList(p.id, peopleNeeded) }) : []).map((p) => [p.id, p]),
  );
  // Enrichment attempts, one row each: [id, contact, provider, success, cost, creates, idx, email].
  const attempts: Row[] = [];
  const enrichmentIds = await Promise.all(
    evaluations.map((ev, i) => Promise.all((ev.enrichment?.attempts ?? []).map((a) => idFrom(job.id, who[i]!.contactId, a.provider)))),
  );
  for (const [i, c] of cands.entries()) {
    const w = who[i]!;
    const f = factsByKey.get(keyOf(w.lookup))!;
    const ev = evaluations[i]!;
    const contactId = w.contactId;
    const mine = earlier.get(contactId);
    if (mine) {
      // An earlier try of this chunk enrolled this contact and crashed before its outcome: report what
      // the job did (enrolled, at what it cost then), whatever the contact's state is now.
      results.push({
        idx: c.idx,
        contactId,
        personId: f.personId,
        outcome: "enrolled",
        reasons: [...ev.warnings, ...(mine.enriched ? ["enriched"] : [])],
        cost: mine.cost(w.netNew),
        mailboxId: mine.mailboxId,
      });
      continue;
    }
    (ev.enrichment?.attempts ?? []).forEach((a, k) => {
      attempts.push([
        enrichmentIds[i]![k]!,
        contactId,
        a.provider,
        a.success ? 1 : 0,
        ev.outcome === "enrolled" ? a.cost : 0,
        w.creates ? 1 : 0,
        c.idx,
        a.email,
      ]);
    });
    if (ev.outcome !== "enrolled") {
      results.push({
        idx: c.idx,
        contactId: f.contactId,
        personId: f.personId,
        outcome: ev.outcome,
        reasons: [...ev.skips, ...ev.warnings],
        cost: 0,
        mailboxId: null,
      });
      continue;
    }
    if (w.creates) {
      const p = people.get(f.personId!)!;
      claims.push([c.idx, contactId, f.personId!]);
      newContacts.push(
        contactFromPerson(p, {
          id: contactId,
          teamId: job.teamId,
          // || : a job committed before empty owners were refused may hold "" (no one); its user owns them then.
          ownerId: options.owner_id || job.userId,
          stageId: null,
          email: ev.email,
          emailStatus: ev.emailStatus,
          source: "add_contacts",
          at: t,
        }),
      );
    } else if (ev.enrichment?.email && f.contactId) {
      stmts.push(
        d
          .update(contacts)
          .set({ email: ev.email, emailStatus: ev.emailStatus as (typeof contacts.$inferSelect)["emailStatus"], updatedAt: t })
          .where(
            and(
              eq(contacts.id, contactId),
              eq(contacts.teamId, job.teamId),
              sql`(${contacts.email} IS NULL OR ${contacts.emailStatus} = 'unavailable')`,
            ),
          ),
      );
    }
    const mailboxId = await sendFrom(c.mailboxId ?? options.mailbox_ids[0] ?? null);
    const paidBefore = ev.enrichment?.email ? 0 : (foundBefore.get(contactId) ?? 0);
    results.push({
      idx: c.idx,
      contactId,
      personId: f.personId,
      outcome: "enrolled",
      reasons: [...ev.warnings, ...(ev.enrichment?.email || paidBefore ? ["enriched"] : [])],
      cost: ev.cost + paidBefore,
      mailboxId,
      enroll: {
        score: f.score,
        timeZone: f.timeZone,
        creates: w.creates,
        contact: contactAsChecked(f, w, ev, t),
        // One contact per company: the SequenceDO checks the company again as it enrolls (two adds at once).
        company: options.skip_same_company ? f.companyKey : undefined,
      },
    });
  }
  if (attempts.length) {
    // A contact this try creates pays for its enrichment only if this try's claim on it holds (the
    // claim runs first in the same batch).
    const v = (k: number) => sql.raw(`json_extract(value, '$[${k}]')`);
    stmts.push(sql`
      INSERT OR IGNORE INTO enrichments (id, team_id, job_id, contact_id, provider, success, cost, email, created_at)
      SELECT ${v(0)}, ${job.teamId}, ${job.id}, ${v(1)}, ${v(2)}, ${v(3)},
             CASE WHEN ${v(5)} = 0 OR EXISTS (SELECT 1 FROM job_candidates jc WHERE jc.job_id = ${job.id} AND jc.idx = ${v(6)} AND jc.contact_id = ${v(1)}) THEN ${v(4)} ELSE 0 END,
             ${v(7)}, ${t}
        FROM json_each(${JSON.stringify(attempts)}) WHERE true`);
  }
  if (newContacts.length) {
    // The stage of new contacts: the team's first "open" stage.
    const stage = await d
      .select({ id: contactStages.id })
      .from(contactStages)
      .where(and(eq(contactStages.teamId, job.teamId), eq(contactStages.category, "open")))
      .orderBy(contactStages.position)
      .get();
    for (const r of newContacts) (r as unknown[])[4] = stage?.id ?? null;
    stmts.unshift(
      // Claim each new contact on its candidate row, in the same transaction that creates it, only if
      // nobody saved that person first: the claim says which job saved (and charges) the person.
      // Written as an upsert of existing rows so SQLite goes from each claim to its row by (job_id, idx):
      // as UPDATE … FROM it walked every candidate of the job against the whole list, per chunk.
      sql`
        INSERT INTO job_candidates (job_id, idx, team_id, person_id, contact_id)
        SELECT ${job.id}, json_extract(value, '$[0]'), ${job.teamId}, json_extract(value, '$[2]'), json_extract(value, '$[1]')
          FROM json_each(${JSON.stringify(claims)})
         WHERE EXISTS (SELECT 1 FROM job_candidates x WHERE x.job_id = ${job.id} AND x.idx = json_extract(value, '$[0]'))
        ON CONFLICT (job_id, idx) DO UPDATE SET contact_id = excluded.contact_id
         WHERE job_candidates.contact_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.team_id = ${job.teamId} AND c.person_id = excluded.person_id)`,
      ...bulkInsertSql("contacts", CONTACT_FROM_PERSON_COLUMNS, newContacts),
    );
  }
  await batchSql(d, stmts);
  if (claims.length) {
    // A claim that didn't hold: another job saved the person between our read and our write. It is
    // added as that contact, and this job charges nothing for saving it.
    const heldRows = await d
      .select({ idx: jobCandidates.idx })
      .from(jobCandidates)
      .where(
        and(
          eq(jobCandidates.jobId, job.id),
          inList(
            jobCandidates.idx,
            claims.map(([i]) => i),
          ),
          sql`${jobCandidates.contactId} IS NOT NULL`,
        ),
      );
    const held = new Set(heldRows.map((r) => r.idx));
    const lost = claims.filter(([i]) => !held.has(i));
    if (lost.length) {
      const actual = await contactsOfPeople(
        d,
        job.teamId,
        lost.map(([, , p]) => p),
      );
      for (const r of results) {
        if (!r.enroll?.creates || held.has(r.idx)) continue;
        r.contactId = actual.get(r.personId!) ?? r.contactId;
        r.cost = 0;
        // Someone else's contact of that person: its row is not the one the facts describe.
        r.enroll!.contact = undefined;
      }
    }
  }
  const enrollItems = await Promise.all(
    results
      .filter((r) => r.enroll)
      .map(async (r) => ({
        // By the candidate's place in the job: a redelivered chunk enrolls under the same ids, in order.
        enrollmentId: await orderedIdFrom(job.id, r.idx, "enrollment", r.contactId!),
        contactId: r.contactId!,
        mailboxId: r.mailboxId,
        score: r.enroll!.score,
        timeZone: r.enroll!.timeZone,
        contact: r.enroll!.contact,
        company: r.enroll!.company,
        jobId: job.id,
        addedBy: job.userId,
      })),
  );

  // Invariant 1: the SequenceDO enrolls each contact once, and one contact per address. A contact it
  // already had under another enrollment (added meanwhile by someone else), or whose address another
  // contact runs there (a job adding that twin at the same moment got past candidates' check too), is a
  // skip, not a charge. So is a contact whose colleague another add enrolled at the same moment (skip_same_company).
  if (enrollItems.length) {
    const res = await engine.sequence(env, job.sequenceId!, job.teamId).enroll(enrollItems);
    const theirs = new Set(res.alreadyOther);
    const twinRuns = new Set(res.duplicateEmail);
    const colleagueRuns = new Set(res.sameCompany);
    for (const r of results) {
      if (r.outcome !== "enrolled" || !r.contactId) continue;
      const reason = theirs.has(r.contactId)
        ? "already_in_sequence"
        : twinRuns.has(r.contactId)
          ? "duplicate_email"
          : colleagueRuns.has(r.contactId)
            ? "same_company"
            : null;
      if (reason) {
        r.outcome = "skipped";
        r.reasons = [reason];
        r.cost = 0;
      }
    }
  }
  return recordOutcomes(d, job, from, to, results, t);
}

/**
 * A chunk's outcomes, all at once (one transaction), so a range has all its rows or none: the progress
 * grows by their tally only if the range was empty before, in the same transaction. A redelivered chunk
 * adds nothing; the job is recounted from its outcomes when it ends. `error`: why the chunk could not be
 * processed, kept on the job. Answers the job's progress (null if it ended meanwhile).
 */
async function recordOutcomes(
  d: Db,
  job: JobRow,
  from: number,
  to: number,
  results: Omit<ChunkResult, "enroll">[],
  t: number,
  error: string | null = null,
): Promise<{ processed: number; total: number } | null> {
  const outcomeRows: Row[] = results.map((r) => [
    r.idx,
    r.contactId,
    r.personId,
    r.outcome,
    JSON.stringify(r.reasons),
    r.cost,
    r.mailboxId,
  ]);
  const tally = { enrolled: 0, warned: 0, skipped: 0, credits: 0 };
  for (const r of results) {
    tally[r.outcome]++;
    tally.credits += r.cost;
  }
  const at = now();
  const res = await batchSql(d, [
    // run_at is the open job's heartbeat (startDueJobs resumes a job quiet for QUIET_MS), progress_at what its screen shows.
    // A reason already on the job is not added again (every chunk of a stopped job gives the same one).
    sql`UPDATE jobs SET status = CASE WHEN status = 'queued' THEN 'running' ELSE status END, started_at = coalesce(started_at, ${t}),
          run_at = ${at}, progress_at = ${at}, error = CASE WHEN instr(coalesce(error, ''), ${error}) > 0 THEN error ELSE coalesce(error || '; ' || ${error}, ${error}, error) END,
          processed = processed + ${results.length}, enrolled = enrolled + ${tally.enrolled}, warned = warned + ${tally.warned},
          skipped = skipped + ${tally.skipped}, credits_used = credits_used + ${tally.credits}
        WHERE id = ${job.id} AND status IN ${OPEN_SQL}
          AND NOT EXISTS (SELECT 1 FROM job_outcomes WHERE job_id = ${job.id} AND idx >= ${from} AND idx < ${to})`,
    ...bulkInsertSql(
      "job_outcomes",
      ["idx", "contact_id", "person_id", "outcome", "reasons", "credit_cost", "mailbox_id"],
      outcomeRows,
      "OR IGNORE",
      "",
      { job_id: job.id, team_id: job.teamId },
    ),
    sql`SELECT processed, total FROM jobs WHERE id = ${job.id} AND status IN ${OPEN_SQL}`,
  ]);
  return (res[res.length - 1]!.results[0] as { processed: number; total: number } | undefined) ?? null;
}

/**
 * A chunk that failed every retry (its message dead-lettered). The job goes on: other chunks may be
 * running right now, and ending the job here settled its credits before they wrote theirs (enrolled
 * contacts never charged, counters short of the outcomes). The chunk's contacts get their outcomes
 * instead: enrolled, as charged, for those an earlier try of it enrolled; "not processed" for the rest.
 * The job ends the usual way when its last chunk is in, with the reason kept on it.
 */
export async function failChunk(env: Env, jobId: string, from: number, to: number, reason: string, d: Db = db(env.DB)) {
  const [[job], cands] = await d.batch([
    d.select().from(jobs).where(eq(jobs.id, jobId)),
    d
      .select()
      .from(jobCandidates)
      .where(and(eq(jobCandidates.jobId, jobId), gte(jobCandidates.idx, from), lt(jobCandidates.idx, to)))
      .orderBy(jobCandidates.idx),
  ]);
  if (!job || !(OPEN as readonly string[]).includes(job.status)) return;
  const results = await unprocessedResults(d, job, cands, "not_processed");
  const progress = await recordOutcomes(d, job, from, to, results, now(), reason);
  if (progress && progress.processed >= progress.total) await finishJob(d, jobId);
}

/**
 * The outcomes of a chunk's contacts that it does not process (it failed every retry, or its sequence
 * was archived): enrolled, as charged, for those an earlier try of it enrolled (saved and paid for);
 * skipped with `reason` for the rest.
 */
async function unprocessedResults(
  d: Db,
  job: JobRow,
  cands: CandidateRow[],
  reason: "not_processed" | "sequence_archived" | StopReason | "mailbox_not_connected",
): Promise<Omit<ChunkResult, "enroll">[]> {
  const who = await whoAre(d, job, cands);
  const earlier = await enrolledEarlier(
    d,
    job,
    who.map((w) => w.contactId),
  );
  return cands.map((c, i): Omit<ChunkResult, "enroll"> => {
    const w = who[i]!;
    const mine = earlier.get(w.contactId);
    return mine
      ? {
          idx: c.idx,
          contactId: w.contactId,
          personId: c.personId,
          outcome: "enrolled",
          reasons: mine.enriched ? ["enriched"] : [],
          cost: mine.cost(w.netNew),
          mailboxId: mine.mailboxId,
        }
      : {
          idx: c.idx,
          contactId: c.contactId,
          personId: c.personId,
          outcome: "skipped",
          reasons: [reason],
          cost: 0,
          mailboxId: null,
        };
  });
}

/** What this job paid for the addresses it found of these contacts (successful enrichments), by contact. */
async function enrichedEarlier(d: Db, job: JobRow, contactIds: string[]): Promise<Map<string, number>> {
  if (!contactIds.length) return new Map();
  const rows = await d
    .select({ contactId: enrichments.contactId, cost: sql<number>`sum(${enrichments.cost})` })
    .from(enrichments)
    .where(and(eq(enrichments.jobId, job.id), eq(enrichments.success, true), inList(enrichments.contactId, contactIds)))
    .groupBy(enrichments.contactId);
  return new Map(rows.filter((r) => r.cost > 0).map((r) => [r.contactId, r.cost]));
}

/**
 * The contacts of a chunk that this job itself already enrolled (an earlier try that crashed before
 * writing outcomes), with what enrolling them cost: 1 for a net-new person saved with a verified
 * email, plus the enrichment that found the address (both written before the enrollment).
 */
async function enrolledEarlier(d: Db, job: JobRow, contactIds: string[]) {
  const out = new Map<string, { mailboxId: string | null; enriched: boolean; cost: (netNew: boolean) => number }>();
  if (!contactIds.length) return out;
  const enrolled = await d
    .select({ contactId: enrollments.contactId, mailboxId: enrollments.mailboxId })
    .from(enrollments)
    .where(and(eq(enrollments.sequenceId, job.sequenceId!), eq(enrollments.jobId, job.id), inList(enrollments.contactId, contactIds)));
  // A first try (nearly every chunk) stops here; only a retry reads what its earlier try cost.
  if (!enrolled.length) return out;
  const mine = enrolled.map((r) => r.contactId);
  const [statuses, enrich] = await d.batch([
    d
      .select({ id: contacts.id, emailStatus: contacts.emailStatus })
      .from(contacts)
      .where(teamRowsById(contacts, job.teamId, mine)),
    d
      .select({ contactId: enrichments.contactId, cost: sql<number>`sum(${enrichments.cost})` })
      .from(enrichments)
      .where(and(eq(enrichments.jobId, job.id), eq(enrichments.success, true), inList(enrichments.contactId, mine)))
      .groupBy(enrichments.contactId),
  ]);
  const status = new Map(statuses.map((r) => [r.id, r.emailStatus]));
  const enrichCost = new Map(enrich.map((r) => [r.contactId, r.cost]));
  for (const r of enrolled) {
    const id = r.contactId;
    const e = enrichCost.get(id);
    out.set(id, {
      mailboxId: r.mailboxId,
      enriched: e !== undefined,
      cost: (netNew) => (netNew && status.get(id) === "verified" ? 1 : 0) + (e ?? 0),
    });
  }
  return out;
}

const OPEN = ["preparing", "queued", "running"] as const;
const OPEN_SQL = sql.raw("('preparing','queued','running')");

/** Recounts a job's progress from its outcomes (idempotent), in one pass over them. */
const recountSql = (jobId: string) => sql`
  UPDATE jobs SET processed = o.n, enrolled = o.enrolled, warned = o.warned, skipped = o.skipped, credits_used = o.credits
    FROM (SELECT count(*) AS n, coalesce(sum(outcome = 'enrolled'), 0) AS enrolled, coalesce(sum(outcome = 'warned'), 0) AS warned,
                 coalesce(sum(outcome = 'skipped'), 0) AS skipped, coalesce(sum(credit_cost), 0) AS credits
            FROM job_outcomes WHERE job_id = ${jobId}) AS o
   WHERE jobs.id = ${jobId} AND jobs.status IN ('preparing','queued','running')
  RETURNING jobs.processed, jobs.total`;

/**
 * Invariant 6: a job's status becomes terminal in the same `batch()` (one transaction) as the ledger
 * row that settles its hold, so no crash can end a job and keep what it held. Every ending settles
 * under the same ref, so at most one settlement per job.
 */
export async function endJob(
  d: Db,
  jobId: string,
  status: "completed" | "failed" | "cancelled",
  from: readonly JobRow["status"][],
  error: string | null,
): Promise<JobRow | null> {
  const [ended] = await batchSql(d, [
    d
      .update(jobs)
      .set({ status, error: sql`coalesce(${error}, ${jobs.error})`, finishedAt: sql`coalesce(${jobs.finishedAt}, ${now()})` })
      .where(and(eq(jobs.id, jobId), inList(jobs.status, [...from])))
      .returning({ id: jobs.id }),
    ...settleJobStatements(jobId),
  ]);
  return ended!.results.length ? ((await jobById(d, jobId)) ?? null) : null;
}

/**
 * Settle: the job completes and the unused part of the hold goes back, together. The counts are
 * recounted from the outcomes first (one pass, once per job), so what is settled is what the
 * outcomes say, whatever the chunks' running tallies did.
 */
async function finishJob(d: Db, jobId: string) {
  await d.run(recountSql(jobId));
  await endJob(d, jobId, "completed", OPEN, null);
}

/**
 * A scheduled job can be cancelled until it starts; its hold is returned with the status change.
 * Takes the env (tests and the model checker run it over a D1 that crashes at a chosen write).
 */
export async function cancelJob(env: Env, teamId: string, jobId: string) {
  const d = db(env.DB);
  const owned = await d
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.id, jobId), eq(jobs.teamId, teamId)))
    .get();
  if (!owned) return null;
  return endJob(d, jobId, "cancelled", ["scheduled"], null);
}

/**
 * How long a queued or running job may go without progress before the cron sends its unfinished
 * chunks again: 10 minutes. A chunk's message normally reaches the consumer within seconds, its
 * retries back off 560 s in all (queue/consumer.ts), and a chunk of CHUNK_SIZE candidates is written in
 * well under a minute, so 10 quiet minutes mean a message was lost (a send that failed after the status changed, a
 * consumer that died without retrying, a message dropped) and nothing else will move the job. A job is
 * resumed at most once per QUIET_MS, and a resumed chunk that was only slow is harmless: every chunk
 * step is idempotent (see processChunk).
 */
export const QUIET_MS = 10 * 60_000;

/**
 * Cron: queued and running jobs quiet for QUIET_MS continue from where they stopped. run_at is an open
 * job's heartbeat (moved by each chunk's outcomes and by each resume), so each resumes at most once per
 * quiet period. Only the chunks without outcomes go out again (a chunk writes all its outcomes in one
 * transaction, so one outcome row in its range means the chunk is done); a job whose chunks are all
 * done but that never ended (a crash after the last chunk's outcomes) is finished here, settling its
 * hold under its one settlement ref (invariant 6: released or settled exactly once).
 */
async function resumeQuietJobs(env: Env, d: Db, t: number) {
  const quiet = await d
    .update(jobs)
    .set({ runAt: t, resumedAt: t })
    .where(
      inArray(
        jobs.id,
        d
          .select({ id: jobs.id })
          .from(jobs)
          .where(
            and(
              inArray(jobs.status, ["queued", "running"]),
              eq(jobs.kind, "add_contacts"),
              sql`coalesce(${jobs.runAt}, ${jobs.createdAt}) < ${t - QUIET_MS}`,
            ),
          )
          .limit(50),
      ),
    )
    .returning({ id: jobs.id, total: jobs.total });
  // Each job on its own: a throw (Queues refusing a send) left every job after it marked as resumed
  // but not sent, for another quiet period. One that fails is logged and given back to the next tick.
  for (const j of quiet) {
    try {
      const starts = chunkStarts(j.total);
      const left = await d.all<{ f: number }>(sql`
        SELECT s.value AS f FROM json_each(${JSON.stringify(starts)}) s
         WHERE NOT EXISTS (SELECT 1 FROM job_outcomes o WHERE o.job_id = ${j.id} AND o.idx >= s.value AND o.idx < s.value + ${CHUNK_SIZE})`);
      if (left.length)
        await sendChunks(
          env,
          j.id,
          j.total,
          left.map((r) => r.f),
        );
      else await finishJob(d, j.id);
    } catch (err) {
      console.error("resuming a quiet job failed; the next tick tries again", j.id, err);
      await d
        .update(jobs)
        .set({ runAt: t - QUIET_MS })
        .where(and(eq(jobs.id, j.id), eq(jobs.runAt, t), inArray(jobs.status, ["queued", "running"])))
        .catch((e: unknown) => console.error("giving a quiet job back to the next tick failed", j.id, e));
    }
  }
}

/** Ended jobs older than this are not swept: the sweep runs every minute, so a miss is fixed long before. */
const SWEEP_WINDOW_MS = 7 * 86_400_000;
const SWEEP_PAGE = 100;

/**
 * Cron: resume quiet queued and running jobs (resumeQuietJobs); start scheduled jobs whose time has
 * come; fail jobs whose commit was cut short. (settleEndedJobs settles the hold of any ended job that
 * has no settlement yet.)
 */
export async function startDueJobs(env: Env, d: Db = db(env.DB)) {
  const t = now();
  await resumeQuietJobs(env, d, t);
  const due = await d
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.status, "scheduled"), sql`${jobs.runAt} <= ${t}`))
    .orderBy(jobs.runAt)
    .limit(50);
  for (const j of due) {
    // Started later than asked: by whoever asked, as they are now (they may have been disabled, lost the
    // sequence, or asked with an API key since revoked).
    const [job] = await d.select().from(jobs).where(eq(jobs.id, j.id));
    const refused = job ? await callerRefused(d, job) : null;
    if (refused) await endJob(d, j.id, "failed", ["scheduled"], `Not started: ${refused.words}`);
    else await startJob(env, d, j.id);
  }
  // A preparing job's run_at is its heartbeat (each plan page moves it): quiet as long as a running job
  // that gets resumed = interrupted (it holds no credits yet: the last plan page takes the hold).
  const stale = await d
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.status, "preparing"), sql`coalesce(${jobs.runAt}, ${jobs.createdAt}) < ${t - QUIET_MS}`))
    .limit(50);
  for (const j of stale) await endJob(d, j.id, "failed", ["preparing"], "The request was interrupted before the job started");
  return due.length;
}

/** Who a job acts for: the caller it stored, or a session of its user for a job committed before callers were kept. */
function callerOf(job: JobRow): Caller | null {
  if (job.caller) return { teamId: job.teamId, ...job.caller };
  return job.userId ? { teamId: job.teamId, userId: job.userId, role: "member", via: "session" } : null;
}

/**
 * Why the caller who committed a job may no longer have it act, as the skip reason of the contacts it has
 * not reached and in words; null when they may. The job holds no one else's rights: it acts with its
 * caller's as they are now (callerNow: a standard key keeps a member's rights, whatever its creator's
 * role), when it starts and at each chunk. A revoked key and a disabled user each have their own reason
 * (an integration replaces a key, but enables a user); anything else is lost rights.
 */
async function callerRefused(d: Db, job: JobRow): Promise<{ reason: StopReason; words: string } | null> {
  const stored = callerOf(job);
  if (!stored || !job.sequenceId) return null;
  const asked = job.status === "scheduled" ? "scheduled it" : "asked for it";
  const viaKey = stored.via === "api_key";
  const caller = await callerNow(d, stored);
  if (!caller) {
    const keyId = viaKey ? stored.apiKeyId : undefined;
    const [[key], [user]] = await Promise.all([
      keyId
        ? d
            .select({ revokedAt: apiKeys.revokedAt })
            .from(apiKeys)
            .where(and(eq(apiKeys.id, keyId), eq(apiKeys.teamId, job.teamId)))
        : Promise.resolve([]),
      d
        .select({ disabledAt: users.disabledAt })
        .from(users)
        .where(and(eq(users.id, stored.userId), eq(users.teamId, job.teamId))),
    ]);
    if (keyId && (!key || key.revokedAt !== null)) return { reason: "api_key_revoked", words: `the API key that ${asked} was revoked` };
    if (!user || user.disabledAt !== null)
      return {
        reason: "caller_disabled",
        words: viaKey ? `the user the API key acted for was disabled or removed` : `the user who ${asked} was disabled or removed`,
      };
    // The key is there and its user enabled: its creator was disabled or, for a master key, is no longer an admin.
    return {
      reason: "caller_not_permitted",
      words: `the API key that ${asked} no longer works: its creator was disabled or is no longer an admin`,
    };
  }
  try {
    await sequenceFor(d, caller, job.sequenceId, "sequence.edit");
    return null;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return {
      reason: "caller_not_permitted",
      words: `${viaKey ? "the API key that" : "the user who"} ${asked} can no longer add contacts to this sequence`,
    };
  }
}

/** The skip reasons of contacts a job stops before reaching because of who asked for it. */
type StopReason = "caller_not_permitted" | "api_key_revoked" | "caller_disabled";

/** The sweep: every ended job whose hold was never settled gets its settlement, in pages. */
export async function settleEndedJobs(env: Env, d: Db = db(env.DB)): Promise<number> {
  const rows = await d.all<{ id: string }>(sql`
    SELECT j.id FROM jobs j
     WHERE j.status IN ('completed','failed','cancelled') AND coalesce(j.finished_at, j.created_at) >= ${now() - SWEEP_WINDOW_MS}
       AND (j.credits_held > 0 OR j.credits_used > 0)
       AND NOT EXISTS (SELECT 1 FROM credit_ledger l WHERE l.team_id = j.team_id AND l.ref IN ('job:' || j.id || ':settle', 'job:' || j.id || ':cancel', 'job:' || j.id || ':abort'))
     LIMIT ${SWEEP_PAGE}`);
  for (const j of rows) await batchSql(d, settleJobStatements(j.id));
  return rows.length;
}

/**
 * Ends a job that may have done part of its work, with the reason: its counts recounted from its
 * outcomes, then the status, then what it held and did not use returned (settleJobStatements), in one
 * transaction. Chunks still queued find it ended and do nothing. The UPDATE is the second statement.
 */
function endWithRecount(d: Db, jobId: string, status: "failed" | "cancelled", reason: string, from: readonly JobRow["status"][]) {
  return [
    recountSql(jobId),
    d
      .update(jobs)
      .set({ status, error: reason, finishedAt: sql`coalesce(${jobs.finishedAt}, ${now()})` })
      .where(and(eq(jobs.id, jobId), inList(jobs.status, [...from])))
      .returning({ id: jobs.id }),
    ...settleJobStatements(jobId),
  ];
}

/** A job that can't finish: failed with the reason; what it did not use is returned in the same transaction. */
export async function failJob(env: Env, jobId: string, reason: string, d: Db = db(env.DB)) {
  const [, ended] = await batchSql(d, endWithRecount(d, jobId, "failed", reason, OPEN));
  return ended!.results.length ? ((await jobById(d, jobId)) ?? null) : null;
}

/** Why a job that had not started was cancelled by the archive of its sequence (the job's screen shows it). */
export const SEQUENCE_ARCHIVED =
  "Cancelled: the sequence was archived before the job started. Nobody was added; the credits held were returned.";

/**
 * Jobs whose chunks can't be running: scheduled, or still being planned (no chunk is sent before the
 * job is queued). Only these may be ended from outside; a queued or running job is ended by its own
 * chunks, or its hold would be settled before the outcomes of a chunk on its way were counted.
 */
const NOT_STARTED = ["preparing", "scheduled"] as const;

/**
 * Stops a job that has not started as a cancel does (its hold returned), with the reason, for the
 * batch that archives its sequence. A started job is left to its chunks (see processChunk).
 */
export const stopJobStatements = (d: Db, jobId: string, reason: string) => endWithRecount(d, jobId, "cancelled", reason, NOT_STARTED);

/** The sequence's jobs that have not started: those archiving it stops. */
export async function notStartedJobsOf(d: Db, teamId: string, sequenceId: string): Promise<string[]> {
  const rows = await d
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(inList(jobs.status, [...NOT_STARTED]), eq(jobs.teamId, teamId), eq(jobs.sequenceId, sequenceId)));
  return rows.map((r) => r.id);
}
