import type { EmailStatusValue, EmployeeRange, PeopleFilters } from "./api";

/**
 * The people-search filters as the screens hold them (the Prospect Searcher, the People page, a
 * workflow's filters) and as the API takes them.
 */

/** How a facet value (`c_suite`, `human_resources`, `vp`) is named in the filters; the values come from the API. */
const FACET_LABELS: Record<string, string> = { c_suite: "C-suite", vp: "VP" };
export const facetLabel = (value: string) => FACET_LABELS[value] ?? (value.charAt(0).toUpperCase() + value.slice(1)).replace(/_/g, " ");

export const EMPLOYEE_RANGES: { value: EmployeeRange; label: string }[] = [
  { value: "1,10", label: "1–10" },
  { value: "11,50", label: "11–50" },
  { value: "51,200", label: "51–200" },
  { value: "201,500", label: "201–500" },
  { value: "501,1000", label: "501–1,000" },
  { value: "1001,5000", label: "1,001–5,000" },
  { value: "5001,10000", label: "5,001–10,000" },
  { value: "10001,1000000", label: "10,001+" },
];

export type Filters = {
  q: string;
  titles: string[];
  seniorities: string[];
  departments: string[];
  industries: string[];
  /**
   * Company names, as people have them. Optional, and not in emptyFilters: the workflow editor edits the
   * keys emptyFilters has and keeps the others as stored (a schedule's companies), so it must not see it.
   */
  companies?: string[];
  employee_ranges: EmployeeRange[];
  countries: string[];
  cities: string[];
  email_statuses: EmailStatusValue[];
  score_min: number | null;
  score_max: number | null;
  saved: "any" | "saved" | "net_new";
};

export const emptyFilters = (): Filters => ({
  q: "",
  titles: [],
  seniorities: [],
  departments: [],
  industries: [],
  employee_ranges: [],
  countries: [],
  cities: [],
  email_statuses: [],
  score_min: null,
  score_max: null,
  saved: "any",
});

/** The filters as the API takes them: empty ones left out, so the request (and its preview) stays minimal. */
export function toApiFilters(f: Filters): PeopleFilters {
  const out: PeopleFilters = {};
  if (f.q.trim()) out.q = f.q.trim();
  if (f.titles.length) out.titles = [...f.titles];
  if (f.seniorities.length) out.seniorities = [...f.seniorities];
  if (f.departments.length) out.departments = [...f.departments];
  if (f.industries.length) out.industries = [...f.industries];
  if (f.companies?.length) out.companies = [...f.companies];
  if (f.employee_ranges.length) out.employee_ranges = [...f.employee_ranges];
  if (f.countries.length) out.countries = [...f.countries];
  if (f.cities.length) out.cities = [...f.cities];
  if (f.email_statuses.length) out.email_statuses = [...f.email_statuses];
  if (f.score_min !== null && f.score_min > 0) out.score_min = f.score_min;
  if (f.score_max !== null && f.score_max < 100) out.score_max = f.score_max;
  if (f.saved !== "any") out.saved = f.saved;
  return out;
}

/**
 * Why the score range can match no one (its Min above its Max), else null. The API refuses such a
 * range (422): the screens say so at the fields instead of searching.
 */
export function scoreRangeProblem(f: Pick<Filters, "score_min" | "score_max">): string | null {
  return f.score_min !== null && f.score_max !== null && f.score_min > f.score_max
    ? "Min can't be above Max: no score is in this range."
    : null;
}

/** The score range narrows the search (one filter, however many of its ends are set). */
export const scoreRangeActive = (f: Filters) => (f.score_min ?? 0) > 0 || (f.score_max ?? 100) < 100;

/** How many filters are set (the keyword box not counted): shown on the "Clear filters" button. */
export function activeFilterCount(f: Filters) {
  return (
    f.titles.length +
    f.seniorities.length +
    f.departments.length +
    f.industries.length +
    (f.companies?.length ?? 0) +
    f.employee_ranges.length +
    f.countries.length +
    f.cities.length +
    f.email_statuses.length +
    (scoreRangeActive(f) ? 1 : 0) +
    (f.saved !== "any" ? 1 : 0)
  );
}

/** A URL's query as the router reads it: a key given twice or more is an array. */
export type QueryParams = Partial<Record<string, string | string[]>>;

const EMAIL_STATUSES: readonly EmailStatusValue[] = ["verified", "unverified", "guessed", "unavailable"];
/** The API's limits on a filter's values (PeopleFilters): a longer list from a link is cut, not refused. */
const MAX_VALUES = 50;
const MAX_TEXT = 200;

const valuesOf = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const texts = (v: string | string[] | undefined) =>
  [...new Set(valuesOf(v).map((s) => s.trim().slice(0, MAX_TEXT)))].filter(Boolean).slice(0, MAX_VALUES);
const known = <T extends string>(v: string | string[] | undefined, allowed: readonly T[]) =>
  texts(v).filter((x): x is T => (allowed as readonly string[]).includes(x));
const scoreOf = (v: string | string[] | undefined) => {
  const s = valuesOf(v)[0]?.trim() ?? "";
  return /^\d{1,3}$/.test(s) && Number(s) <= 100 ? Number(s) : null;
};

/**
 * The filters a URL's query holds (the People page keeps its search there: a reload, a shared link and
 * Back show the same search). Keys are the API's names, a list repeats its key (`titles=CEO&titles=CTO`:
 * a title may hold a comma). What the screens can't hold (an unknown email status, a score of 150) is
 * left out, so a hand-edited link never makes a search the API refuses.
 */
export function filtersFromQuery(p: QueryParams): Filters {
  const saved = valuesOf(p.saved)[0];
  return {
    q: valuesOf(p.q)[0]?.trim().slice(0, MAX_TEXT) ?? "",
    titles: texts(p.titles),
    seniorities: texts(p.seniorities),
    departments: texts(p.departments),
    industries: texts(p.industries),
    companies: texts(p.companies),
    employee_ranges: known(
      p.employee_ranges,
      EMPLOYEE_RANGES.map((r) => r.value),
    ),
    countries: texts(p.countries),
    cities: texts(p.cities),
    email_statuses: known(p.email_statuses, EMAIL_STATUSES),
    score_min: scoreOf(p.score_min),
    score_max: scoreOf(p.score_max),
    saved: saved === "saved" || saved === "net_new" ? saved : "any",
  };
}

/**
 * The filters as a URL's query (filtersFromQuery reads it back): every key given, unset ones undefined
 * so that setting the query takes them out of the URL. A score is kept as typed (a Min of 0 stays in
 * the field), the rest as the API takes them.
 */
export function filtersToQuery(f: Filters): Record<keyof Filters, string | string[] | undefined> {
  const a = toApiFilters(f);
  return {
    q: a.q,
    titles: a.titles,
    seniorities: a.seniorities,
    departments: a.departments,
    industries: a.industries,
    companies: a.companies,
    employee_ranges: a.employee_ranges,
    countries: a.countries,
    cities: a.cities,
    email_statuses: a.email_statuses,
    score_min: f.score_min === null ? undefined : String(f.score_min),
    score_max: f.score_max === null ? undefined : String(f.score_max),
    saved: a.saved,
  };
}
