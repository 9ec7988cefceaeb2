import type { WindowSpec } from "../worker/services/schedule-time";

/** An email step handed by a SequenceDO to the MailboxDO of the enrollment's mailbox. */
export interface QueuedEmail {
  enrollmentId: string;
  stepId: string;
  sequenceId: string;
  teamId: string;
  contactId: string;
  /** Earliest instant it may go out (the step's wait has passed). */
  dueAt: number;
  /** Prospect score: higher goes first when capacity is short. */
  score: number;
  window: WindowSpec;
  /** The contact's zone when the schedule sends in the contact's time zone. */
  zone: string | null;
  /** Same-thread follow-up: the Message-ID and subject of the earlier email. */
  thread: { messageId: string; subject: string } | null;
  /** A user's edit of this email for this one contact (scheduled-email.ts); null: the step's own text. */
  override?: EmailOverride | null;
}

/**
 * A user's edit of one scheduled email (one enrollment, one step): templates rendered like the step's
 * own (null keeps the step's subject or body). `ver` names this edit: the SequenceDO hands the current
 * one out with each claim, so a send always carries the latest edit, and an edit can tell whether the
 * email that went out had it.
 */
export interface EmailOverride {
  subject: string | null;
  body: string | null;
  ver: string;
}

/** What a MailboxDO knows about one (enrollment, step) handed to it: answered to enqueue and to the reconciler. */
export interface MailboxItemState {
  enrollmentId: string;
  stepId: string;
  state: "missing" | "queued" | "sending" | "sent" | "unknown" | "bounced" | "failed" | "cancelled";
  /** The outcome was reported to the SequenceDO (settled rows only). */
  reported: boolean;
  settledAt: number | null;
  reason: string | null;
  messageId: string | null;
  subject: string | null;
}

export type StepOutcome = "sent" | "unknown" | "bounced" | "failed" | "cancelled" | "completed" | "skipped";

/** What a MailboxDO (or a task) reports back to the SequenceDO about one step. */
export interface StepResult {
  enrollmentId: string;
  stepId: string;
  outcome: StepOutcome;
  at: number;
  /** Reason code when the step did not go out (invariant 10). */
  reason?: string;
  messageId?: string;
  subject?: string;
}

/**
 * The outcome a settled mailbox item reports to its SequenceDO: a send's own end (sent, unknown,
 * bounced, failed) as it is; anything else ended without sending, so the step counts as cancelled.
 */
export function outcomeOfMailboxState(state: MailboxItemState["state"]): StepOutcome {
  return state === "sent" || state === "unknown" || state === "bounced" || state === "failed" ? state : "cancelled";
}

/** Reason codes a user can read: why an enrollment finished or is not progressing. */
export const REASONS = {
  completed_all_steps: "Went through every step",
  unsubscribed: "Contact unsubscribed",
  bounced: "Email bounced",
  do_not_contact: "Contact is in a Do Not Contact stage",
  suppressed: "Address is on the team's suppression list",
  // Only the domain's entry (`@example.com`) matches: saying "address" named an entry that isn't on the list.
  suppressed_domain: "Its domain is on the team's Do not email list (a blocked domain)",
  no_email: "Contact has no email address for an email step",
  contact_deleted: "Contact was deleted",
  sequence_inactive: "Sequence is inactive: held until it is turned on",
  no_step_on: "Every step of the sequence is off: held until one is turned on",
  sequence_archived: "Sequence was archived",
  paused_by_user: "Paused by a user",
  removed_by_user: "Removed by a user",
  marked_finished: "Marked as finished by a user",
  replied: "Contact replied",
  out_of_office: "Out of office: paused until they are back",
  send_failed: "Sending failed after retries",
  delivery_unknown: "The mail server may have accepted the email but did not confirm; not resent",
  waiting_for_step: "Waiting for the next step's time",
  queued_for_mailbox: "Queued in the mailbox, waiting for the sending window and capacity",
  task_open: "Waiting for a task to be completed",
  mailbox_disconnected: "Mailbox is disconnected: emails are held until it is reconnected",
  mailbox_paused: "Mailbox was paused after a sending error",
  no_mailbox: "No mailbox assigned",
  scheduled: "Scheduled to start later",
  paused_until: "Paused by a user until a date: resumes by itself then",
  restarted: "Restarted: a new run of the sequence took over",
  moved: "Moved to another sequence",
  meeting_booked: "Meeting booked",
  not_interested: "Not interested: said so on a call",
  colleague_replied: "A colleague at the same company replied",
  step_disabled: "Its step was turned off or deleted while the email waited: not sent, on to the next step",
  // Written "missing_variables: first_name, company" (the fields): reasonText names them.
  missing_variables: "Paused: the email uses variables this contact has no value for (fill them in, then resume)",
  no_variant: "Paused: the email step has no variant turned on (turn one on, then resume)",
} as const;

export type ReasonCode = keyof typeof REASONS;

/** A stored reason code in the engine's words, for rows shown to a person (an unknown code is shown as it is). */
export function reasonText(code: string | null): string | null {
  if (!code) return null;
  const missing = /^missing_variables: (.+)$/.exec(code);
  if (missing) return `Paused: the email uses ${missing[1]}, which this contact has no value for (fill them in, then resume)`;
  return (REASONS as Record<string, string>)[code] ?? code;
}
