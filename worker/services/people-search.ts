import { z } from "@hono/zod-openapi";
import { sql, type SQL } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import { fold, foldSql } from "../db/contains";
import { listParam } from "../db/in-list";
import type { Caller } from "../env";
import { countryOf } from "../lib/countries";
import { visibleSequence } from "./access";

/** Employee-count ranges, as Apollo's `organization_num_employees_ranges` ("1,10", "11,50", …). */
export const EMPLOYEE_RANGES = ["1,10", "11,50", "51,200", "201,500", "501,1000", "1001,5000", "5001,10000", "10001,1000000"] as const;

const list = (max = 50) => z.array(z.string().trim().min(1).max(200)).max(max).optional();

/** Most searchable words one keyword search or one title takes (each is a term of the full-text query). */
export const MAX_SEARCH_WORDS = 12;
/** Refused past MAX_SEARCH_WORDS words, never cut short: words dropped silently would widen the search. */
const fewWords = <T extends z.ZodString>(s: T, what: string) =>
  s.refine((v) => words(v).length <= MAX_SEARCH_WORDS, {
    message: `${what} take at most ${MAX_SEARCH_WORDS} words (small words such as “of” and “the” aside)`,
  });

/** The Prospect Searcher's filters. Every array is OR within itself, AND across filters. */
export const PeopleFilters = z
  .object({
    q: fewWords(z.string().trim().max(200), "Keywords")
      .optional()
      .openapi({ description: `Keywords: name, title, company, industry or city (at most ${MAX_SEARCH_WORDS} words)` }),
    titles: z
      .array(fewWords(z.string().trim().min(1).max(200), "Titles"))
      .max(50)
      .optional()
      .openapi({ description: `Job titles, each at most ${MAX_SEARCH_WORDS} words` }),
    seniorities: list(),
    departments: list(),
    companies: list(),
    industries: list(),
    employee_ranges: z.array(z.enum(EMPLOYEE_RANGES)).max(8).optional(),
    countries: list(),
    cities: list(),
    email_statuses: z
      .array(z.enum(["verified", "unverified", "guessed", "unavailable"]))
      .max(4)
      .optional(),
    score_min: z.number().int().min(0).max(100).optional(),
    score_max: z.number().int().min(0).max(100).optional(),
    saved: z
      .enum(["any", "saved", "net_new"])
      .default("any")
      .openapi({ description: "Only people already saved as contacts, or only net-new ones" }),
  })
  // A filter name we don't know is refused, not dropped: dropped, a misspelt filter would match everyone
  // (a workflow or an add from a search would then add, and spend credits on, the whole database).
  .strict()
  // A range that can hold no score matches no one: say so rather than answer an empty search (or a
  // workflow that never adds anybody).
  .refine((f) => f.score_min === undefined || f.score_max === undefined || f.score_min <= f.score_max, {
    message: "The lowest score can't be above the highest score",
    path: ["score_min"],
  })
  .openapi("PeopleFilters");

export type PeopleFilters = z.infer<typeof PeopleFilters>;

/**
 * One of Apollo's person_locations (apollo/locations.ts): a `place` written alone, a city or a country;
 * a `country` alone; or a `city` in a `country` ("San Francisco, CA" is San Francisco in the United States).
 */
export type PeopleLocation = { place: string } | { country: string } | { city: string; country: string };

/**
 * The filters and what only Apollo's facade asks: `locations`, a person in any of them matching
 * (Apollo's person_locations are alternatives). The native search keeps cities and countries apart,
 * each a filter ANDed with the rest.
 */
export type PeopleQuery = PeopleFilters & { locations?: PeopleLocation[] };

export const PEOPLE_SORTS = ["score", "name", "company", "recent_job_change"] as const;

/**
 * A net-new person's address as the team may see it before saving them ("j•••@acme.com"): the full
 * address is what a credit buys. Search, add-contacts previews and job outcomes all show this.
 */
export const maskEmail = (email: string) => `${email.charAt(0)}•••@${email.split("@")[1] ?? ""}`;

/** Words a search ignores: "VP of Sales" is found by "VP Sales". */
const STOP_WORDS = new Set(["a", "an", "and", "at", "de", "for", "in", "of", "on", "the", "to", "with"]);

