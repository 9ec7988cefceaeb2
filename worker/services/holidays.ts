/**
 * Built-in public-holiday calendars for sending schedules. Rule-based (no data files), so they work
 * for any year; one-off holidays (royal events, special proclamations) belong in a schedule's custom
 * dates. Weekend holidays are listed on their own date AND on the weekday they are observed on, so a
 * schedule that sends on weekends also rests on the real date.
 */

export const HOLIDAY_CALENDARS = ["none", "US", "GB"] as const;
export type HolidayCalendar = (typeof HOLIDAY_CALENDARS)[number];

export interface Holiday {
  date: string; // YYYY-MM-DD
  name: string;
}

const DAY = 86_400_000;

/** Days since 1970-01-01 for a civil date (month 1-12); also accepts out-of-range days. */
export const dayNumber = (y: number, m: number, d: number): number => Date.UTC(y, m - 1, d) / DAY;
/** "YYYY-MM-DD" of a day number. */
export const isoDate = (day: number): string => new Date(day * DAY).toISOString().slice(0, 10);
/** ISO weekday, 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday). */
export const isoWeekday = (day: number): number => ((((day + 3) % 7) + 7) % 7) + 1;

/** The n-th (1-based) given ISO weekday of a month; n = -1 means the last one. */
function nthWeekday(y: number, m: number, weekday: number, n: number): number {
  if (n > 0) {
    const first = dayNumber(y, m, 1);
    return first + ((weekday - isoWeekday(first) + 7) % 7) + (n - 1) * 7;
  }
  const last = dayNumber(y, m + 1, 0);
  return last - ((isoWeekday(last) - weekday + 7) % 7);
}

/** Easter Sunday (Gregorian) by the anonymous algorithm (Meeus/Jones/Butcher). */
export function easterSunday(y: number): number {
  const a = y % 19, b = Math.floor(y / 100), c = y % 100;
  const d = Math.floor(b / 4), e = b % 4, f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3), h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4), k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31), day = ((h + l - 7 * m + 114) % 31) + 1;
  return dayNumber(y, month, day);
}

type Entry = [day: number, name: string];

// US federal rule: a Saturday holiday is observed on the Friday before, a Sunday one on the Monday after.
function usFixed(y: number, m: number, d: number, name: string): Entry[] {
  const day = dayNumber(y, m, d), wd = isoWeekday(day);
  if (wd === 6) return [[day, name], [day - 1, `${name} (observed)`]];
  if (wd === 7) return [[day, name], [day + 1, `${name} (observed)`]];
  return [[day, name]];
}

function us(y: number): Entry[] {
  return [
    ...usFixed(y, 1, 1, "New Year's Day"),
    [nthWeekday(y, 1, 1, 3), "Martin Luther King Jr. Day"],
    [nthWeekday(y, 2, 1, 3), "Presidents' Day"],
    [nthWeekday(y, 5, 1, -1), "Memorial Day"],
    ...usFixed(y, 6, 19, "Juneteenth"),
    ...usFixed(y, 7, 4, "Independence Day"),
    [nthWeekday(y, 9, 1, 1), "Labor Day"],
    [nthWeekday(y, 10, 1, 2), "Columbus Day"],
    ...usFixed(y, 11, 11, "Veterans Day"),
    [nthWeekday(y, 11, 4, 4), "Thanksgiving Day"],
    ...usFixed(y, 12, 25, "Christmas Day"),
  ];
}

// England & Wales: a weekend bank holiday moves to the next weekday that isn't already one.
function gbWithSubstitutes(fixed: Entry[]): Entry[] {
  const out: Entry[] = [];
  const taken = new Set(fixed.filter(([d]) => isoWeekday(d) < 6).map(([d]) => d));
  const lastFixed = Math.max(...fixed.map(([d]) => d));
  for (const [day, name] of fixed) {
    out.push([day, name]);
    if (isoWeekday(day) < 6) continue;
    let sub = Math.max(day, lastFixed) + 1;
    while (isoWeekday(sub) > 5 || taken.has(sub)) sub++;
    taken.add(sub);
    out.push([sub, `${name} (substitute day)`]);
  }
  return out;
}

function gb(y: number): Entry[] {
  const easter = easterSunday(y);
  return [
    ...gbWithSubstitutes([[dayNumber(y, 1, 1), "New Year's Day"]]),
    [easter - 2, "Good Friday"],
    [easter + 1, "Easter Monday"],
    [nthWeekday(y, 5, 1, 1), "Early May bank holiday"],
    [nthWeekday(y, 5, 1, -1), "Spring bank holiday"],
    [nthWeekday(y, 8, 1, -1), "Summer bank holiday"],
    ...gbWithSubstitutes([[dayNumber(y, 12, 25), "Christmas Day"], [dayNumber(y, 12, 26), "Boxing Day"]]),
  ];
}

const RULES: Record<string, (y: number) => Entry[]> = { US: us, GB: gb };
const cache = new Map<string, Holiday[]>();

/** Holidays of a built-in calendar whose date falls in `year`, sorted by date ([] for "none"/unknown). */
export function holidaysFor(calendar: string, year: number): Holiday[] {
  const rule = RULES[calendar];
  if (!rule) return [];
  const key = `${calendar}:${year}`;
  let list = cache.get(key);
  if (!list) {
    // An observed day can cross into the neighbouring year (US New Year's Day on a Saturday is
    // observed on Dec 31 of the year before), so generate both neighbours and keep this year's dates.
    const prefix = `${year}-`;
    list = [...rule(year - 1), ...rule(year), ...rule(year + 1)]
      .map(([d, name]) => ({ date: isoDate(d), name }))
      .filter((h) => h.date.startsWith(prefix))
      .sort((a, b) => a.date.localeCompare(b.date));
    cache.set(key, list);
  }
  return list;
}
