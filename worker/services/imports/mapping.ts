// Column mapping: which contact field each CSV column fills. Headers are matched to fields by their
// normalized name against a list of common synonyms (Apollo, HubSpot, Salesforce, LinkedIn exports).

import { isValidTimeZone } from "../schedule-time";
import { unguardCell } from "../../lib/csv";
import { webAddress } from "../../lib/web-address";
import { companyHost } from "../../lib/company-domain";

/** The contact fields a column can fill, in words, with the header names that match them. */
export const IMPORT_FIELDS = {
  email: {
    label: "Email",
    synonyms: [
      "email",
      "e-mail",
      "email address",
      "e-mail address",
      "work email",
      "business email",
      "primary email",
      "email 1",
      "mail",
      "contact email",
    ],
  },
  first_name: { label: "First name", synonyms: ["first name", "first", "firstname", "given name", "forename", "prenom"] },
  last_name: { label: "Last name", synonyms: ["last name", "last", "lastname", "surname", "family name", "nom"] },
  full_name: { label: "Full name (split into first and last)", synonyms: ["full name", "name", "contact name", "contact", "person"] },
  company: {
    label: "Company",
    synonyms: [
      "company",
      "company name",
      "organization",
      "organisation",
      "organization name",
      "account",
      "account name",
      "employer",
      "business",
    ],
  },
  domain: {
    label: "Company website or domain",
    // No bare "url": LinkedIn's Connections export calls each person's profile link "URL", and taken
    // as the company's website it made every contact's domain linkedin.com.
    synonyms: ["website", "company website", "domain", "company domain", "web site", "company url"],
  },
  title: { label: "Job title", synonyms: ["title", "job title", "position", "role", "job", "designation"] },
  phone: {
    label: "Phone",
    synonyms: ["phone", "phone number", "mobile", "mobile phone", "work phone", "direct phone", "telephone", "tel", "cell"],
  },
  linkedin_url: {
    label: "LinkedIn URL",
    synonyms: ["linkedin", "linkedin url", "linkedin profile", "person linkedin url", "linkedin profile url"],
  },
  industry: { label: "Industry", synonyms: ["industry", "sector"] },
  city: { label: "City", synonyms: ["city", "town", "locality"] },
  country: { label: "Country", synonyms: ["country", "country name", "nation"] },
  time_zone: { label: "Time zone (IANA, e.g. Europe/Paris)", synonyms: ["time zone", "timezone", "tz", "time-zone"] },
  owner_email: { label: "Owner (a teammate's email)", synonyms: ["owner", "contact owner", "owner email", "account owner", "assigned to"] },
} as const;

export type ImportField = keyof typeof IMPORT_FIELDS;
export const FIELD_NAMES = Object.keys(IMPORT_FIELDS) as [ImportField, ...ImportField[]];

/** A column kept on each contact as a custom field (`{{custom.<key>}}` in templates), under its header's key. */
export const CUSTOM_FIELD = "custom_field";
/** What a column can be mapped to: a contact field, or kept as a custom field. */
export const MAPPING_CHOICES = [...FIELD_NAMES, CUSTOM_FIELD] as [
  ImportField | typeof CUSTOM_FIELD,
  ...(ImportField | typeof CUSTOM_FIELD)[],
];
/** Most columns one import keeps as custom fields. */
export const MAX_CUSTOM_FIELDS = 50;
const MAX_CUSTOM_VALUE = 1000;

/** Per column (by position): the field it fills, kept as a custom field, or null (ignored). */
export type Mapping = (ImportField | typeof CUSTOM_FIELD | null)[];

/** A contacts export's header for a custom field (services/contacts-export.ts): custom.<key>, the key as contacts hold it. */
const EXPORTED_CUSTOM = /^custom\.([a-z_][a-z0-9_]{0,59})$/i;

/** A header as a custom field key usable in a template tag: lower case, letters, digits and `_`, not starting with a digit. */
export function customKey(header: string, position: number): string {
  // custom.<key>, our contacts export's header for a custom field: that key itself (a key is already usable).
  const own = EXPORTED_CUSTOM.exec(header.trim())?.[1];
  if (own) return own.toLowerCase();
  const key = norm(header).replace(/ /g, "_").slice(0, 60);
  if (!key) return `column_${position + 1}`;
  return /^[0-9]/.test(key) ? `_${key}` : key;
}

/**
 * The custom field key of each column (null when the column isn't kept as one), each key once: two
 * headers with one key ("Région" and "Region" → `region`) give the second `region_2` (then `_3`…, past any
 * column's own key). The one source of keys for the preview, the saved contacts and the template variables:
 * each column computing its own let the second silently overwrite the first on every contact.
 */