/**
 * The usual title synonyms, each a group of spellings (stop words left out: "head of" is "head").
 * A query word or phrase in a group matches any spelling of the group.
 */
const SYNONYM_GROUPS: string[][] = [
  ["vp", "vice president"],
  ["svp", "senior vice president", "sr vice president", "senior vp", "sr vp"],
  ["evp", "executive vice president", "executive vp"],
  ["avp", "assistant vice president"],
  ["sr", "senior"],
  ["jr", "junior"],
  ["mgr", "manager"],
  ["dir", "director"],
  ["cto", "chief technology officer", "chief technical officer"],
  ["ceo", "chief executive officer"],
  ["cfo", "chief financial officer"],
  ["coo", "chief operating officer"],
  ["cmo", "chief marketing officer"],
  ["cro", "chief revenue officer"],
  ["cio", "chief information officer"],
  ["ciso", "chief information security officer"],
  ["cpo", "chief product officer"],
  ["hr", "human resources"],
  ["bd", "business development", "biz dev"],
  ["sdr", "sales development representative", "sales development rep"],
  ["bdr", "business development representative", "business development rep"],
  ["ae", "account executive"],
  ["mktg", "marketing"],
  ["ops", "operations"],
  ["eng", "engineering", "engineer"],
  ["swe", "software engineer"],
  ["dev", "developer"],
];

/** A text's words as a search matches them: lower case, letters and digits, stop words left out (workflow title filters too). */
export const words = (text: string) => (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOP_WORDS.has(w));

/** Each spelling's words → its group's spellings (as word arrays); longest spellings first. */
const SYNONYMS: { words: string[]; group: string[][] }[] = SYNONYM_GROUPS.flatMap((g) => {
  const group = [...new Set(g)].map(words);
  return group.map((w) => ({ words: w, group }));
}).sort((a, b) => b.words.length - a.words.length);

/** One spelling as an FTS5 phrase: quoted; an abbreviation exact ("vp" must not match "vpn"), a word as a prefix. */
const phrase = (w: string[]) => `"${w.join(" ")}"${w.length === 1 && w[0]!.length <= 4 ? "" : "*"}`;

/**
 * FTS5 expression for free text: stop words dropped, every remaining word (or known phrase) must
 * match in any order, a known title word or phrase as any of its synonyms. Every term is quoted, so
 * user input can't inject query syntax. Null when nothing searchable is left.
 */
export function ftsQuery(q: string): string | null {
  // Past MAX_SEARCH_WORDS the filters refuse the search (PeopleFilters); the cap here only bounds other callers.
  const w = words(q).slice(0, MAX_SEARCH_WORDS);
  if (!w.length) return null;
  const terms: string[] = [];
  for (let i = 0; i < w.length;) {
    const hit = SYNONYMS.find((s) => s.words.length && s.words.every((x, k) => w[i + k] === x));
    if (hit) {
      const alts = [...new Set(hit.group.map(phrase))];
      terms.push(alts.length > 1 ? `(${alts.join(" OR ")})` : alts[0]!);
      i += hit.words.length;
    } else {
      terms.push(`"${w[i]}"*`);
      i++;
    }
  }
  return terms.join(" AND ");
}

/** FTS5 expression matching any of `titles` in the title column only; null when none has a searchable word. */
export function titlesQuery(titles: string[]): string | null {
  const parts = titles.map(ftsQuery).filter((x): x is string => !!x);
  return parts.length ? `title : (${parts.map((p) => `(${p})`).join(" OR ")})` : null;
}

/**
 * The team's live contact of a person: THE resolution of a person to a contact, used by every path
 * (search's contact_id and saved/net-new filter, add-contacts candidates, a job's chunks). The contact
 * saved from the person, else a live contact with the person's address (made by CSV import, the API or
 * by hand, so without a person_id), the oldest: a person the team already has by address is not
 * net-new (no credit, no second contact, no second enrollment). Each half is one index probe
 * (contacts_team_person_uq, contacts_team_email_idx); coalesce reads the second only when the first
 * found none. `team`: the SQL text of the bound team id; `id`, `email`: the person's columns.
 */
