import { ApiError } from "../../lib/errors";
import { buildPeopleWhere, searchPeopleIds } from "../people-search";
import { MAX_JOB_CANDIDATES, type AddContactsRequest } from "./request";

/** One contact or person to add, before validation. */
export interface Candidate {
  personId: string | null;
  contactId: string | null;
}

/** What validation needs to know about a candidate. */
export interface Facts extends Candidate {
  found: boolean;
  email: string | null;
  emailStatus: string;
  unsubscribed: boolean;
  bounced: boolean;
  stageCategory: string | null;
  suppressed: boolean;
  inSequence: boolean;
  activeElsewhere: boolean;
  finishedElsewhere: boolean;
  jobChanged: boolean;
  ownerId: string | null;
  score: number;
  timeZone: string | null;
  firstName: string;
  lastName: string;
  domain: string | null;
  company: string | null;
}

const QUERY_IDS = 4000;
const chunks = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
/** "Recent" job change for net-new people: within the last 90 days. */
const JOB_CHANGE_WINDOW_MS = 90 * 86_400_000;

/**
 * Resolves any mix of sources to a de-duplicated candidate list: people become their saved contact
 * when the team has one, else stay net-new. Lists and ids of another team are 404.
 */
export async function resolveSource(d1: D1Database, teamId: string, source: AddContactsRequest["source"]): Promise<Candidate[]> {
  const contactIds = new Set<string>(source.contact_ids ?? []);
  const personIds = new Set<string>(source.people_ids ?? []);

  if (source.list_ids?.length) {
    const lists = await d1.prepare("SELECT id FROM lists WHERE team_id = ? AND id IN (SELECT value FROM json_each(?))").bind(teamId, JSON.stringify(source.list_ids)).all<{ id: string }>();
    const missing = source.list_ids.filter((id) => !lists.results.some((l) => l.id === id));
    if (missing.length) throw new ApiError("not_found", "List not found", { list_ids: missing });
    const members = await d1
      .prepare("SELECT DISTINCT contact_id FROM list_members WHERE team_id = ? AND list_id IN (SELECT value FROM json_each(?))")
      .bind(teamId, JSON.stringify(source.list_ids))
      .raw<[string]>();
    for (const [id] of members) contactIds.add(id);
  }
  if (source.import_id) {
    const rows = await d1.prepare("SELECT contact_id FROM import_rows WHERE team_id = ? AND import_id = ? AND contact_id IS NOT NULL").bind(teamId, source.import_id).raw<[string]>();
    for (const [id] of rows) contactIds.add(id);
  }
  if (source.search) {
    const ids = await searchPeopleIds(d1, teamId, source.search, MAX_JOB_CANDIDATES);
    if (ids.length > MAX_JOB_CANDIDATES) tooMany(ids.length);
    for (const id of ids) personIds.add(id);
  }

  // People the team already saved are added as those contacts.
  const saved = new Map<string, string>();
  for (const part of chunks([...personIds], QUERY_IDS)) {
    const rows = await d1
      .prepare("SELECT person_id, id FROM contacts WHERE team_id = ? AND deleted_at IS NULL AND person_id IN (SELECT value FROM json_each(?))")
      .bind(teamId, JSON.stringify(part))
      .raw<[string, string]>();
    for (const [p, c] of rows) saved.set(p, c);
  }
  const out: Candidate[] = [];
  for (const p of personIds) {
    const c = saved.get(p);
    if (c) contactIds.add(c);
    else out.push({ personId: p, contactId: null });
  }
  for (const c of contactIds) out.push({ personId: null, contactId: c });
  if (out.length > MAX_JOB_CANDIDATES) tooMany(out.length);
  return out;
}

/**
 * The candidates of a source as one SQL query that D1 runs on its side (the Worker never holds the
 * ids): people become the team's saved contact when there is one, duplicates collapse, and each row
 * carries its priority (score, then key) as `loadFacts` orders them. Unknown ids stay, to be
 * reported "not found". Lists must belong to the team (checked by `checkLists`).
 */
