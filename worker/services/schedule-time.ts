import Holidays, { type HolidaysTypes } from "date-holidays";
import { IANAZone } from "luxon";
import { WEEKDAYS } from "../lib/weekdays";

/**
 * Sending windows in IANA time zones (invariant 7: no email outside the window, enforced where
 * MailboxDO asks `nextWindowStart` before sending). Pure: instants are epoch ms UTC, and all wall-clock
 * arithmetic goes through the zone's UTC offset, so DST gaps and overlaps fall out of one rule:
 * a window is the set of instants whose local wall time lies in [start, end) on an allowed local date.
 * A start inside a spring-forward gap therefore begins at the first instant after the gap, and a
 * fall-back hour inside a window is sendable on both of its occurrences.
 */

export interface WindowSpec {
  timeZone: string;
  /** ISO weekday "1" (Mon) … "7" (Sun) → half-open local ["HH:MM","HH:MM"] intervals ("24:00" may end one). */
  windows: Record<string, [string, string][]>;
  /** Custom "YYYY-MM-DD" local dates with no sending. */
  holidays: string[];
  /** "none", a country ("DE") or a country's state or region ("DE-BY"): see `holidayCalendars`. */
  holidayCalendar: string;
}

const MIN = 60_000;
const DAY = 86_400_000;
/** How far ahead `nextWindowStart` looks before concluding there is no window at all. */
const HORIZON_DAYS = 400;

// ---------- civil dates as day numbers (days since 1970-01-01) ----------

const isoDate = (day: number): string => new Date(day * DAY).toISOString().slice(0, 10);
/** ISO weekday, 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday). */
const isoWeekday = (day: number): number => ((((day + 3) % 7) + 7) % 7) + 1;

// ---------- zones ----------

/**
 * Zone names checked once per isolate: luxon's check builds an `Intl.DateTimeFormat` each time, which
 * cost more than the rest of a window check (the engine asks several times per email).
 */
const knownZones = new Map<string, boolean>();

/** True for a time zone name this runtime knows (IANA names such as "Europe/London", or "UTC"). */
export function isValidTimeZone(z: string): boolean {
  if (typeof z !== "string" || z.length === 0) return false;
  let ok = knownZones.get(z);
  if (ok === undefined) {
    ok = IANAZone.isValidZone(z);
    if (knownZones.size > 1_000) knownZones.clear();
    knownZones.set(z, ok);
  }
  return ok;
}

// The contact's zone when given and known, else the schedule's, else UTC (a bad stored zone must
// not stop sending everywhere; the schedule editor rejects it on save).
function zoneFor(spec: WindowSpec, override?: string | null): IANAZone {
  if (override && isValidTimeZone(override)) return IANAZone.create(override);
  return IANAZone.create(isValidTimeZone(spec.timeZone) ? spec.timeZone : "UTC");
}

const HOUR = 60 * MIN;
/**
 * A zone's UTC offset per hour (zone → hour number → minutes), read once: `zone.offset` formats the
 * instant with `Intl` each time. An hour whose first and last millisecond have the same offset has it
 * throughout (IANA zones change offset at most once in any hour; their changes are months apart); an
 * hour with a change in it is marked NaN and each instant in it is asked exactly.
 */
const hourOffsets = new Map<string, Map<number, number>>();

function offsetMs(zone: IANAZone, t: number): number {
  const hour = Math.floor(t / HOUR);
  let hours = hourOffsets.get(zone.name);
  if (!hours) hourOffsets.set(zone.name, (hours = new Map()));
  let o = hours.get(hour);
  if (o === undefined) {
    const a = zone.offset(hour * HOUR),
      b = zone.offset(hour * HOUR + HOUR - 1);
    o = a === b ? a : NaN;
    // Bounded: a long-lived isolate keeps at most this many hours per zone (about three years).
    if (hours.size > 30_000) hours.clear();
    hours.set(hour, o);
  }
  return (Number.isNaN(o) ? zone.offset(t) : o) * MIN;
}
/** Local wall clock of an instant as "naive" ms (the UTC ms that would print the same wall time). */
const wallMs = (zone: IANAZone, t: number): number => t + offsetMs(zone, t);

