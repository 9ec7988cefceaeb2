import { and, asc, count, getTableColumns, gt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { contacts, contactStages, users } from "../db/schema";
import type { Caller } from "../env";
import { csvLine } from "../lib/csv";
import { ApiError, notFound } from "../lib/errors";
import { contactConditions, theList, type ContactFilter } from "./contacts";
import { suppressionOf } from "./suppressions";

/** Rows one contacts export takes: past it the export is refused up front (export_too_large). */
export const MAX_CONTACT_EXPORT = 100_000;
/** Rows read from D1 per pull: each read stays small, and the file streams out as it is read. */
const PAGE = 500;
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
  "custom",
];

/**
 * The team's contacts matching the contacts list's filters (the same conditions: every member sees the
 * team's contacts there, so the same here), as CSV text read in pages by id (for csvDownload, which
 * pulls a page only when the download wants more). Counted first: more than MAX_CONTACT_EXPORT is a 413
 * before a byte is sent, and a foreign list is a 404.
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
  return pages(d, where);
}

async function* pages(d: Db, where: ReturnType<typeof contactConditions>): AsyncGenerator<string> {
  yield csvLine(HEADER);
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
          Object.keys(r.customFields ?? {}).length ? JSON.stringify(r.customFields) : "",
        ]),
      )
      .join("");
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}
