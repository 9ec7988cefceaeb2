import type { Env } from "../worker/env";
import type { MailboxItemState, QueuedEmail, ReasonCode, StepResult } from "./engine-types";
import type { ScheduledActionResult, EmailChoice } from "./scheduled-email";
import type { EnrollItem } from "./sequence-do";
import type { EnqueueBatch, MailboxLimits } from "./mailbox-do";

/**
 * The sending engine lives in this folder:
 * - sequence-do.ts: SequenceDO, one per sequence: enrollments' transitions, step timers, the reconciler;
 * - mailbox-do.ts: MailboxDO, one per mailbox: the send ledger, caps, windows, the transport call;
 * - rate-limiter-do.ts: RateLimiterDO, one per API key;
 * - helpers only the objects use: sequence-config.ts (a sequence as the engine reads it), eligibility.ts
 *   (invariant 5's facts), compose.ts (the email), tasks.ts (manual steps), enrollment-mirror.ts (D1's
 *   copy of enrollments), object-storage.ts (meta, migrations, row patches), engine-types.ts.
 *
 * The engine's one door for the rest of the worker: every call into a Durable Object goes through
 * here, named by the object it reaches (one SequenceDO per sequence, one MailboxDO per mailbox, one
 * RateLimiterDO per API key). A caller names the object once; the object's id never travels twice.
 *
 *   engine.sequence(env, seqId, teamId).pause(ids)
 *   engine.mailbox(env, mailboxId).refresh()
 */
export const engine = {
  sequence: (env: Env, sequenceId: string, teamId: string) => sequenceVerbs(env, sequenceId, teamId),
  mailbox: (env: Env, mailboxId: string) => mailboxVerbs(env, mailboxId),
  rateLimiter: (env: Env, apiKeyId: string) => env.RATE_LIMITER_DO.get(env.RATE_LIMITER_DO.idFromName(apiKeyId)),
};

/** The raw stubs: for the engine itself and for tests that run code inside an object. */
export function sequenceStub(env: Env, sequenceId: string) {
  return env.SEQUENCE_DO.get(env.SEQUENCE_DO.idFromName(sequenceId));
}

export function mailboxStub(env: Env, mailboxId: string) {
  return env.MAILBOX_DO.get(env.MAILBOX_DO.idFromName(mailboxId));
}

type Key = { enrollmentId: string; stepId: string };

function sequenceVerbs(env: Env, sequenceId: string, teamId: string) {
  const stub = sequenceStub(env, sequenceId);
  const transition = (ids: string[], action: "pause" | "resume" | "finish" | "remove", reason?: ReasonCode, resumeAt?: number) =>
    stub.transition(sequenceId, teamId, ids, action, reason, resumeAt);
  return {
    /** Enroll validated contacts (invariant 1: at most once at a time). */
    enroll: (items: EnrollItem[]) => stub.enroll(sequenceId, teamId, items),
    /**
     * Outcomes of steps (from a mailbox or a task); `configRev`: the sequence's config_rev as D1 answered it just now, if read
     * (SequenceDO.config); `mirror`: when D1's copy is written (SequenceDO.stepsDone).
     */
    stepsDone: (results: StepResult[], configRev?: number, mirror?: "now" | "soon") =>
      stub.stepsDone(sequenceId, teamId, results, configRev, mirror),
    /** A task's completed or skipped: not taken for a step whose email its rep sent from the task (SequenceDO.stepsDone). */
    taskDone: (result: StepResult) => stub.stepsDone(sequenceId, teamId, [result], undefined, "now", "task"),
    /** Invariant 11: may these steps go out now? */
    claim: (items: Key[]) => stub.claim(sequenceId, teamId, items),
    transition,
    /** `until`: resumes by itself then (out of office, "pause until"). */
    pause: (ids: string[], reason?: ReasonCode, until?: number) => transition(ids, "pause", reason, until),
    resume: (ids: string[]) => transition(ids, "resume"),
    finish: (ids: string[], reason?: ReasonCode) => transition(ids, "finish", reason),
    remove: (ids: string[], reason?: ReasonCode) => transition(ids, "remove", reason),
    /** Undo a mistaken finish (a corrected reply or bounce): active again at the same step, or paused again for those in `paused`. */
    reactivate: (ids: string[], reasons: string[], paused?: Record<string, { reason: string | null; until: number | null }>) =>
      stub.reactivate(sequenceId, teamId, ids, reasons, paused),
    /**
     * `anyway`: also runs that ended as the contact answered or was moved, and contacts in another sequence now;
     * `mailboxId`: the new runs send from it (checked connected and the caller's to send from), not their old one.
     */
    restart: (ids: string[], stepPos: number | null, addedBy: string | null, anyway = false, mailboxId: string | null = null) =>
      stub.restart(sequenceId, teamId, ids, stepPos, addedBy, anyway, mailboxId),
    changeMailbox: (ids: string[], mailboxId: string) => stub.changeMailbox(sequenceId, teamId, ids, mailboxId),
    /** Steps were added, deleted or moved: D1's copy shows each contact's step at its new position. */
    followSteps: () => stub.followSteps(sequenceId, teamId),
    /** The sequence was turned on: held enrollments continue. */
    activate: () => stub.activate(sequenceId, teamId),
    /** The sequence was deleted (never used): the object's storage goes too; false while it holds a run. */
    forget: () => stub.forget(sequenceId),
    retime: () => stub.retime(sequenceId, teamId),
    /** One scheduled email (scheduled-email.ts): users' choices, and the four actions on it. */
    emailChoices: (items: Key[]): Promise<EmailChoice[]> => stub.emailChoices(sequenceId, teamId, items),
    /** A field left out (undefined) keeps this contact's edit of it; null gives back the step's own text. */
    editEmail: (key: Key, edit: { subject?: string | null; body?: string | null }): Promise<ScheduledActionResult> =>
      stub.editEmail(sequenceId, teamId, key.enrollmentId, key.stepId, edit),
    sendNow: (key: Key): Promise<ScheduledActionResult> => stub.sendNow(sequenceId, teamId, key.enrollmentId, key.stepId),
    skipEmail: (key: Key): Promise<ScheduledActionResult> => stub.skipEmail(sequenceId, teamId, key.enrollmentId, key.stepId),
    rescheduleEmail: (key: Key, at: number): Promise<ScheduledActionResult> =>
      stub.rescheduleEmail(sequenceId, teamId, key.enrollmentId, key.stepId, at),
    /**
     * A manual email's task sent by its rep: the step goes to the run's mailbox as an email, with their text (null: the step's).
     * `mailboxId`: the run's mailbox the caller was checked to send from; refused (not_next, mailbox_changed) if it is no longer the run's.
     */
    sendTaskEmail: (
      key: Key,
      edit: { subject: string | null; body: string | null },
      mailboxId: string | null,
    ): Promise<ScheduledActionResult> => stub.sendTaskEmail(sequenceId, teamId, key.enrollmentId, key.stepId, edit, mailboxId),
  };
}

