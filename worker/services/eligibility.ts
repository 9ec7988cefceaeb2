import type { ReasonCode } from "./engine-types";
import { listParam } from "../db/in-list";

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
}

/** One statement for any number of contacts: ids travel as one JSON parameter (D1's 100-parameter cap). */
export function contactStatesStatement(d1: D1Database, teamId: string, contactIds: readonly string[]): D1PreparedStatement {
  return d1
    .prepare(
      `SELECT c.id, c.email, c.time_zone, c.score, c.unsubscribed_at, c.bounced_at, c.deleted_at, s.category AS stage_category,
              c.first_name, c.last_name, c.company, c.title, c.city, c.country,
              EXISTS (SELECT 1 FROM suppressions x WHERE x.team_id = c.team_id AND x.email = lower(c.email)) AS suppressed
         FROM contacts c LEFT JOIN contact_stages s ON s.id = c.stage_id
        WHERE c.team_id = ?1 AND c.id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(teamId, listParam(contactIds));
}

export function toContactRows(results: Record<string, any>[]): Map<string, ContactRow> {
  const out = new Map<string, ContactRow>();
  for (const r of results) {
    out.set(r.id, {
      id: r.id,
      email: r.email,
      timeZone: r.time_zone,
      score: r.score,
      unsubscribedAt: r.unsubscribed_at,
      bouncedAt: r.bounced_at,
      deletedAt: r.deleted_at,
      stageCategory: r.stage_category,
      suppressed: !!r.suppressed,
      firstName: r.first_name,
      lastName: r.last_name,
      company: r.company,
      title: r.title,
      city: r.city,
      country: r.country,
    });
  }
  return out;
}

export async function loadContactStates(d1: D1Database, teamId: string, contactIds: readonly string[]): Promise<Map<string, ContactRow>> {
  if (!contactIds.length) return new Map();
  const { results } = await contactStatesStatement(d1, teamId, contactIds).all<Record<string, any>>();
  return toContactRows(results);
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
