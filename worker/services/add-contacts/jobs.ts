import { bulkInsertStatements, type Row } from "../../db/bulk";
import { db, type Db } from "../../db/client";
import type { Caller, Env } from "../../env";
import { now } from "../../lib/clock";
import { sha256Hex } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { sequenceStub } from "../../lib/stubs";
import type { QueueMessage } from "../../queue/messages";
import { holdExists, holdStatements, settleJobStatements } from "../credits";
import { DEFAULT_WATERFALL } from "../enrichment";
import { loadMailboxLoads, roomOf } from "./capacity";
import { countCandidates, keyOf, loadFacts, stageCandidatesStatement, type Candidate } from "./candidates";
import { checkPreconditions, planAddContacts } from "./plan";
import { CHUNK_SIZE, PLAN_PAGE, type AddContactsRequest } from "./request";
import { evaluate, type ValidationOptions } from "./validate";

export type JobRow = Record<string, any>;

/** Deterministic ids make every chunk step repeatable: a redelivered chunk finds its own rows. */
const idFrom = async (...parts: string[]) => (await sha256Hex(parts.join(":"))).slice(0, 24);

function sourceSummary(req: AddContactsRequest, via?: string) {
  const s = req.source;
  // A workflow's jobs are labelled as workflow runs (job page, Credits chart), whatever they picked.
  const kind = via === "workflow" ? "workflow" : s.import_id ? "csv" : s.search ? "search" : s.list_ids?.length ? "lists" : s.people_ids?.length ? "people" : "contacts";
  return {
    kind,
    list_ids: s.list_ids ?? [],
    people: s.people_ids?.length ?? 0,
    contacts: s.contact_ids?.length ?? 0,
    search: s.search ?? null,
    ...(s.import_id ? { import_id: s.import_id } : {}),
  };
}

/**
 * Commit an add-contacts request: preconditions (nothing written if any fails), the credit hold for
 * the maximum spend, the job with its ordered candidates and mailbox assignments, then the chunks on
 * the queue (or a start time for the cron). A repeated Idempotency-Key returns the same job.
 */
