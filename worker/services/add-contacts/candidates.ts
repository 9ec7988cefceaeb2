import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { inChunks, listParam } from "../../db/in-list";
import { ApiError } from "../../lib/errors";
import { companyHostSql } from "../../lib/company-domain";
import { suppressedForTeamSql, suppressedSql } from "../suppressions";
import { STAGE_CATEGORY_SQL } from "../../../durable-objects/eligibility";
import { liveContactOf, peopleWhere } from "../people-search";
import { VARIABLES } from "../templates";
import { MAX_JOB_CANDIDATES, type AddContactsRequest } from "./request";

/** One contact or person to add, before validation. */
export interface Candidate {
  personId: string | null;
  contactId: string | null;
  /**
   * What the candidate query decided (`dup`, as bits; job_candidates.duplicate): 1 = a candidate of higher priority
   * in the same selection has this address; 2 = the same-company rule leaves it out (`CandidateRules`).
   */
  duplicate?: boolean | number | null;
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
  /**
   * One person, one address: another candidate of the selection (of higher priority) has this address, or
   * another contact of the team with it is open in this sequence. Two contacts may share an address (as in
   * Apollo), and without this both would get every email.
   */
  duplicateEmail: boolean;
  /** Asked for one contact per company: a colleague is open in this sequence or comes first in the selection (`dup` & 2). */
  sameCompany: boolean;
  /**
   * The company as the same-company rule keys it (`companyKeySql`), read only when the rule is asked (loadFacts'
   * `skipSameCompany`): the SequenceDO checks it again as it enrolls (EnrollItem.company).
   */
  companyKey?: string | null;
  activeElsewhere: boolean;
  finishedElsewhere: boolean;
  /** A run of this sequence finished because the contact replied: adding them again is held back unless overridden. */
  repliedHere: boolean;
  /** Enrolled in this sequence by `ownJobId` (an earlier try of a chunk got that far), whatever the enrollment's status now. */
  enrolledByOwnJob: boolean;
  jobChanged: boolean;
  ownerId: string | null;
  score: number;
  timeZone: string | null;
  firstName: string;
  lastName: string;
  domain: string | null;
  company: string | null;
  /**
   * Which of the asked template variables (`loadFacts`' `variables`) the contact has no value for, as a
   * bitmask by their place in that list (0 when none was asked).
   */
  emptyVariables: number;
}

/** "Recent" job change for net-new people: within the last 90 days. */
const JOB_CHANGE_WINDOW_MS = 90 * 86_400_000;

type Source = AddContactsRequest["source"];

/** What the candidate query decides beyond the selection: the same-company rule needs the sequence (skip_same_company). */
export interface CandidateRules {
  sequenceId: string;
  skipSameCompany: boolean;
  /**
   * The warnings this add holds a contact back for whatever else holds (not overridden, validation not skipped):
   * no email (unless the enrichment may find one) and an unverified or guessed one. A colleague held back so is
   * no company's first (`certainSkipSql`).
   */
  holdsNoEmail?: boolean;
  holdsUnverified?: boolean;
}

export const rulesOf = (
  sequenceId: string,
  req: Pick<AddContactsRequest, "skip_same_company" | "skip_validation" | "overrides" | "enrich">,
): CandidateRules => ({
  sequenceId,
  skipSameCompany: !!req.skip_same_company,
  holdsNoEmail: !req.skip_validation && !req.overrides?.no_email && !req.enrich,
  holdsUnverified: !req.skip_validation && !req.overrides?.unverified_email,
});

/**
 * Row `t`'s company (a contact or a person: same columns), for the same-company rule: `d:` and its domain as
 * `companyHost` reads it (`www.ACME.com`, `https://www.acme.com/` and `acme.com` are one company) when it has one
 * that isn't free mail (gmail.com is no company), else `n:` and its name lowercased, else NULL (no company: never
 * grouped). Two colleagues of whom only one has the domain are two companies: the rule never guesses.
 */
export const companyKeySql = (t: string): SQL =>
  sql.raw(`coalesce('d:' || ${companyHostSql(`${t}.domain`)},
    CASE WHEN trim(coalesce(${t}.company, '')) <> '' THEN 'n:' || lower(trim(${t}.company)) END)`);

/** Candidate `jc` of its job was not processed: no outcome (its job stopped before it), or skipped as not_processed. */
const notProcessed = sql`NOT EXISTS (SELECT 1 FROM job_outcomes o WHERE o.job_id = jc.job_id AND o.idx = jc.idx
    AND NOT (o.outcome = 'skipped' AND EXISTS (SELECT 1 FROM json_each(o.reasons) WHERE value = 'not_processed')))`;

