import type { PersonFields } from "../services/contact-from-person";
import { Rng, seedId } from "./random";
import {
  CITIES,
  COMPANY_MIDDLE,
  COMPANY_PREFIX,
  COMPANY_SUFFIX,
  DEPARTMENTS,
  FIRST_NAMES,
  INDUSTRIES,
  LAST_NAMES,
  SENIORITIES,
  titleFor,
} from "./vocab";

export const PEOPLE_COLUMNS = [
  "id",
  "first_name",
  "last_name",
  "title",
  "seniority",
  "department",
  "company",
  "domain",
  "industry",
  "employees",
  "city",
  "country",
  "time_zone",
  "email",
  "email_status",
  "score",
  "linkedin_url",
  "job_changed_at",
] as const;

export type PersonRow = [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  number,
  string,
  string,
  string,
  string | null,
  string,
  number,
  string,
  number | null,
];

/** A generated person as the fields a contact copies from it. */
export const personOf = (p: PersonRow): PersonFields => ({
  id: p[0],
  firstName: p[1],
  lastName: p[2],
  title: p[3],
  company: p[6],
  domain: p[7],
  industry: p[8],
  employees: p[9],
  city: p[10],
  country: p[11],
  timeZone: p[12],
  linkedinUrl: p[16],
  score: p[15],
  jobChangedAt: p[17],
});

interface Company {
  name: string;
  domain: string;
  industry: string;
  employees: number;
  city: readonly [string, string, string];
}

const EMPLOYEE_BUCKETS = [
  [1, 10, 10],
  [11, 50, 22],
  [51, 200, 26],
  [201, 500, 16],
  [501, 1000, 10],
  [1001, 5000, 10],
  [5001, 10000, 4],
  [10001, 100000, 2],
] as const;

/** The companies people work at: deterministic for a seed. */
export function companies(rng: Rng, count: number): Company[] {
  const out: Company[] = [];
  const seen = new Set<string>();
  for (let i = 0; out.length < count; i++) {
    let name = rng.chance(0.3)
      ? `${rng.pick(COMPANY_PREFIX)} ${rng.pick(COMPANY_SUFFIX)}`
      : `${rng.pick(COMPANY_PREFIX)}${rng.pick(COMPANY_MIDDLE).toLowerCase()} ${rng.pick(COMPANY_SUFFIX)}`;
    if (seen.has(name)) {
      if (i < count * 10) continue;
      name = `${name} ${i}`;
    }
    seen.add(name);
    const [lo, hi] = rng.weighted(EMPLOYEE_BUCKETS.map((b) => [b, b[2]] as const));
    out.push({
      name,
      domain: `${name.toLowerCase().replace(/[^a-z0-9]+/g, "")}.com`,
      industry: rng.pick(INDUSTRIES),
      employees: rng.int(lo, hi),
      city: rng.pick(CITIES),
    });
  }
  return out;
}

const DAY = 86_400_000;

/**
 * Yields the prospect database in chunks, so 200,000 people never sit in memory at once.
 * `baseTime` anchors job-change dates so the data is the same on every run.
 */
export function* peopleChunks(total: number, chunkSize: number, baseTime: number, seed = 42): Generator<PersonRow[]> {
  const rng = new Rng(seed);
  const cos = companies(rng, Math.max(50, Math.ceil(total / 25)));
  let chunk: PersonRow[] = [];
  for (let n = 0; n < total; n++) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const co = rng.pick(cos);
    const seniority = rng.weighted(SENIORITIES);
    const department = rng.weighted(DEPARTMENTS);
    const city = rng.chance(0.8) ? co.city : rng.pick(CITIES);
    const emailStatus = rng.weighted([
      ["verified", 62],
      ["unverified", 14],
      ["guessed", 12],
      ["unavailable", 12],
    ] as const);
    const email =
      emailStatus === "unavailable" ? null : `${first.toLowerCase()}.${last.toLowerCase()}${n % 7 === 0 ? n % 100 : ""}@${co.domain}`;
    const seniorBoost = ["c_suite", "vp", "head", "director", "founder", "owner"].includes(seniority) ? 20 : 0;
    const score = Math.min(100, Math.max(0, Math.round(rng.next() * 70 + seniorBoost + (emailStatus === "verified" ? 10 : 0))));
    const jobChanged = rng.chance(0.08) ? baseTime - rng.int(1, 120) * DAY : null;
    chunk.push([
      seedId(0x10, n),
      first,
      last,
      titleFor(seniority, department, (xs) => rng.pick(xs)),
      seniority,
      department,
      co.name,
      co.domain,
      co.industry,
      co.employees,
      city[0],
      city[1],
      city[2],
      email,
      emailStatus,
      score,
      `https://www.linkedin.com/in/${first.toLowerCase()}-${last.toLowerCase()}-${n.toString(36)}`,
      jobChanged,
    ]);
    if (chunk.length === chunkSize) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}