export const liveContactSql = (team: string, id: string, email: string) =>
  `coalesce((SELECT c.id FROM contacts c WHERE c.team_id = ${team} AND c.person_id = ${id} AND c.deleted_at IS NULL), ` +
  `(SELECT c.id FROM contacts c WHERE c.team_id = ${team} AND lower(c.email) = lower(${email}) AND c.deleted_at IS NULL ORDER BY c.rowid LIMIT 1))`;

/** `liveContactSql` as drizzle SQL with `teamId` bound. */
export function liveContactOf(teamId: string, id: string, email: string): SQL {
  return sql.join(
    liveContactSql("\u0000", id, email)
      .split("\u0000")
      .map((p) => sql.raw(p)),
    sql`${teamId}`,
  );
}

/**
 * FTS5 expression reaching the people in any of `cities` through the full-text index's city column
 * (case- and accent-blind): each city's words as a phrase at the column's start. Null when none has a word.
 */
export function citiesQuery(cities: string[]): string | null {
  const parts = cities.map((c) => c.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length);
  return parts.length ? `city : (${[...new Set(parts.map((w) => `^"${w.join(" ")}"`))].join(" OR ")})` : null;
}

interface Built {
  where: string;
  params: unknown[];
}

/**
 * WHERE clause for people `p` (bound parameters only), scoped for the saved/net-new filter to `teamId`.
 * `walk`: the full-text matches are a filter on rows met in index order (`+p.rowid`), never the way in.
 */
export function buildPeopleWhere(f: PeopleQuery, teamId: string, walk = false): Built {
  const conds: string[] = [];
  const params: unknown[] = [];
  const inCond = (col: string, values: string[]) => {
    params.push(listParam(values));
    return `${col} IN (SELECT value FROM json_each(?${params.length}))`;
  };
  const inList = (col: string, values?: string[]) => {
    if (values?.length) conds.push(inCond(col, values));
  };
  const rowid = walk ? "+p.rowid" : "p.rowid";
  // Cities are typed (no list to pick from): "berlin" is Berlin. Reached through the full-text index
  // (case-blind), then only whole cities kept, compared case-insensitively ("New York" is not "West
  // New York"). SQLite's lower() folds A-Z only: a city starting with "Ö" must be typed so.
  const cityCond = (cities: string[]) => {
    const c = citiesQuery(cities);
    if (!c) return "0";
    params.push(c);
    const match = `${rowid} IN (SELECT rowid FROM people_fts WHERE people_fts MATCH ?${params.length})`;
    params.push(listParam(cities));
    return `${match} AND lower(p.city) IN (SELECT lower(value) FROM json_each(?${params.length}))`;
  };
  const fts = f.q?.trim() ? ftsQuery(f.q) : null;
  if (fts) {
    params.push(fts);
    conds.push(`${rowid} IN (SELECT rowid FROM people_fts WHERE people_fts MATCH ?${params.length})`);
  } else if (f.q?.trim()) conds.push("0"); // keywords with no searchable word ("of the", "&") match nothing, never everyone
  if (f.titles?.length) {
    // Titles match as typed ("VP Sales" finds "Vice President of Sales"): through the full-text index,
    // in the title column only, all of them in one bound expression. Titles with no searchable word
    // match nothing (never everything).
    const t = titlesQuery(f.titles);
    if (t) {
      params.push(t);
      conds.push(`${rowid} IN (SELECT rowid FROM people_fts WHERE people_fts MATCH ?${params.length})`);
    } else conds.push("0");
  }
  inList("p.seniority", f.seniorities);
  inList("p.department", f.departments);
  inList("p.industry", f.industries);
  // "USA", "united states" or "U.S." find the people of "United States", as Apollo's filter does (an exact,
  // indexed comparison stays: the spelling is made the data's before the query).
  inList(
    "p.country",
    f.countries?.map((c) => countryOf(c) ?? c),
  );
  if (f.cities?.length) conds.push(cityCond(f.cities));
  // People in any of the locations, never only those in all: a place alone is a city or a country, a
  // city with its country is that city in that country (one full-text match for all of their cities,
  // then each city kept with its own country, as a pair).
  if (f.locations?.length) {
    const places = f.locations.flatMap((l) => ("place" in l ? [l.place] : []));
    const countries = f.locations.flatMap((l) => ("place" in l || "city" in l ? [] : [l.country]));
    const pairs = f.locations.flatMap((l) => ("city" in l ? [[l.city, l.country]] : []));
    const any: string[] = [];
    if (places.length) any.push(`(${cityCond(places)})`, inCond("p.country", places));
    if (countries.length) any.push(inCond("p.country", countries));
    if (pairs.length) {
      const c = citiesQuery(pairs.map(([city]) => city!));
      if (c) {
        params.push(c);
        const match = `${rowid} IN (SELECT rowid FROM people_fts WHERE people_fts MATCH ?${params.length})`;
        params.push(JSON.stringify(pairs));
        any.push(
          `(${match} AND (lower(p.city), lower(p.country)) IN (SELECT lower(value ->> 0), lower(value ->> 1) FROM json_each(?${params.length})))`,
        );
      }
    }
    conds.push(any.length ? `(${any.join(" OR ")})` : "0");
  }
  inList("p.email_status", f.email_statuses);
  if (f.employee_ranges?.length) {
    const ors = f.employee_ranges.map((r) => {
      const [lo, hi] = r.split(",").map(Number);
      params.push(lo, hi);
      // Unary "+" keeps the planner off an OR of employee-range index scans (a large share of the
      // table); the industry, seniority or country indexes narrow far better.
      return `(+p.employees BETWEEN ?${params.length - 1} AND ?${params.length})`;
    });
    conds.push(`(${ors.join(" OR ")})`);
  }
  if (f.score_min !== undefined) {
    params.push(f.score_min);
    conds.push(`p.score >= ?${params.length}`);
  }
  if (f.score_max !== undefined) {
    params.push(f.score_max);
    conds.push(`p.score <= ?${params.length}`);
  }
  if (f.saved !== "any") {
    params.push(teamId);
    conds.push(`${liveContactSql(`?${params.length}`, "p.id", "p.email")} IS ${f.saved === "saved" ? "NOT " : ""}NULL`);
  }
  // Companies are picked from a typed list: "brightrock labs" is BrightRock Labs and "societe generale"
  // Société Générale (case- and accent-blind, through people_company_folded_idx: the typed values folded
  // here as the index's expression folds the column). Last of the conditions: the fold is one nested
  // replace() a letter, and D1 parses an expression at most 100 deep (the first condition is the deepest).
  if (f.companies?.length) {
    params.push(listParam(f.companies.map(fold)));
    conds.push(`${foldSql("lower(p.company)")} IN (SELECT value FROM json_each(?${params.length}))`);
  }
  return { where: conds.length ? conds.join(" AND ") : "1", params };
}