/**
 * How many candidates of an ended job it did not process: what source.not_processed_of_job gives (before people who
 * became the same contact collapse), for the job's "Retry the N not processed".
 */
export async function notProcessedCount(d: Db, teamId: string, jobId: string): Promise<number> {
  const row = await d.get<{ n: number }>(
    sql`SELECT count(*) AS n FROM job_candidates jc WHERE jc.job_id = ${jobId} AND jc.team_id = ${teamId} AND ${notProcessed}`,
  );
  return row?.n ?? 0;
}

/**
 * The candidates of a source, the ONE resolution every path uses (preview, commit, plan pages): a
 * query that D1 runs on its side (the Worker never holds the ids). People become the team's saved
 * contact when there is one, duplicates collapse (a person given twice by DISTINCT, contacts by the
 * UNION), and each row carries its priority (score, then key). Contacts sharing an address stay
 * candidates, but all except the first in priority are `dup` (skipped as duplicate_email: one run per
 * address per sequence), decided over the whole selection so every page and chunk agrees. Unknown ids stay, to be reported "not
 * found", and so does a person whose own contact was deleted (`contactOfPerson`: as a job's chunk resolves them, so the preview
 * says what the job does). Lists must belong to the team (`checkLists`).
 * A list's members are read from the list ids through list_members' key (CROSS JOIN keeps that order):
 * with statistics showing few lists the planner fed the UNION from list_members_contact_idx instead,
 * every membership of every team in contact order (test/contacts/list-candidate-reads).
 */
function candidatesCte(teamId: string, source: Source, rules?: CandidateRules): SQL {
  const sameCompany = !!rules?.skipSameCompany;
  const fromSearch = source.search ? sql`UNION SELECT p.id FROM people p WHERE ${peopleWhere(source.search, teamId)}` : sql``;
  // An earlier job's candidates it did not process: skipped as not_processed, or with no outcome (a failed job stopped before them).
  const retry = source.not_processed_of_job;
  const unprocessed = (col: "person_id" | "contact_id", extra: SQL) =>
    retry
      ? sql`UNION SELECT jc.${sql.raw(col)} FROM job_candidates jc WHERE jc.job_id = ${retry} AND jc.team_id = ${teamId} ${extra} AND ${notProcessed}`
      : sql``;
  return sql`WITH
    pe(pid) AS (SELECT DISTINCT value FROM json_each(${listParam(source.people_ids ?? [])}) ${fromSearch}
                ${unprocessed("person_id", sql`AND jc.contact_id IS NULL AND jc.person_id IS NOT NULL`)}),
    saved(pid, cid) AS (SELECT pe.pid, ${contactOfPerson(teamId, "pe.pid", "x.email")} FROM pe LEFT JOIN people x ON x.id = pe.pid),
    cs(cid) AS (SELECT value FROM json_each(${listParam(source.contact_ids ?? [])})
                UNION SELECT lm.contact_id FROM json_each(${listParam(source.list_ids ?? [])}) l CROSS JOIN list_members lm ON lm.list_id = l.value WHERE lm.team_id = ${teamId}
                UNION SELECT contact_id FROM import_rows WHERE team_id = ${teamId} AND import_id = ${source.import_id ?? ""} AND contact_id IS NOT NULL
                ${unprocessed("contact_id", sql`AND jc.contact_id IS NOT NULL`)}
                UNION SELECT cid FROM saved WHERE cid IS NOT NULL),
    cand0(person_id, contact_id, k, score, em, co, out) AS (
      SELECT NULL, cs.cid, cs.cid, coalesce(c.score, -1), lower(c.email), ${sameCompany ? sql`${companyKeySql("c")}, ${certainSkipSql(teamId, "c", rules!)}` : sql`NULL, 0`}
        FROM cs LEFT JOIN contacts c ON c.id = cs.cid AND c.team_id = ${teamId} AND c.deleted_at IS NULL ${sameCompany ? sql`LEFT JOIN contact_stages s ON s.id = c.stage_id` : sql``}
      UNION ALL
      SELECT s.pid, NULL, 'p:' || s.pid, coalesce(pp.score, -1), lower(pp.email), ${sameCompany ? sql`${companyKeySql("pp")}, ${certainSkipSql(teamId, "pp", rules!)}` : sql`NULL, 0`}
        FROM saved s LEFT JOIN people pp ON pp.id = s.pid WHERE s.cid IS NULL),
    ${sameCompany ? sameCompanyCte(teamId, rules!.sequenceId) : sql``}
    cand(person_id, contact_id, k, score, dup) AS (
      SELECT person_id, contact_id, k, score, (em IS NOT NULL AND row_number() OVER (PARTITION BY em ORDER BY score DESC, k) > 1)
             ${sameCompany ? sameCompanyBit : sql``} FROM cand0 ${sameCompany ? sql`LEFT JOIN open_co o ON o.co = cand0.co` : sql``})`;
}

