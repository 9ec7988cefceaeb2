import { z } from "@hono/zod-openapi";
import { containsSql } from "../db/contains";
import { listParam } from "../db/in-list";

/** Employee-count ranges, as Apollo's `organization_num_employees_ranges` ("1,10", "11,50", …). */
export const EMPLOYEE_RANGES = ["1,10", "11,50", "51,200", "201,500", "501,1000", "1001,5000", "5001,10000", "10001,1000000"] as const;

const list = (max = 50) => z.array(z.string().trim().min(1).max(200)).max(max).optional();

/** The Prospect Searcher's filters. Every array is OR within itself, AND across filters. */
export const PeopleFilters = z
  .object({
    q: z.string().trim().max(200).optional().openapi({ description: "Keywords: name, title, company, industry or city" }),
    titles: list(),
    seniorities: list(),
    departments: list(),
    companies: list(),
    industries: list(),
    employee_ranges: z.array(z.enum(EMPLOYEE_RANGES)).max(8).optional(),
    countries: list(),
    cities: list(),
    email_statuses: z.array(z.enum(["verified", "unverified", "guessed", "unavailable"])).max(4).optional(),
    score_min: z.number().int().min(0).max(100).optional(),
    score_max: z.number().int().min(0).max(100).optional(),
    saved: z.enum(["any", "saved", "net_new"]).default("any").openapi({ description: "Only people already saved as contacts, or only net-new ones" }),
  })
  .openapi("PeopleFilters");

export type PeopleFilters = z.infer<typeof PeopleFilters>;

export const PEOPLE_SORTS = ["score", "name", "company", "recent_job_change"] as const;

/**
 * A net-new person's address as the team may see it before saving them ("j•••@acme.com"): the full
 * address is what a credit buys. Search, add-contacts previews and job outcomes all show this.
 */
export const maskEmail = (email: string) => `${email.charAt(0)}•••@${email.split("@")[1] ?? ""}`;

/** FTS5 query from free text: each word a prefix term, quoted so user input can't inject syntax. */
export function ftsQuery(q: string): string | null {
  const words = q.toLowerCase().match(/[\p{L}\p{N}]+/gu);
  if (!words?.length) return null;
  return words.slice(0, 8).map((w) => `"${w}"*`).join(" ");
}

interface Built {
  where: string;
  params: unknown[];
}

/** WHERE clause for people `p` (bound parameters only), scoped for the saved/net-new filter to `teamId`. */
export function buildPeopleWhere(f: PeopleFilters, teamId: string): Built {
  const conds: string[] = [];
  const params: unknown[] = [];
  const inList = (col: string, values?: string[]) => {
    if (!values?.length) return;
    params.push(listParam(values));
    conds.push(`${col} IN (SELECT value FROM json_each(?${params.length}))`);
  };
  const fts = f.q ? ftsQuery(f.q) : null;
  if (fts) {
    params.push(fts);
    conds.push(`p.rowid IN (SELECT rowid FROM people_fts WHERE people_fts MATCH ?${params.length})`);
  }
  if (f.titles?.length) {
    // Titles match anywhere in the title; they travel as one bound JSON array (any number of titles
    // stays under D1's 100 bound parameters) and match by instr (D1 refuses LIKE patterns over 50 bytes).
    params.push(listParam(f.titles));
    conds.push(`EXISTS (SELECT 1 FROM json_each(?${params.length}) t WHERE ${containsSql("p.title", "t.value")})`);
  }
  inList("p.seniority", f.seniorities);
  inList("p.department", f.departments);
  inList("p.company", f.companies);
  inList("p.industry", f.industries);
  inList("p.country", f.countries);
  inList("p.city", f.cities);
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
    conds.push(`${f.saved === "saved" ? "" : "NOT "}EXISTS (SELECT 1 FROM contacts c WHERE c.team_id = ?${params.length} AND c.person_id = p.id AND c.deleted_at IS NULL)`);
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
}

/** One page of people with the total count; each says whether the team has saved them. */
export async function searchPeople(d1: D1Database, teamId: string, f: PeopleFilters, sort: (typeof PEOPLE_SORTS)[number], page: number, perPage: number) {
  const { where, params } = buildPeopleWhere(f, teamId);
  const n = params.length;
  const [rows, count] = await d1.batch<any>([
    d1
      .prepare(
        `SELECT p.*, (SELECT c.id FROM contacts c WHERE c.team_id = ?${n + 1} AND c.person_id = p.id AND c.deleted_at IS NULL) AS contact_id
           FROM people p WHERE ${where} ORDER BY ${ORDER[sort]} LIMIT ?${n + 2} OFFSET ?${n + 3}`,
      )
      .bind(...params, teamId, perPage, (page - 1) * perPage),
    d1.prepare(`SELECT count(*) AS n FROM people p WHERE ${where}`).bind(...params),
  ]);
  return { people: rows!.results as PersonResult[], total: (count!.results[0] as { n: number }).n };
}

/** Ids of every match, in priority order (score, then id), up to `limit` + 1 so callers can tell "too many". */
export async function searchPeopleIds(d1: D1Database, teamId: string, f: PeopleFilters, limit: number): Promise<string[]> {
  const { where, params } = buildPeopleWhere(f, teamId);
  const { results } = await d1
    .prepare(`SELECT p.id FROM people p WHERE ${where} ORDER BY p.score DESC, p.id LIMIT ?${params.length + 1}`)
    .bind(...params, limit + 1)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}
