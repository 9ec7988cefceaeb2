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

/**
 * Why a planned email goes later than it could (planSends), in the replay's own numbers: from `since`, the
 * moment it was ready with its window open, `ahead` emails of the mailbox went first (`higher` of them to
 * higher-scored contacts, the rest scored the same and due earlier: the mailbox sends by score, then due
 * time), and `limit` is what held the line: its own sending window, closed before its turn came (it goes at
 * a later opening), the daily or the hourly cap (met at least once meanwhile), the provider's hold on the
 * whole mailbox, else the spacing between sends. `used`: the emails the mailbox sent (not those planned) in
 * the day (the hour, for the hourly cap) before `since`.
 */
export interface PlanWait {
  since: number;
  ahead: number;
  higher: number;
  limit: "window" | "daily" | "hourly" | "hold" | "gap";
  used: number;
}

/** One queued email in a mailbox's forecast: when it goes (null: not within the horizon), and why that late. */
export interface PlannedSend {
  enrollmentId: string;
  stepId: string;
  at: number | null;
  wait?: PlanWait;
}

/** The mailbox's numbers a wait is told in (its row in D1). */
export interface WaitMailbox {
  email: string | null;
  dailyLimit: number;
  hourlyLimit: number;
  minGapSeconds: number;
}

const emailsWord = (n: number) => `${n} email${n === 1 ? "" : "s"}`;
const gapWords = (s: number) => (s < 60 ? `${s} s` : s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`);

/** The emails that go before it (PlanWait's ahead and higher), or null when none do. */
function aheadWords(w: PlanWait): string | null {
  const same = w.ahead - w.higher;
  if (w.ahead === 0) return null;
  if (same === 0) return `${emailsWord(w.ahead)} to higher-scored contacts`;
  if (w.higher === 0) return `${emailsWord(w.ahead)} to contacts scored the same and due earlier`;
  return `${emailsWord(w.ahead)} ahead of it (${w.higher} to higher-scored contacts, ${same} to contacts scored the same and due earlier)`;
}

/**
 * How a planned email's wait ends, in words a user can act on (a limit to raise, contacts scored higher):
 * "it goes after 48 emails to higher-scored contacts, within a@x.com's limit of 50 a day (2 sent in the 24
 * hours before)". The one place the scheduled emails and a sequence's contacts word a mailbox's wait.
 */
export function waitClause(w: PlanWait, mb: WaitMailbox): string {
  const name = mb.email ?? "the mailbox";
  const line = aheadWords(w);
  switch (w.limit) {
    case "window":
      return line
        ? `its sending window closed after ${line} went first: it goes when the window opens again`
        : `its sending window closed before its turn came: it goes when the window opens again`;
    case "daily":
      return line
        ? `it goes after ${line}, within ${name}'s limit of ${mb.dailyLimit} a day (${w.used} sent in the 24 hours before)`
        : `it goes when ${name}'s limit of ${mb.dailyLimit} a day has room (${w.used} sent in the 24 hours before)`;
    case "hourly":
      return line
        ? `it goes after ${line}, within ${name}'s limit of ${mb.hourlyLimit} an hour`
        : `it goes when ${name}'s limit of ${mb.hourlyLimit} an hour has room (${w.used} sent in the hour before)`;
    case "hold":
      return `it goes once ${name}'s provider lets it send again${line ? `, after ${line}` : ""}`;
    case "gap":
      return line
        ? `it goes after ${line}, ${name} sending one every ${gapWords(mb.minGapSeconds)} (its spacing)`
        : `it goes once ${name}'s spacing of ${gapWords(mb.minGapSeconds)} since its last send has passed`;
  }
}

/**
 * The whole sentence of a mailbox's wait: its turn alone, the window first and then its turn, or a manual
 * email sent from its task (first in line). The scheduled emails and a sequence's contacts both say it so.
 */
export function waitText(kind: "turn" | "window_then_turn" | "task", w: PlanWait, mb: WaitMailbox): string {
  // Its window shut, and the opening it waits for fills up before its turn: one window told twice ("once it
  // opens, its sending window closed after...") read as two, so the sentence follows the one window through.
  if (kind === "window_then_turn" && w.limit === "window") {
    const line = aheadWords(w);
    const first = line ? `${line} ${w.ahead === 1 ? "goes" : "go"} first and ` : "";
    return `Outside the sending window; when it next opens, ${first}the window closes before this email's turn: it goes out at a later opening`;
  }
  const clause = waitClause(w, mb);
  if (kind === "window_then_turn") return `Outside the sending window; once it opens, ${clause}`;
  if (kind === "task") return `Sent from its task: first in line, ${clause}`;
  return `Waiting its turn: ${clause}`;
}