/**
 * The companies open in the sequence (a run scheduled, active, paused or held, as "already in sequence" counts
 * them), one row each with how many of its contacts are there: read once for the whole selection (grouped, so
 * SQLite builds it once and joins it by key), never a read per candidate.
 */
const sameCompanyCte = (teamId: string, sequenceId: string): SQL =>
  sql`open_co(co, n, cid) AS (
      SELECT ${companyKeySql("c")} AS co, count(DISTINCT c.id), min(c.id) FROM enrollments e JOIN contacts c ON c.id = e.contact_id AND c.team_id = ${teamId}
       WHERE e.sequence_id = ${sequenceId} AND e.status IN ('scheduled','active','paused','held') AND +e.team_id = ${teamId} GROUP BY co HAVING co IS NOT NULL),`;

/**
 * `dup`'s bit 2, the same-company rule (the one place it is decided, for the preview and the job alike): a
 * contact of the company other than this one is open in the sequence, or a candidate of the company comes
 * before this one in priority order (score, then key: the first one wins). Only a colleague the add may enroll
 * comes first: one certain to be skipped or held back (`out`) is ranked after every other and never leaves its
 * colleagues out, else a top-scored suppressed one left the whole company out and "Someone of their company is in
 * this sequence" was untrue. It keeps its own reason (not same_company) unless a colleague is open in the sequence.
 */
const sameCompanyBit = sql`+ 2 * (cand0.co IS NOT NULL AND ((NOT cand0.out AND row_number() OVER (PARTITION BY cand0.co ORDER BY cand0.out, score DESC, k) > 1)
             OR (o.co IS NOT NULL AND (o.n > 1 OR o.cid IS NOT cand0.contact_id))))`;

/**
 * The contacts of these companies (`companyKeySql` keys) that may run in the sequence, by company: those with a
 * run open in D1's copy of its enrollments, and those among `unmirrored` (the SequenceDO's runs D1 has not been
 * sent yet). The SequenceDO asks it as it enrolls for the same-company rule, then decides from its own rows which
 * of them run now (EnrollItem.company), as it does for an address's twins: read through the sequence's open runs
 * (sameCompanyCte's read), never the team's every contact.
 */
export async function colleaguesOf(
  d: Db,
  teamId: string,
  sequenceId: string,
  companies: readonly string[],
  unmirrored: readonly string[],
): Promise<Map<string, string[]>> {
  if (!companies.length) return new Map();
  const keys = listParam([...companies]);
  const [open, fresh] = await Promise.all([
    d.all<{ co: string; id: string }>(
      sql`SELECT DISTINCT ${companyKeySql("c")} AS co, c.id FROM enrollments e JOIN contacts c ON c.id = e.contact_id AND c.team_id = ${teamId}
           WHERE e.sequence_id = ${sequenceId} AND e.status IN ('scheduled','active','paused','held') AND +e.team_id = ${teamId}
             AND ${companyKeySql("c")} IN (SELECT value FROM json_each(${keys}))`,
    ),
    inChunks([...unmirrored], (part) =>
      d.all<{ co: string; id: string }>(
        sql`SELECT ${companyKeySql("c")} AS co, c.id FROM contacts c WHERE c.id IN (SELECT value FROM json_each(${listParam(part)})) AND +c.team_id = ${teamId}
              AND ${companyKeySql("c")} IN (SELECT value FROM json_each(${keys}))`,
      ),
    ),
  ]);
  const out = new Map<string, string[]>();
  for (const r of [...open, ...fresh]) out.set(r.co, [...(out.get(r.co) ?? []), r.id]);
  return out;
}

