import { isValidTimeZone } from "./schedule-time";

/**
 * Email templates: `{{first_name}}`, `{{ First_Name | there }}` (fallback when the value is empty),
 * names case-insensitive, whitespace inside the braces ignored. Rendering is total (never throws) so
 * one bad contact can't stall a mailbox; the editor blocks unknown variables and broken braces on save
 * via `validateTemplate`, and previews warn about empty values via `missingValues`.
 */

export interface TemplateContext {
  contact: {
    firstName?: string | null;
    lastName?: string | null;
    company?: string | null;
    title?: string | null;
    email?: string | null;
    city?: string | null;
    country?: string | null;
    /** Custom fields (kept from a CSV import): `{{custom.<key>}}`. */
    custom?: Record<string, string> | null;
  };
  sender: { name?: string | null };
  /** Instant of sending (epoch ms), for `{{day_of_week}}`. */
  now: number;
  /** Zone `{{day_of_week}}` is read in: the contact's zone when the schedule uses it, else the schedule's. */
  timeZone: string;
}

const clean = (v: string | null | undefined): string => (typeof v === "string" ? v.trim() : "");

/** The variables a template may use, for the editor's picker. */
export const TEMPLATE_VARIABLES: readonly { name: string; description: string }[] = [
  { name: "first_name", description: "Contact's first name" },
  { name: "last_name", description: "Contact's last name" },
  { name: "full_name", description: "Contact's first and last name" },
  { name: "company", description: "Contact's company name" },
  { name: "title", description: "Contact's job title" },
  { name: "email", description: "Contact's email address" },
  { name: "city", description: "Contact's city" },
  { name: "country", description: "Contact's country" },
  { name: "sender_name", description: "Sending mailbox's full name" },
  { name: "sender_first_name", description: "Sending mailbox's first name" },
  {
    name: "day_of_week",
    description:
      "Weekday when the email is sent (e.g. Tuesday), in the schedule's time zone, or the contact's if the schedule uses contacts' zones",
  },
];

/**
 * Every variable: how the send renders it, and the contact columns it reads (null: not a contact's own field, or
 * one an added contact always has).
 * The add-contacts preview counts the contacts without a value from these columns (candidates.ts), so a new
 * variable says here, once, whether a contact can lack it.
 */
// Optional chaining throughout: rendering must not throw on a partial context.
export const VARIABLES: Record<string, { render: (ctx: TemplateContext) => string; columns: readonly string[] | null }> = {
  first_name: { render: (c) => clean(c.contact?.firstName), columns: ["first_name"] },
  last_name: { render: (c) => clean(c.contact?.lastName), columns: ["last_name"] },
  full_name: {
    render: (c) => [clean(c.contact?.firstName), clean(c.contact?.lastName)].filter(Boolean).join(" "),
    columns: ["first_name", "last_name"],
  },
  company: { render: (c) => clean(c.contact?.company), columns: ["company"] },
  title: { render: (c) => clean(c.contact?.title), columns: ["title"] },
  // No contact is added without an email (no_email skips it): none lacks it.
  email: { render: (c) => clean(c.contact?.email), columns: null },
  city: { render: (c) => clean(c.contact?.city), columns: ["city"] },
  country: { render: (c) => clean(c.contact?.country), columns: ["country"] },
  sender_name: { render: (c) => clean(c.sender?.name), columns: null },
  sender_first_name: { render: (c) => clean(c.sender?.name).split(/\s+/)[0] ?? "", columns: null },
  day_of_week: {
    render: (c) => {
      if (!Number.isFinite(c.now)) return "";
      const timeZone = isValidTimeZone(c.timeZone) ? c.timeZone : "UTC";
      return new Intl.DateTimeFormat("en-US", { weekday: "long", timeZone }).format(c.now);
    },
    columns: null,
  },
};

// One tag: `{{ name }}` or `{{ name | fallback }}`. The fallback is any text without braces.
// `custom.<key>` names a contact's custom field: any key is accepted (contacts differ), and one a
// contact lacks renders like any other empty value (fallback, else "").
const TAG = /\{\{\s*((?:custom\.)?[A-Za-z_][A-Za-z0-9_]*)\s*(?:\|([^{}]*))?\}\}/g;
const CUSTOM = "custom.";
const valueOf = (name: string, ctx: TemplateContext): string | undefined => {
  const n = name.toLowerCase();
  if (n.startsWith(CUSTOM)) return clean(ctx.contact?.custom?.[n.slice(CUSTOM.length)]);
  // Own keys only: a tag such as {{constructor}} must not reach Object.prototype (rendering never throws).
  return Object.hasOwn(VARIABLES, n) ? VARIABLES[n]!.render(ctx) : undefined;
};
const WHOLE_TAG = new RegExp(`^${TAG.source}$`);

/**
 * A fallback as the email shows it: trimmed, and null when there is none. One of only spaces
 * (`{{first_name| }}`, `{{first_name|}}`) is none too: it would send "Hi ," as surely as no fallback,
 * so such an email is refused the same way (`missingValues`), and a save warns about it (`blankFallbacks`).
 */
const fallbackOf = (raw: string | undefined): string | null => (raw?.trim() ? raw.trim() : null);

/** Levenshtein distance, bounded work: names are short. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The known variable an unknown name most likely meant (`firstname` → `first_name`), or null when none is
 * close: at most two edits, and fewer than a third of the name, so a short unrelated word ({{nope}}) gets none.
 */
