// A reply without threading headers from a contact in several open runs from the receiving mailbox, whose
// subject answers none of them alone, is kept with no run stopped (recordInbound: evidence.held). A person
// then says which run it answers: the reply is pointed at that run's email and applied exactly as an
// automatically matched one is (applyAndStore: the runs stopped or paused per their sequences' settings,
// the email's reply in the reports, the contact's stage, the colleague rule), once.
import { and, desc, eq, inArray, isNotNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { enrollments, inboundMessages, messages, sequences, sequenceShares } from "../db/schema";
import type { Caller, Env } from "../env";
import { ApiError, notFound } from "../lib/errors";
import { now } from "../lib/clock";
import { audit } from "./audit";
import { contactFor, sequenceAllows, sequenceFor, visibleSequence } from "./access";
import { applyAndStore, CORRECTION_LEASE_MS, getReply, replyFor, type Target } from "./replies";

/**
 * Held, and still as it was stored: not corrected since (a correction applied its own effect to the run
 * the row named), nor applied by a person (which removes `held`).
 */
const HELD = sql`(json_type(${inboundMessages.evidence}, '$.held') IS NOT NULL
  AND ${inboundMessages.classification} = ${inboundMessages.detected}
  AND coalesce(json_array_length(${inboundMessages.effect}, '$.enrollments'), -1) = 0)`;

/** A run the held reply may answer, as the Replies screen offers it. */
export interface RunChoice {
  enrollment_id: string;
  sequence_id: string;
  sequence_name: string;
  status: string;
  /** The run's newest email from the mailbox the reply came to: the one it will be counted as answering. */
  email: { id: string; subject: string; sent_at: number };
  /** Whether the caller may apply the reply to it (edit rights on its sequence). */
  can_apply: boolean;
}

/** The held row and the mailbox it came to (its email's); 404 when the caller can't see the reply. */
async function heldRow(d: Db, caller: Caller, id: string) {
  await replyFor(d, caller, id, "sequence.view");
  const [row] = await d
    .select({
      id: inboundMessages.id,
      teamId: inboundMessages.teamId,
      contactId: inboundMessages.contactId,
      fromEmail: inboundMessages.fromEmail,
      classification: inboundMessages.classification,
      evidence: inboundMessages.evidence,
      returnAt: inboundMessages.returnAt,
      receivedAt: inboundMessages.receivedAt,
      retryAttempt: inboundMessages.retryAttempt,
      mailboxId: messages.mailboxId,
      held: sql<number>`${HELD}`,
    })
    .from(inboundMessages)
    .innerJoin(messages, and(eq(messages.id, inboundMessages.messageId), eq(messages.teamId, inboundMessages.teamId)))
    .where(and(eq(inboundMessages.id, id), eq(inboundMessages.teamId, caller.teamId)));
  if (!row) throw notFound("Reply");
  return { ...row, held: !!row.held };
}

/**
 * The contact's open runs the mailbox emailed (each with its newest email from it), newest email first,
 * in sequences the caller may see, with the caller's share of each sequence (for its edit right, read here
 * rather than a sequenceFor per run). A rep's own answer from the inbox (no sequence of its own) is no run's email.
 */
async function openRuns(d: Db, caller: Caller, contactId: string, mailboxId: string, enrollmentId?: string) {
  const rows = await d
    .select({
      enrollmentId: enrollments.id,
      sequenceId: enrollments.sequenceId,
      status: enrollments.status,
      sequenceName: sequences.name,
      ownerId: sequences.ownerId,
      messageId: messages.id,
      subject: messages.subject,
      sentAt: messages.sentAt,
      stepId: messages.stepId,
      toEmail: messages.toEmail,
      settings: sequences.settings,
      share: sequenceShares.access,
    })
    .from(enrollments)
    .innerJoin(sequences, and(eq(sequences.id, enrollments.sequenceId), eq(sequences.teamId, enrollments.teamId)))
    .leftJoin(sequenceShares, and(eq(sequenceShares.sequenceId, sequences.id), eq(sequenceShares.userId, caller.userId)))
    .innerJoin(
      messages,
      and(
        eq(messages.enrollmentId, enrollments.id),
        eq(messages.teamId, enrollments.teamId),
        eq(messages.sequenceId, enrollments.sequenceId),
        eq(messages.mailboxId, mailboxId),
        isNotNull(messages.sentAt),
      ),
    )
    .where(
      and(
        eq(enrollments.teamId, caller.teamId),
        eq(enrollments.contactId, contactId),
        // The run states a reply still stops or pauses (findBySender's), written out: the lint allows only literal lists.
        inArray(enrollments.status, ["active", "paused", "held"]),
        enrollmentId === undefined ? undefined : eq(enrollments.id, enrollmentId),
        visibleSequence(caller, enrollments.sequenceId),
      ),
    )
    .orderBy(desc(messages.sentAt), desc(messages.id));
  // One per run: its newest email from the mailbox (rows come newest first).
  const runs = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if (!runs.has(r.enrollmentId)) runs.set(r.enrollmentId, r);
  return [...runs.values()];
}

/** Whether the reply is held for a person, and the runs it may be applied to. */
export async function heldReplyRuns(d: Db, caller: Caller, id: string): Promise<{ held: boolean; runs: RunChoice[] }> {
  const row = await heldRow(d, caller, id);
  if (!row.held || !row.mailboxId) return { held: false, runs: [] };
  const runs = await openRuns(d, caller, row.contactId, row.mailboxId);
  const choices: RunChoice[] = runs.map((r) => ({
    enrollment_id: r.enrollmentId,
    sequence_id: r.sequenceId,
    sequence_name: r.sequenceName,
    status: r.status,
    email: { id: r.messageId, subject: r.subject, sent_at: r.sentAt! },
    can_apply: sequenceAllows(caller, "sequence.edit", r.ownerId, r.share),
  }));
  return { held: true, runs: choices };
}

/**
 * Applies a held reply to the run the caller says it answers. Needs what working the reply needs (seeing
 * it, editing its contact) and edit rights on that run's sequence; the run must be the contact's, open, and
 * emailed from the mailbox the reply came to (a run of another contact or team: 404; a run no longer open:
 * 422). The row is claimed and pointed at the run's email in one conditional write, so two clicks (or a
 * correction under way) apply it once: the second answers 409. Should the effect fail midway, the claim is
 * an unapplied row like any other, which the cron applies to the chosen run two minutes on.
 */
export async function applyHeldReply(env: Env, d: Db, caller: Caller, id: string, enrollmentId: string) {
  const row = await heldRow(d, caller, id);
  if (!row.held || !row.mailboxId)
    throw new ApiError("conflict", "This reply is not waiting for a run: it was applied already, or was matched when it came in");
  await contactFor(d, caller, row.contactId, "contact.edit");
  const [run] = await openRuns(d, caller, row.contactId, row.mailboxId, enrollmentId);
  if (!run) {
    const [other] = await d
      .select({ status: enrollments.status })
      .from(enrollments)
      .where(
        and(
          eq(enrollments.id, enrollmentId),
          eq(enrollments.teamId, caller.teamId),
          eq(enrollments.contactId, row.contactId),
          // A run in a sequence the caller can't see is not said to exist.
          visibleSequence(caller, enrollments.sequenceId),
        ),
      );
    if (!other) throw notFound("Run");
    throw new ApiError("validation_failed", "That run is no longer open (or this mailbox never emailed it): pick one of the runs offered", {
      fields: [{ field: "enrollment_id", message: "That run is no longer open: pick one of the runs offered" }],
    });
  }
  // sequenceFor, not openRuns' share: it records the grant an idempotent replay of this POST checks again.
  await sequenceFor(d, caller, run.sequenceId, "sequence.edit");
  const t = now();
  const { held: _held, ...kept } = row.evidence;
  const evidence = {
    ...kept,
    phrase: `No In-Reply-To or References: its sender is a contact in several open runs from this mailbox; a person said it answers the run in ${run.sequenceName}`,
  };
  const [claimed] = await d
    .update(inboundMessages)
    .set({
      sequenceId: run.sequenceId,
      enrollmentId: run.enrollmentId,
      messageId: run.messageId,
      evidence,
      // Unapplied from here (no `enrollments`), claimed by this call as applyStored claims a row.
      effect: { applying: t },
      reviewedAt: t,
      reviewedBy: caller.userId,
    })
    .where(
      and(
        eq(inboundMessages.id, id),
        eq(inboundMessages.teamId, caller.teamId),
        HELD,
        sql`coalesce(json_extract(${inboundMessages.effect}, '$.correcting.at'), 0) < ${t - CORRECTION_LEASE_MS}`,
      ),
    )
    .returning({ id: inboundMessages.id });
  if (!claimed) throw new ApiError("conflict", "This reply was applied or corrected meanwhile: reload it");
  const target: Target = {
    teamId: caller.teamId,
    sequenceId: run.sequenceId,
    enrollmentId: run.enrollmentId,
    contactId: row.contactId,
    messageId: run.messageId,
    mailboxId: row.mailboxId,
    stepId: run.stepId,
    toEmail: run.toEmail,
    settings: run.settings,
    fromEmail: row.fromEmail,
  };
  // As when it came in (dated then in the reports), the same function the automatic match goes through.
  await applyAndStore(env, d, target, id, row.classification, row.returnAt, row.receivedAt, row.retryAttempt, t);
  await audit(d, caller, "reply.apply_to_run", "reply", id, {
    enrollment_id: run.enrollmentId,
    sequence_id: run.sequenceId,
    message_id: run.messageId,
  });
  return getReply(d, caller, id);
}
