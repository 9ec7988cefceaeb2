import { and, eq, sql } from "drizzle-orm";
import { engine } from "../../durable-objects/engine";
import type { Db } from "../db/client";
import { inChunks, inList, teamRowsById } from "../db/in-list";
import { contacts, contactStages, enrollments } from "../db/schema";
import type { Caller, Env } from "../env";
import { assertContact, authorize } from "./access";
import { audit } from "./audit";
import { bulkContacts, refuseLockedRuns, type BulkResult } from "./contacts";
import { keepSuppressions, type SuppressionReason } from "./suppressions";

/**
 * Deleting contacts (DELETE /contacts/{id}, POST /contacts/bulk delete): first their suppressions are
 * written to the team's list by address (unsubscribed, bounced, Do Not Contact outlive the contact,
 * invariant 5), then every open enrollment is removed through its SequenceDO with reason contact_deleted,
 * so nothing more is sent (invariant 11) and no row in a sequence says "Active" for a contact that is gone,
 * then the contacts are marked deleted and leave their lists (services/contacts.ts).
 */
export async function deleteContacts(
  env: Env,
  d: Db,
  caller: Caller,
  contactIds: readonly string[],
): Promise<BulkResult & { removed_from_sequences: number; suppressed: number }> {
  authorize(caller, "contact.edit");
  const ids = [...new Set(contactIds)];
  const rows = await inChunks(ids, (chunk) =>
    d
      .select({
        id: contacts.id,
        ownerId: contacts.ownerId,
        email: contacts.email,
        unsubscribedAt: contacts.unsubscribedAt,
        bouncedAt: contacts.bouncedAt,
        category: contactStages.category,
      })
      .from(contacts)
      .leftJoin(contactStages, eq(contactStages.id, contacts.stageId))
      .where(teamRowsById(contacts, caller.teamId, chunk, contacts.deletedAt)),
  );
  for (const r of rows) assertContact(caller, "contact.edit", r.ownerId);
  const open = await inChunks(
    rows.map((r) => r.id),
    (chunk) =>
      d
        .select({ id: enrollments.id, sequenceId: enrollments.sequenceId, contactId: enrollments.contactId })
        .from(enrollments)
        .where(
          and(
            eq(enrollments.teamId, caller.teamId),
            inList(enrollments.contactId, chunk),
            sql`${enrollments.status} IN ('scheduled', 'active', 'paused', 'held')`,
          ),
        ),
  );
  const bySequence = new Map<string, string[]>();
  for (const e of open) bySequence.set(e.sequenceId, [...(bySequence.get(e.sequenceId) ?? []), e.id]);
  // Deleting takes the contacts out of their sequences: only of sequences the caller may change
  // (invariant 9), the rule a Do Not Contact stage follows too. Nothing is deleted when one is refused.
  await refuseLockedRuns(d, caller, open, "deleting");
  // bounced_at is the current address's: changing the address clears it (services/contacts.ts updateContact),
  // so a corrected address is not suppressed here; the one that bounced is on the list since its bounce.
  const reasonOf = (r: (typeof rows)[number]): SuppressionReason | null =>
    r.unsubscribedAt ? "unsubscribed" : r.bouncedAt ? "bounced" : r.category === "dnc" ? "dnc" : null;
  const suppressed = await keepSuppressions(
    d,
    caller.teamId,
    rows.map((r) => ({ email: r.email, reason: reasonOf(r) })),
    "contact_deleted",
  );

  // Their runs are removed before the contacts are marked deleted: if a SequenceDO fails, the contacts are still
  // live, so a retry finds them and their runs again (marked first, a retry read no contact and removed nothing).
  let removed = 0;
  for (const [seqId, enrollmentIds] of bySequence) {
    for (let i = 0; i < enrollmentIds.length; i += 5_000)
      removed += (await engine.sequence(env, seqId, caller.teamId).remove(enrollmentIds.slice(i, i + 5_000), "contact_deleted")).length;
  }
  const result = await bulkContacts(
    env,
    d,
    caller,
    rows.map((r) => r.id),
    { action: "delete" },
  );
  if (rows.length)
    await audit(d, caller, "contact.delete", "contact", rows.length === 1 ? rows[0]!.id : `${rows.length} contacts`, {
      count: rows.length,
      removed_from_sequences: removed,
      suppressed,
    });
  const found = new Set(rows.map((r) => r.id));
  return { ...result, not_found: ids.filter((i) => !found.has(i)), removed_from_sequences: removed, suppressed };
}
