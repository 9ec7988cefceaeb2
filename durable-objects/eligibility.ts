import { sql } from "drizzle-orm";
import type { Db } from "../worker/db/client";
import type { WindowSpec } from "../worker/services/schedule-time";
import type { ReasonCode } from "./engine-types";
import { scheduleFromTuple, scheduleTupleSql } from "./sequence-config";
import { suppressedSql, suppressionKindSql } from "../worker/services/suppressions";

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
  /** Suppressed by its domain's entry (`@example.com`), not its own: the reason then names the domain (suppressed_domain). */
  suppressedDomain?: boolean;
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

/** A sequence as the send path checks it: on or off (invariant 5), and its sending window as it is now (invariant 7). */
export interface SequenceState {
  active: boolean;
  archived: boolean;
  window: WindowSpec;
  /** `window` as the JSON a hand-over stores (packEmails), to compare with a queued email's. */
  windowText: string;
  useContactTimeZone: boolean;
}

/** The facts checked at the moment of sending (invariants 5 and 7), for a batch of emails: contacts, their sequences and steps. */
export interface SendChecks {
  contacts: Map<string, ContactRow>;
  sequences: Map<string, SequenceState>;
  /** The emails' steps that exist and are on: an email of any other step is not sent (its step was turned off or deleted). */
  liveSteps: Set<string>;
  /** Of those, the ones that reply in the same thread now: an email queued under the other setting follows the step as it is. */
  threadSteps: Set<string>;
}

/**
 * A contact's stage category, except that Do Not Contact belongs to the address: two contacts may share one
 * (as in Apollo), and marking either Do Not Contact stops emails to both. Any live contact of the team with
 * `c`'s address in a DNC stage makes `c` DNC (one probe of contacts_team_email_idx). Needs `c` (contacts) and
 * `s` (its contact_stages row); the add-contacts checks read it too (candidates.ts).
 */
const stageCategorySql = (own: string) => `CASE WHEN EXISTS (SELECT 1 FROM contacts d JOIN contact_stages ds ON ds.id = d.stage_id
    WHERE d.team_id = c.team_id AND lower(d.email) = lower(c.email) AND d.deleted_at IS NULL AND ds.category = 'dnc') THEN 'dnc' ELSE ${own} END`;
export const STAGE_CATEGORY_SQL = stageCategorySql("s.category");

/**
 * A contact's ContactState facts as columns of a list query over contacts `c` (its stage read by a subquery,
 * the list's own `s` being something else), so a list row says what blockingReason will say when its step
 * falls due, from the same facts the engine reads (CONTACT_STATES_SQL), in the same statement as the page.
 */
export const CONTACT_STATE_COLUMNS = `c.email AS cs_email, c.unsubscribed_at AS cs_unsubscribed_at, c.bounced_at AS cs_bounced_at,
    c.deleted_at AS cs_deleted_at, ${stageCategorySql("(SELECT cs.category FROM contact_stages cs WHERE cs.id = c.stage_id)")} AS cs_stage_category,
    ${suppressionKindSql("c.team_id", "c.email")} AS cs_suppressed`;
export interface ContactStateColumns {
  cs_email: string | null;
  cs_unsubscribed_at: number | null;
  cs_bounced_at: number | null;
  cs_deleted_at: number | null;
  cs_stage_category: string | null;
  /** suppressionKindSql: 0 not suppressed, 1 its own address, 2 its domain. */
  cs_suppressed: number;
}

/**
 * blockingReason as a condition over contacts `c` of team `teamId`, for counting and filtering runs the engine won't
 * email without reading them out: true when it gives a reason whatever the step (deleted, unsubscribed, bounced, Do
 * Not Contact, a suppressed address or domain). The same rule as STAGE_CATEGORY_SQL and suppressedSql, spelled for a
 * walk over many contacts: the team's Do Not Contact stages and addresses are two lists read once per statement
 * (through contacts_team_stage_idx: the planner otherwise walked the team's whole address book for them), not probed
 * per contact (three rows a contact). A sequence's chips walk its open runs with it (test enrollments-page-reads).
 * `no_email`, the one reason that depends on the step, is CONTACT_NO_EMAIL_SQL, for the caller to join with its run's step.
 */
export const contactBlockedSql = (
  teamId: string,
) => sql`(c.deleted_at IS NOT NULL OR c.unsubscribed_at IS NOT NULL OR c.bounced_at IS NOT NULL
    OR c.stage_id IN (SELECT id FROM contact_stages WHERE team_id = ${teamId} AND category = 'dnc')
    OR lower(c.email) IN (SELECT lower(d.email) FROM contacts d INDEXED BY contacts_team_stage_idx WHERE d.team_id = ${teamId}
      AND d.stage_id IN (SELECT id FROM contact_stages WHERE team_id = ${teamId} AND category = 'dnc') AND d.deleted_at IS NULL)
    OR ${sql.raw(suppressedSql("c.team_id", "c.email"))})`;
/** blockingReason's `no_email`, over contacts `c`: no address, for an email step. */
export const CONTACT_NO_EMAIL_SQL = `(c.email IS NULL OR c.email = '')`;