function candidatesQuery(teamId: string, source: AddContactsRequest["source"]) {
  const search = source.search ? buildPeopleWhere(source.search, teamId) : null;
  const params: unknown[] = [...(search?.params ?? [])];
  const p = (v: unknown) => `?${params.push(v)}`;
  const team = p(teamId);
  const cte = `WITH
    pe(pid) AS (SELECT value FROM json_each(${p(JSON.stringify(source.people_ids ?? []))})
                ${search ? `UNION SELECT p.id FROM people p WHERE ${search.where}` : ""}),
    saved(pid, cid) AS (SELECT pe.pid, (SELECT c.id FROM contacts c WHERE c.team_id = ${team} AND c.person_id = pe.pid AND c.deleted_at IS NULL) FROM pe),
    cs(cid) AS (SELECT value FROM json_each(${p(JSON.stringify(source.contact_ids ?? []))})
                UNION SELECT contact_id FROM list_members WHERE team_id = ${team} AND list_id IN (SELECT value FROM json_each(${p(JSON.stringify(source.list_ids ?? []))}))
                UNION SELECT contact_id FROM import_rows WHERE team_id = ${team} AND import_id = ${p(source.import_id ?? "")} AND contact_id IS NOT NULL
                UNION SELECT cid FROM saved WHERE cid IS NOT NULL),
    cand(person_id, contact_id, k, score) AS (
      SELECT NULL, cs.cid, cs.cid, coalesce((SELECT c.score FROM contacts c WHERE c.id = cs.cid AND c.team_id = ${team} AND c.deleted_at IS NULL), -1) FROM cs
      UNION ALL
      SELECT s.pid, NULL, 'p:' || s.pid, coalesce((SELECT x.score FROM people x WHERE x.id = s.pid), -1) FROM saved s WHERE s.cid IS NULL)`;
  return { cte, params, team };
}

/** Lists of another team (or none) are 404, as in `resolveSource`. */
export async function checkLists(d1: D1Database, teamId: string, listIds: string[] | undefined) {
  if (!listIds?.length) return;
  const lists = await d1.prepare("SELECT id FROM lists WHERE team_id = ? AND id IN (SELECT value FROM json_each(?))").bind(teamId, JSON.stringify(listIds)).all<{ id: string }>();
  const missing = listIds.filter((id) => !lists.results.some((l) => l.id === id));
  if (missing.length) throw new ApiError("not_found", "List not found", { list_ids: missing });
}

/** How many candidates a source resolves to (after people become contacts and duplicates collapse); 413 past the job limit. */
export async function countCandidates(d1: D1Database, teamId: string, source: AddContactsRequest["source"]): Promise<number> {
  await checkLists(d1, teamId, source.list_ids);
  const { cte, params } = candidatesQuery(teamId, source);
  const n = (await d1.prepare(`${cte} SELECT count(*) AS n FROM cand`).bind(...params).first<{ n: number }>())?.n ?? 0;
  if (n > MAX_JOB_CANDIDATES) tooMany(n);
  return n;
}

/** Writes a job's candidates in priority order (idx 0 = highest score) inside D1, in one statement. */
export function stageCandidatesStatement(d1: D1Database, jobId: string, teamId: string, source: AddContactsRequest["source"]): D1PreparedStatement {
  const { cte, params, team } = candidatesQuery(teamId, source);
  params.push(jobId);
  return d1
    .prepare(`${cte} INSERT OR IGNORE INTO job_candidates (job_id, idx, team_id, person_id, contact_id, mailbox_id)
              SELECT ?${params.length}, row_number() OVER (ORDER BY score DESC, k) - 1, ${team}, person_id, contact_id, NULL FROM cand WHERE true`)
    .bind(...params);
}

/** A position in the priority order (score, then key), to read the next page after it. */
export interface CandidateCursor {
  score: number;
  k: string;
}

/** The next `limit` candidates in priority order after `after` (keyset paging: D1 orders, the Worker holds one page). */
export async function candidatePage(d1: D1Database, teamId: string, source: AddContactsRequest["source"], after: CandidateCursor | null, limit: number) {
  const { cte, params } = candidatesQuery(teamId, source);
  const s = params.push(after?.score ?? null);
  const k = params.push(after?.k ?? null);
  const l = params.push(limit);
  const { results } = await d1
    .prepare(`${cte} SELECT person_id, contact_id, score, k FROM cand WHERE ?${s} IS NULL OR score < ?${s} OR (score = ?${s} AND k > ?${k}) ORDER BY score DESC, k LIMIT ?${l}`)
    .bind(...params)
    .all<{ person_id: string | null; contact_id: string | null; score: number; k: string }>();
  return results;
}

function tooMany(n: number): never {
  throw new ApiError("too_many_contacts", `One job takes at most ${MAX_JOB_CANDIDATES.toLocaleString("en-US")} contacts; this selection has more`, {
    limit: MAX_JOB_CANDIDATES,
    count: n,
    fix: "Narrow the search or split the lists into several jobs",
  }, 413);
}

/**
 * Loads the facts of every candidate in a few queries, and orders them: highest score first, then id.
 * `ownJobId`: a job re-running a chunk; enrollments that job made itself are not "already in sequence".
 */