/**
 * Whether candidate row `t` (a contact `c` with its stage `s`, or a person) is certain to be skipped or held back,
 * from its own row as evaluate() would find it: unsubscribed, bounced, Do Not Contact (its own or its address's
 * stage, STAGE_CATEGORY_SQL), suppressed, or a warning this add holds for (`CandidateRules`). Not found rows have
 * no company. What depends on more than the row (the owner rule, warnings about other sequences) is left out: such
 * a colleague may still come first.
 */
function certainSkipSql(teamId: string, t: "c" | "pp", rules: CandidateRules): SQL {
  const hasEmail = `(coalesce(${t}.email, '') <> '' AND coalesce(${t}.email_status, '') <> 'unavailable')`;
  const held = [
    ...(rules.holdsNoEmail ? [`NOT ${hasEmail}`] : []),
    ...(rules.holdsUnverified ? [`(${hasEmail} AND ${t}.email_status IN ('unverified', 'guessed'))`] : []),
  ];
  const own =
    t === "c"
      ? sql.raw(
          `c.unsubscribed_at IS NOT NULL OR c.bounced_at IS NOT NULL OR (${STAGE_CATEGORY_SQL}) = 'dnc' OR ${suppressedSql("c.team_id", "c.email")}`,
        )
      : suppressedForTeamSql(teamId, "pp.email");
  return sql`coalesce(${own} ${sql.raw(held.map((h) => ` OR ${h}`).join(""))}, 0)`;
}

/**
 * The contact a person is added as: their live contact (`liveContactOf`: theirs, else one with their
 * address), else their own deleted contact. The unique (team, person) index keeps a deleted contact's
 * person, so a job can't make a second contact of them: the deleted one is added, and skipped as not
 * found (deleted). The candidates and a job's chunks (`liveContactsOfPeople(…, true)`) both resolve
 * people with this, so a preview never shows such a person as net-new and enrolled (and charged).
 */
const contactOfPerson = (teamId: string, id: string, email: string): SQL =>
  sql`coalesce(${liveContactOf(teamId, id, email)}, (SELECT c.id FROM contacts c WHERE c.team_id = ${teamId} AND c.person_id = ${sql.raw(id)}))`;

/**
 * The team's live contacts of these people (person id → contact id), by person or by address
 * (`liveContactOf`). `orSavedDeleted`: as the candidates are resolved (`contactOfPerson`), a person
 * whose own contact was deleted resolves to that contact when no live one has their address (a job's
 * chunk: it must not make a second contact of the person).
 */
export async function liveContactsOfPeople(
  d: Db,
  teamId: string,
  personIds: readonly string[],
  orSavedDeleted = false,
): Promise<Map<string, string>> {
  if (!personIds.length) return new Map();
  const cid = orSavedDeleted ? contactOfPerson(teamId, "x.id", "x.email") : liveContactOf(teamId, "x.id", "x.email");
  const rows = await inChunks([...personIds], (part) =>
    d.all<{ pid: string; cid: string | null }>(
      sql`SELECT x.id AS pid, ${cid} AS cid FROM people x WHERE x.id IN (SELECT value FROM json_each(${listParam(part)}))`,
    ),
  );
  return new Map(rows.flatMap((r) => (r.cid ? [[r.pid, r.cid] as [string, string]] : [])));
}

/** Which of `listIds` are the team's (a statement for a batch; `checkLists` reads its rows). */
export const listsOfTeamSql = (teamId: string, listIds: readonly string[]): SQL =>
  sql`SELECT id FROM lists WHERE team_id = ${teamId} AND id IN (SELECT value FROM json_each(${listParam([...listIds])}))`;

/** Lists of another team (or none) are 404: `found` are the rows of `listsOfTeamSql`. */
export function checkLists(listIds: readonly string[] | undefined, found: readonly { id: string }[]) {
  const missing = (listIds ?? []).filter((id) => !found.some((l) => l.id === id));
  if (missing.length) throw new ApiError("not_found", "List not found", { list_ids: missing });
}

/**
 * How many candidates a source resolves to (after people become contacts and duplicates collapse); 413 past the job limit.
 * Counted from `cand`'s two halves without building it: its rows are those of `cs` and the unsaved people, one each,
 * and the count needs none of the scores `cand` looks up (a contact read per candidate).
 */
export async function countCandidates(d: Db, teamId: string, source: Source): Promise<number> {
  const row = await d.get<{ n: number }>(
    sql`${candidatesCte(teamId, source)} SELECT (SELECT count(*) FROM cs) + (SELECT count(*) FROM saved WHERE cid IS NULL) AS n`,
  );
  const n = row?.n ?? 0;
  if (n > MAX_JOB_CANDIDATES) tooMany(n);
  return n;
}

