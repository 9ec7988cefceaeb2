import { and, eq } from "drizzle-orm";
import { ApiError } from "../lib/errors";
import type { Db } from "../db/client";
import { inChunks, inList } from "../db/in-list";
import { suppressions } from "../db/schema";
import { now } from "../lib/clock";
import { newId } from "../lib/ids";

/**
 * The team's suppression list, keyed by address (invariant 5: a suppression outlives its contact).
 * Read here when an address is saved again (a CSV row, POST /contacts), so a deleted contact that
 * unsubscribed, bounced or was Do Not Contact is not brought back.
 */

export type SuppressionReason = (typeof suppressions.$inferSelect)["reason"];

export const SUPPRESSION_WORDS: Record<SuppressionReason, string> = {
  unsubscribed: "This address unsubscribed",
  bounced: "This address bounced",
  dnc: "This address is Do Not Contact",
  manual: "This address is on your team's suppression list",
  complaint: "This address reported your email as spam",
};

/** Why each of these addresses (lower-cased) is suppressed for the team; absent when it isn't. */
export async function suppressionReasons(d: Db, teamId: string, emails: readonly string[]): Promise<Map<string, SuppressionReason>> {
  const list = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter(Boolean))];
  const rows = await inChunks(list, (chunk) =>
    d
      .select({ email: suppressions.email, reason: suppressions.reason })
      .from(suppressions)
      .where(and(eq(suppressions.teamId, teamId), inList(suppressions.email, chunk))),
  );
  return new Map(rows.map((r) => [r.email, r.reason]));
}

/** Records suppressions that lived on contacts (unsubscribed, bounced, a Do Not Contact stage) before they are deleted. */
export async function keepSuppressions(
  d: Db,
  teamId: string,
  rows: readonly { email: string | null; reason: SuppressionReason | null }[],
  source: string,
): Promise<number> {
  const t = now();
  const values = rows
    .filter((r): r is { email: string; reason: SuppressionReason } => !!r.email && !!r.reason)
    .map((r) => ({ id: newId(), teamId, email: r.email.trim().toLowerCase(), reason: r.reason, source, createdAt: t }));
  let n = 0;
  // 6 columns a row: 15 rows a statement stays under D1's 100 bound parameters.
  for (let i = 0; i < values.length; i += 15) {
    const part = values.slice(i, i + 15);
    n += (await d.insert(suppressions).values(part).onConflictDoNothing().returning({ id: suppressions.id })).length;
  }
  return n;
}

/** Saving a contact with a suppressed address is refused (422 naming the email field, with the reason). */
export async function assertNotSuppressed(d: Db, teamId: string, email: string | null | undefined): Promise<void> {
  if (!email) return;
  const reason = (await suppressionReasons(d, teamId, [email])).get(email.trim().toLowerCase());
  if (!reason) return;
  const message = `${SUPPRESSION_WORDS[reason]}: it is not saved again (suppressions outlive deleted contacts)`;
  throw new ApiError("validation_failed", message, { fields: [{ field: "email", message, code: "suppressed", reason }] });
}