export function customKeys(headers: string[], m: Mapping): (string | null)[] {
  const cached = keysCache.get(headers);
  if (cached && cached.m === m) return cached.keys;
  const own = headers.map((h, i) => (m[i] === CUSTOM_FIELD ? customKey(h, i) : null));
  const reserved = new Set(own.filter((k): k is string => !!k));
  const used = new Set<string>();
  const keys = own.map((k) => {
    if (!k) return null;
    let key = k;
    for (let n = 2; used.has(key); n++) {
      key = `${k}_${n}`;
      if (reserved.has(key)) key = k; // another column's own key: try the next number
    }
    used.add(key);
    return key;
  });
  keysCache.set(headers, { m, keys });
  return keys;
}
// Per headers array (and its mapping): mapRow asks for every row of a part with the same two arrays.
const keysCache = new WeakMap<string[], { m: Mapping; keys: (string | null)[] }>();

const norm = (h: string) =>
  h
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[_.\-/]+/g, " ")
    .replace(/[^a-z0-9 ]/g, "")
    .replace(/\s+/g, " ")
    .trim();

const BY_SYNONYM = new Map<string, ImportField>();
for (const f of FIELD_NAMES) for (const s of IMPORT_FIELDS[f].synonyms) BY_SYNONYM.set(norm(s), f);

/** The field a header names by its synonyms ("Work Email", "Contact Owner"), if any. */
const fieldOfHeader = (h: string): ImportField | undefined =>
  BY_SYNONYM.get(norm(h)) ?? BY_SYNONYM.get(norm(h).replace(/^(contact|person|primary|work) /, ""));

/** How many of a row's cells name a field by the mapping's synonyms. */
export const knownColumns = (cells: string[]) => cells.filter((c) => fieldOfHeader(c) !== undefined).length;

/**
 * Whether a row reads as a header row: at least two non-empty cells, at least two of them naming a
 * field by the mapping's synonyms. How the upload finds the header under lines of notes (LinkedIn's
 * Connections export), with the same synonyms the mapping then uses.
 */
export function looksLikeHeader(cells: string[]): boolean {
  return cells.filter((c) => c.trim() !== "").length >= 2 && knownColumns(cells) >= 2;
}

const LINKEDIN_PROFILE = /^(https?:\/\/)?([a-z]{2,3}\.)?linkedin\.com\/(in|pub)\//i;

/**
 * Each header's field by synonym; a field is given to its first matching column only. A column no
 * synonym names whose sample values are all LinkedIn profile links (LinkedIn's own export calls it
 * "URL") is the LinkedIn URL. A custom.<key> column (our contacts export's custom field) is kept as the
 * custom field <key> (customKey), up to MAX_CUSTOM_FIELDS of them, so an export re-imports its custom fields.
 */
export function autoMap(headers: string[], sample: string[][] = []): Mapping {
  const taken = new Set<ImportField>();
  let custom = 0;
  const profiles = (i: number) => {
    const values = sample.map((r) => (r[i] ?? "").trim()).filter(Boolean);
    return values.length > 0 && values.every((v) => LINKEDIN_PROFILE.test(v));
  };
  return headers.map((h, i) => {
    if (EXPORTED_CUSTOM.test(h.trim())) return custom++ < MAX_CUSTOM_FIELDS ? CUSTOM_FIELD : null;
    const f = fieldOfHeader(h) ?? (profiles(i) ? "linkedin_url" : undefined);
    if (!f || taken.has(f)) return null;
    taken.add(f);
    return f;
  });
}

/**
 * Header cells made usable: an empty header gets "Column N", a repeated one "Name (2)"; warnings say so.
 * A header is read without our exports' formula guard, as data cells are (mapRow): the error report's
 * header row is guarded too, so a column "+Phone" came back from it as "'+Phone".
 */
export function cleanHeaders(raw: string[]): { headers: string[]; warnings: string[] } {
  const warnings: string[] = [];
  const seen = new Map<string, number>();
  const headers = raw.map((h, i) => {
    let name = unguardCell(h.trim()).trim();
    if (!name) {
      name = `Column ${i + 1}`;
      warnings.push(`Column ${i + 1} has no header; it is called "${name}"`);
    }
    const key = name.toLowerCase();
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n > 1) {
      warnings.push(`Two columns are called "${name}"; column ${i + 1} is called "${name} (${n})"`);
      name = `${name} (${n})`;
    }
    return name;
  });
  return { headers, warnings };
}

/** The mapping problem that stops saving: neither an email column nor first name + last name + company. */
export function mappingProblem(m: Mapping): { field: string; message: string } | null {
  const has = (f: ImportField) => m.includes(f);
  if (has("email")) return null;
  const first = has("first_name") || has("full_name");
  const last = has("last_name") || has("full_name");
  if (first && last && has("company")) return null;
  const missing = [!first && "first name", !last && "last name", !has("company") && "company"].filter(Boolean).join(", ");
  return { field: "mapping", message: `Map a column to Email, or to first name, last name and company (missing: ${missing})` };
}

