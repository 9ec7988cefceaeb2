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
