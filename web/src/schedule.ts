/** Helpers for showing schedules: weekday names and one-line window summaries. */
import type { HolidayCountry } from "./api";

export const WEEKDAYS = [
  { key: "1", short: "Mon", long: "Monday" },
  { key: "2", short: "Tue", long: "Tuesday" },
  { key: "3", short: "Wed", long: "Wednesday" },
  { key: "4", short: "Thu", long: "Thursday" },
  { key: "5", short: "Fri", long: "Friday" },
  { key: "6", short: "Sat", long: "Saturday" },
  { key: "7", short: "Sun", long: "Sunday" },
] as const;

type Windows = Record<string, [string, string][]>;

const dayText = (w: [string, string][] | undefined) => (w ?? []).map(([a, b]) => `${a}–${b}`).join(", ");

/** "Mon–Fri 09:00–17:00 · Sat 10:00–12:00": consecutive days with the same windows are grouped. */
export function summarizeWindows(windows: Windows): string {
  const parts: string[] = [];
  let i = 0;
  while (i < WEEKDAYS.length) {
    const text = dayText(windows[WEEKDAYS[i]!.key]);
    let j = i;
    while (j + 1 < WEEKDAYS.length && dayText(windows[WEEKDAYS[j + 1]!.key]) === text) j++;
    if (text) parts.push(`${WEEKDAYS[i]!.short}${j > i ? `–${WEEKDAYS[j]!.short}` : ""} ${text}`);
    i = j + 1;
  }
  return parts.length ? parts.join(" · ") : "No sending windows";
}

/** Minutes per week the schedule is open, for a rough "hours a week" figure. */
export function weeklyMinutes(windows: Windows): number {
  let total = 0;
  for (const list of Object.values(windows)) {
    for (const [a, b] of list) {
      const [ah, am] = a.split(":").map(Number);
      const [bh, bm] = b.split(":").map(Number);
      total += Math.max(0, bh! * 60 + bm! - (ah! * 60 + am!));
    }
  }
  return total;
}

/** A holiday calendar's name: "None", "Germany", "Germany: Bayern", "United Kingdom: England & Wales" (its code while the list loads). */
export function calendarLabel(code: string, countries: HolidayCountry[] | undefined): string {
  if (code === "none") return "None";
  const country = countries?.find((c) => c.code === code.split("-")[0]);
  if (!country) return code;
  if (country.code === code) return country.whole.startsWith("All of ") ? country.name : `${country.name}: ${country.whole}`;
  const region = country.regions.find((r) => r.code === code);
  return region ? `${country.name}: ${region.name}` : code;
}