const ORDER: Record<(typeof PEOPLE_SORTS)[number], string> = {
  score: "p.score DESC, p.id",
  name: "p.last_name, p.first_name, p.id",
  company: "p.company, p.score DESC, p.id",
  recent_job_change: "p.job_changed_at IS NULL, p.job_changed_at DESC, p.id",
};

export interface PersonResult {
  id: string;
  first_name: string;
  last_name: string;
  title: string;
  seniority: string;
  department: string;
  company: string;
  domain: string;
  industry: string;
  employees: number;
  city: string;
  country: string;
  time_zone: string;
  email: string | null;
  email_status: string;
  score: number;
  linkedin_url: string | null;
  job_changed_at: number | null;
  contact_id: string | null;
  /** The sequences the person's contact is running in that the caller may see, by name ([] for a net-new person). */
  sequences: { id: string; name: string }[];
}

/**
 * The sequences the contact `contact` (SQL of its id) runs in — scheduled, active, paused or held, the
 * runs the add-contacts warning calls "active in another sequence" — that `caller` may see (a member:
 * their own and those shared with them; access.ts's visibleSequence), as a JSON array of {id, name}.
 * A sub-select in the page's own statement, so the search stays one D1 round trip. It must sit outside
 * the sorted query (searchPeople): a result column of an ORDER BY … LIMIT is evaluated for every row
 * that enters the sorter's top LIMIT + OFFSET — thousands on a deep page — not for the page alone.
 * There it is read once per page row (one probe of enrollments_contact_idx each). CROSS JOIN keeps
 * SQLite's planner from walking every sequence of the team per row instead.
 * Unordered: an ORDER BY here would sort for every row; pageRows orders them by name.
 */