/** Writes a job's candidates in priority order (idx 0 = highest score) inside D1, in one statement (for a batch). */
export function stageCandidatesSql(jobId: string, teamId: string, source: Source, rules: CandidateRules): SQL {
  return sql`${candidatesCte(teamId, source, rules)} INSERT OR IGNORE INTO job_candidates (job_id, idx, team_id, person_id, contact_id, mailbox_id, duplicate)
    SELECT ${jobId}, row_number() OVER (ORDER BY score DESC, k) - 1, ${teamId}, person_id, contact_id, NULL, dup FROM cand WHERE true`;
}

/** A position in the priority order (score, then key), to read the next page after it. */
export interface CandidateCursor {
  score: number;
  k: string;
}

export interface CandidateRow {
  person_id: string | null;
  contact_id: string | null;
  score: number;
  k: string;
  duplicate: number;
}

/** The next `limit` candidates in priority order after `after` (keyset paging: D1 orders, the Worker holds one page). */
export async function candidatePage(
  d: Db,
  teamId: string,
  source: Source,
  after: CandidateCursor | null,
  limit: number,
  rules?: CandidateRules,
): Promise<CandidateRow[]> {
  const s = after?.score ?? null;
  const k = after?.k ?? null;
  return d.all<CandidateRow>(sql`${candidatesCte(teamId, source, rules)}
    SELECT person_id, contact_id, score, k, dup AS duplicate FROM cand WHERE ${s} IS NULL OR score < ${s} OR (score = ${s} AND k > ${k}) ORDER BY score DESC, k LIMIT ${limit}`);
}

export const cursorAfter = (page: readonly CandidateRow[]): CandidateCursor | null => {
  const last = page[page.length - 1];
  return last ? { score: last.score, k: last.k } : null;
};

function tooMany(n: number): never {
  throw new ApiError(
    "too_many_contacts",
    `One job takes at most ${MAX_JOB_CANDIDATES.toLocaleString("en-US")} contacts; this selection has more`,
    {
      limit: MAX_JOB_CANDIDATES,
      count: n,
      fix: "Narrow the search or split the lists into several jobs",
    },
    413,
  );
}

/**
 * Whether contact `d` (an alias) answered this sequence: a reply (as classified now, so a user's correction
 * counts) to one of its emails, or a run of it finished as replied. The run's own finish reason misses a reply
 * to the last step (the run had already finished, as completed_all_steps) and one in a sequence that keeps
 * going on replies. An address is one inbox: callers ask it of every live contact with the address (the
 * add-contacts warning replied_in_sequence, and a restart in SequenceDO.restart), the one place that says
 * what "replied here" means.
 */
export const repliedHereSql = (teamId: string, sequenceId: string, d: string): SQL =>
  sql`(${inboundReplySql(teamId, sequenceId, d)}
     OR EXISTS (SELECT 1 FROM enrollments e WHERE e.sequence_id = ${sequenceId} AND e.contact_id = ${sql.raw(d)}.id AND +e.status = 'finished' AND +e.reason = 'replied'))`;

/**
 * Whether contact `d` runs in another sequence of the team (a run scheduled, active, paused or held). An
 * address is one inbox: the add-contacts warning active_in_other_sequence asks it of the contact's twins
 * (the other live contacts with its address), and a restart (SequenceDO.openElsewhere) of the run's contact
 * and its twins: the one place that says what "runs elsewhere" means. The contact's own runs are read in
 * loadFacts' one pass over them (`enrolled` & 2), by the same rule.
 */
export const activeElsewhereSql = (teamId: string, sequenceId: string, d: string): SQL =>
  sql`EXISTS (SELECT 1 FROM enrollments e WHERE e.contact_id = ${sql.raw(d)}.id AND e.status IN ('scheduled','active','paused','held') AND +e.team_id = ${teamId} AND +e.sequence_id <> ${sequenceId})`;

/** The inbound half of repliedHereSql: a reply to one of this sequence's emails to contact `d`. */
const inboundReplySql = (teamId: string, sequenceId: string, d: string): SQL =>
  sql`EXISTS (SELECT 1 FROM inbound_messages im WHERE im.contact_id = ${sql.raw(d)}.id AND +im.sequence_id = ${sequenceId} AND +im.team_id = ${teamId} AND +im.classification = 'reply')`;

