import { z } from "@hono/zod-openapi";
import { WEEKDAYS } from "./weekdays";

/**
 * How a failing field reads to a person. zod's own wording ("Too small: expected string to have
 * >=1 characters") never reaches the API's callers or the screens: every issue without a message of
 * its own gets one here, once, for every schema (REST and Apollo), naming the field in words.
 */

/**
 * Field names whose words are not just the name with spaces. Anything else: `sender_name` → "Sender name".
 * No prototype, here and in WORDS: a field named `__proto__` or `constructor` is a name like any other.
 */
const LABELS: Record<string, string> = Object.assign(Object.create(null), {
  per_page: "Results per page",
  page: "Page",
  min_gap_seconds: "Minimum gap between sends",
  jitter_seconds: "Random extra delay",
  wait_amount: "Wait",
  wait_unit: "Wait unit",
  business_days: "Business days only",
  thread_reply: "Reply in the same thread",
  interval_minutes: "Run every",
  max_per_run: "Most people per run",
  time_zone: "Time zone",
  use_contact_time_zone: "Use the contact's time zone",
  is_default: "Default schedule",
  holiday_calendar: "Holiday calendar",
  add_at: "Start time",
  skip_validation: "Skip validation",
  score_min: "Lowest score",
  score_max: "Highest score",
  linkedin_url: "LinkedIn URL",
  people_ids: "People",
  q: "Search text",
  "(body)": "Request body",
});

const WORDS: Record<string, string> = Object.assign(Object.create(null), {
  smtp: "SMTP",
  url: "URL",
  id: "ID",
  ids: "IDs",
  api: "API",
  mime: "MIME",
  csv: "CSV",
});

/** Units a number's limit is counted in, from the field's name. */
const UNITS: [RegExp, string][] = [
  [/_seconds$/, "seconds"],
  [/_minutes$/, "minutes"],
  [/_days$/, "days"],
];

/** mailbox → mailboxes, company → companies, list → lists. */
const plural = (w: string) => (/(x|s|ch|sh)$/.test(w) ? `${w}es` : /[^aeiou]y$/.test(w) ? `${w.slice(0, -1)}ies` : `${w}s`);

function words(name: string): string {
  const own = LABELS[name];
  if (own) return own;
  const base = name
    .replace(/^(.*)_ids$/, (_, w: string) => plural(w))
    .replace(/_id$/, "")
    .replace(/_/g, " ")
    .trim();
  return base
    .split(" ")
    .map((w) => WORDS[w.toLowerCase()] ?? w)
    .join(" ");
}

const capital = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

/** The field a path names, in plain words: `smtp.host` → "SMTP host", `variants.1.subject` → "Subject (variant 2)", `holidays.3` → "Holidays (item 4)". */
export function fieldLabel(path: readonly PropertyKey[]): string {
  const parts = path.map(String);
  if (!parts.length) return LABELS["(body)"]!;
  // A schedule's windows are keyed by weekday (1 = Monday … 7 = Sunday), not listed: windows.1 → "Monday's windows".
  const at = parts.indexOf("windows");
  const day = at >= 0 && /^[1-7]$/.test(parts[at + 1] ?? "") ? WEEKDAYS[Number(parts[at + 1]) - 1] : undefined;
  if (day) {
    const item = parts[at + 2];
    return `${day}'s windows${item !== undefined && /^\d+$/.test(item) ? ` (window ${Number(item) + 1})` : ""}`;
  }
  const last = parts[parts.length - 1]!;
  if (/^\d+$/.test(last)) {
    const parent = parts
      .slice(0, -1)
      .filter((p) => !/^\d+$/.test(p))
      .pop();
    return `${capital(parent ? words(parent) : "Item")} (item ${Number(last) + 1})`;
  }
  const named = parts.filter((p) => !/^\d+$/.test(p));
  // A nested field keeps its group's name when the group says what it is: smtp.host → "SMTP host".
  const group = named.length > 1 ? named[named.length - 2]! : null;
  const w = words(last);
  const label = group && WORDS[group] ? `${WORDS[group]} ${LABELS[last] ? w : w.toLowerCase()}` : w;
  // The second and later items of a list say which one: variants.1.subject → "Subject (variant 2)".
  const index = /^\d+$/.test(parts[parts.length - 2] ?? "") ? Number(parts[parts.length - 2]) : 0;
  const which = index > 0 && group ? ` (${words(group).replace(/s$/, "").toLowerCase()} ${index + 1})` : "";
  return capital(label) + which;
}

