import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { inList } from "../db/in-list";
import { contacts, contactStages, meetings } from "../db/schema";
import type { Caller } from "../env";

/**
 * What working a reply needs to know of its contact beside the reply itself: the contact's stage now
 * and its latest meeting booked. Read here, per page, rather than in the inbox's own query, so a row
 * shows what the inbox's actions (POST /contacts/stage, POST /contacts/{id}/meeting-booked) just changed.
 */
export interface ContactWork {
  stage: { id: string; name: string; category: string } | null;
  meeting_booked_at: number | null;
}

export async function contactWork(d: Db, caller: Caller, contactIds: readonly string[]): Promise<Map<string, ContactWork>> {
  const ids = [...new Set(contactIds)];
  const out = new Map<string, ContactWork>();
  if (!ids.length) return out;
  // One page of the inbox (at most 100 replies): one bound list each.
  const rows = await d
    .select({ id: contacts.id, stageId: contactStages.id, stageName: contactStages.name, stageCategory: contactStages.category })
    .from(contacts)
    .leftJoin(contactStages, and(eq(contactStages.id, contacts.stageId), eq(contactStages.teamId, caller.teamId)))
    .where(and(eq(contacts.teamId, caller.teamId), isNull(contacts.deletedAt), inList(contacts.id, ids)));
  const booked = await d
    .select({ contactId: meetings.contactId, at: sql<number>`max(${meetings.bookedAt})` })
    .from(meetings)
    .where(and(eq(meetings.teamId, caller.teamId), inList(meetings.contactId, ids)))
    .groupBy(meetings.contactId);
  const lastMeeting = new Map(booked.map((b) => [b.contactId, b.at]));
  for (const r of rows)
    out.set(r.id, {
      stage: r.stageId ? { id: r.stageId, name: r.stageName ?? "", category: r.stageCategory ?? "open" } : null,
      meeting_booked_at: lastMeeting.get(r.id) ?? null,
    });
  return out;
}

type Worked<R extends { contact: { id: string } | null }> = R & { contact: (NonNullable<R["contact"]> & ContactWork) | null };

/** The replies with their contact's stage and latest meeting (none for a contact deleted since). */
export async function withContactWork<R extends { contact: { id: string } | null }>(
  d: Db,
  caller: Caller,
  replies: R[],
): Promise<Worked<R>[]> {
  const work = await contactWork(
    d,
    caller,
    replies.flatMap((r) => (r.contact ? [r.contact.id] : [])),
  );
  const none: ContactWork = { stage: null, meeting_booked_at: null };
  return replies.map((r) => ({ ...r, contact: r.contact ? { ...r.contact, ...(work.get(r.contact.id) ?? none) } : null })) as Worked<R>[];
}