/** blockingReason of a row read with CONTACT_STATE_COLUMNS: why the engine will email this contact nothing (null: it will). */
export const rowBlockingReason = (r: ContactStateColumns, needsEmail: boolean): ReasonCode | null =>
  blockingReason(
    {
      id: "",
      email: r.cs_email,
      timeZone: null,
      score: 0,
      unsubscribedAt: r.cs_unsubscribed_at,
      bouncedAt: r.cs_bounced_at,
      deletedAt: r.cs_deleted_at,
      stageCategory: r.cs_stage_category,
      suppressed: !!r.cs_suppressed,
      suppressedDomain: r.cs_suppressed === 2,
    },
    needsEmail,
  );

/**
 * A contact's facts and fields, for any number of contacts (the ids travel as one JSON parameter:
 * D1's 100-parameter cap), in one written statement for every reader: a step falling due, the send
 * path's batches. `+team_id`: the ids lead (their primary key), the team only filters. Without planner
 * statistics SQLite otherwise walks the team's whole address book through its (team_id, email) index
 * (test send-context-reads).
 */
const CONTACT_STATES_SQL = `SELECT c.id, c.email, c.time_zone AS timeZone, c.score, c.unsubscribed_at AS unsubscribedAt,
    c.bounced_at AS bouncedAt, c.deleted_at AS deletedAt, ${STAGE_CATEGORY_SQL} AS stageCategory, c.first_name AS firstName,
    c.last_name AS lastName, c.company, c.title, c.city, c.country, c.custom_fields AS customFields,
    ${suppressionKindSql("c.team_id", "c.email")} AS suppressed
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
      suppressedDomain: r.suppressed === 2,
    });
  return contacts;
}

export async function loadContactStates(d: Db, teamId: string, contactIds: readonly string[]): Promise<Map<string, ContactRow>> {
  if (!contactIds.length) return new Map();
  return toContactRows(await contactStatesStatement(d.$client, teamId, contactIds).all());
}

/**
 * Each sequence's state and its schedule as it is now (its own, else the team's default; none: always
 * open), resolved as loadSequenceConfig does: an email queued under an older window is held to this one.
 */
const SEQUENCE_STATES_SQL = `SELECT s.id, s.active, s.archived_at AS archivedAt, ${scheduleTupleSql("s")} AS schedule
  FROM sequences s WHERE s.id IN (SELECT value FROM json_each(?)) AND +s.team_id = ?`;

const LIVE_STEPS_SQL = "SELECT id, thread_reply FROM steps WHERE id IN (SELECT value FROM json_each(?)) AND enabled = 1";

/** The three statements of SendChecks, to run in one D1 batch (with more of the caller's, see compose.ts). */
export function sendChecksStatements(
  d1: D1Database,
  teamId: string,
  contactIds: readonly string[],
  sequenceIds: readonly string[],
  stepIds: readonly string[],
) {
  return [
    contactStatesStatement(d1, teamId, contactIds),
    d1.prepare(SEQUENCE_STATES_SQL).bind(JSON.stringify([...new Set(sequenceIds)]), teamId),
    d1.prepare(LIVE_STEPS_SQL).bind(JSON.stringify([...new Set(stepIds)])),
  ] as const;
}

/** Contacts' time zones by id (null: none), 2,000 ids a statement, all in one D1 round trip. */
export async function loadContactZones(d: Db, teamId: string, contactIds: readonly string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  if (!contactIds.length) return out;
  const d1 = d.$client;
  const pages: D1PreparedStatement[] = [];
  for (let i = 0; i < contactIds.length; i += 2_000)
    pages.push(
      d1
        .prepare("SELECT id, time_zone AS timeZone FROM contacts WHERE +team_id = ? AND id IN (SELECT value FROM json_each(?))")
        .bind(teamId, JSON.stringify(contactIds.slice(i, i + 2_000))),
    );
  for (const r of await d1.batch<{ id: string; timeZone: string | null }>(pages)) for (const c of r.results) out.set(c.id, c.timeZone);
  return out;
}

/** SendChecks from the answers of sendChecksStatements. */
export function toSendChecks(contactResult: D1Result, seqResult: D1Result, stepResult: D1Result): SendChecks {
  const seqRows = seqResult.results as { id: string; active: number; archivedAt: number | null; schedule: string | null }[];
  return {
    contacts: toContactRows(contactResult),
    sequences: new Map(
      seqRows.map((r) => {
        const { window, useContactTimeZone } = scheduleFromTuple(r.schedule);
        return [
          r.id,
          { active: !!r.active, archived: r.archivedAt !== null, window, windowText: JSON.stringify(window), useContactTimeZone },
        ];
      }),
    ),
    liveSteps: new Set((stepResult.results as { id: string }[]).map((r) => r.id)),
    threadSteps: new Set((stepResult.results as { id: string; thread_reply: number }[]).filter((r) => r.thread_reply).map((r) => r.id)),
  };
}

/** SendChecks in one D1 round trip. */
export async function loadSendChecks(
  d: Db,
  teamId: string,
  contactIds: readonly string[],
  sequenceIds: readonly string[],
  stepIds: readonly string[],
): Promise<SendChecks> {
  const [c, s, l] = await d.$client.batch([...sendChecksStatements(d.$client, teamId, contactIds, sequenceIds, stepIds)]);
  return toSendChecks(c!, s!, l!);
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
  if (c.suppressed) return c.suppressedDomain ? "suppressed_domain" : "suppressed";
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