const number = (n: number | bigint) =>
  typeof n === "bigint" ? n.toLocaleString("en-US") : Number.isFinite(n) ? n.toLocaleString("en-US") : String(n);

/** "a, b or c" */
function choices(values: readonly unknown[]): string {
  const s = values.map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
  return s.length <= 1 ? (s[0] ?? "") : `${s.slice(0, -1).join(", ")} or ${s[s.length - 1]}`;
}

const unitOf = (path: readonly PropertyKey[]) => {
  const last = String(path[path.length - 1] ?? "");
  return UNITS.find(([re]) => re.test(last))?.[1] ?? "";
};

const TYPE_WORDS: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "an object with fields",
  date: "a date",
  bigint: "a whole number",
};

type Issue = z.core.$ZodRawIssue;

/** The sentence for one issue that has no message of its own. */
export function humanMessage(iss: Issue): string {
  const path = (iss.path ?? []) as PropertyKey[];
  const label = fieldLabel(path);
  const unit = unitOf(path);
  const withUnit = (n: number | bigint) => `${number(n)}${unit ? ` ${unit}` : ""}`;
  switch (iss.code) {
    case "invalid_type": {
      if (iss.input === undefined) return `${label} is required`;
      if (!path.length && iss.expected === "object") return "The request body must be a JSON object";
      if (iss.expected === "number" || iss.expected === "int") return `${label} must be ${TYPE_WORDS[iss.expected]}`;
      return `${label} must be ${TYPE_WORDS[iss.expected] ?? iss.expected}`;
    }
    case "too_small": {
      const min = iss.minimum as number | bigint;
      if (iss.origin === "string")
        return Number(min) <= 1 ? `${label} can't be empty` : `${label} needs at least ${number(min)} characters`;
      if (iss.origin === "array" || iss.origin === "set")
        return Number(min) <= 1 ? `${label}: pick at least one` : `${label} needs at least ${number(min)} items`;
      if (iss.origin === "date") return `${label} is too early`;
      return iss.inclusive === false ? `${label} must be more than ${withUnit(min)}` : `${label} must be at least ${withUnit(min)}`;
    }
    case "too_big": {
      const max = iss.maximum as number | bigint;
      if (iss.origin === "string") return `${label} can be at most ${number(max)} characters`;
      if (iss.origin === "array" || iss.origin === "set") return `${label} can have at most ${number(max)} items`;
      if (iss.origin === "date") return `${label} is too late`;
      return iss.inclusive === false ? `${label} must be less than ${withUnit(max)}` : `${label} can be at most ${withUnit(max)}`;
    }
    case "invalid_format": {
      if (iss.format === "email") return `${label} must be an email address, like name@company.com`;
      if (iss.format === "url") return `${label} must be a web address, like https://example.com`;
      if (iss.format === "datetime" || iss.format === "date") return `${label} must be a date, like 2027-03-01`;
      if (iss.format === "time") return `${label} must be a time, like 09:30`;
      if (iss.format === "uuid" || iss.format === "cuid") return `${label} must be an ID`;
      return `${label} isn't in the expected format`;
    }
    case "invalid_value":
      return iss.values.length === 1 ? `${label} must be ${choices(iss.values)}` : `${label} must be one of: ${choices(iss.values)}`;
    case "not_multiple_of":
      return `${label} must be a multiple of ${number(iss.divisor as number)}`;
    case "unrecognized_keys":
      return `${label} has fields we don't know: ${choices(iss.keys)}`;
    case "invalid_key":
      return `${label} has a name that isn't allowed`;
    case "invalid_element":
      return `${label} has a value that isn't allowed`;
    case "invalid_union":
      return `${label} isn't any of the accepted forms`;
    default:
      return `${label} isn't valid`;
  }
}

// Once for the whole worker: issues with no message of their own read as sentences. A schema's own
// message (`.refine(…, "Use YYYY-MM-DD")`) still wins, as zod ranks it first.
z.config({ customError: (iss) => humanMessage(iss) });