function runningSequencesSql(caller: Caller, contact: SQL): SQL {
  const seen = visibleSequence(caller, sql`e.sequence_id`);
  return sql`(SELECT json_group_array(json_object('id', rs.id, 'name', rs.name))
                FROM enrollments e CROSS JOIN sequences rs ON rs.id = e.sequence_id
               WHERE e.contact_id = ${contact} AND e.status IN ('scheduled', 'active', 'paused', 'held')
                 AND e.team_id = ${caller.teamId} AND rs.team_id = ${caller.teamId}${seen ? sql` AND ${seen}` : sql``})`;
}

/** `buildPeopleWhere` as drizzle SQL on the same handle: the numbered placeholders become bound values. */
export function peopleWhere(f: PeopleQuery, teamId: string, walk = false): SQL {
  const { where, params } = buildPeopleWhere(f, teamId, walk);
  const parts = where.split(/\?(\d+)/);
  return sql.join(parts.map((p, i) => (i % 2 ? sql`${params[Number(p) - 1]}` : sql.raw(p))));
}

/** The prospect database's version (people are loaded, never deleted: the max rowid stands for their number). */
const peopleVersion = sql`SELECT coalesce(max(rowid), 0) AS v FROM people`;
const versionOf = (r: D1Result | undefined) => (r?.results[0] as { v: number } | undefined)?.v ?? 0;

/**
 * Totals of people searches, per isolate. The prospect database changes only when people are loaded
 * (they are never updated or deleted), so a total stays right while `max(rowid)` stays the same: a
 * repeated filter (the next page, another user) reads its page only, instead of counting every match
 * again (over 200,000 people, tens of thousands of rows per request). Filters on the team's saved
 * contacts change with the team's data and are always counted.
 */
const TOTALS_KEPT = 1_000;
const totals = new Map<string, { version: number; n: number }>();

/**
 * Whether a page in score order costs less by walking `people_score_id_idx` from the top (stopping
 * after the page) than by reading every match and sorting it, judged from a known total. Walking meets
 * about (offset + page) × people / total entries; with full-text filters alone each is checked in the
 * index (a rowid against the matches, ~1/16 of reading a row), any other filter reads its row. A rare
 * filter walked would meet most of the table before its page is full, so it is sorted as before.
 */
export function walksScoreIndex(f: PeopleQuery, total: number, people: number, end: number): boolean {
  if (total <= 0) return false;
  const { q, titles, saved, ...rest } = f;
  const others = saved !== "any" || Object.values(rest).some((v) => (Array.isArray(v) ? v.length > 0 : v !== undefined));
  const perEntry = others ? 1 : 1 / 16;
  return ((end * people) / total) * perEntry < total;
}

/**
 * One page of people with the total count; each says whether the team has saved them and, with
 * `caller` (the People screens; not Apollo's facade, which has no such field), which of the caller's
 * visible sequences their contact runs in.
 */
