import type { Db } from "../worker/db/client";
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

/** The facts checked at the moment of sending (invariant 5), for a batch of emails: contacts and their sequences. */
export interface SendChecks {
  contacts: Map<string, ContactRow>;
  sequences: Map<string, { active: boolean; archived: boolean }>;
}

/**
 * A contact's facts and fields, for any number of contacts (the ids travel as one JSON parameter:
 * D1's 100-parameter cap), in one written statement for every reader: a step falling due, the send
 * path's batches. `+team_id`: the ids lead (their primary key), the team only filters. Without planner
 * statistics SQLite otherwise walks the team's whole address book through its (team_id, email) index
 * (test send-context-reads).
 */
const CONTACT_STATES_SQL = `SELECT c.id, c.email, c.time_zone AS timeZone, c.score, c.unsubscribed_at AS unsubscribedAt,
    c.bounced_at AS bouncedAt, c.deleted_at AS deletedAt, s.category AS stageCategory, c.first_name AS firstName,
    c.last_name AS lastName, c.company, c.title, c.city, c.country, c.custom_fields AS customFields,
    EXISTS (SELECT 1 FROM suppressions x WHERE x.team_id = c.team_id AND x.email = lower(c.email)) AS suppressed
  FROM contacts c LEFT JOIN contact_stages s ON s.id = c.stage_id
  WHERE +c.team_id = ? AND c.id IN (SELECT value FROM json_each(?))`;
const contactStatesStatement = (d1: D1Database, teamId: string, contactIds: readonly string[]) =>
  d1.prepare(CONTACT_STATES_SQL).bind(teamId, JSON.stringify([...new Set(contactIds)]));

type RawContactRow = Omit<ContactRow, "customFields" | "suppressed"> & { customFields: string | null; suppressed: number };

function toContactRows(result: D1Result): Map<string, ContactRow> {
  const contacts = new Map<string, ContactRow>();
  for (const r of result.results as RawContactRow[])
    contacts.set(r.id, {
      ...r,
      customFields: r.customFields ? (JSON.parse(r.customFields) as Record<string, string>) : {},
      suppressed: !!r.suppressed,
    });
  return contacts;
}

export async function loadContactStates(d: Db, teamId: string, contactIds: readonly string[]): Promise<Map<string, ContactRow>> {
  if (!contactIds.length) return new Map();
  return toContactRows(await contactStatesStatement(d.$client, teamId, contactIds).all());
}

const SEQUENCE_STATES_SQL =
  "SELECT id, active, archived_at AS archivedAt FROM sequences WHERE id IN (SELECT value FROM json_each(?)) AND +team_id = ?";

/** The two statements of SendChecks, to run in one D1 batch (with more of the caller's, see compose.ts). */
export function sendChecksStatements(d1: D1Database, teamId: string, contactIds: readonly string[], sequenceIds: readonly string[]) {
  return [
    contactStatesStatement(d1, teamId, contactIds),
    d1.prepare(SEQUENCE_STATES_SQL).bind(JSON.stringify([...new Set(sequenceIds)]), teamId),
  ] as const;
}

/** SendChecks from the answers of sendChecksStatements. */
export function toSendChecks(contactResult: D1Result, seqResult: D1Result): SendChecks {
  const seqRows = seqResult.results as { id: string; active: number; archivedAt: number | null }[];
  return {
    contacts: toContactRows(contactResult),
    sequences: new Map(seqRows.map((r) => [r.id, { active: !!r.active, archived: r.archivedAt !== null }])),
  };
}

/** Both halves of SendChecks in one D1 round trip. */
export async function loadSendChecks(
  d: Db,
  teamId: string,
  contactIds: readonly string[],
  sequenceIds: readonly string[],
): Promise<SendChecks> {
  const [c, s] = await d.$client.batch([...sendChecksStatements(d.$client, teamId, contactIds, sequenceIds)]);
  return toSendChecks(c!, s!);
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
