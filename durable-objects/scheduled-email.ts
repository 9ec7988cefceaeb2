import type { WindowSpec } from "../worker/services/schedule-time";
import type { EmailOverride, QueuedEmail } from "./engine-types";
import { ALWAYS_OPEN } from "./sequence-config";

/**
 * What a user decided about one scheduled email (one enrollment, one step), kept by the SequenceDO in
 * its `email_choices` table: an edit for this contact, "send now", a new instant, or a skip in
 * progress. The SequenceDO is the one place these live: every hand-over to a mailbox and every claim
 * carries them, so a send never goes out with an older decision than the last one a user was told
 * was saved.
 */
export interface ChoiceRow {
  enrollment_id: string;
  step_id: string;
  subject: string | null;
  body: string | null;
  /** Names the current edit (null: not edited). */
  ver: string | null;
  /** The instant chosen by "send now" or "reschedule". */
  send_at: number | null;
  /** "Send now": outside the sequence's window, still inside the mailbox's caps and gap. */
  send_now: number;
  /** A skip in progress: claims refuse this step until it is settled either way. */
  skip: number;
  updated_at: number;
}

/** What the scheduled-emails API answers about a choice. */
export interface EmailChoice {
  enrollmentId: string;
  stepId: string;
  override: EmailOverride | null;
  sendAt: number | null;
  sendNow: boolean;
}

/** Sorted first in the mailbox's queue: "send now" goes ahead of every other email (prospect scores are 0–100). */
export const SEND_NOW_SCORE = 1_000_000_000;

/** A sequence's window opened all week (its time zone kept for the template's dates): "send now" ignores the schedule. */
export const sendNowWindow = (w: WindowSpec): WindowSpec => ({ ...ALWAYS_OPEN, timeZone: w.timeZone });

export const overrideOf = (c: ChoiceRow | undefined): EmailOverride | null =>
  c?.ver ? { subject: c.subject, body: c.body, ver: c.ver } : null;

export const toChoice = (c: ChoiceRow): EmailChoice => ({
  enrollmentId: c.enrollment_id,
  stepId: c.step_id,
  override: overrideOf(c),
  sendAt: c.send_at,
  sendNow: !!c.send_now,
});

/** A hand-over with the user's choices applied: the edit travels with it, "send now" and "reschedule" set when and where it may go. */
export function withChoice(item: QueuedEmail, c: ChoiceRow | undefined): QueuedEmail {
  if (!c) return item;
  const out: QueuedEmail = { ...item, override: overrideOf(c) };
  if (c.send_at !== null) out.dueAt = c.send_now ? Math.min(item.dueAt, c.send_at) : c.send_at;
  if (c.send_now) Object.assign(out, { window: sendNowWindow(item.window), score: SEND_NOW_SCORE });
  return out;
}

/** How an action on one scheduled email ended, from the SequenceDO. */
export type ScheduledActionResult =
  | { ok: true; at: number | null }
  | {
      ok: false;
      /** not_found: no such enrollment here; not_next: the contact is not on that step; already_sent: it went (or is going) out. */
      code: "not_found" | "not_next" | "not_email" | "step_off" | "already_sent" | "sending" | "closed" | "paused" | "held" | "no_mailbox";
      /** The enrollment's status and reason code when it is closed, paused or held. */
      status: string | null;
      reason: string | null;
    };