export function nearestVariable(name: string): string | null {
  const n = name.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const known of Object.keys(VARIABLES)) {
    const d = editDistance(n, known);
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return bestDistance <= 2 && bestDistance * 3 < n.length ? best : null;
}

/** Variable names used in `text` that aren't in TEMPLATE_VARIABLES, as written, each once. */
export function findUnknownVariables(text: string): string[] {
  const seen = new Map<string, string>();
  for (const m of text.matchAll(TAG)) {
    const name = m[1]!;
    if (!Object.hasOwn(VARIABLES, name.toLowerCase()) && !name.toLowerCase().startsWith(CUSTOM) && !seen.has(name.toLowerCase()))
      seen.set(name.toLowerCase(), name);
  }
  return [...seen.values()];
}

/**
 * Every variable tag in `text`, in order: its name (lower case) and its fallback as the email would show it
 * (trimmed, as renderTemplate does; null: none written, so an empty value leaves the email unsent —
 * `missingValues`). For the add-contacts preview, which says what the emails of contacts without a value will say.
 */
export function variableUses(text: string): { name: string; fallback: string | null }[] {
  return [...text.matchAll(TAG)].map((m) => ({ name: m[1]!.toLowerCase(), fallback: fallbackOf(m[2]) }));
}

/** The custom field keys `text` names (`{{custom.<key>}}`), lower case as contacts keep them, each once. */
export function customKeysIn(text: string): string[] {
  const keys = new Set<string>();
  for (const m of text.matchAll(TAG)) {
    const n = m[1]!.toLowerCase();
    if (n.startsWith(CUSTOM)) keys.add(n.slice(CUSTOM.length));
  }
  return [...keys];
}

// Brace problems: a `{{` never closed, a `}}` never opened, or `{{…}}` that isn't a variable tag.
function braceProblems(text: string): string[] {
  const problems: string[] = [];
  let open = -1;
  for (const m of text.matchAll(/\{\{|\}\}/g)) {
    if (m[0] === "{{") {
      if (open >= 0) problems.push(`"{{" at position ${open + 1} is not closed before the next "{{"`);
      open = m.index;
    } else if (open < 0) {
      problems.push(`"}}" at position ${m.index + 1} has no matching "{{"`);
    } else {
      const tag = text.slice(open, m.index + 2);
      if (!WHOLE_TAG.test(tag)) problems.push(`${tag} is not a valid variable; write it like {{first_name}} or {{first_name|there}}`);
      open = -1;
    }
  }
  if (open >= 0) problems.push(`"{{" at position ${open + 1} is not closed`);
  return problems;
}

/** Problems that should block saving a template: broken braces, unknown variables, a multi-line subject. */
export function validateTemplate(subject: string, body: string): { field: "subject" | "body"; message: string }[] {
  const out: { field: "subject" | "body"; message: string }[] = [];
  for (const [field, text] of [
    ["subject", subject],
    ["body", body],
  ] as const) {
    for (const message of braceProblems(text)) out.push({ field, message });
    for (const name of findUnknownVariables(text)) {
      const near = nearestVariable(name);
      out.push({ field, message: `Unknown variable {{${name}}}${near ? `: did you mean {{${near}}}?` : ""}` });
    }
  }
  if (/[\r\n]/.test(subject)) out.push({ field: "subject", message: "Subject must be a single line" });
  return out;
}

/** `text` with every variable replaced (value, else fallback, else ""); never throws. */
export function renderTemplate(text: string, ctx: TemplateContext): string {
  return text.replace(TAG, (_raw, name: string, fallback: string | undefined) => {
    const value = valueOf(name, ctx) ?? "";
    return value !== "" ? value : (fallbackOf(fallback) ?? "");
  });
}

/**
 * A task's instructions (a call, LinkedIn or task step's note) for one contact, rendered as an email is (value,
 * else fallback), except where an email would be refused: a person reads a task, so it is always made, and a
 * value missing with no fallback shows what is missing ("[first name missing]") instead of a blank that reads as
 * if the note said nothing there. A name that is no variable stays as written (the editor refuses new ones).
 */
export function renderNote(text: string, ctx: TemplateContext): string {
  return text.replace(TAG, (raw, name: string, fallback: string | undefined) => {
    const value = valueOf(name, ctx);
    if (value) return value;
    const alt = fallbackOf(fallback);
    if (alt !== null) return alt;
    if (value === undefined) return raw;
    const n = name.toLowerCase();
    return `[${(n.startsWith(CUSTOM) ? n.slice(CUSTOM.length) : n).replace(/_/g, " ")} missing]`;
  });
}

/** A rendered subject: one line, because a header can't hold CR/LF (values could bring them in). */
export function renderSubject(text: string, ctx: TemplateContext): string {
  return renderTemplate(text, ctx)
    .replace(/\s*[\r\n]+\s*/g, " ")
    .trim();
}

/** Known variables in `text` that would render empty: no value for this contact and no fallback. */
export function missingValues(text: string, ctx: TemplateContext): string[] {
  const missing = new Set<string>();
  for (const [, name, fallback] of text.matchAll(TAG)) {
    const value = valueOf(name!, ctx);
    if (value !== undefined && fallbackOf(fallback) === null && value === "") missing.add(name!.toLowerCase());
  }
  return [...missing];
}

/** Tags in `text` written with a fallback of only spaces (`{{first_name| }}`), as written, each once: a save warns about them. */
export function blankFallbacks(text: string): string[] {
  const seen = new Set<string>();
  for (const [tag, , fallback] of text.matchAll(TAG)) if (fallback !== undefined && fallbackOf(fallback) === null) seen.add(tag);
  return [...seen];
}