/**
 * Template variables of a contact's own fields, as SQL over row `t` (a contact, or a person: same columns), from
 * templates.ts VARIABLES so a new one is counted too: the columns run together, empty when all are (the rendered
 * value is empty then, whatever joins them).
 */
const CONTACT_VARIABLE_COLUMNS: Record<string, (t: string) => string> = Object.fromEntries(
  Object.entries(VARIABLES).flatMap(([name, v]) =>
    v.columns ? [[name, (t: string) => v.columns!.map((c) => `coalesce(${t}.${c}, '')`).join(" || ")]] : [],
  ),
);
/** Most variables one preview counts (a bit each in an integer, exact as a JavaScript number). */
export const MAX_COUNTED_VARIABLES = 52;

/**
 * The template variables a contact's emails fill from its own fields: the built-in ones (not the email,
 * which no_email covers, nor the sender's or the weekday) and custom fields (`custom.<key>`).
 */
export const isContactVariable = (name: string) => Object.hasOwn(CONTACT_VARIABLE_COLUMNS, name) || name.startsWith("custom.");

// What JavaScript's trim() removes (templates.ts `clean`), the common ones: a value of only these renders empty.
const BLANKS = "char(32, 9, 10, 11, 12, 13, 160, 8232, 8233, 65279)";

/**
 * Which of `variables` (contact variables, at most MAX_COUNTED_VARIABLES) row `t` has no value for, as a
 * bitmask by their place: empty as rendering sees it (null, or blanks only; a custom field that is missing or
 * not text). One small json_each per row, in the query that reads the row anyway.
 */
function emptyVariablesSql(variables: readonly string[], t: "c" | "p"): SQL {
  if (!variables.length) return sql`0`;
  const cases = Object.entries(CONTACT_VARIABLE_COLUMNS)
    .map(([name, col]) => `WHEN '${name}' THEN ${col(t)}`)
    .join(" ");
  // People have no custom fields: a contact made from one has none either.
  const custom =
    t === "c"
      ? `CASE WHEN json_type(c.custom_fields, '$."' || substr(v.value, 8) || '"') = 'text' THEN json_extract(c.custom_fields, '$."' || substr(v.value, 8) || '"') END`
      : "NULL";
  return sql`(SELECT coalesce(sum(1 << v.key), 0) FROM json_each(${JSON.stringify(variables)}) v
               WHERE trim(coalesce(CASE v.value ${sql.raw(cases)} ELSE ${sql.raw(custom)} END, ''), ${sql.raw(BLANKS)}) = '')`;
}

interface ContactFactsRow {
  id: string;
  person_id: string | null;
  owner_id: string | null;
  email: string | null;
  email_status: string;
  unsubscribed_at: number | null;
  bounced_at: number | null;
  job_changed_at: number | null;
  score: number;
  time_zone: string | null;
  first_name: string;
  last_name: string;
  domain: string | null;
  company: string | null;
  stage_category: string | null;
  suppressed: number;
  empty_variables: number;
  /**
   * The other live contacts of the team with this address (one pass over them): 1 = one of them is open in
   * this sequence, 2 = one of them answered this sequence (repliedHereSql), 4 = one of them runs in another
   * sequence (activeElsewhereSql).
   */
  address: number;
  /** A reply to this sequence's emails to the contact (its runs that finished as replied: `enrolled` & 16). */
  replied: number;
  /**
   * The contact's enrollments in one pass over them (one index probe instead of three): 1 = open in
   * this sequence (not by `ownJobId`), 2 = open in another, 4 = finished or failed in another, 8 = any
   * in this sequence by `ownJobId`, 16 = finished in this sequence because they replied.
   */
  enrolled: number;
  /** A colleague (same company key) is open in this sequence by another job or an enroll (`skipSameCompany`). */
  colleague: number;
  /** The company key (`skipSameCompany`; else NULL). */
  co: string | null;
}

interface PersonFactsRow {
  id: string;
  email: string | null;
  email_status: string;
  job_changed_at: number | null;
  score: number;
  time_zone: string | null;
  first_name: string;
  last_name: string;
  domain: string | null;
  company: string | null;
  suppressed: number;
  empty_variables: number;
  colleague: number;
  co: string | null;
}

/**
 * The facts of every candidate in a few queries, in the order of `candidates` (callers pass them in
 * priority order). `ownJobId`: a job re-running a chunk; enrollments that job made itself are not
 * "already in sequence". `variables`: contact template variables to report empty ones of (`emptyVariables`),
 * read in the same queries.
 */
