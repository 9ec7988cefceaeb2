import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { inList } from "../db/in-list";
import { mailboxes, type messages } from "../db/schema";
import type { Caller } from "../env";
import { contactsByIds } from "../services/contacts";
import { enrollmentsOfContacts } from "../services/enrollments";
import { listMembershipsOf } from "../services/lists";
import type { MailboxRow } from "../services/mailboxes";
import type { SequenceSummary } from "../services/sequences";
/** Seqflare rows in the shapes of Apollo's public API, so existing integrations read them unchanged. */

export const iso = (t: number | null | undefined) => (t === null || t === undefined ? null : new Date(t).toISOString());

const STATUS: Record<string, string> = {
  active: "active",
  paused: "paused",
  held: "paused",
  finished: "finished",
  failed: "failed",
  removed: "removed",
  scheduled: "active",
};

/**
 * Contacts by id with their sequence statuses (Apollo's contact_campaign_statuses), in one batch. Only
 * statuses of sequences the caller may see are shown (services/access.ts), as everywhere else.
 */
export async function apolloContacts(d: Db, caller: Caller, ids: string[]) {
  if (!ids.length) return [];
  const [contacts, statuses, labels] = await Promise.all([
    contactsByIds(d, caller.teamId, ids),
    enrollmentsOfContacts(d, caller, ids),
    listMembershipsOf(d, caller.teamId, ids),
  ]);
  const order = new Map(ids.map((id, i) => [id, i]));
  return contacts
    .sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0))
    .map((c) => {
      const mine = statuses.filter((e) => e.contactId === c.id);
      return {
        id: c.id,
        first_name: c.firstName,
        last_name: c.lastName,
        name: `${c.firstName} ${c.lastName}`.trim(),
        title: c.title,
        organization_name: c.company,
        email: c.email,
        email_status: c.emailStatus,
        contact_stage_id: c.stageId,
        owner_id: c.ownerId,
        person_id: c.personId,
        linkedin_url: c.linkedinUrl,
        city: c.city,
        country: c.country,
        time_zone: c.timeZone,
        phone_numbers: c.phone ? [{ raw_number: c.phone, sanitized_number: c.phone, type: "work" }] : [],
        label_ids: labels.filter((l) => l.contactId === c.id).map((l) => l.listId),
        emailer_campaign_ids: mine.map((e) => e.sequenceId),
        contact_campaign_statuses: mine.map((e) => ({
          id: e.id,
          emailer_campaign_id: e.sequenceId,
          send_email_from_email_account_id: e.mailboxId,
          status: STATUS[e.status] ?? e.status,
          current_step_position: e.currentStep,
          inactive_reason: e.status === "active" ? null : e.reason,
          added_at: iso(e.createdAt),
          finished_at: iso(e.finishedAt),
        })),
        created_at: iso(c.createdAt),
        updated_at: iso(c.updatedAt),
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
    // Delivered: the list's sent counts bounced emails too (as the report does).
    unique_delivered: s.sent - s.bounced,
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

/** A message's status as Apollo words it (an email that went out is "completed"). */
const APOLLO_MESSAGE_STATUS: Record<string, string> = {
  sent: "completed",
  unknown: "completed",
  sending: "scheduled",
};

/**
 * Emails in the shape of Apollo's emailer_messages, with the sender of each: the address and name of the
 * mailbox it went from (one read for the page, removed mailboxes included: their rows stay) and its owner as
 * Apollo's user_id. due_at is when it was scheduled to go (what a due_at range filters on), failure_reason
 * why a failed or bounced one didn't arrive.
 */
export async function apolloEmailerMessages(d: Db, teamId: string, rows: (typeof messages.$inferSelect)[]) {
  const ids = [...new Set(rows.map((m) => m.mailboxId))];
  const senders = ids.length
    ? await d
        .select({ id: mailboxes.id, email: mailboxes.email, senderName: mailboxes.senderName, userId: mailboxes.userId })
        .from(mailboxes)
        .where(and(eq(mailboxes.teamId, teamId), inList(mailboxes.id, ids)))
    : [];
  const sender = new Map(senders.map((m) => [m.id, m]));
  return rows.map((m) => ({
    id: m.id,
    user_id: sender.get(m.mailboxId)?.userId ?? null,
    emailer_campaign_id: m.sequenceId,
    emailer_step_id: m.stepId,
    contact_id: m.contactId,
    email_account_id: m.mailboxId,
    from_email: sender.get(m.mailboxId)?.email ?? null,
    from_name: sender.get(m.mailboxId)?.senderName ?? null,
    to_email: m.toEmail,
    subject: m.subject,
    body_text: m.body,
    status: APOLLO_MESSAGE_STATUS[m.status] ?? m.status,
    failure_reason: m.status === "failed" || m.status === "bounced" ? m.error : null,
    message_id: m.messageIdHeader,
    due_at: iso(m.scheduledAt),
    completed_at: iso(m.sentAt),
    created_at: iso(m.createdAt),
  }));
}

/** The last page an Apollo search takes (a later one is a 422). */
export const APOLLO_MAX_PAGE = 500;

/** Apollo's pagination; total_pages stops at APOLLO_MAX_PAGE, since later pages are refused (total_entries doesn't). */
export const apolloPagination = (page: number, perPage: number, total: number) => ({
  page,
  per_page: perPage,
  total_entries: total,
  total_pages: Math.min(APOLLO_MAX_PAGE, Math.max(1, Math.ceil(total / perPage))),
});