// Smallest instant in [lo, hi] where the offset differs from offset(lo); hi must already differ.
function findTransition(zone: IANAZone, lo: number, hi: number): number {
  const before = zone.offset(lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zone.offset(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** First instant whose wall time is `wall` (earlier one in a fall-back overlap, end of the gap in a spring-forward gap). */
function instantOf(zone: IANAZone, wall: number): number {
  const o1 = offsetMs(zone, wall - DAY),
    o2 = offsetMs(zone, wall + DAY);
  const fits = [wall - o1, wall - o2].filter((u) => wallMs(zone, u) === wall);
  if (fits.length > 0) return Math.min(...fits);
  // In a gap the clock jumps forward (o2 > o1): the first valid instant is the transition itself.
  return findTransition(zone, wall - o2, wall - o1);
}

// ---------- windows ----------

const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** "HH:MM" → minutes of the day; "24:00" only when it ends an interval. null when malformed. */
function minutesOf(hhmm: unknown, isEnd: boolean): number | null {
  if (isEnd && hhmm === "24:00") return 1440;
  const m = typeof hhmm === "string" ? TIME_RE.exec(hhmm) : null;
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

type Interval = [start: number, end: number]; // minutes of the day, half-open

// Intervals of one weekday, sorted, touching ones merged. Malformed entries are ignored here:
// `validateWindows` rejects them when a schedule is saved.
function intervalsFor(spec: WindowSpec, weekday: number): Interval[] {
  const raw = spec.windows?.[String(weekday)];
  if (!Array.isArray(raw)) return [];
  const list: Interval[] = [];
  for (const pair of raw) {
    if (!Array.isArray(pair)) continue;
    const s = minutesOf(pair[0], false),
      e = minutesOf(pair[1], true);
    if (s !== null && e !== null && e > s) list.push([s, e]);
  }
  list.sort((a, b) => a[0] - b[0]);
  const merged: Interval[] = [];
  for (const iv of list) {
    const last = merged[merged.length - 1];
    if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
    else merged.push([iv[0], iv[1]]);
  }
  return merged;
}

const hasAnyWindow = (spec: WindowSpec): boolean => [1, 2, 3, 4, 5, 6, 7].some((w) => intervalsFor(spec, w).length > 0);

/**
 * The instant ranges [from, to) of one local date's windows, sorted and merged. Within a local day the
 * wall clock is linear in each piece between offset changes (at most one per day in IANA data), so
 * each interval maps to at most one range per piece.
 */
function rangesOn(zone: IANAZone, day: number, spec: WindowSpec): Interval[] {
  const intervals = intervalsFor(spec, isoWeekday(day));
  if (intervals.length === 0 || isHoliday(isoDate(day), spec)) return [];
  const a = instantOf(zone, day * DAY),
    b = instantOf(zone, (day + 1) * DAY);
  const oa = offsetMs(zone, a),
    ob = offsetMs(zone, b - 1);
  const cut = oa === ob ? b : findTransition(zone, a, b - 1);
  const pieces: [number, number, number][] = [
    [a, cut, oa],
    [cut, b, ob],
  ];
  const out: Interval[] = [];
  for (const [from, to, off] of pieces) {
    for (const [s, e] of intervals) {
      const lo = Math.max(from, day * DAY + s * MIN - off),
        hi = Math.min(to, day * DAY + e * MIN - off);
      if (lo < hi) out.push([lo, hi]);
    }
  }
  out.sort((x, y) => x[0] - y[0]);
  const merged: Interval[] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push(r);
  }
  return merged;
}

/** Whether instant `t` lies inside a sending window (zoneOverride: the contact's zone, when the schedule uses it). */
export function inWindow(t: number, spec: WindowSpec, zoneOverride?: string | null): boolean {
  const wall = wallMs(zoneFor(spec, zoneOverride), t);
  const day = Math.floor(wall / DAY);
  if (isHoliday(isoDate(day), spec)) return false;
  const minute = (wall - day * DAY) / MIN;
  return intervalsFor(spec, isoWeekday(day)).some(([s, e]) => minute >= s && minute < e);
}

/** `t` if it is inside a window, else the earliest later instant that is; null if none within 400 days. */
export function nextWindowStart(t: number, spec: WindowSpec, zoneOverride?: string | null): number | null {
  if (!hasAnyWindow(spec)) return null;
  if (inWindow(t, spec, zoneOverride)) return t;
  const zone = zoneFor(spec, zoneOverride);
  const today = Math.floor(wallMs(zone, t) / DAY);
  for (let day = today; day <= today + HORIZON_DAYS; day++) {
    for (const [from, to] of rangesOn(zone, day, spec)) if (to > t) return Math.max(from, t);
  }
  return null;
}

/** End (exclusive) of the window containing `t`, within its local day; null if `t` is outside every window. */
export function windowEnd(t: number, spec: WindowSpec, zoneOverride?: string | null): number | null {
  if (!inWindow(t, spec, zoneOverride)) return null;
  const zone = zoneFor(spec, zoneOverride);
  const day = Math.floor(wallMs(zone, t) / DAY);
  return rangesOn(zone, day, spec).find(([from, to]) => from <= t && t < to)?.[1] ?? null;
}

/**
 * `t` plus a step's wait. Minutes and hours are elapsed time. Days are calendar days in the schedule's
 * zone: the same wall time `amount` dates later (a day across DST is 23 or 25 hours); with
 * `businessDays`, only Monday–Friday dates that are not holidays count. Minutes/hours ignore
 * `businessDays` because the window already keeps sends off weekends and holidays.
 */
export function addWait(t: number, amount: number, unit: "minutes" | "hours" | "days", businessDays: boolean, spec: WindowSpec): number {
  if (!Number.isFinite(amount) || amount < 0) throw new RangeError(`wait must be a non-negative number, got ${amount}`);
  if (unit === "minutes") return t + amount * MIN;
  if (unit === "hours") return t + amount * 60 * MIN;
  if (!Number.isInteger(amount)) throw new RangeError(`a wait in days must be a whole number, got ${amount}`);
  const zone = zoneFor(spec);
  const wall = wallMs(zone, t);
  let day = Math.floor(wall / DAY);
  const timeOfDay = wall - day * DAY;
  if (!businessDays) day += amount;
  else {
    for (let left = amount; left > 0;) {
      day++;
      if (isoWeekday(day) <= 5 && !isHoliday(isoDate(day), spec)) left--;
    }
  }
  return instantOf(zone, day * DAY + timeOfDay);
}

/** Problems with a schedule's windows, each naming its weekday; [] when valid. */
export function validateWindows(windows: Record<string, [string, string][]>): string[] {
  const problems: string[] = [];
  if (!windows || typeof windows !== "object" || Array.isArray(windows)) return ["Windows must map weekdays 1-7 to lists of intervals"];
  for (const [key, list] of Object.entries(windows)) {
    const name = WEEKDAYS[Number(key) - 1];
    if (!/^[1-7]$/.test(key) || !name) {
      problems.push(`"${key}" is not a weekday (use 1 = Monday … 7 = Sunday)`);
      continue;
    }
    if (!Array.isArray(list)) {
      problems.push(`${name}: windows must be a list of ["HH:MM", "HH:MM"] pairs`);
      continue;
    }
    const ok: [number, number, string][] = [];
    for (const pair of list) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        problems.push(`${name}: each window must be a ["HH:MM", "HH:MM"] pair`);
        continue;
      }
      const [from, to] = pair;
      const s = minutesOf(from, false),
        e = minutesOf(to, true);
      if (s === null) problems.push(`${name}: start "${String(from)}" is not a time HH:MM between 00:00 and 23:59`);
      if (e === null) problems.push(`${name}: end "${String(to)}" is not a time HH:MM between 00:00 and 24:00`);
      if (s === null || e === null) continue;
      if (e <= s)
        problems.push(
          `${name}: window ${from}–${to} must end after it starts (a window cannot span midnight: end it at 24:00 and start the next day at 00:00)`,
        );
      else ok.push([s, e, `${from}–${to}`]);
    }
    ok.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ok.length; i++) {
      const prev = ok[i - 1]!,
        cur = ok[i]!;
      if (cur[0] < prev[1]) problems.push(`${name}: windows ${prev[2]} and ${cur[2]} overlap`);
    }
  }
  return problems;
}

