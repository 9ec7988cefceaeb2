import { and, asc, count, countDistinct, eq, getTableColumns, gt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { contacts, contactStages, enrollments, users } from "../db/schema";
import type { Caller } from "../env";
import { csvLine } from "../lib/csv";
import { ApiError, notFound } from "../lib/errors";
import { audit } from "./audit";
import { contactConditions, theList, type ContactFilter } from "./contacts";
import { suppressionOf } from "./suppressions";

/** Rows one contacts export takes: past it the export is refused up front (export_too_large). */
export const MAX_CONTACT_EXPORT = 100_000;
/** Rows read from D1 per pull: each read stays small, and the file streams out as it is read. */
const PAGE = 500;
/**
 * The columns, the table's and every field a contact holds (the import's mapping takes each field it can
 * fill back to that field; id, statuses, stage, dates and score are the export's alone), then one column
 * per custom field (customHeader), which the mapping keeps as that custom field.
 */
const HEADER = [
  "id",
  "first_name",
  "last_name",
  "email",
  "email_status",
  "title",
  "company",
  "domain",
  "stage",
  "owner_email",
  "created_at",
  "suppressed",
  "suppression_reason",
  "phone",
  "linkedin_url",
  "industry",
  "city",
  "country",
  "time_zone",
  "score",
  "unsubscribed_at",
  "bounced_at",
];

/**
 * The team's contacts matching the contacts list's filters (the same conditions: every member sees the
 * team's contacts there, so the same here), as CSV text read in pages by id (for csvDownload, which
 * pulls a page only when the download wants more). Counted first: more than MAX_CONTACT_EXPORT is a 413
 * before a byte is sent, and a foreign list is a 404.
 *
 * Audited (`contact.export`: who, when, the filters, how many contacts matched) when it starts, not once
 * the stream ends: a download given up or cut off midway has still taken every row it received, and an
 * entry written after the last byte (executionCtx.waitUntil) would be missing for exactly those. The
 * count is the one taken here, what the export will hold unless contacts change while it streams.
 */
export async function exportContacts(d: Db, caller: Caller, q: ContactFilter): Promise<AsyncGenerator<string>> {
  const where = contactConditions(caller.teamId, q);
  const [total, list] = await d.batch([d.select({ n: count() }).from(contacts).where(where), theList(d, caller.teamId, q.list_id)]);
  if (q.list_id && !list.length) throw notFound("List");
  const n = total[0]?.n ?? 0;
  if (n > MAX_CONTACT_EXPORT)
    throw new ApiError(
      "export_too_large",
      `${n.toLocaleString("en-US")} contacts match; an export takes at most ${MAX_CONTACT_EXPORT.toLocaleString("en-US")}: narrow the search or filters`,
      { matching: n, max: MAX_CONTACT_EXPORT },
    );
  const filters = Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined && v !== ""));
  await audit(d, caller, "contact.export", q.list_id ? "list" : "team", q.list_id ?? caller.teamId, {
    filters,
    contacts: n,
    max: MAX_CONTACT_EXPORT,
  });
  // The custom fields' keys over the exported contacts, read once up front (keys only, never the rows):
  // the header comes first, and a column per key (custom.<key>) re-imports each as that custom field.
  const keys = await d.all<{ key: string }>(
    sql`SELECT DISTINCT j.key AS key FROM ${contacts}, json_each(${contacts.customFields}) j WHERE ${where} ORDER BY j.key`,
  );
  return pages(
    d,
    where,
    keys.map((k) => k.key),
  );
}

/**
 * A sequence's contacts export (GET /sequences/{id}/contacts/export: names and emails, every contact it
 * ever had) on the audit log, as `sequence.contacts_export` with the contacts and the rows it holds, for
 * a sequence the caller was already allowed to view. When it starts, for the reason exportContacts gives.
 * A row is a run: a contact restarted in the sequence is one contact on two rows.
 */
export async function auditSequenceExport(d: Db, caller: Caller, sequenceId: string): Promise<void> {
  const [row] = await d
    .select({ rows: count(), contacts: countDistinct(enrollments.contactId) })
    .from(enrollments)
    .where(and(eq(enrollments.sequenceId, sequenceId), eq(enrollments.teamId, caller.teamId)));
  await audit(d, caller, "sequence.contacts_export", "sequence", sequenceId, { contacts: row?.contacts ?? 0, rows: row?.rows ?? 0 });
}

/**
 * A custom field's header: custom.<key> (as {{custom.<key>}} in templates), which the import's mapping keeps as
 * the custom field <key> (imports/mapping.ts). The bare key was read by the import as whatever field its
 * name matched: a key `name` or `contact` filled Full name over the first and last names, and `custom_phone`
 * (a key told apart from the phone column) came back as a new key custom_phone; any other key was ignored.
 */
const customHeader = (key: string) => `custom.${key}`;
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

async function* pages(d: Db, where: ReturnType<typeof contactConditions>, customKeys: string[]): AsyncGenerator<string> {
  yield csvLine([...HEADER, ...customKeys.map(customHeader)]);
  let after = "";
  for (;;) {
    const rows = await d
      .select({
        ...getTableColumns(contacts),
        // Subqueries, not joins: the search condition names the contact's columns bare (its index's text).
        stage: sql<
          string | null
        >`(SELECT s.name FROM ${contactStages} s WHERE s.id = "contacts"."stage_id" AND s.team_id = "contacts"."team_id")`,
        owner_email: sql<
          string | null
        >`(SELECT u.email FROM ${users} u WHERE u.id = "contacts"."owner_id" AND u.team_id = "contacts"."team_id")`,
        suppression: suppressionOf(),
      })
      .from(contacts)
      .where(and(where, gt(contacts.id, after)))
      .orderBy(asc(contacts.id))
      .limit(PAGE);
    yield rows
      .map((r) =>
        csvLine([
          r.id,
          r.firstName,
          r.lastName,
          r.email,
          r.emailStatus,
          r.title,
          r.company,
          r.domain,
          r.stage,
          r.owner_email,
          new Date(r.createdAt).toISOString(),
          r.suppression ? "yes" : "no",
          r.suppression,
          r.phone,
          r.linkedinUrl,
          r.industry,
          r.city,
          r.country,
          r.timeZone,
          r.score,
          iso(r.unsubscribedAt),
          iso(r.bouncedAt),
          ...customKeys.map((k) => r.customFields?.[k] ?? null),
        ]),
      )
      .join("");
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}