export async function commitAddContacts(env: Env, d: Db, caller: Caller, sequenceId: string, req: AddContactsRequest, idempotencyKey: string | null, via: string): Promise<{ job: JobRow; replayed: boolean }> {
  const requestHash = await sha256Hex(JSON.stringify({ sequenceId, req }));
  if (idempotencyKey) {
    const existing = await env.DB.prepare("SELECT * FROM jobs WHERE team_id = ? AND idempotency_key = ?").bind(caller.teamId, idempotencyKey).first<JobRow>();
    if (existing) {
      if (JSON.parse(existing.options).request_hash !== requestHash) {
        throw new ApiError("idempotency_key_reused", "This Idempotency-Key was used with a different request", { idempotency_key: idempotencyKey });
      }
      return { job: existing, replayed: true };
    }
  }
  const pre = await checkPreconditions(env, d, caller, sequenceId, req);
  // A selection larger than one page is planned page by page through the queue, never in this request.
  if ((await countCandidates(env.DB, caller.teamId, req.source)) > PLAN_PAGE) return commitPaged(env, caller, sequenceId, req, idempotencyKey, via, requestHash, pre);
  const plan = await planAddContacts(env, d, caller, sequenceId, req, { preview: true });
  if (plan.preconditions.length) {
    const first = plan.preconditions[0]!;
    throw new ApiError(first.code, first.message, { fix: first.fix, preconditions: plan.preconditions, ...first.details }, 422);
  }
  const t = now();
  const jobId = newId();
  const scheduled = req.add_at !== undefined && req.add_at > t;
  const held = plan.credits.maximum;
  const holdRef = `job:${jobId}:hold`;
  const { search: _s, people_ids: _p, contact_ids: _c, ...restSource } = req.source;
  const options = { ...req, source: restSource, request_hash: requestHash, via, mailbox_ids: plan.mailboxes.map((m) => m.id) };
  const insertJob = env.DB.prepare(
    `INSERT INTO jobs (id, team_id, user_id, kind, sequence_id, source, options, status, run_at, total, credits_held, idempotency_key, created_at)
     SELECT ?1, ?2, ?3, 'add_contacts', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
      WHERE ?10 = 0 OR EXISTS (SELECT 1 FROM credit_ledger WHERE team_id = ?2 AND ref = ?13)`,
  ).bind(jobId, caller.teamId, caller.userId, sequenceId, JSON.stringify(sourceSummary(req, via)), JSON.stringify(options), scheduled ? "scheduled" : "preparing", scheduled ? req.add_at : t, plan.contacts.length, held, idempotencyKey, t, holdRef);
  try {
    await env.DB.batch([...(held > 0 ? holdStatements(env.DB, caller.teamId, holdRef, held, jobId, sourceSummary(req, via).kind, "Held for adding contacts") : []), insertJob]);
  } catch (err) {
    // Two requests with one Idempotency-Key at once: the unique index lets one through.
    if (idempotencyKey && String(err).includes("UNIQUE")) return commitAddContacts(env, d, caller, sequenceId, req, idempotencyKey, via);
    throw err;
  }
  if (held > 0 && !(await holdExists(env.DB, caller.teamId, holdRef))) {
    throw new ApiError("insufficient_credits", "The balance changed and no longer covers this batch", { fix: "Preview again", maximum: held }, 422);
  }
  // person_id marks a net-new person (a saved contact's row carries only its contact id).
  const rows: Row[] = plan.contacts.map((c, idx) => [jobId, idx, caller.teamId, c.facts.contactId ? null : c.facts.personId, c.facts.contactId, c.mailboxId]);
  const stmts = bulkInsertStatements(env.DB, "job_candidates", ["job_id", "idx", "team_id", "person_id", "contact_id", "mailbox_id"], rows);
  for (let i = 0; i < stmts.length; i += 50) await env.DB.batch(stmts.slice(i, i + 50));
  if (!scheduled) await startJob(env, jobId);
  return { job: (await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(jobId).first<JobRow>())!, replayed: false };
}

/**
 * Commit of a large selection (more than PLAN_PAGE candidates): the request checks the preconditions,
 * writes the job ("preparing") and its candidates in priority order inside D1 (one statement, no ids
 * in the Worker), and queues the first plan page. The pages validate, add up the maximum spend and
 * assign mailboxes; the last one holds the credits (or fails the job with the reason when the balance
 * can't cover the maximum, before anything is charged or enrolled) and fans out the chunks.
 */