// ---------- holidays ----------

/**
 * Built-in calendars come from the date-holidays library (every country it has and the states or
 * regions whose holidays differ), public holidays only: its bank, school, optional and observance days
 * are not days off for everyone. A calendar is "none", a country code ("DE") or country-state ("DE-BY").
 */
export const NO_CALENDAR = "none";

// Codes stored before the library, and what they meant then. "GB" was England & Wales: the library's
// GB alone leaves the summer bank holiday out (Scotland keeps it on another Monday); its England and
// Wales have the same days.
const STORED: Record<string, { country: string; state: string; whole: string }> = {
  GB: { country: "GB", state: "ENG", whole: "England & Wales" },
};

// In the US also the library's "bank" days: its only ones are Veterans Day's Friday or Monday when
// November 11 falls on a weekend, when federal offices close (the federal calendar "US" always meant).
const typesOf = (country: string): HolidaysTypes.HolidayType[] => (country === "US" ? ["public", "bank"] : ["public"]);

const library = new Holidays();
const calendars = new Map<string, Holidays | null>();

/** The library's calendar for a code, null for "none" or a code it doesn't have (built once per isolate). */
function calendarOf(code: string): Holidays | null {
  let hit = calendars.get(code);
  if (hit === undefined) {
    hit = null;
    // Own keys only: "constructor" or "toString" is no calendar.
    const stored = typeof code === "string" && Object.hasOwn(STORED, code) ? STORED[code] : undefined;
    const [country = "", state, more] = typeof code !== "string" ? [] : stored ? [stored.country, stored.state] : code.split("-");
    const known =
      more === undefined &&
      Object.hasOwn(library.getCountries(), country) &&
      (state === undefined || Object.hasOwn(library.getStates(country) ?? {}, state));
    if (known) {
      const opts = { types: typesOf(country) };
      hit = state === undefined ? new Holidays(country, opts) : new Holidays(country, state, opts);
      // Names in English, as the rest of the app; a country whose own language is an English keeps its
      // own ("Labor Day" in the US, not "Labour Day").
      if (!hit.getLanguages()[0]?.startsWith("en")) hit.setLanguages("en");
    }
    // Only codes that can be a calendar are kept (a country and a state are a few letters each): any other string
    // a request sends, however long, would grow the isolate's memory.
    if (typeof code === "string" && code.length <= 16) {
      if (calendars.size > 1_000) calendars.clear();
      calendars.set(code, hit);
    }
  }
  return hit;
}