export async function searchPeople(
  d: Db,
  teamId: string,
  f: PeopleQuery,
  sort: (typeof PEOPLE_SORTS)[number],
  page: number,
  perPage: number,
  caller?: Caller,
) {
  const where = peopleWhere(f, teamId);
  const key = f.saved === "any" ? JSON.stringify(f) : null;
  const kept = key ? totals.get(key) : undefined;
  // The version (max rowid) stands for the number of people: they are loaded, never deleted.
  const walk = sort === "score" && !!kept && walksScoreIndex(f, kept.n, kept.version, page * perPage);
  // In three steps, so that what is read per row is read for the page's rows only. A sorted query's
  // result columns are evaluated for every row that enters its top LIMIT + OFFSET (unless the order is
  // walked from an index), so the innermost one picks the page's rowids and nothing else; the page's
  // people are then read with their live contact (once per row: a MATERIALIZED CTE is never folded
  // into the outer query, which would copy the lookup into the sequences sub-select); the outer query
  // reads the sequences from that contact. It sorts the page's rows again (the order ends in the id,
  // so it is the same order): an outer query keeps no subquery's order by itself.
  const pageSql = sql`WITH pg AS MATERIALIZED (
        SELECT p.id, p.first_name, p.last_name, p.title, p.seniority, p.department, p.company, p.domain, p.industry, p.employees,
               p.city, p.country, p.time_zone, p.email, p.email_status, p.score, p.linkedin_url, p.job_changed_at,
               ${liveContactOf(teamId, "p.id", "p.email")} AS contact_id
          FROM (SELECT p.rowid AS rid FROM people p ${sql.raw(walk ? "INDEXED BY people_score_id_idx " : "")}WHERE ${walk ? peopleWhere(f, teamId, true) : where}
                 ORDER BY ${sql.raw(ORDER[sort])} LIMIT ${perPage} OFFSET ${(page - 1) * perPage}) k
          CROSS JOIN people p ON p.rowid = k.rid)
      SELECT p.id, p.first_name, p.last_name, p.title, p.seniority, p.department, p.company, p.domain, p.industry, p.employees,
             p.city, p.country, p.time_zone, p.email, p.email_status, p.score, p.linkedin_url, p.job_changed_at, p.contact_id,
             ${caller ? runningSequencesSql(caller, sql.raw("p.contact_id")) : sql`NULL`} AS sequences
        FROM pg p
       ORDER BY ${sql.raw(ORDER[sort])}`;
  if (kept) {
    // The page and the version in one round trip; a total kept from before a load is counted again.
    const [page_, v] = await batchSql(d, [pageSql, peopleVersion]);
    if (versionOf(v) === kept.version) return { people: pageRows(page_), total: kept.n };
  }
  // The page and the total in one D1 round trip (a batch). Not a window count: over 200,000 people it
  // would evaluate the saved-contact lookup for every match instead of for the page.
  const [page_, count, v] = await batchSql(d, [pageSql, sql`SELECT count(*) AS n FROM people p WHERE ${where}`, peopleVersion]);
  const total = (count!.results[0] as { n: number } | undefined)?.n ?? 0;
  if (key) {
    if (totals.size >= TOTALS_KEPT) totals.delete(totals.keys().next().value!);
    totals.set(key, { version: versionOf(v), n: total });
  }
  return { people: pageRows(page_), total };
}

type PageRow = Omit<PersonResult, "sequences"> & { sequences: string | null };

/** The page's rows with their sequences read from the sub-select's JSON, by name. */
function pageRows(r: D1Result | undefined): PersonResult[] {
  return ((r?.results ?? []) as PageRow[]).map((p) => ({
    ...p,
    sequences: p.sequences
      ? (JSON.parse(p.sequences) as PersonResult["sequences"]).sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
      : [],
  }));
}

export interface Facet {
  value: string;
  count: number;
}

type Facets = Record<"seniorities" | "departments" | "industries" | "countries" | "email_statuses", Facet[]>;

/**
 * The facets as of a version of the prospect database (its max rowid), per isolate: counting them
 * reads every person five times over (a million index entries at 200,000 people), and like the totals
 * above they change only when people are loaded.
 */
let facetsKept: { version: number; facets: Facets } | null = null;

/** The values each people filter takes, with counts (the prospect database is shared, not team-owned). */
export async function peopleFacets(d: Db): Promise<Facets> {
  if (facetsKept) {
    const [v] = await batchSql(d, [peopleVersion]);
    if (versionOf(v) === facetsKept.version) return facetsKept.facets;
  }
  // Column names come from this fixed list, never from input.
  const facet = (col: "seniority" | "department" | "industry" | "country" | "email_status") =>
    sql`SELECT ${sql.raw(col)} AS value, count(*) AS count FROM people GROUP BY ${sql.raw(col)} ORDER BY count DESC`;
  // Counted in one round trip, with the version they are counted at (one transaction).
  const [s, dep, ind, cou, st, v] = await batchSql(d, [
    facet("seniority"),
    facet("department"),
    facet("industry"),
    facet("country"),
    facet("email_status"),
    peopleVersion,
  ]);
  const rows = (r: D1Result | undefined) => (r?.results ?? []) as Facet[];
  const facets = { seniorities: rows(s), departments: rows(dep), industries: rows(ind), countries: rows(cou), email_statuses: rows(st) };
  facetsKept = { version: versionOf(v), facets };
  return facets;
}