export async function loadFacts(
  d: Db,
  teamId: string,
  sequenceId: string,
  candidates: readonly Candidate[],
  now: number,
  ownJobId: string | null = null,
  variables: readonly string[] = [],
  /**
   * The same-company rule as the candidates are processed (a job's chunk): a colleague open in the sequence now
   * by another job or an enroll since the job staged its candidates (`dup` & 2 saw the sequence as it was then):
   * two adds at once each found the company absent and each enrolled a colleague.
   */
  skipSameCompany = false,
): Promise<Facts[]> {
  if (variables.length > MAX_COUNTED_VARIABLES || !variables.every(isContactVariable))
    throw new Error(`loadFacts counts at most ${MAX_COUNTED_VARIABLES} contact variables`);
  const contactIds = candidates.flatMap((c) => (c.contactId ? [c.contactId] : []));
  const personIds = candidates.flatMap((c) => (!c.contactId && c.personId ? [c.personId] : []));
  // The companies open in the sequence by others than this job (its own runs are `dup` & 2's), as sameCompanyCte.
  const openCo = skipSameCompany
    ? sql`WITH oc(co, n, cid) AS (SELECT ${companyKeySql("o")} AS co, count(DISTINCT o.id), min(o.id) FROM enrollments e JOIN contacts o ON o.id = e.contact_id AND o.team_id = ${teamId}
              WHERE e.sequence_id = ${sequenceId} AND e.status IN ('scheduled','active','paused','held') AND +e.team_id = ${teamId}
                AND (${ownJobId} IS NULL OR e.job_id IS NOT ${ownJobId}) GROUP BY co HAVING co IS NOT NULL)`
    : sql``;
  const [contactRows, personRows] = await Promise.all([
    inChunks(contactIds, (part) =>
      d.all<ContactFactsRow>(sql`${openCo}
        SELECT c.id, c.person_id, c.owner_id, c.email, c.email_status, c.unsubscribed_at, c.bounced_at, c.job_changed_at, c.score, c.time_zone,
               c.first_name, c.last_name, c.domain, c.company, ${sql.raw(STAGE_CATEGORY_SQL)} AS stage_category,
               ${sql.raw(suppressedSql("c.team_id", "c.email"))} AS suppressed,
               ${emptyVariablesSql(variables, "c")} AS empty_variables,
               (SELECT coalesce(max(EXISTS (SELECT 1 FROM enrollments e WHERE e.contact_id = d.id
                          AND e.sequence_id = ${sequenceId} AND e.status IN ('scheduled','active','paused','held'))), 0)
                       + 2 * coalesce(max(${repliedHereSql(teamId, sequenceId, "d")}), 0)
                       + 4 * coalesce(max(${activeElsewhereSql(teamId, sequenceId, "d")}), 0)
                  FROM contacts d WHERE d.team_id = c.team_id AND lower(d.email) = lower(c.email) AND d.deleted_at IS NULL AND d.id <> c.id) AS address,
               ${inboundReplySql(teamId, sequenceId, "c")} AS replied,
               (SELECT coalesce(max(e.sequence_id = ${sequenceId} AND e.status IN ('scheduled','active','paused','held') AND (${ownJobId} IS NULL OR e.job_id IS NOT ${ownJobId})), 0)
                       + 2 * coalesce(max(e.sequence_id <> ${sequenceId} AND e.status IN ('active','paused','held','scheduled')), 0)
                       + 4 * coalesce(max(e.sequence_id <> ${sequenceId} AND e.status IN ('finished','failed')), 0)
                       + 8 * coalesce(max(e.sequence_id = ${sequenceId} AND e.job_id = ${ownJobId}), 0)
                       + 16 * coalesce(max(e.sequence_id = ${sequenceId} AND e.status = 'finished' AND e.reason = 'replied'), 0)
                  FROM enrollments e WHERE e.contact_id = c.id) AS enrolled,
               ${skipSameCompany ? sql`(oc.co IS NOT NULL AND (oc.n > 1 OR oc.cid <> c.id))` : sql`0`} AS colleague,
               ${skipSameCompany ? companyKeySql("c") : sql`NULL`} AS co
          FROM contacts c LEFT JOIN contact_stages s ON s.id = c.stage_id ${skipSameCompany ? sql`LEFT JOIN oc ON oc.co = ${companyKeySql("c")}` : sql``}
         WHERE +c.team_id = ${teamId} AND +c.deleted_at IS NULL AND c.id IN (SELECT value FROM json_each(${listParam(part)}))`),
    ),
    inChunks(personIds, (part) =>
      d.all<PersonFactsRow>(sql`${openCo}
        SELECT p.id, p.email, p.email_status, p.job_changed_at, p.score, p.time_zone, p.first_name, p.last_name, p.domain, p.company,
               ${suppressedForTeamSql(teamId, "p.email")} AS suppressed,
               ${emptyVariablesSql(variables, "p")} AS empty_variables,
               ${skipSameCompany ? sql`oc.co IS NOT NULL` : sql`0`} AS colleague,
               ${skipSameCompany ? companyKeySql("p") : sql`NULL`} AS co
          FROM people p ${skipSameCompany ? sql`LEFT JOIN oc ON oc.co = ${companyKeySql("p")}` : sql``} WHERE p.id IN (SELECT value FROM json_each(${listParam(part)}))`),
    ),
  ]);
  const byContact = new Map<string, Facts>();
  for (const r of contactRows) {
    byContact.set(r.id, {
      personId: r.person_id,
      contactId: r.id,
      found: true,
      email: r.email,
      emailStatus: r.email_status,
      unsubscribed: r.unsubscribed_at !== null,
      bounced: r.bounced_at !== null,
      stageCategory: r.stage_category,
      suppressed: !!r.suppressed,
      inSequence: (r.enrolled & 1) !== 0,
      duplicateEmail: (r.address & 1) !== 0,
      sameCompany: !!r.colleague,
      companyKey: r.co,
      // The contact's own run elsewhere, or a twin's (one inbox: it would get both sequences' emails).
      activeElsewhere: (r.enrolled & 2) !== 0 || (r.address & 4) !== 0,
      finishedElsewhere: (r.enrolled & 4) !== 0,
      // repliedHereSql for the contact and for the others with its address.
      repliedHere: !!r.replied || (r.enrolled & 16) !== 0 || (r.address & 2) !== 0,
      enrolledByOwnJob: (r.enrolled & 8) !== 0,
      jobChanged: r.job_changed_at !== null,
      ownerId: r.owner_id,
      score: r.score,
      timeZone: r.time_zone,
      firstName: r.first_name,
      lastName: r.last_name,
      domain: r.domain,
      company: r.company,
      emptyVariables: r.empty_variables,
    });
  }
  const byPerson = new Map<string, Facts>();
  for (const r of personRows) {
    byPerson.set(r.id, {
      personId: r.id,
      contactId: null,
      found: true,
      email: r.email,
      emailStatus: r.email_status,
      unsubscribed: false,
      bounced: false,
      stageCategory: null,
      suppressed: !!r.suppressed,
      inSequence: false,
      duplicateEmail: false,
      sameCompany: !!r.colleague,
      companyKey: r.co,
      activeElsewhere: false,
      finishedElsewhere: false,
      repliedHere: false,
      enrolledByOwnJob: false,
      jobChanged: r.job_changed_at !== null && r.job_changed_at > now - JOB_CHANGE_WINDOW_MS,
      ownerId: null,
      score: r.score,
      timeZone: r.time_zone,
      firstName: r.first_name,
      lastName: r.last_name,
      domain: r.domain,
      company: r.company,
      emptyVariables: r.empty_variables,
    });
  }
  return candidates.map((c): Facts => {
    const f = (c.contactId ? byContact.get(c.contactId) : byPerson.get(c.personId!)) ?? {
      ...c,
      found: false,
      email: null,
      emailStatus: "unavailable",
      unsubscribed: false,
      bounced: false,
      stageCategory: null,
      suppressed: false,
      inSequence: false,
      duplicateEmail: false,
      sameCompany: false,
      activeElsewhere: false,
      finishedElsewhere: false,
      repliedHere: false,
      enrolledByOwnJob: false,
      jobChanged: false,
      ownerId: null,
      score: -1,
      timeZone: null,
      firstName: "",
      lastName: "",
      domain: null,
      company: null,
      emptyVariables: 0,
    };
    const dup = Number(c.duplicate ?? 0);
    return { ...f, duplicate: dup, duplicateEmail: f.duplicateEmail || (dup & 1) !== 0, sameCompany: f.sameCompany || (dup & 2) !== 0 };
  });
}

export const keyOf = (c: Candidate) => c.contactId ?? `p:${c.personId}`;