/** How many codes the calendar memo holds (tests: a request's string must not grow it). */
export const calendarMemoSize = (): number => calendars.size;

/** Whether a schedule may name this calendar: "none" or a code `holidayCalendars` lists. */
export const isHolidayCalendar = (code: string): boolean => code === NO_CALENDAR || calendarOf(code) !== null;

/** A country: `whole` says what its code alone covers (its nationwide holidays; "GB": England & Wales). */
export type CalendarChoice = { code: string; name: string; whole: string; regions: { code: string; name: string }[] };
let choices: CalendarChoice[] | undefined;

/** Every built-in calendar by country, each with its states or regions (codes "DE" and "DE-BY"), sorted by name. */
export function holidayCalendars(): CalendarChoice[] {
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name, "en");
  choices ??= Object.entries(library.getCountries("en"))
    .map(([country, name]) => ({
      code: country,
      name,
      whole: Object.hasOwn(STORED, country) ? STORED[country]!.whole : `All of ${name}`,
      regions: Object.entries(library.getStates(country, "en") ?? {})
        .map(([state, stateName]) => ({ code: `${country}-${state}`, name: stateName }))
        .sort(byName),
    }))
    .sort(byName);
  return choices;
}

/** Whether a local date is a custom holiday of the schedule or in its built-in calendar. */
export function isHoliday(localDate: string, spec: WindowSpec): boolean {
  if (spec.holidays?.includes(localDate)) return true;
  if (!calendarOf(spec.holidayCalendar) || !/^\d{4}-\d{2}-\d{2}$/.test(localDate)) return false;
  return calendarYear(spec.holidayCalendar, Number(localDate.slice(0, 4))).dates.has(localDate);
}

type Year = { list: { date: string; name: string }[]; dates: Set<string> };
const yearCache = new Map<string, Year>();

// Memoised per calendar and year: window searches ask about hundreds of dates per call, and the
// library works a year out from its rules each time it is asked.
function calendarYear(code: string, year: number): Year {
  const key = `${code}:${year}`;
  let hit = yearCache.get(key);
  if (!hit) {
    const list: Year["list"] = [];
    // A holiday that lasts days (Lunar New Year, three days in some countries) is each of them; one
    // that starts in the afternoon takes its whole date. Its date is the calendar's local date; last
    // year's are read too for one that runs into this year.
    const cal = calendarOf(code);
    for (const h of cal ? [...cal.getHolidays(year - 1), ...cal.getHolidays(year)] : []) {
      const first = Date.parse(`${h.date.slice(0, 10)}T00:00:00Z`) / DAY;
      const days = Math.max(1, Math.round((h.end.getTime() - h.start.getTime()) / DAY));
      for (let d = first; d < first + days; d++) list.push({ date: isoDate(d), name: h.name });
    }
    const mine = list
      .filter((h) => h.date.startsWith(`${year}-`))
      .sort((a, b) => a.date.localeCompare(b.date) || a.name.localeCompare(b.name));
    hit = { list: mine, dates: new Set(mine.map((h) => h.date)) };
    if (yearCache.size > 2_000) yearCache.clear();
    yearCache.set(key, hit);
  }
  return hit;
}

/** Holidays of a built-in calendar dated in `year`, sorted ([] for "none" or an unknown calendar). */
export function holidaysFor(calendar: string, year: number): { date: string; name: string }[] {
  if (!calendarOf(calendar)) return [];
  return calendarYear(calendar, year).list.map((h) => ({ ...h }));
}
