import { listParam } from "../db/in-list";
import type { Caller } from "../env";
import { visibleSequenceRaw } from "../services/access";
import type { MailboxRow } from "../services/mailboxes";
import type { SequenceSummary } from "../services/sequences";
/** Seqflare rows in the shapes of Apollo's public API, so existing integrations read them unchanged. */

export const iso = (t: number | null | undefined) => (t === null || t === undefined ? null : new Date(t).toISOString());

const STATUS: Record<string, string> = { active: "active", paused: "paused", held: "paused", finished: "finished", failed: "failed", removed: "removed", scheduled: "active" };

/**
 * Contacts by id with their sequence statuses (Apollo's contact_campaign_statuses), in one batch. Only
 * statuses of sequences the caller may see are shown (services/access.ts), as everywhere else.
 */
export async function apolloContacts(d1: D1Database, caller: Caller, ids: string[]) {
  if (!ids.length) return [];
  const teamId = caller.teamId;
  const seen = visibleSequenceRaw(caller, "sequence_id");
  const [contacts, statuses, labels] = await d1.batch<Record<string, any>>([
    d1.prepare("SELECT * FROM contacts WHERE team_id = ? AND id IN (SELECT value FROM json_each(?))").bind(teamId, listParam(ids)),
    d1.prepare(`SELECT * FROM enrollments WHERE team_id = ? AND contact_id IN (SELECT value FROM json_each(?)) AND ${seen.sql}`).bind(teamId, listParam(ids), ...seen.params),
    d1.prepare("SELECT contact_id, list_id FROM list_members WHERE team_id = ? AND contact_id IN (SELECT value FROM json_each(?))").bind(teamId, listParam(ids)),
  ]);
  const order = new Map(ids.map((id, i) => [id, i]));
  return contacts!.results
    .sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0))
    .map((c) => {
      const mine = statuses!.results.filter((e) => e.contact_id === c.id);
      return {
        id: c.id,
        first_name: c.first_name,
        last_name: c.last_name,
        name: `${c.first_name} ${c.last_name}`.trim(),
        title: c.title,
        organization_name: c.company,
        email: c.email,
        email_status: c.email_status,
        contact_stage_id: c.stage_id,
        owner_id: c.owner_id,
        person_id: c.person_id,
        linkedin_url: c.linkedin_url,
        city: c.city,
        country: c.country,
        time_zone: c.time_zone,
        phone_numbers: c.phone ? [{ raw_number: c.phone, sanitized_number: c.phone, type: "work" }] : [],
        label_ids: labels!.results.filter((l) => l.contact_id === c.id).map((l) => l.list_id),
        emailer_campaign_ids: mine.map((e) => e.sequence_id),
        contact_campaign_statuses: mine.map((e) => ({
          id: e.id,
          emailer_campaign_id: e.sequence_id,
          send_email_from_email_account_id: e.mailbox_id,
          status: STATUS[e.status] ?? e.status,
          current_step_position: e.current_step,
          inactive_reason: e.status === "active" ? null : e.reason,
          added_at: iso(e.created_at),
          finished_at: iso(e.finished_at),
        })),
        created_at: iso(c.created_at),
        updated_at: iso(c.updated_at),
      };
    });
}

export function apolloCampaign(s: SequenceSummary) {
  const total = Object.values(s.counts).reduce((a, b) => a + b, 0);
  return {
    id: s.id,
    name: s.name,
    active: s.active,
    archived: s.archived_at !== null,
    created_at: iso(s.created_at),
    user_id: s.owner_id,
    emailer_schedule_id: s.schedule_id,
    num_steps: s.steps,
    unique_scheduled: total,
    unique_delivered: s.sent,
    unique_bounced: s.bounced,
    label_ids: [],
  };
}

export function apolloEmailAccount(m: MailboxRow) {
  return {
    id: m.id,
    user_id: m.userId,
    email: m.email,
    type: m.transport,
    active: m.status === "connected",
    default: false,
    sender_name: m.senderName,
    email_daily_threshold: m.dailyLimit,
    max_emails_per_hour: m.hourlyLimit,
    seconds_delay_between_emails: m.minGapSeconds,
    status: m.status,
    status_reason: m.statusReason,
  };
}

export const apolloPagination = (page: number, perPage: number, total: number) => ({ page, per_page: perPage, total_entries: total, total_pages: Math.max(1, Math.ceil(total / perPage)) });
