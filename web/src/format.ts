/** Display helpers. Times from the API are epoch milliseconds. */

const dateFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const numberFmt = new Intl.NumberFormat();
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export const formatDate = (ms: number) => dateFmt.format(ms);
export const formatDateTime = (ms: number) => dateTimeFmt.format(ms);
export const formatNumber = (n: number) => numberFmt.format(n);

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 86_400_000],
  ["month", 30 * 86_400_000],
  ["week", 7 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
];

/** "3 days ago", "just now". */
export function formatRelative(ms: number, now = Date.now()) {
  const diff = ms - now;
  for (const [unit, size] of UNITS) {
    if (Math.abs(diff) >= size) return relFmt.format(Math.round(diff / size), unit);
  }
  return "just now";
}

export const plural = (n: number, one: string, many = `${one}s`) => `${formatNumber(n)} ${n === 1 ? one : many}`;

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const weekdayTimeFmt = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
});
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

export const formatTime = (ms: number) => timeFmt.format(ms);
/** "Tue, Mar 4, 9:30 AM": compact, for schedules and queues. */
export const formatWhen = (ms: number) => weekdayTimeFmt.format(ms);
/** Everything, including the zone: for tooltips. */
export const formatFull = (ms: number) => fullFmt.format(ms);

/** True when `ms` is on the browser's today. */
export function isToday(ms: number, now = Date.now()) {
  return new Date(ms).toDateString() === new Date(now).toDateString();
}

/** "Today 9:30 AM", "Tomorrow 8:00 AM", else "Tue, Mar 4, 9:30 AM". */
export function formatDay(ms: number, now = Date.now()) {
  if (isToday(ms, now)) return `Today ${formatTime(ms)}`;
  if (isToday(ms, now + 86_400_000)) return `Tomorrow ${formatTime(ms)}`;
  if (isToday(ms, now - 86_400_000)) return `Yesterday ${formatTime(ms)}`;
  return formatWhen(ms);
}

/** The browser's IANA time zone, shown next to times so nobody guesses which zone they are in. */
export const browserTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** "2 days", "1 business day", "30 minutes". */
export function formatWait(amount: number, unit: "minutes" | "hours" | "days", businessDays = false) {
  const one = unit.slice(0, -1);
  const word = unit === "days" && businessDays ? `business ${amount === 1 ? "day" : "days"}` : amount === 1 ? one : unit;
  return `${formatNumber(amount)} ${word}`;
}

/** `datetime-local` value → epoch ms (the browser's zone), or null when empty or invalid. */
export function localInputToMs(v: string): number | null {
  if (!v) return null;
  const ms = new Date(v).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** epoch ms → `datetime-local` value in the browser's zone. */
export function msToLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