async function commitPaged(
  env: Env, caller: Caller, sequenceId: string, req: AddContactsRequest, idempotencyKey: string | null, via: string, requestHash: string,
  pre: Awaited<ReturnType<typeof checkPreconditions>>,
): Promise<{ job: JobRow; replayed: boolean }> {
  if (pre.preconditions.length) {
    const first = pre.preconditions[0]!;
    throw new ApiError(first.code, first.message, { fix: first.fix, preconditions: pre.preconditions, ...first.details }, 422);
  }
  const t = now();
  const jobId = newId();
  const loads = await loadMailboxLoads(env, caller.teamId, pre.mailboxIds, t);
  const { search: _s, people_ids: _p, contact_ids: _c, ...restSource } = req.source;
  const options = { ...req, source: restSource, request_hash: requestHash, via, mailbox_ids: loads.map((m) => m.id) };
  try {
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO jobs (id, team_id, user_id, kind, sequence_id, source, options, status, run_at, total, credits_held, idempotency_key, created_at)
         VALUES (?1, ?2, ?3, 'add_contacts', ?4, ?5, ?6, 'preparing', ?7, 0, 0, ?8, ?7)`,
      ).bind(jobId, caller.teamId, caller.userId, sequenceId, JSON.stringify(sourceSummary(req, via)), JSON.stringify(options), t, idempotencyKey),
      stageCandidatesStatement(env.DB, jobId, caller.teamId, req.source),
      env.DB.prepare("UPDATE jobs SET total = (SELECT count(*) FROM job_candidates WHERE job_id = ?1) WHERE id = ?1").bind(jobId),
    ]);
  } catch (err) {
    if (idempotencyKey && String(err).includes("UNIQUE")) return commitAddContacts(env, db(env.DB), caller, sequenceId, req, idempotencyKey, via);
    throw err;
  }
  await env.JOBS.send({ kind: "add_contacts_plan", jobId, from: 0, left: roomOf(loads, req.rotation), maximum: 0 });
  return { job: (await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(jobId).first<JobRow>())!, replayed: false };
}

/** Fan the job out: one queue message per chunk of candidate indexes. */
export async function startJob(env: Env, jobId: string) {
  const job = await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ? AND status IN ('preparing','scheduled') RETURNING *").bind(jobId).first<JobRow>();
  if (!job) return;
  if (job.total === 0) return finishJob(env, jobId);
  const messages: { body: QueueMessage }[] = [];
  for (let from = 0; from < job.total; from += CHUNK_SIZE) messages.push({ body: { kind: "add_contacts_chunk", jobId, from, to: Math.min(job.total, from + CHUNK_SIZE) } });
  for (let i = 0; i < messages.length; i += 100) await env.JOBS.sendBatch(messages.slice(i, i + 100));
}

/**
 * One chunk: re-validate (the state may have moved since the commit), enrich, save net-new people,
 * enroll through the SequenceDO, then store the outcomes and charges. Every step is idempotent, so
 * a redelivered chunk neither enrolls nor charges twice; the outcome row (primary key job, idx) is
 * written last and is the charge.
 */
export async function processChunk(env: Env, jobId: string, from: number, to: number) {
  const job = await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(jobId).first<JobRow>();
  if (!job || ["completed", "cancelled", "failed"].includes(job.status)) return;
  const done = await env.DB.prepare("SELECT count(*) AS n FROM job_outcomes WHERE job_id = ? AND idx >= ? AND idx < ?").bind(jobId, from, to).first<{ n: number }>();
  if ((done?.n ?? 0) < to - from) await runChunk(env, job, from, to);
  await refreshProgress(env, jobId);
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

async function whoAre(env: Env, job: JobRow, cands: Record<string, any>[]): Promise<Who[]> {
  const persons = cands.filter((c) => c.person_id && !c.contact_id).map((c) => c.person_id as string);
  const savedNow = new Map<string, string>();
  if (persons.length) {
    const rows = await env.DB.prepare("SELECT person_id, id FROM contacts WHERE team_id = ? AND person_id IN (SELECT value FROM json_each(?))").bind(job.team_id, JSON.stringify(persons)).raw<[string, string]>();
    for (const [pid, cid] of rows) savedNow.set(pid, cid);
  }
  return Promise.all(
    cands.map(async (c): Promise<Who> => {
      if (!c.person_id) return { lookup: { personId: null, contactId: c.contact_id }, contactId: c.contact_id, netNew: false, creates: false };
      if (c.contact_id) return { lookup: { personId: c.person_id, contactId: null }, contactId: c.contact_id, netNew: true, creates: false };
      const saved = savedNow.get(c.person_id);
      if (saved) return { lookup: { personId: null, contactId: saved }, contactId: saved, netNew: false, creates: false };
      return { lookup: { personId: c.person_id, contactId: null }, contactId: await idFrom("contact", job.team_id, c.person_id), netNew: true, creates: true };
    }),
  );
}

async function runChunk(env: Env, job: JobRow, from: number, to: number) {
  const t = now();
  await env.DB.prepare("UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?) WHERE id = ? AND status = 'queued'").bind(t, job.id).run();
  const options = JSON.parse(job.options) as AddContactsRequest & { mailbox_ids: string[] };
  const seq = await env.DB.prepare("SELECT settings FROM sequences WHERE id = ?").bind(job.sequence_id).first<{ settings: string }>();
  const { results: cands } = await env.DB.prepare("SELECT * FROM job_candidates WHERE job_id = ? AND idx >= ? AND idx < ? ORDER BY idx").bind(job.id, from, to).all<Record<string, any>>();
  const who = await whoAre(env, job, cands);
  const facts = await loadFacts(env.DB, job.team_id, job.sequence_id, who.map((w) => w.lookup), t, job.id);
  const factsByKey = new Map(facts.map((f) => [keyOf(f), f]));
  const validation: ValidationOptions = {
    callerId: job.user_id,
    allowOtherOwners: (JSON.parse(seq?.settings ?? "{}") as { allow_other_owners?: boolean }).allow_other_owners !== false,
    skipValidation: options.skip_validation,
    overrides: options.overrides ?? {},
    enrich: options.enrich,
    providers: DEFAULT_WATERFALL,
    preview: false,
  };

  const stmts: D1PreparedStatement[] = [];
  const newContacts: Row[] = [];
  /** Candidates whose contact this try creates: [idx, contact id, person id]. */
  const claims: [number, string, string][] = [];
  const results: {
    idx: number; contactId: string | null; personId: string | null; outcome: string; reasons: string[]; cost: number; mailboxId: string | null;
    enroll?: { score: number; timeZone: string | null; creates: boolean };
  }[] = [];
  const evaluations = await Promise.all(who.map((w) => evaluate(factsByKey.get(keyOf(w.lookup))!, validation)));
  const peopleNeeded = cands.filter((_, i) => who[i]!.creates && evaluations[i]!.outcome === "enrolled").map((c) => c.person_id as string);
  const people = new Map<string, Record<string, any>>();
  if (peopleNeeded.length) {
    const { results: ps } = await env.DB.prepare("SELECT * FROM people WHERE id IN (SELECT value FROM json_each(?))").bind(JSON.stringify(peopleNeeded)).all<Record<string, any>>();
    for (const p of ps) people.set(p.id, p);
  }
  const earlier = await enrolledEarlier(env, job, who.map((w) => w.contactId));
  for (const [i, c] of cands.entries()) {
    const w = who[i]!;
    const f = factsByKey.get(keyOf(w.lookup))!;
    const ev = evaluations[i]!;
    const contactId = w.contactId;
    const mine = earlier.get(contactId);
    if (mine) {
      // An earlier try of this chunk enrolled this contact and crashed before its outcome: report what
      // the job did (enrolled, at what it cost then), whatever the contact's state is now.
      results.push({ idx: c.idx, contactId, personId: f.personId, outcome: "enrolled", reasons: [...ev.warnings, ...(mine.enriched ? ["enriched"] : [])], cost: mine.cost(w.netNew), mailboxId: mine.mailboxId });
      continue;
    }
    for (const a of ev.enrichment?.attempts ?? []) {
      // A contact this try creates pays for its enrichment only if this try's claim on it holds.
      stmts.push(env.DB.prepare(
        `INSERT OR IGNORE INTO enrichments (id, team_id, job_id, contact_id, provider, success, cost, email, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?10 = 0 OR EXISTS (SELECT 1 FROM job_candidates WHERE job_id = ?3 AND idx = ?11 AND contact_id = ?4) THEN ?7 ELSE 0 END, ?8, ?9)`,
      ).bind(await idFrom(job.id, contactId, a.provider), job.team_id, job.id, contactId, a.provider, a.success ? 1 : 0, ev.outcome === "enrolled" ? a.cost : 0, a.email, t, w.creates ? 1 : 0, c.idx));
    }
    if (ev.outcome !== "enrolled") {
      results.push({ idx: c.idx, contactId: f.contactId, personId: f.personId, outcome: ev.outcome, reasons: [...ev.skips, ...ev.warnings], cost: 0, mailboxId: null });
      continue;
    }
    if (w.creates) {
      const p = people.get(f.personId!)!;
      claims.push([c.idx, contactId, f.personId!]);
      newContacts.push([
        contactId, job.team_id, f.personId, options.owner_id ?? job.user_id, null, p.first_name, p.last_name, p.title, p.company, p.domain, p.industry, p.employees,
        p.city, p.country, p.time_zone, ev.email, ev.emailStatus, p.linkedin_url, p.score, p.job_changed_at, "add_contacts", t, t,
      ]);
    } else if (ev.enrichment?.email && f.contactId) {
      stmts.push(env.DB.prepare("UPDATE contacts SET email = ?, email_status = ?, updated_at = ? WHERE id = ? AND team_id = ? AND (email IS NULL OR email_status = 'unavailable')").bind(ev.email, ev.emailStatus, t, contactId, job.team_id));
    }
    const mailboxId = c.mailbox_id ?? options.mailbox_ids[0] ?? null;
    results.push({
      idx: c.idx, contactId, personId: f.personId, outcome: "enrolled", reasons: [...ev.warnings, ...(ev.enrichment?.email ? ["enriched"] : [])], cost: ev.cost, mailboxId,
      enroll: { score: f.score, timeZone: f.timeZone, creates: w.creates },
    });
  }
  if (newContacts.length) {
    // The stage of new contacts: the team's first "open" stage.
    const stage = await env.DB.prepare("SELECT id FROM contact_stages WHERE team_id = ? AND category = 'open' ORDER BY position LIMIT 1").bind(job.team_id).first<{ id: string }>();
    for (const r of newContacts) (r as unknown[])[4] = stage?.id ?? null;
    stmts.unshift(
      // Claim each new contact on its candidate row, in the same transaction that creates it, only if
      // nobody saved that person first: the claim says which job saved (and charges) the person.
      env.DB.prepare(
        `UPDATE job_candidates SET contact_id = j.cid
           FROM (SELECT json_extract(value, '$[0]') AS i, json_extract(value, '$[1]') AS cid, json_extract(value, '$[2]') AS pid FROM json_each(?2)) AS j
          WHERE job_candidates.job_id = ?1 AND job_candidates.idx = j.i AND job_candidates.contact_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.team_id = ?3 AND c.person_id = j.pid)`,
      ).bind(job.id, JSON.stringify(claims), job.team_id),
      ...bulkInsertStatements(env.DB, "contacts", [
        "id", "team_id", "person_id", "owner_id", "stage_id", "first_name", "last_name", "title", "company", "domain", "industry", "employees",
        "city", "country", "time_zone", "email", "email_status", "linkedin_url", "score", "job_changed_at", "source", "created_at", "updated_at",
      ], newContacts),
    );
  }
  if (stmts.length) await env.DB.batch(stmts);
  if (claims.length) {
    // A claim that didn't hold: another job saved the person between our read and our write. It is
    // added as that contact, and this job charges nothing for saving it.
    const held = new Set((await env.DB.prepare("SELECT idx FROM job_candidates WHERE job_id = ? AND idx IN (SELECT json_extract(value, '$[0]') FROM json_each(?)) AND contact_id IS NOT NULL").bind(job.id, JSON.stringify(claims)).raw<[number]>()).map(([i]) => i));
    const lost = claims.filter(([i]) => !held.has(i));
    if (lost.length) {
      const actual = new Map(await env.DB.prepare("SELECT person_id, id FROM contacts WHERE team_id = ? AND person_id IN (SELECT value FROM json_each(?))").bind(job.team_id, JSON.stringify(lost.map(([, , p]) => p))).raw<[string, string]>());
      for (const r of results) {
        if (!r.enroll?.creates || held.has(r.idx)) continue;
        r.contactId = actual.get(r.personId!) ?? r.contactId;
        r.cost = 0;
      }
    }
  }
  const enrollItems = await Promise.all(
    results.filter((r) => r.enroll).map(async (r) => ({
      enrollmentId: await idFrom("enrollment", job.id, r.contactId!), contactId: r.contactId!, mailboxId: r.mailboxId, score: r.enroll!.score, timeZone: r.enroll!.timeZone, jobId: job.id, addedBy: job.user_id,
    })),
  );

  // Invariant 1: the SequenceDO enrolls each contact once. A contact it already had under another
  // enrollment (added meanwhile by someone else) is a skip, not a charge.
  if (enrollItems.length) {
    const res = await sequenceStub(env, job.sequence_id).enroll(job.sequence_id, job.team_id, enrollItems);
    const theirs = new Set(res.alreadyOther);
    for (const r of results) {
      if (r.outcome === "enrolled" && r.contactId && theirs.has(r.contactId)) {
        r.outcome = "skipped";
        r.reasons = ["already_in_sequence"];
        r.cost = 0;
      }
    }
  }
  await env.DB.batch(
    bulkInsertStatements(env.DB, "job_outcomes", ["job_id", "idx", "team_id", "contact_id", "person_id", "outcome", "reasons", "credit_cost", "mailbox_id"],
      results.map((r) => [job.id, r.idx, job.team_id, r.contactId, r.personId, r.outcome, JSON.stringify(r.reasons), r.cost, r.mailboxId])),
  );
}

/**
 * The contacts of a chunk that this job itself already enrolled (an earlier try that crashed before
 * writing outcomes), with what enrolling them cost: 1 for a net-new person saved with a verified
 * email, plus the enrichment that found the address (both written before the enrollment).
 */
async function enrolledEarlier(env: Env, job: JobRow, contactIds: string[]) {
  const out = new Map<string, { mailboxId: string | null; enriched: boolean; cost: (netNew: boolean) => number }>();
  if (!contactIds.length) return out;
  const [enrolled, contacts, enrich] = await env.DB.batch<Record<string, any>>([
    env.DB.prepare("SELECT contact_id, mailbox_id FROM enrollments WHERE sequence_id = ?1 AND job_id = ?2 AND contact_id IN (SELECT value FROM json_each(?3))").bind(job.sequence_id, job.id, JSON.stringify(contactIds)),
    env.DB.prepare("SELECT id, email_status FROM contacts WHERE team_id = ?1 AND id IN (SELECT value FROM json_each(?2))").bind(job.team_id, JSON.stringify(contactIds)),
    env.DB.prepare("SELECT contact_id, sum(cost) AS cost FROM enrichments WHERE job_id = ?1 AND success = 1 AND contact_id IN (SELECT value FROM json_each(?2)) GROUP BY contact_id").bind(job.id, JSON.stringify(contactIds)),
  ]);
  const status = new Map(contacts!.results.map((r) => [r.id as string, r.email_status as string]));
  const enrichCost = new Map(enrich!.results.map((r) => [r.contact_id as string, r.cost as number]));
  for (const r of enrolled!.results) {
    const id = r.contact_id as string;
    const e = enrichCost.get(id);
    out.set(id, { mailboxId: r.mailbox_id, enriched: e !== undefined, cost: (netNew) => (netNew && status.get(id) === "verified" ? 1 : 0) + (e ?? 0) });
  }
  return out;
}

/** Recounts a job's progress from its outcomes (idempotent). */
const recountStatement = (d1: D1Database, jobId: string) =>
  d1.prepare(
    `UPDATE jobs SET
       processed = (SELECT count(*) FROM job_outcomes WHERE job_id = ?1),
       enrolled = (SELECT count(*) FROM job_outcomes WHERE job_id = ?1 AND outcome = 'enrolled'),
       warned = (SELECT count(*) FROM job_outcomes WHERE job_id = ?1 AND outcome = 'warned'),
       skipped = (SELECT count(*) FROM job_outcomes WHERE job_id = ?1 AND outcome = 'skipped'),
       credits_used = (SELECT coalesce(sum(credit_cost), 0) FROM job_outcomes WHERE job_id = ?1)
     WHERE id = ?1 AND status IN ('preparing','queued','running') RETURNING *`,
  ).bind(jobId);

/** Progress is recounted from the outcomes; the last chunk completes the job and settles its credits. */
async function refreshProgress(env: Env, jobId: string) {
  const job = await recountStatement(env.DB, jobId).first<JobRow>();
  if (job && job.processed >= job.total) await finishJob(env, jobId);
}

/**
 * Invariant 6: a job's status becomes terminal in the same `batch()` (one transaction) as the ledger
 * row that settles its hold, so no crash can end a job and keep what it held. Every ending settles
 * under the same ref, so at most one settlement per job.
 */
export async function endJob(env: Env, jobId: string, status: "completed" | "failed" | "cancelled", from: string[], error: string | null) {
  const [ended] = await env.DB.batch<JobRow>([
    env.DB.prepare(`UPDATE jobs SET status = ?1, error = coalesce(?2, error), finished_at = coalesce(finished_at, ?3) WHERE id = ?4 AND status IN (SELECT value FROM json_each(?5)) RETURNING *`)
      .bind(status, error, now(), jobId, JSON.stringify(from)),
    ...settleJobStatements(env.DB, jobId),
  ]);
  return ended!.results[0] ?? null;
}

/** Settle: the job completes and the unused part of the hold goes back, together. */
async function finishJob(env: Env, jobId: string) {
  await endJob(env, jobId, "completed", ["preparing", "queued", "running"], null);
}

/** A scheduled job can be cancelled until it starts; its hold is returned with the status change. */
export async function cancelJob(env: Env, teamId: string, jobId: string) {
  const owned = await env.DB.prepare("SELECT 1 FROM jobs WHERE id = ? AND team_id = ?").bind(jobId, teamId).first();
  if (!owned) return null;
  return endJob(env, jobId, "cancelled", ["scheduled"], null);
}

/** Ended jobs older than this are not swept: the sweep runs every minute, so a miss is fixed long before. */
const SWEEP_WINDOW_MS = 7 * 86_400_000;
const SWEEP_PAGE = 100;

/**
 * Cron: start scheduled jobs whose time has come; fail jobs whose commit was cut short; settle the
 * hold of any ended job that has no settlement yet (left by a crash before settlements were atomic).
 */
export async function startDueJobs(env: Env) {
  const t = now();
  const { results } = await env.DB.prepare("SELECT id FROM jobs WHERE status = 'scheduled' AND run_at <= ? ORDER BY run_at LIMIT 50").bind(t).all<{ id: string }>();
  for (const j of results) await startJob(env, j.id);
  // A preparing job's run_at is its heartbeat (each plan page moves it): silent for 10 minutes = interrupted.
  const { results: stale } = await env.DB.prepare("SELECT id FROM jobs WHERE status = 'preparing' AND coalesce(run_at, created_at) < ? LIMIT 50").bind(t - 10 * 60_000).all<{ id: string }>();
  for (const j of stale) await endJob(env, j.id, "failed", ["preparing"], "The request was interrupted before the job started");
  return results.length;
}

/** The sweep: every ended job whose hold was never settled gets its settlement, in pages. */
export async function settleEndedJobs(env: Env): Promise<number> {
  const { results } = await env.DB.prepare(
    `SELECT j.id FROM jobs j
      WHERE j.status IN ('completed','failed','cancelled') AND coalesce(j.finished_at, j.created_at) >= ?1
        AND (j.credits_held > 0 OR j.credits_used > 0)
        AND NOT EXISTS (SELECT 1 FROM credit_ledger l WHERE l.team_id = j.team_id AND l.ref IN ('job:' || j.id || ':settle', 'job:' || j.id || ':cancel', 'job:' || j.id || ':abort'))
      LIMIT ?2`,
  ).bind(now() - SWEEP_WINDOW_MS, SWEEP_PAGE).all<{ id: string }>();
  for (const j of results) await env.DB.batch(settleJobStatements(env.DB, j.id));
  return results.length;
}

/** A job that can't finish: failed with the reason; what it did not use is returned in the same transaction. */
export async function failJob(env: Env, jobId: string, reason: string) {
  const [, ended] = await env.DB.batch<JobRow>([
    recountStatement(env.DB, jobId),
    env.DB.prepare("UPDATE jobs SET status = 'failed', error = ?1, finished_at = coalesce(finished_at, ?2) WHERE id = ?3 AND status IN ('preparing','queued','running') RETURNING *").bind(reason, now(), jobId),
    ...settleJobStatements(env.DB, jobId),
  ]);
  return ended!.results[0] ?? null;
}