export async function loadFacts(d1: D1Database, teamId: string, sequenceId: string, candidates: Candidate[], now: number, ownJobId: string | null = null): Promise<Facts[]> {
  const byContact = new Map<string, Facts>();
  const byPerson = new Map<string, Facts>();
  const contactIds = candidates.filter((c) => c.contactId).map((c) => c.contactId!);
  const personIds = candidates.filter((c) => !c.contactId && c.personId).map((c) => c.personId!);
  for (const part of chunks(contactIds, QUERY_IDS)) {
    const { results } = await d1
      .prepare(
        `SELECT c.id, c.person_id, c.owner_id, c.email, c.email_status, c.unsubscribed_at, c.bounced_at, c.job_changed_at, c.score, c.time_zone,
                c.first_name, c.last_name, c.domain, c.company, s.category AS stage_category,
                EXISTS (SELECT 1 FROM suppressions x WHERE x.team_id = c.team_id AND x.email = lower(c.email)) AS suppressed,
                EXISTS (SELECT 1 FROM enrollments e WHERE e.sequence_id = ?3 AND e.contact_id = c.id AND e.status IN ('scheduled','active','paused','held') AND (?4 IS NULL OR e.job_id IS NOT ?4)) AS in_sequence,
                EXISTS (SELECT 1 FROM enrollments e WHERE e.contact_id = c.id AND e.sequence_id <> ?3 AND e.status IN ('active','paused','held','scheduled')) AS active_elsewhere,
                EXISTS (SELECT 1 FROM enrollments e WHERE e.contact_id = c.id AND e.sequence_id <> ?3 AND e.status IN ('finished','failed')) AS finished_elsewhere
           FROM contacts c LEFT JOIN contact_stages s ON s.id = c.stage_id
          WHERE c.team_id = ?1 AND c.deleted_at IS NULL AND c.id IN (SELECT value FROM json_each(?2))`,
      )
      .bind(teamId, JSON.stringify(part), sequenceId, ownJobId)
      .all<Record<string, any>>();
    for (const r of results) {
      byContact.set(r.id, {
        personId: r.person_id, contactId: r.id, found: true, email: r.email, emailStatus: r.email_status,
        unsubscribed: r.unsubscribed_at !== null, bounced: r.bounced_at !== null, stageCategory: r.stage_category,
        suppressed: !!r.suppressed, inSequence: !!r.in_sequence, activeElsewhere: !!r.active_elsewhere, finishedElsewhere: !!r.finished_elsewhere,
        jobChanged: r.job_changed_at !== null, ownerId: r.owner_id, score: r.score, timeZone: r.time_zone,
        firstName: r.first_name, lastName: r.last_name, domain: r.domain, company: r.company,
      });
    }
  }
  for (const part of chunks(personIds, QUERY_IDS)) {
    const { results } = await d1
      .prepare(
        `SELECT p.*, EXISTS (SELECT 1 FROM suppressions x WHERE x.team_id = ?1 AND x.email = lower(p.email)) AS suppressed
           FROM people p WHERE p.id IN (SELECT value FROM json_each(?2))`,
      )
      .bind(teamId, JSON.stringify(part))
      .all<Record<string, any>>();
    for (const r of results) {
      byPerson.set(r.id, {
        personId: r.id, contactId: null, found: true, email: r.email, emailStatus: r.email_status,
        unsubscribed: false, bounced: false, stageCategory: null, suppressed: !!r.suppressed, inSequence: false,
        activeElsewhere: false, finishedElsewhere: false, jobChanged: r.job_changed_at !== null && r.job_changed_at > now - JOB_CHANGE_WINDOW_MS,
        ownerId: null, score: r.score, timeZone: r.time_zone, firstName: r.first_name, lastName: r.last_name, domain: r.domain, company: r.company,
      });
    }
  }
  const facts = candidates.map(
    (c): Facts =>
      (c.contactId ? byContact.get(c.contactId) : byPerson.get(c.personId!)) ?? {
        ...c, found: false, email: null, emailStatus: "unavailable", unsubscribed: false, bounced: false, stageCategory: null, suppressed: false,
        inSequence: false, activeElsewhere: false, finishedElsewhere: false, jobChanged: false, ownerId: null, score: -1, timeZone: null,
        firstName: "", lastName: "", domain: null, company: null,
      },
  );
  facts.sort((a, b) => b.score - a.score || keyOf(a).localeCompare(keyOf(b)));
  return facts;
}

export const keyOf = (c: Candidate) => c.contactId ?? `p:${c.personId}`;