export interface MappedRow {
  email: string | null;
  first_name: string;
  last_name: string;
  company: string | null;
  domain: string | null;
  /** The domain is the email's (no website given): a new contact takes it, an existing one keeps its own. */
  domain_from_email: boolean;
  title: string | null;
  phone: string | null;
  linkedin_url: string | null;
  industry: string | null;
  city: string | null;
  country: string | null;
  time_zone: string | null;
  owner_email: string | null;
  /** Columns kept as custom fields: key → value (empty values left out). */
  custom_fields: Record<string, string>;
}

// Practical email check (what mailbox providers accept): one @, a dotted domain, no spaces.
const EMAIL = /^[^\s@"<>(),;:\\[\]]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i;
// Checked once per zone name per isolate (building an Intl.DateTimeFormat per row cost more than the rest of the row).
const zoneOk = (z: string) => (z.includes("/") || z === "UTC") && isValidTimeZone(z);
/**
 * Hosts of social and profile sites: a link to one says where a person is, not which company they work
 * for (taken as the domain, enrichment made up addresses at linkedin.com). The email's domain is used instead.
 */
const PROFILE_HOSTS =
  /(^|\.)(linkedin\.com|lnkd\.in|facebook\.com|fb\.com|twitter\.com|x\.com|instagram\.com|github\.com|youtube\.com|tiktok\.com|medium\.com|angel\.co|wellfound\.com|crunchbase\.com|xing\.com)$/;
// The company's host as the rest of the app reads a domain (no scheme, www., port, path or final dot: a
// port kept here made enrichment guess addresses like p…@portco.io:8443), less the profile sites.
const siteHost = (v: string) => {
  const h = companyHost(v);
  return h && !PROFILE_HOSTS.test(h) ? h : null;
};

/** A row problem: which column, its value, and why the row is not imported. */
export interface RowProblem {
  column: string;
  value: string;
  reason: string;
}

/** One decoded row as it will be saved, or the problem that keeps it out. */
export function mapRow(raw: string[], headers: string[], m: Mapping): { row: MappedRow } | { problem: RowProblem } {
  // Each cell as it was before our exports' formula guard: a fixed error report uploaded again gave
  // contacts phone numbers like "'+44 20 …" (csvCell's exact inverse; "'hello" stays as it is).
  const cells = raw.map(unguardCell);
  const get = (f: ImportField) => {
    const i = m.indexOf(f);
    return i < 0 ? "" : (cells[i] ?? "").trim();
  };
  const col = (f: ImportField) => headers[m.indexOf(f)] ?? IMPORT_FIELDS[f].label;
  const rawEmail = get("email").replace(/^mailto:/i, "");
  let first = get("first_name");
  let last = get("last_name");
  const full = get("full_name");
  if (full && (!first || !last)) {
    const parts = full.split(/\s+/);
    if (!first) first = parts.length > 1 ? parts.slice(0, -1).join(" ") : parts[0]!;
    if (!last && parts.length > 1) last = parts[parts.length - 1]!;
  }
  if (rawEmail && !EMAIL.test(rawEmail)) return { problem: { column: col("email"), value: rawEmail, reason: "Not a valid email address" } };
  const company = get("company") || null;
  if (!rawEmail && !(first && last && company)) {
    return {
      problem: {
        column: m.includes("email") ? col("email") : "",
        value: "",
        reason: "No email, and not enough to find one (first name, last name and company)",
      },
    };
  }
  const tz = get("time_zone");
  const website = get("domain");
  const siteDomain = website ? siteHost(website) : null;
  const custom: Record<string, string> = {};
  const keys = customKeys(headers, m);
  m.forEach((f, i) => {
    const v = f === CUSTOM_FIELD ? (cells[i] ?? "").trim() : "";
    const key = keys[i];
    if (v && key) custom[key] = v.slice(0, MAX_CUSTOM_VALUE);
  });
  return {
    row: {
      email: rawEmail ? rawEmail.toLowerCase() : null,
      first_name: first.slice(0, 200),
      last_name: last.slice(0, 200),
      company: company?.slice(0, 300) ?? null,
      domain: siteDomain || (rawEmail ? rawEmail.split("@")[1]!.toLowerCase() : null),
      domain_from_email: !siteDomain && !!rawEmail,
      title: get("title").slice(0, 300) || null,
      phone: get("phone").slice(0, 60) || null,
      // A link on screens: http(s) only, https when the cell has no scheme; anything else is left out.
      linkedin_url: webAddress(get("linkedin_url")),
      industry: get("industry").slice(0, 200) || null,
      city: get("city").slice(0, 200) || null,
      country: get("country").slice(0, 200) || null,
      time_zone: tz && zoneOk(tz) ? tz : null,
      owner_email: get("owner_email").toLowerCase() || null,
      custom_fields: custom,
    },
  };
}

/** The key that makes two rows the same contact: the email, else name + company. */
export const rowKey = (r: MappedRow) => r.email ?? `${r.first_name}|${r.last_name}|${r.company}`.toLowerCase();
