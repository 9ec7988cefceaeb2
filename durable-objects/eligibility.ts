import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../worker/db/client";
import { inList } from "../worker/db/in-list";
import { contacts, contactStages, sequences } from "../worker/db/schema";
import type { ReasonCode } from "./engine-types";

/** What the engine needs to know about a contact at due time and at send time. */
export interface ContactState {
  id: string;
  email: string | null;
  timeZone: string | null;
  score: number;
  unsubscribedAt: number | null;
  bouncedAt: number | null;
  deletedAt: number | null;
  stageCategory: string | null;
  suppressed: boolean;
}

/** The contact fields emails are written with, next to the eligibility facts. */
export interface ContactRow extends ContactState {
  firstName: string;
  lastName: string;
  company: string | null;
  title: string | null;
  city: string | null;
  country: string | null;
  customFields: Record<string, string>;
}

/** One query for any number of contacts: ids travel as one JSON parameter (D1's 100-parameter cap). */
export function contactStatesQuery(d: Db, teamId: string, contactIds: readonly string[]) {
  return (
    d
      .select({
        id: contacts.id,
        email: contacts.email,
        timeZone: contacts.timeZone,
        score: contacts.score,
        unsubscribedAt: contacts.unsubscribedAt,
        bouncedAt: contacts.bouncedAt,
        deletedAt: contacts.deletedAt,
        stageCategory: contactStages.category,
        firstName: contacts.firstName,
        lastName: contacts.lastName,
        company: contacts.company,
        title: contacts.title,
        city: contacts.city,
        country: contacts.country,
        customFields: contacts.customFields,
        suppressed: sql<number>`EXISTS (SELECT 1 FROM suppressions x WHERE x.team_id = ${contacts.teamId} AND x.email = lower(${contacts.email}))`,
      })
      .from(contacts)
      .leftJoin(contactStages, eq(contactStages.id, contacts.stageId))
      // `+team_id`: the ids lead (their primary key), the team only filters. Without planner statistics
      // SQLite otherwise walks the team's whole address book through its (team_id, email) index.
      .where(and(sql`+${contacts.teamId} = ${teamId}`, inList(contacts.id, contactIds)))
  );
}

type ContactQueryRow = Awaited<ReturnType<typeof contactStatesQuery>>[number];

function toContactRows(results: readonly ContactQueryRow[]): Map<string, ContactRow> {
  return new Map(results.map((r) => [r.id, { ...r, suppressed: !!r.suppressed }]));
}

export async function loadContactStates(d: Db, teamId: string, contactIds: readonly string[]): Promise<Map<string, ContactRow>> {
  if (!contactIds.length) return new Map();
  return toContactRows(await contactStatesQuery(d, teamId, contactIds));
}

/** The facts checked at the moment of sending (invariant 5), for a batch of emails: contacts and their sequences. */
export interface SendChecks {
  contacts: Map<string, ContactRow>;
  sequences: Map<string, { active: boolean; archived: boolean }>;
}

/** The two queries of SendChecks, to run in one D1 batch (with more of the caller's, see compose.ts). */
export function sendChecksQueries(d: Db, teamId: string, contactIds: readonly string[], sequenceIds: readonly string[]) {
  return [
    contactStatesQuery(d, teamId, [...new Set(contactIds)]),
    d
      .select({ id: sequences.id, active: sequences.active, archivedAt: sequences.archivedAt })
      .from(sequences)
      .where(and(inList(sequences.id, [...new Set(sequenceIds)]), sql`+${sequences.teamId} = ${teamId}`)),
  ] as const;
}

export function toSendChecks(
  contactRows: readonly ContactQueryRow[],
  seqRows: readonly { id: string; active: boolean; archivedAt: number | null }[],
): SendChecks {
  return {
    contacts: toContactRows(contactRows),
    sequences: new Map(seqRows.map((r) => [r.id, { active: r.active, archived: r.archivedAt !== null }])),
  };
}

/** Both halves of SendChecks in one D1 round trip. */
export async function loadSendChecks(
  d: Db,
  teamId: string,
  contactIds: readonly string[],
  sequenceIds: readonly string[],
): Promise<SendChecks> {
  const [c, s] = await d.batch(sendChecksQueries(d, teamId, contactIds, sequenceIds));
  return toSendChecks(c, s);
}

/**
 * Invariant 5: unsubscribed, bounced, Do-Not-Contact and suppressed addresses are never emailed.
 * Checked when enrolled, when a step falls due (SequenceDO) and right before sending (MailboxDO).
 */
export function blockingReason(c: ContactState | undefined, needsEmail: boolean): ReasonCode | null {
  if (!c || c.deletedAt) return "contact_deleted";
  if (c.unsubscribedAt) return "unsubscribed";
  if (c.bouncedAt) return "bounced";
  if (c.stageCategory === "dnc") return "do_not_contact";
  if (c.suppressed) return "suppressed";
  if (needsEmail && !c.email) return "no_email";
  return null;
}

/** Invariant 5 at send time: why this contact of this sequence may not be emailed now, from checks read for it. */
export function sendBlock(checks: SendChecks, sequenceId: string, contactId: string): ReasonCode | null {
  const seq = checks.sequences.get(sequenceId);
  if (!seq || seq.archived) return "sequence_archived";
  if (!seq.active) return "sequence_inactive";
  return blockingReason(checks.contacts.get(contactId), true);
}