function mailboxVerbs(env: Env, mailboxId: string) {
  const stub = mailboxStub(env, mailboxId);
  return {
    enqueue: (teamId: string, items: QueuedEmail[]) => stub.enqueue(mailboxId, teamId, packEmails(items)),
    probe: (items: Key[]): Promise<MailboxItemState[]> => stub.probe(mailboxId, items),
    withdraw: (items: Key[]): Promise<Key[]> => stub.withdraw(mailboxId, items),
    /** A soft bounce: send that step's email again at `at` (its own ledger row, counted against the caps). */
    resend: (items: (Key & { attempt: number; at: number })[]): Promise<Key[]> => stub.resend(mailboxId, items),
    /**
     * Settings changed (limits, reconnect, disconnect): re-plan now. `released`: the reconnect mark
     * (release_pending) whose reply check has caught up, so the emails it held may go.
     */
    refresh: (released?: string) => stub.refresh(mailboxId, released),
    /** The mailbox was removed: take back every queued email; no alarm stays armed to send. */
    close: (): Promise<Key[]> => stub.close(mailboxId),
    /** A schedule changed: queued emails move to their sequences' current windows, and the plan follows. */
    rewindow: () => stub.rewindow(mailboxId),
    /** The caps' use and the queue (the limits are the mailbox row's). */
    usage: () => stub.usage(mailboxId),
    /** When each queued email will go out, under the limits of the mailbox's row as the caller read it. */
    forecast: (mb: MailboxLimits | null, limit?: number, horizonDays?: number) => stub.forecast(mailboxId, mb, limit, horizonDays),
    /** When one queued email will go out. */
    eta: (key: Key): Promise<number | null> => stub.eta(mailboxId, key),
    /** A user edited these emails: void sends decided on the old text; each row's state and the edit it holds. */
    touch: (items: Key[]) => stub.touch(mailboxId, items),
  };
}

/** The hand-over's wire form for MailboxDO.enqueue: each distinct window stringified once. */
export function packEmails(emails: readonly QueuedEmail[]): EnqueueBatch {
  const windows: string[] = [];
  const byObject = new Map<QueuedEmail["window"], number>();
  const byText = new Map<string, number>();
  const items = emails.map(({ window, ...rest }) => {
    let w = byObject.get(window);
    if (w === undefined) {
      const text = JSON.stringify(window);
      w = byText.get(text) ?? windows.push(text) - 1;
      byText.set(text, w);
      byObject.set(window, w);
    }
    return { ...rest, window: w };
  });
  return { windows, items };
}

export type { EnrollItem } from "./sequence-do";
export type { MailboxLimits, MailboxUsage } from "./mailbox-do";
export type { EmailChoice, ScheduledActionResult } from "./scheduled-email";
/** The send path's own composer: a scheduled email's preview is built by the same code that builds the email. */
export { composeEmail, loadSendContext } from "./compose";
export { SEND_NOW_SCORE } from "./scheduled-email";
export {
  REASONS,
  reasonText,
  type ReasonCode,
  type QueuedEmail,
  type StepResult,
  type StepOutcome,
  type MailboxItemState,
} from "./engine-types";
