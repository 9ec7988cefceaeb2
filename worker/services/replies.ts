import { and, asc, desc, eq, getTableColumns, isNull, like, notExists, or, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { inList, listParam, notIndexed, teamRowsById } from "../db/in-list";
import {
  EMAIL_DOMAIN,
  contacts,
  contactStages,
  enrollments,
  inboundMessages,
  mailboxes,
  messages,
  sequences,
  sequenceShares,
  steps,
  suppressions,
  type InboundClassification,
  type InboundEffect,
} from "../db/schema";
import type { Caller, Env } from "../env";
import { ANSWER_STEP_PREFIX } from "../lib/answer-step";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { engine, type ReasonCode } from "../../durable-objects/engine";
import { isEmailStep } from "../../durable-objects/sequence-config";
import { TWINS_OF } from "../../durable-objects/sequence-do";
import { authorize, contactFor, mailboxAllows, mailboxFor, sequenceAllows, sequenceFor, visibleSequence } from "./access";
import { audit } from "./audit";
import { explain, openEnrollmentsOfAddress } from "./enrollments";
import { answersOf } from "./reply-answer";
import { answeredSubject, OOO_DEFAULT_MS, type Classified } from "./reply-classify";
import { stampUnsubscribed } from "./unsubscribe";
import { companyDomain } from "../lib/company-domain";
import { mailboxHeldSql } from "../transports/mailbox-settings";

/**
 * Replies: the one module that reads and writes `inbound_messages`, and applies (and undoes) what an
 * inbound email does to its enrollment, contact and suppressions. The email() handler and the reply
 * polling cron call `recordInbound`; the replies inbox and its "correct it" call the rest. Enrollment
 * transitions go through the SequenceDO (the single writer of them); suppressions written here are
 * what invariant 5 checks at enrollment and at send time.
 */

const HOUR = 3_600_000;
/** Soft bounces: the email is sent again after each of these delays; one more soft bounce is hard. */
export const SOFT_BOUNCE_BACKOFF_MS = [HOUR, 4 * HOUR, 24 * HOUR] as const;

export type ColleagueRule = "nothing" | "pause" | "finish";

/** A correction holds its reply this long at most: one that died mid-way is taken over after it. */
export const CORRECTION_LEASE_MS = 2 * 60_000;

/** An inbound email stored this long ago with no effect written was left unapplied (its handler failed). */
export const UNAPPLIED_AFTER_MS = 2 * 60_000;

export interface InboundResult {
  kind: InboundClassification | "ignored";
  inboundId: string | null;
  messageId: string | null;
  enrollmentId: string | null;
  resumeAt?: number;
  /** The same inbound email was handled before (polling repeats a round): nothing was done again. */
  duplicate?: boolean;
}

/** The email an inbound one answers, with what the effects need. */
export interface Target {
  teamId: string;
  sequenceId: string;
  enrollmentId: string;
  contactId: string;
  messageId: string;
  mailboxId: string;
  stepId: string;
  toEmail: string;
  settings: Record<string, unknown>;
  /** Who wrote the inbound email (its From address), when known: not always the address emailed. */
  fromEmail?: string | null;
}

// Enrollment transitions, through the SequenceDO of the enrollment's sequence.
const sequence = (env: Env, sequenceId: string, teamId: string) => engine.sequence(env, sequenceId, teamId);

async function findTarget(d: Db, ids: string[], mailboxId?: string): Promise<(Target & { matchedId: string }) | null> {
  const [m] = await d
    .select({
      matchedId: messages.messageIdHeader,
      teamId: messages.teamId,
      sequenceId: sequences.id,
      enrollmentId: messages.enrollmentId,
      contactId: messages.contactId,
      messageId: messages.id,
      mailboxId: messages.mailboxId,
      stepId: messages.stepId,
      toEmail: messages.toEmail,
      settings: sequences.settings,
    })
    .from(messages)
    // An answer a rep wrote in the inbox has no sequence of its own (sequence_id '', so no report counts it as
    // a step): an email answering it belongs to its run's sequence. A test email has no run, so matches nothing.
    .leftJoin(
      enrollments,
      and(eq(enrollments.id, messages.enrollmentId), eq(messages.sequenceId, ""), like(messages.stepId, `${ANSWER_STEP_PREFIX}%`)),
    )
    .innerJoin(sequences, eq(sequences.id, sql`coalesce(${enrollments.sequenceId}, ${messages.sequenceId})`))
    .where(and(inList(messages.messageIdHeader, ids), mailboxId === undefined ? undefined : eq(messages.mailboxId, mailboxId)))
    .orderBy(desc(messages.sentAt))
    .limit(1);
  return m ?? null;
}

/**
 * The mailbox an email came in to (the email() handler's envelope recipient): only when exactly one
 * team has that address connected, as a sender match must never cross teams.
 */
async function mailboxAt(d: Db, address: string | undefined): Promise<SenderMailbox | null> {
  const email = address?.trim().toLowerCase();
  if (!email) return null;
  const rows = await d
    .select({ id: mailboxes.id, teamId: mailboxes.teamId })
    .from(mailboxes)
    .where(sql`lower(${mailboxes.email}) = ${email} AND ${mailboxes.status} <> 'removed'`);
  return rows.length === 1 ? rows[0]! : null;
}

/** The mailbox a reply came in to; its team when known already (else read with the match). */
interface SenderMailbox {
  id: string;
  teamId?: string;
}

/** Emails of open runs findBySender weighs at most (newest first): enough for a contact's runs from one mailbox. */
const SENDER_MATCH_ROWS = 50;

/**
 * The email `mailboxId` sent to a live contact of its team whose address is `sender`, in a run still
 * open. None when the sender is one of our own mailboxes (a teammate's address is also a contact: a
 * colleague's note to the rep is not the prospect answering). With one such run, its newest email. With
 * several (the contact in two sequences from this mailbox) it does not guess: the run one of whose emails
 * the reply's subject answers ("Re: <subject>"), when exactly one; otherwise `ambiguous` (how many runs),
 * and the newest email is only where the reply is recorded, for a person to review.
 */
async function findBySender(
  d: Db,
  sender: string,
  mailbox: SenderMailbox,
  subject: string,
): Promise<(Omit<Target, "fromEmail"> & { mailboxEmail: string; ambiguous?: number }) | null> {
  const from = sender.trim().toLowerCase();
  if (!from.includes("@")) return null;
  const mailboxId = mailbox.id;
  // A polled mailbox's team is read in the match itself (no mailbox, no team, no rows).
  const teamId = mailbox.teamId ?? sql`(${d.select({ teamId: mailboxes.teamId }).from(mailboxes).where(eq(mailboxes.id, mailboxId))})`;
  // None when the sender is one of the team's own mailboxes.
  const ours = alias(mailboxes, "ours");
  const rows = await d
    .select({
      teamId: messages.teamId,
      sequenceId: messages.sequenceId,
      enrollmentId: messages.enrollmentId,
      contactId: messages.contactId,
      messageId: messages.id,
      mailboxId: messages.mailboxId,
      stepId: messages.stepId,
      toEmail: messages.toEmail,
      settings: sequences.settings,
      mailboxEmail: mailboxes.email,
      subject: messages.subject,
    })
    .from(messages)
    .innerJoin(mailboxes, and(eq(mailboxes.id, messages.mailboxId), eq(mailboxes.teamId, messages.teamId)))
    .innerJoin(contacts, and(eq(contacts.id, messages.contactId), eq(contacts.teamId, messages.teamId)))
    .innerJoin(enrollments, and(eq(enrollments.id, messages.enrollmentId), eq(enrollments.teamId, messages.teamId)))
    .innerJoin(sequences, and(eq(sequences.id, messages.sequenceId), eq(sequences.teamId, messages.teamId)))
    .where(
      and(
        // From the team's contacts of the address (contacts_team_email_idx) to their emails (messages_contact_sent_idx).
        eq(contacts.teamId, teamId),
        sql`lower(${contacts.email}) = ${from}`,
        notExists(
          d
            .select({ one: sql`1` })
            .from(ours)
            .where(and(eq(ours.teamId, contacts.teamId), sql`lower(${ours.email}) = ${from}`)),
        ),
        eq(messages.mailboxId, mailboxId),
        isNull(contacts.deletedAt),
        sql`${enrollments.status} IN ('active', 'paused', 'held')`,
        sql`${messages.sentAt} IS NOT NULL`,
      ),
    )
    .orderBy(desc(messages.sentAt))
    .limit(SENDER_MATCH_ROWS);
  if (!rows.length) return null;
  const pick = ({ subject: _subject, ...m }: (typeof rows)[number], ambiguous?: number) => (ambiguous ? { ...m, ambiguous } : m);
  const runs = new Set(rows.map((r) => r.enrollmentId));
  if (runs.size === 1) return pick(rows[0]!);
  const answered = answeredSubject(subject);
  const bySubject = answered ? rows.filter((r) => answeredSubject(r.subject) === answered) : [];
  if (bySubject.length && new Set(bySubject.map((r) => r.enrollmentId)).size === 1) return pick(bySubject[0]!);
  return pick(rows[0]!, runs.size);
}

/**
 * An inbound email (from the email() handler or reply polling), already classified: matched to the
 * email it answers, stored once per team (a repeat changes nothing), and its effect applied.
 * A soft bounce schedules the next try; the one after the last try counts as a hard bounce.
 */
export async function recordInbound(
  env: Env,
  d: Db,
  c: Classified,
  t = now(),
  polledMailboxId?: string,
  receivedBy?: string,
): Promise<InboundResult> {
  const none: InboundResult = { kind: "ignored", inboundId: null, messageId: null, enrollmentId: null };
  if (c.kind === "ignored") return none;
  let evidence = c.evidence;
  let found: (Omit<Target, "fromEmail"> & { mailboxEmail?: string; matchedId?: string }) | null;
  // A sender match that could not tell which run was answered: recorded, acted on by no one but a person.
  let held = false;
  if (c.ids.length) {
    // A polled inbox holds the answers to its own emails: what it finds about another mailbox's (another
    // team's, when the same person is a contact there) is that mailbox's to handle, never this one's.
    const matched = await findTarget(d, c.ids, polledMailboxId);
    // The classifier named the header's id it would expect; the evidence names the one that matched
    // (the newest sent of all the ids, or the polled mailbox's own), in the header that held it.
    if (matched && /^(?:In-Reply-To|References): /.test(evidence.header ?? ""))
      evidence = {
        ...evidence,
        header: `${c.inReplyTo?.includes(matched.matchedId) ? "In-Reply-To" : "References"}: ${matched.matchedId}`,
      };
    found = matched;
  } else {
    // No threading header (classifyInbound passes only a person's reply or removal request so): matched,
    // as Outreach and Apollo do, by its sender being a contact this very mailbox emails in an open run.
    const mailbox = polledMailboxId ? { id: polledMailboxId } : await mailboxAt(d, receivedBy);
    const bySender = mailbox ? await findBySender(d, c.from, mailbox, c.subject) : null;
    found = bySender;
    if (bySender)
      evidence = {
        ...evidence,
        header: `From: ${c.from}`,
        phrase: bySender.ambiguous
          ? `No In-Reply-To or References: its sender is a contact in ${bySender.ambiguous} open runs emailed from ${bySender.mailboxEmail}, and its subject answers none of them alone, so no run was stopped: review it`
          : `No In-Reply-To or References: matched by its sender, a contact in an open run emailed from ${bySender.mailboxEmail}`,
        // Held for a person to say which run it answers (services/reply-runs.ts applies it then).
        ...(bySender.ambiguous ? { held: bySender.ambiguous } : {}),
      };
    held = !!bySender?.ambiguous;
  }
  if (!found) return none;
  const target: Target = { ...found, fromEmail: c.from };
  let kind: InboundClassification = c.kind;
  let retryAttempt = 0;
  if (kind === "bounce_soft") {
    // A block (5.7.x / 5.4.x: the receiving server refused us, by policy or a blocklist) says nothing
    // about the address: it schedules a try like any soft bounce, but never counts toward the hard
    // bounce, or a blocklisting that outlasts the tries (~29 h) would suppress a live address.
    const blocked = sql`coalesce(json_extract(${inboundMessages.evidence}, '$.rule'), '') = 'dsn_blocked'`;
    const [prior] = await d
      .select({ n: sql<number>`count(*)`, blocked: sql<number>`coalesce(sum(${blocked}), 0)` })
      .from(inboundMessages)
      .where(and(eq(inboundMessages.messageId, target.messageId), eq(inboundMessages.detected, "bounce_soft")));
    retryAttempt = (prior?.n ?? 0) + 1;
    const anyBlocked = (prior?.blocked ?? 0) > 0 || evidence.rule === "dsn_blocked";
    if (retryAttempt > SOFT_BOUNCE_BACKOFF_MS.length && !anyBlocked) {
      kind = "bounce_hard";
      evidence = {
        ...evidence,
        rule: "soft_bounce_limit",
        phrase: `Soft bounce ${retryAttempt}: the email was tried ${SOFT_BOUNCE_BACKOFF_MS.length + 1} times`,
      };
    } else if (retryAttempt > SOFT_BOUNCE_BACKOFF_MS.length) {
      // No try is left: the run ends (its email bounced) but the address stays, since a block refused
      // at least one of the tries: it is unknown whether the address itself takes email.
      evidence = {
        ...evidence,
        phrase: `Soft bounce ${retryAttempt}: the email was tried ${SOFT_BOUNCE_BACKOFF_MS.length + 1} times and a server block refused it, so the run ends and the address is not suppressed`,
      };
    }
  }
  const id = newId();
  const inserted = await d
    .insert(inboundMessages)
    .values({
      id,
      teamId: target.teamId,
      sequenceId: target.sequenceId,
      enrollmentId: target.enrollmentId,
      contactId: target.contactId,
      messageId: target.messageId,
      headerId: c.headerId.slice(0, 500),
      fromEmail: c.from.slice(0, 320),
      subject: c.subject,
      snippet: c.snippet,
      body: c.body.text,
      bodyTruncated: c.body.truncated,
      detected: c.kind,
      classification: kind,
      evidence,
      returnAt: c.returnAt ?? null,
      bounceStatus: c.bounceStatus ?? null,
      retryAttempt,
      receivedAt: t,
      // Held, it is applied as nothing from the start (so neither a redelivery nor the cron's
      // applyUnapplied acts on it): it waits unreviewed in the inbox.
      ...(held && { effect: { enrollments: [] } }),
    })
    .onConflictDoNothing()
    .returning({ id: inboundMessages.id });
  if (!inserted.length) {
    const [seen] = await d
      .select({
        id: inboundMessages.id,
        classification: inboundMessages.classification,
        retryAttempt: inboundMessages.retryAttempt,
        returnAt: inboundMessages.returnAt,
        receivedAt: inboundMessages.receivedAt,
      })
      .from(inboundMessages)
      .where(and(eq(inboundMessages.teamId, target.teamId), eq(inboundMessages.headerId, c.headerId.slice(0, 500))));
    // Stored but its effect never written (what it does failed, or the handler died after the insert):
    // a repeat applies it now, as the cron's applyUnapplied would.
    if (seen && (await applyStored(env, d, seen, target, t))) return inboundResult(seen.classification, seen.id, target, seen.returnAt);
    return {
      kind: seen?.classification ?? kind,
      inboundId: seen?.id ?? null,
      messageId: target.messageId,
      enrollmentId: target.enrollmentId,
      duplicate: true,
    };
  }
  if (held) return { kind, inboundId: id, messageId: target.messageId, enrollmentId: null };
  await applyAndStore(env, d, target, id, kind, c.returnAt ?? null, t, retryAttempt);
  return inboundResult(kind, id, target, c.returnAt ?? null);
}

const inboundResult = (kind: InboundClassification, inboundId: string, target: Target, returnAt: number | null): InboundResult => ({
  kind,
  inboundId,
  messageId: target.messageId,
  enrollmentId: target.enrollmentId,
  ...(kind === "out_of_office" && returnAt ? { resumeAt: returnAt } : {}),
});

/**
 * What a stored inbound email does, done, then written on its row (`effect` always holds `enrollments`
 * once applied); with `lease`, only while that claim (applyStored's) still holds the row.
 */
export async function applyAndStore(
  env: Env,
  d: Db,
  target: Target,
  id: string,
  kind: InboundClassification,
  returnAt: number | null,
  t: number,
  retryAttempt: number,
  lease?: number,
) {
  // A soft bounce past the last try (only a blocked one stays soft then) schedules nothing.
  const backoff = kind === "bounce_soft" ? SOFT_BOUNCE_BACKOFF_MS[retryAttempt - 1] : undefined;
  const retryAt = backoff === undefined ? null : t + backoff;
  const effect = await applyEffect(
    env,
    d,
    target,
    kind,
    returnAt,
    t,
    t,
    retryAt === null ? undefined : { attempt: retryAttempt, at: retryAt },
  );
  await d
    .update(inboundMessages)
    .set({ effect, retryAt })
    .where(
      and(
        eq(inboundMessages.id, id),
        lease === undefined ? undefined : sql`json_extract(${inboundMessages.effect}, '$.applying') = ${lease}`,
      ),
    );
}

/** Rows never acted on, oldest first (inbound_messages_unapplied_idx holds only these). */
const UNAPPLIED = sql`json_extract(${inboundMessages.effect}, '$.enrollments') IS NULL`;

/** A stored row, as applying its effect again needs it. */
interface StoredInbound {
  id: string;
  classification: InboundClassification;
  returnAt: number | null;
  receivedAt: number;
  retryAttempt: number;
}

/**
 * Applies a stored inbound email whose effect was never written (its handler failed or died after the
 * insert), once the first handler has had its time (UNAPPLIED_AFTER_MS: one still at work would write
 * over the effect it is about to record). The row is claimed first (`effect.applying`, a lease as long):
 * a redelivery and the cron, or two ticks, never both apply it; a correction under way keeps it. The
 * effects are those of when it came in. False when it was not this call's to apply.
 */
async function applyStored(env: Env, d: Db, row: StoredInbound, target: Target, t: number): Promise<boolean> {
  const [claimed] = await d
    .update(inboundMessages)
    .set({ effect: sql`json_set(${inboundMessages.effect}, '$.applying', ${t})` })
    .where(
      and(
        eq(inboundMessages.id, row.id),
        UNAPPLIED,
        sql`${inboundMessages.receivedAt} < ${t - UNAPPLIED_AFTER_MS}`,
        sql`coalesce(json_extract(${inboundMessages.effect}, '$.applying'), 0) < ${t - UNAPPLIED_AFTER_MS}`,
        sql`coalesce(json_extract(${inboundMessages.effect}, '$.correcting.at'), 0) < ${t - CORRECTION_LEASE_MS}`,
      ),
    )
    .returning({ id: inboundMessages.id });
  if (!claimed) return false;
  await applyAndStore(env, d, target, row.id, row.classification, row.returnAt, row.receivedAt, row.retryAttempt, t);
  return true;
}

/** Unapplied inbound emails the cron acts on per tick at most (the rest wait for the next tick). */
export const UNAPPLIED_PER_TICK = 50;

/**
 * Cron (invariant 10): inbound emails stored but never acted on, found and acted on. Only a redelivery
 * did that before, and Email Routing may never deliver an email again: a reply whose SequenceDO call
 * failed left the contact in the sequence, emailed on. One failing email never stops the others; the
 * step still fails at the end so the failure is seen. Returns how many were applied.
 */
export async function applyUnapplied(env: Env, d: Db, t = now()): Promise<number> {
  const rows = await d
    .select({
      id: inboundMessages.id,
      classification: inboundMessages.classification,
      returnAt: inboundMessages.returnAt,
      receivedAt: inboundMessages.receivedAt,
      retryAttempt: inboundMessages.retryAttempt,
      fromEmail: inboundMessages.fromEmail,
      teamId: inboundMessages.teamId,
      sequenceId: inboundMessages.sequenceId,
      enrollmentId: inboundMessages.enrollmentId,
      contactId: inboundMessages.contactId,
      messageId: inboundMessages.messageId,
      mailboxId: messages.mailboxId,
      stepId: messages.stepId,
      toEmail: messages.toEmail,
      settings: sequences.settings,
    })
    .from(inboundMessages)
    .leftJoin(messages, and(eq(messages.id, inboundMessages.messageId), eq(messages.teamId, inboundMessages.teamId)))
    .leftJoin(sequences, and(eq(sequences.id, inboundMessages.sequenceId), eq(sequences.teamId, inboundMessages.teamId)))
    .where(and(UNAPPLIED, sql`${inboundMessages.receivedAt} < ${t - UNAPPLIED_AFTER_MS}`))
    .orderBy(asc(inboundMessages.receivedAt))
    .limit(UNAPPLIED_PER_TICK);
  let applied = 0;
  const failed: string[] = [];
  for (const r of rows) {
    try {
      if (r.mailboxId === null || r.stepId === null || r.toEmail === null || r.settings === null) {
        // The email it answers (or its sequence) is gone: nothing is left to act on, and it is not looked at again.
        await d
          .update(inboundMessages)
          .set({ effect: { enrollments: [] } })
          .where(and(eq(inboundMessages.id, r.id), UNAPPLIED));
        continue;
      }
      const target: Target = { ...r, mailboxId: r.mailboxId, stepId: r.stepId, toEmail: r.toEmail, settings: r.settings };
      if (await applyStored(env, d, r, target, t)) applied++;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      console.error(`inbound email ${r.id} could not be acted on: ${message}`);
      failed.push(r.id);
    }
  }
  if (failed.length) throw new Error(`${failed.length} inbound email(s) could not be acted on (${failed.join(", ")}); tried again later`);
  return applied;
}

/**
 * What a classification does: a reply finishes the enrollment (unless the sequence says not to),
 * moves the contact to the Replied stage and applies the sequence's colleague rule; an out-of-office
 * pauses until the return date; a hard bounce marks the email and the contact bounced and suppresses
 * the address (invariant 5); an unsubscribe request suppresses it and finishes every open enrollment
 * of the address; an auto-reply and a soft bounce (retried) change nothing yet. Returns what it did.
 * `t` is when it is applied (the runs' transitions); `receivedAt` when the email came in, which is when
 * the person answered, bounced or opted out: the reports date the email's reply and opt-out by it, also
 * when a correction applies it days later.
 */
async function applyEffect(
  env: Env,
  d: Db,
  x: Target,
  kind: InboundClassification,
  returnAt: number | null,
  t: number,
  receivedAt: number,
  retry?: { attempt: number; at: number },
): Promise<InboundEffect> {
  const effect: InboundEffect = { enrollments: [] };
  const done = (sequenceId: string, ids: string[], action: "finish" | "pause", reason: string) => {
    for (const id of ids) effect.enrollments!.push({ id, sequenceId, action, reason });
  };
  const finish = async (sequenceId: string, ids: string[], reason: ReasonCode) =>
    effect.enrollments!.push(...(await finishRemembering(env, d, sequenceId, x.teamId, ids, reason)));
  const sender = x.fromEmail?.trim().toLowerCase() ?? "";
  if (kind === "unsubscribe" && sender.includes("@") && sender !== x.toEmail.toLowerCase()) {
    // A removal request from an address other than the one emailed: the sender's own address is always
    // suppressed. Most often it is the contact writing from another address of theirs (a phone, a
    // personal inbox): their request is for the address we emailed too, and an opt-out errs on the safe
    // side, so that one is suppressed and their runs end as unsubscribed. Only when the sender is another
    // live contact of the team (a colleague we know, the email forwarded to them) did they ask for their
    // own address alone: the contact, who never asked, stays emailable and the run ends as answered.
    const [own] = await d
      .insert(suppressions)
      .values({ id: newId(), teamId: x.teamId, email: sender, reason: "unsubscribed", source: "reply", createdAt: t })
      .onConflictDoNothing()
      .returning({ id: suppressions.id });
    if (own) effect.senderSuppressed = { email: sender, id: own.id };
    const [colleague] = await d
      .select({ id: contacts.id })
      .from(contacts)
      .where(
        and(
          eq(contacts.teamId, x.teamId),
          sql`lower(${contacts.email}) = ${sender}`,
          isNull(contacts.deletedAt),
          sql`${contacts.id} <> ${x.contactId}`,
        ),
      )
      .limit(1);
    if (colleague) kind = "reply";
  }
  if (kind === "reply" || kind === "out_of_office") {
    // The first answer to an email is what the reports count as its reply (or out-of-office), dated
    // when it came in; a reply outranks an out-of-office (the person came back and answered: that is a
    // reply). A correction may apply an answer older than the one counted: it is then the first.
    // undoEffect's answerOf picks the same one among the answers left.
    const later = sql`${messages.repliedAt} > ${receivedAt}`;
    await d
      .update(messages)
      .set({ repliedAt: receivedAt, replyKind: kind })
      .where(
        and(
          eq(messages.id, x.messageId),
          kind === "reply"
            ? or(isNull(messages.repliedAt), eq(messages.replyKind, "out_of_office"), later)
            : or(isNull(messages.repliedAt), and(eq(messages.replyKind, "out_of_office"), later)),
        ),
      );
  }
  if (kind === "reply") {
    // The person answered: every sequence of the team whose own "finish on reply" is on stops emailing
    // them, not only the one answered (the run emailed, their run there now, one a move took them to).
    for (const run of await runsOfContact(d, x))
      if (run.settings.finish_on_reply !== false) await finish(run.sequenceId, run.ids, "replied");
    const [contact] = await d
      .select({ stageId: contacts.stageId, email: contacts.email })
      .from(contacts)
      .where(and(eq(contacts.id, x.contactId), eq(contacts.teamId, x.teamId)));
    const [replied] = await d
      .select({ id: contactStages.id })
      .from(contactStages)
      .where(and(eq(contactStages.teamId, x.teamId), eq(contactStages.name, "Replied")));
    if (contact && replied && contact.stageId !== replied.id) {
      await d
        .update(contacts)
        .set({ stageId: replied.id, updatedAt: t })
        .where(and(eq(contacts.id, x.contactId), eq(contacts.teamId, x.teamId)));
      effect.stageFrom = contact.stageId;
    }
    await applyColleagueRule(env, d, x, contact?.email ?? x.toEmail, effect);
  } else if (kind === "out_of_office") {
    // They are away from every sequence: all their open runs wait for the return date.
    const until = returnAt ?? t + OOO_DEFAULT_MS;
    for (const run of await runsOfContact(d, x))
      done(run.sequenceId, await sequence(env, run.sequenceId, x.teamId).pause(run.ids, "out_of_office", until), "pause", "out_of_office");
  } else if (kind === "bounce_hard") {
    await markMessageBounced(d, x, effect);
    await mark(d, x, "bounced", t, effect);
    await finish(x.sequenceId, [x.enrollmentId], "bounced");
  } else if (kind === "bounce_soft" && x.stepId.startsWith(ANSWER_STEP_PREFIX)) {
    // An answer written by hand is no step the mailbox could compose again, nor one of the run's steps: its
    // email bounced, but a full inbox on the person's side is no reason to end the sequence's run.
    await markMessageBounced(d, x, effect);
  } else if (kind === "bounce_soft" && retry) {
    // The same email again through its mailbox, within its caps and window (MailboxDO.resend).
    const queued = await engine.mailbox(env, x.mailboxId).resend([{ enrollmentId: x.enrollmentId, stepId: x.stepId, ...retry }]);
    effect.retry = { ...retry, key: queued[0]?.stepId ?? null };
  } else if (kind === "bounce_soft") {
    // Past the last try, a block among them (recordInbound): the email bounced and the run ends, but
    // neither the contact is marked bounced nor the address suppressed; a later sequence may reach it.
    await markMessageBounced(d, x, effect);
    await finish(x.sequenceId, [x.enrollmentId], "bounced");
  } else if (kind === "unsubscribe") {
    await mark(d, x, "unsubscribed", t, effect);
    // The reports count the opt-out on the email it answered (services/unsubscribe.ts).
    const stamped = await stampUnsubscribed(d, x.teamId, x.toEmail.toLowerCase(), receivedAt, { id: x.messageId }).returning({
      id: messages.id,
    });
    if (stamped.length) effect.messageUnsubscribed = true;
    // Every open enrollment of the address in the team, in each sequence's SequenceDO.
    const open = await openEnrollmentsOfAddress(d, x.teamId, x.toEmail);
    const ids = open.some((o) => o.id === x.enrollmentId) ? open : [...open, { id: x.enrollmentId, sequenceId: x.sequenceId }];
    for (const [sequenceId, group] of groupBy(ids, (e) => e.sequenceId)) {
      await finish(
        sequenceId,
        group.map((g) => g.id),
        "unsubscribed",
      );
    }
  }
  return effect;
}

/** The email marked bounced (what it was before is kept, for a correction to give back). */
async function markMessageBounced(d: Db, x: Target, effect: InboundEffect) {
  const [m] = await d.select({ status: messages.status }).from(messages).where(eq(messages.id, x.messageId));
  if (m && m.status !== "bounced") {
    await d
      .update(messages)
      .set({ status: "bounced", error: sql`coalesce(${messages.error}, 'Bounced (delivery status report)')` })
      .where(eq(messages.id, x.messageId));
    effect.messageStatusFrom = m.status;
  }
}

/** The contact marked bounced / unsubscribed and the address suppressed for the team (it outlives the contact). */
async function mark(d: Db, x: Target, what: "bounced" | "unsubscribed", t: number, effect: InboundEffect) {
  const column = what === "bounced" ? contacts.bouncedAt : contacts.unsubscribedAt;
  const marked = await d
    .update(contacts)
    .set(what === "bounced" ? { bouncedAt: t, updatedAt: t } : { unsubscribedAt: t, updatedAt: t })
    .where(and(eq(contacts.id, x.contactId), eq(contacts.teamId, x.teamId), isNull(column)))
    .returning({ id: contacts.id });
  if (marked.length) effect.contactMarked = what;
  const suppressed = await d
    .insert(suppressions)
    .values({
      id: newId(),
      teamId: x.teamId,
      email: x.toEmail.toLowerCase(),
      reason: what,
      source: what === "bounced" ? "dsn" : "reply",
      createdAt: t,
    })
    .onConflictDoNothing()
    .returning({ id: suppressions.id });
  if (suppressed.length) effect.suppressed = what;
}

/**
 * A reply from someone at a company: the sequence's `colleague_reply` rule says what happens to the
 * other contacts of the same email domain in the same sequence (nothing, pause, finish).
 */
async function applyColleagueRule(env: Env, d: Db, x: Target, email: string, effect: InboundEffect) {
  const rule = (x.settings.colleague_reply as ColleagueRule | undefined) ?? "nothing";
  const domain = companyDomain(email);
  if (rule === "nothing" || !domain) return;
  const statuses = rule === "pause" ? ["active", "held"] : ["active", "paused", "held"];
  // From the domain's contacts (contacts_team_domain_idx: EMAIL_DOMAIN is its expression) to their
  // enrollments in this sequence (enrollments_sequence_contact_idx), in that order (CROSS JOIN): a
  // planner without statistics went from the team's active enrollments and read every one per reply.
  const colleagues = await d.all<{ id: string }>(sql`
    SELECT e.id FROM contacts c CROSS JOIN enrollments e
     WHERE c.team_id = ${x.teamId} AND ${sql.raw(EMAIL_DOMAIN)} = ${domain}
       AND e.sequence_id = ${x.sequenceId} AND e.contact_id = c.id AND e.team_id = ${x.teamId}
       AND e.contact_id <> ${x.contactId} AND e.status IN (SELECT value FROM json_each(${JSON.stringify(statuses)}))`);
  if (!colleagues.length) return;
  const ids = colleagues.map((c) => c.id);
  if (rule === "finish") {
    effect.enrollments!.push(...(await finishRemembering(env, d, x.sequenceId, x.teamId, ids, "colleague_replied")));
    return;
  }
  const changed = await sequence(env, x.sequenceId, x.teamId).pause(ids, "colleague_replied");
  for (const id of changed) effect.enrollments!.push({ id, sequenceId: x.sequenceId, action: rule, reason: "colleague_replied" });
}

type EffectEntry = NonNullable<InboundEffect["enrollments"]>[number];

/**
 * The contact's open runs in every sequence of the team, by sequence, with each sequence's settings;
 * the run the email went to comes first in its sequence even when it is closed (finishing it again
 * changes nothing). At most one open run per sequence (invariant 1).
 */
async function runsOfContact(d: Db, x: Target): Promise<{ sequenceId: string; ids: string[]; settings: Record<string, unknown> }[]> {
  const rows = await d
    .select({ id: enrollments.id, sequenceId: enrollments.sequenceId, settings: sequences.settings })
    .from(enrollments)
    .innerJoin(sequences, and(eq(sequences.id, enrollments.sequenceId), eq(sequences.teamId, x.teamId)))
    .where(
      and(
        // The person is their address: another live contact of the team with it (a duplicate, allowed as in
        // Apollo) is the same inbox, and its runs hear the reply too (contacts_team_email_idx).
        sql`${enrollments.contactId} IN (SELECT ${contacts.id} FROM ${contacts} WHERE ${contacts.teamId} = ${x.teamId} AND (${contacts.id} = ${x.contactId}
              OR (lower(${contacts.email}) = ${x.toEmail.toLowerCase()} AND ${contacts.deletedAt} IS NULL)))`,
        // From the contacts to their enrollments (enrollments_contact_idx), as openEnrollmentsOfAddress does.
        sql`+${enrollments.teamId} = ${x.teamId}`,
        sql`+${enrollments.status} IN ('active', 'paused', 'held')`,
      ),
    );
  const out = new Map<string, { sequenceId: string; ids: string[]; settings: Record<string, unknown> }>();
  out.set(x.sequenceId, { sequenceId: x.sequenceId, ids: [x.enrollmentId], settings: x.settings });
  for (const r of rows) {
    const run = out.get(r.sequenceId) ?? { sequenceId: r.sequenceId, ids: [], settings: r.settings };
    if (!run.ids.includes(r.id)) run.ids.push(r.id);
    out.set(r.sequenceId, run);
  }
  return [...out.values()];
}

/**
 * Finish enrollments for an inbound email, remembering which were paused (and until when) just
 * before: undoing it (a correction) must give back the pause, not an active enrollment that sends.
 * The paused state is read from D1's mirror, which the SequenceDO writes before each transition answers.
 */
async function finishRemembering(
  env: Env,
  d: Db,
  sequenceId: string,
  teamId: string,
  ids: string[],
  reason: ReasonCode,
): Promise<EffectEntry[]> {
  const paused = await d
    .select({ id: enrollments.id, reason: enrollments.reason, until: enrollments.nextDueAt })
    .from(enrollments)
    .where(and(teamRowsById(enrollments, teamId, ids), eq(notIndexed(enrollments.status), "paused")));
  const before = new Map(paused.map((p) => [p.id, p]));
  const changed = await sequence(env, sequenceId, teamId).finish(ids, reason);
  return changed.map((id) => {
    const p = before.get(id);
    return { id, sequenceId, action: "finish", reason, ...(p ? { from: { status: "paused", reason: p.reason, until: p.until } } : {}) };
  });
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

// ------------------------------------------------------------------ the inbox

export interface ReplyQuery {
  page: number;
  per_page: number;
  classification?: InboundClassification;
  sequence_id?: string;
  contact_id?: string;
  /** Only answers to emails sent from this mailbox (the sequence report's mailbox filter). */
  mailbox_id?: string;
  unhandled?: boolean;
  /** Only the caller's own: see `mine`. */
  mine?: boolean;
}

// The inbox's rows leave the whole text out (up to 64 KB each): it is read one email at a time (replyText).
const { body: _body, ...rowColumns } = getTableColumns(inboundMessages);

function replyColumns() {
  return {
    r: rowColumns,
    contact: { id: contacts.id, first: contacts.firstName, last: contacts.lastName, email: contacts.email, company: contacts.company },
    sequence: { id: sequences.id, name: sequences.name },
    sequenceState: { active: sequences.active, archivedAt: sequences.archivedAt, ownerId: sequences.ownerId },
    share: sequenceShares.access,
    email: { subject: messages.subject, sentAt: messages.sentAt, stepPosition: steps.position, mailboxEmail: mailboxes.email },
    // The mailbox the email came to, which an answer goes from (reply-answer.ts): its owner decides who may.
    mailbox: { id: mailboxes.id, userId: mailboxes.userId, status: mailboxes.status },
    enrollment: { status: enrollments.status, reason: enrollments.reason, currentStep: enrollments.currentStep },
    // The run's own mailbox and current step, for what the contacts tab would say of it (explain).
    runMailbox: {
      status: runMailbox.status,
      reason: runMailbox.statusReason,
      held: sql<number | null>`${sql.raw(mailboxHeldSql('"run_mailbox"'))}`,
    },
    runStep: { type: runStep.type },
  };
}

const runMailbox = alias(mailboxes, "run_mailbox");
const runStep = alias(steps, "run_step");

type ReplyRow = Awaited<ReturnType<typeof replyQuery>>[number];

/**
 * The names of the sequences the rows' effects reached that the caller may see (invariant 8: another
 * one is counted, never named).
 */
async function effectSequences(d: Db, caller: Caller, rows: ReplyRow[]): Promise<EffectNames> {
  const entries = rows.flatMap((row) => row.r.effect.enrollments ?? []);
  const ids = [...new Set(entries.map((e) => e.sequenceId))];
  if (!ids.length) return { sequences: new Map(), contacts: new Map() };
  const runIds = [...new Set(entries.map((e) => e.id))];
  // The runs' contacts too, in the same round trip: an email reaches the address's other live contacts'
  // runs (a duplicate, TWINS_OF), and the row names that contact record.
  const [seen, runs] = await d.batch([
    d
      .select({ id: sequences.id, name: sequences.name })
      .from(sequences)
      .where(and(eq(sequences.teamId, caller.teamId), inList(sequences.id, ids), visibleSequence(caller, sequences.id))),
    d
      // (A batch answers rows as objects: the column names stay unique, so no contacts.id next to enrollments.id.)
      .select({
        id: enrollments.id,
        contactId: enrollments.contactId,
        first: contacts.firstName,
        last: contacts.lastName,
        email: contacts.email,
      })
      .from(enrollments)
      .innerJoin(contacts, eq(contacts.id, enrollments.contactId))
      .where(and(inList(enrollments.id, runIds), eq(enrollments.teamId, caller.teamId))),
  ]);
  return {
    sequences: new Map(seen.map((x) => [x.id, x.name])),
    contacts: new Map(runs.map((x) => [x.id, { id: x.contactId, name: `${x.first} ${x.last}`.trim(), email: x.email }])),
  };
}

/** Names for the rows' effects: visible sequences by id, and each run's contact (and its address) by enrollment id. */
type EffectNames = { sequences: Map<string, string>; contacts: Map<string, { id: string; name: string; email: string | null }> };

/**
 * Where its effect applied: per sequence, how many runs it finished or paused (a name only when visible),
 * and, for the runs of another contact record with the address (a duplicate), which one.
 */
function appliedTo(r: ReplyRow["r"], ownEmail: string | null | undefined, names: EffectNames) {
  const out: {
    sequence_id: string | null;
    sequence_name: string | null;
    action: "finish" | "pause";
    enrollments: number;
    contact?: { id: string; name: string };
  }[] = [];
  const twin = (e: EffectEntry) => {
    const c = names.contacts.get(e.id);
    // Only another record with the same address is the person again: a colleague the sequence's
    // colleague rule stopped (colleague_replied) is another contact, and the screen would call them the
    // same address. Named only in a sequence the caller may see: that the duplicate is in another one is that sequence's.
    const same = !!c && !!ownEmail && c.id !== r.contactId && (c.email ?? "").toLowerCase() === ownEmail.toLowerCase();
    return same && names.sequences.has(e.sequenceId) ? { id: c!.id, name: c!.name } : undefined;
  };
  for (const [key, group] of groupBy(r.effect.enrollments ?? [], (e) => `${e.sequenceId} ${e.action} ${twin(e)?.id ?? ""}`)) {
    const [sequenceId, action] = key.split(" ") as [string, "finish" | "pause"];
    const name = names.sequences.get(sequenceId) ?? null;
    const other = twin(group[0]!);
    out.push({
      sequence_id: name === null ? null : sequenceId,
      sequence_name: name,
      action,
      enrollments: group.length,
      ...(other ? { contact: other } : {}),
    });
  }
  return out;
}

/** The inbox row the API answers (also the timeline's entries). */
export function presentReply(row: ReplyRow, caller: Caller, names: EffectNames) {
  const r = row.r;
  const canCorrect = !!row.sequenceState?.ownerId && sequenceAllows(caller, "sequence.edit", row.sequenceState.ownerId, row.share ?? null);
  return {
    id: r.id,
    classification: r.classification,
    detected: r.detected,
    corrected: r.classification !== r.detected,
    evidence: r.evidence,
    from_email: r.fromEmail,
    subject: r.subject,
    snippet: r.snippet,
    received_at: r.receivedAt,
    return_at: r.returnAt,
    bounce_status: r.bounceStatus,
    retry: r.classification === "bounce_soft" ? { attempt: r.retryAttempt, of: SOFT_BOUNCE_BACKOFF_MS.length, next_at: r.retryAt } : null,
    reviewed_at: r.reviewedAt,
    reviewed_by: r.reviewedBy,
    message_id: r.messageId,
    enrollment_id: r.enrollmentId,
    applied_to: appliedTo(r, row.contact?.email, names),
    // Correcting it changes its sequence's contacts: the sequence's editors and admins (replyFor's check).
    can_correct: canCorrect,
    // Correcting it to something else: taking back an unsubscribe request or a hard bounce also lifts the
    // address's suppression, which only team admins may (correctClassification refuses it otherwise); a
    // sequence editor may still confirm it. (No owner given: suppressions.manage is a team right.)
    can_take_back:
      canCorrect &&
      ((r.classification !== "unsubscribe" && r.classification !== "bounce_hard") ||
        sequenceAllows(caller, "suppressions.manage", "", null)),
    contact: row.contact?.id
      ? {
          id: row.contact.id,
          name: `${row.contact.first} ${row.contact.last}`.trim(),
          email: row.contact.email,
          company: row.contact.company,
        }
      : null,
    sequence: row.sequence?.id ? row.sequence : null,
    answered:
      row.email?.subject != null
        ? { subject: row.email.subject, sent_at: row.email.sentAt, step: row.email.stepPosition, mailbox: row.email.mailboxEmail }
        : null,
    answer: answerable(row, caller),
    enrollment:
      row.enrollment?.status != null
        ? {
            status: row.enrollment.status,
            ...runReason(row),
            current_step: row.enrollment.currentStep,
          }
        : null,
  };
}

/** The run's reason as the sequence's contacts tab says it ("Mailbox is disconnected", not "Queued"). */
function runReason(row: ReplyRow): { reason: string | null; reason_text: string | null } {
  const why = explain(
    {
      reason: row.enrollment!.reason,
      status: String(row.enrollment!.status),
      mailboxStatus: row.runMailbox?.status ?? null,
      mailboxReason: row.runMailbox?.reason ?? null,
      mailboxHeld: !!row.runMailbox?.held,
      emailStep: !row.runStep?.type || isEmailStep(row.runStep.type),
    },
    { active: !!row.sequenceState?.active, archivedAt: row.sequenceState?.archivedAt ?? null },
  );
  return { reason: why.reason, reason_text: why.text };
}

/**
 * Whether the caller may answer it from the inbox, and why not (reply-answer.ts checks the same, and the
 * address's suppression, at the send): a person's email (not a bounce, nor a request to be removed), a
 * contact still there, and a mailbox the caller may send from.
 */
function answerable(row: ReplyRow, caller: Caller): { from: { id: string; email: string } | null; can: boolean; why: string | null } {
  const mb = row.mailbox?.id && row.mailbox.status !== "removed" ? row.mailbox : null;
  const from = mb ? { id: mb.id, email: row.email?.mailboxEmail ?? "" } : null;
  const no = (why: string) => ({ from, can: false, why });
  const k = row.r.classification;
  if (k === "unsubscribe") return no("They asked to be removed: no answer is sent to them");
  if (k === "bounce_hard" || k === "bounce_soft") return no("A bounce comes from a mail server: there is no one to answer");
  if (!row.contact?.id) return no("Its contact was deleted");
  if (!mb) return no("The mailbox it came to was removed");
  if (!mailboxAllows(caller, "mailbox.send", mb.userId)) return no(`Only the owner of ${from!.email} or an admin can answer from it`);
  return { from, can: true, why: null };
}

export type Reply = ReturnType<typeof presentReply>;

function replyQuery(d: Db, caller: Caller, where: SQL | undefined) {
  return d
    .select(replyColumns())
    .from(inboundMessages)
    .leftJoin(contacts, eq(contacts.id, inboundMessages.contactId))
    .leftJoin(sequences, eq(sequences.id, inboundMessages.sequenceId))
    .leftJoin(messages, eq(messages.id, inboundMessages.messageId))
    .leftJoin(steps, eq(steps.id, messages.stepId))
    .leftJoin(mailboxes, eq(mailboxes.id, messages.mailboxId))
    .leftJoin(enrollments, eq(enrollments.id, inboundMessages.enrollmentId))
    .leftJoin(sequenceShares, and(eq(sequenceShares.sequenceId, inboundMessages.sequenceId), eq(sequenceShares.userId, caller.userId)))
    .leftJoin(runMailbox, eq(runMailbox.id, enrollments.mailboxId))
    .leftJoin(runStep, and(eq(runStep.sequenceId, enrollments.sequenceId), eq(runStep.position, enrollments.currentStep)))
    .where(where);
}

/**
 * Inbound emails of a contact: those matched to it and to the address's other live contacts (a duplicate,
 * as TWINS_OF finds them): an email's effect reaches every live contact with the address (runsOfContact),
 * so the contact whose run it stopped sees it even when it was threaded to the duplicate's email.
 */
function ofContact(teamId: string, contactId: string): SQL {
  return sql`${inboundMessages.contactId} IN (SELECT ${contactId}
    UNION SELECT d.id FROM contacts c JOIN contacts d ON d.team_id = c.team_id AND lower(d.email) = lower(c.email) AND d.deleted_at IS NULL
     WHERE c.id = ${contactId} AND +c.team_id = ${teamId})`;
}

/**
 * The caller's replies, as Outreach's and Apollo's "my replies" mean it: answers to emails sent from one
 * of the caller's mailboxes, or in a sequence the caller owns. Aliased (mm, mb, ms): replyQuery joins
 * messages, mailboxes and sequences itself.
 */
function mine(caller: Caller): SQL {
  return sql`(exists (select 1 from sequences ms where ms.id = ${inboundMessages.sequenceId} and ms.team_id = ${caller.teamId} and ms.owner_id = ${caller.userId})
    or exists (select 1 from messages mm join mailboxes mb on mb.id = mm.mailbox_id and mb.team_id = mm.team_id
     where mm.id = ${inboundMessages.messageId} and mm.team_id = ${caller.teamId} and mb.user_id = ${caller.userId}))`;
}

/** The replies inbox: inbound emails of the sequences the caller may see, newest first (invariant 8). */
export async function listReplies(
  d: Db,
  caller: Caller,
  q: ReplyQuery,
): Promise<{ replies: Reply[]; total: number; counts: Record<string, number> }> {
  // A filter naming a sequence, contact or mailbox the caller can't see (another team's, deleted, a sequence
  // not shared with them) answers 404 through the access helpers, not an empty inbox. Checked beside the
  // reads below, which are scoped to what the caller may see themselves; nothing is answered before they pass.
  const checks = Promise.all([
    q.sequence_id ? sequenceFor(d, caller, q.sequence_id) : undefined,
    q.contact_id ? contactFor(d, caller, q.contact_id) : undefined,
    q.mailbox_id ? mailboxFor(d, caller, q.mailbox_id, "mailbox.view") : undefined,
  ]);
  const scope = and(
    eq(inboundMessages.teamId, caller.teamId),
    visibleSequence(caller, inboundMessages.sequenceId),
    q.sequence_id ? eq(inboundMessages.sequenceId, q.sequence_id) : undefined,
    q.contact_id ? ofContact(caller.teamId, q.contact_id) : undefined,
    // Per inbound row, its own email looked up by id: an IN-list read every email the mailbox ever
    // sent, for the page and for each count, however few replies the team has.
    q.mailbox_id
      ? sql`EXISTS (SELECT 1 FROM messages fm WHERE fm.id = ${inboundMessages.messageId} AND fm.mailbox_id = ${q.mailbox_id} AND fm.team_id = ${caller.teamId})`
      : undefined,
    q.mine ? mine(caller) : undefined,
  );
  const where = and(
    scope,
    q.classification ? eq(inboundMessages.classification, q.classification) : undefined,
    q.unhandled ? isNull(inboundMessages.reviewedAt) : undefined,
  );
  const [rows, total, counts] = await Promise.all([
    replyQuery(d, caller, where)
      .orderBy(desc(inboundMessages.receivedAt), desc(inboundMessages.id))
      .limit(q.per_page)
      .offset((q.page - 1) * q.per_page),
    d
      .select({ n: sql<number>`count(*)` })
      .from(inboundMessages)
      .where(where),
    d
      .select({ k: inboundMessages.classification, n: sql<number>`count(*)` })
      .from(inboundMessages)
      .where(and(scope, q.unhandled ? isNull(inboundMessages.reviewedAt) : undefined))
      .groupBy(inboundMessages.classification),
    checks,
  ]);
  const names = await effectSequences(d, caller, rows);
  return {
    replies: rows.map((r) => presentReply(r, caller, names)),
    total: total[0]?.n ?? 0,
    counts: Object.fromEntries(counts.map((c) => [c.k, c.n])),
  };
}

/** A contact's inbound emails (replies, bounces, out-of-office...), newest first: the contact timeline reads these. */
export async function contactReplies(d: Db, caller: Caller, contactId: string, limit = 200): Promise<Reply[]> {
  const rows = await replyQuery(
    d,
    caller,
    and(
      eq(inboundMessages.teamId, caller.teamId),
      ofContact(caller.teamId, contactId),
      visibleSequence(caller, inboundMessages.sequenceId),
    ),
  )
    .orderBy(desc(inboundMessages.receivedAt), desc(inboundMessages.id))
    .limit(limit);
  const names = await effectSequences(d, caller, rows);
  return rows.map((r) => presentReply(r, caller, names));
}

/** One inbound email, as visible as its sequence (404 otherwise), checked for `action` on it. */
export async function replyFor(d: Db, caller: Caller, id: string, action: "sequence.view" | "sequence.edit") {
  const r = await d.query.inboundMessages.findFirst({ where: and(eq(inboundMessages.id, id), eq(inboundMessages.teamId, caller.teamId)) });
  if (!r) throw notFound("Reply");
  await sequenceFor(d, caller, r.sequenceId, "sequence.view").catch((e) => {
    throw e instanceof ApiError && e.status === 404 ? notFound("Reply") : e;
  });
  if (action !== "sequence.view") await sequenceFor(d, caller, r.sequenceId, action);
  return r;
}

export async function getReply(d: Db, caller: Caller, id: string): Promise<Reply> {
  await replyFor(d, caller, id, "sequence.view");
  const [row] = await replyQuery(d, caller, eq(inboundMessages.id, id));
  if (!row) throw notFound("Reply");
  return presentReply(row, caller, await effectSequences(d, caller, [row]));
}

/** One inbound email's whole text, as visible as the reply (404 otherwise). */
export async function replyText(d: Db, caller: Caller, id: string) {
  const r = await replyFor(d, caller, id, "sequence.view");
  const answers = await answersOf(d, caller.teamId, r);
  return { text: r.body, truncated: r.bodyTruncated, snippet: r.snippet, answers };
}

// ------------------------------------------------------------------ corrections

const SAYS: Record<InboundClassification, string> = {
  reply: "a reply",
  out_of_office: "an out-of-office",
  auto_reply: "an auto-reply",
  bounce_hard: "a hard bounce",
  bounce_soft: "a soft bounce",
  unsubscribe: "an unsubscribe request",
};

/**
 * The person's other inbound emails since this one that still stand (a reply, an unsubscribe request,
 * a hard bounce), applied and not being corrected, first come first: had this one not come, they would
 * have done the same to the runs this one ended, and found them already done (their own effect then
 * recorded nothing). "Since" is by arrival, or by a correction made after this one arrived (its effect
 * was applied then). Older ones don't count: the runs this one ended may have been started since.
 * The person is their address: an email matched to another live contact with it (a duplicate, allowed
 * as in Apollo, e.g. threaded to the duplicate's earlier run) came from the same inbox and reached the
 * same runs (runsOfContact, an unsubscribe's openEnrollmentsOfAddress), so it counts too (TWINS_OF).
 */
async function standingSince(d: Db, r: typeof inboundMessages.$inferSelect, t: number) {
  const twins = (
    await d.$client
      .prepare(TWINS_OF)
      .bind(listParam([r.contactId]), r.teamId)
      .all<{ twin: string }>()
  ).results;
  return d
    .select({
      id: inboundMessages.id,
      kind: inboundMessages.classification,
      effect: inboundMessages.effect,
      contactId: inboundMessages.contactId,
      messageId: inboundMessages.messageId,
      receivedAt: inboundMessages.receivedAt,
    })
    .from(inboundMessages)
    .where(
      and(
        eq(inboundMessages.teamId, r.teamId),
        inList(inboundMessages.contactId, [r.contactId, ...twins.map((x) => x.twin)]),
        sql`${inboundMessages.id} <> ${r.id}`,
        sql`${inboundMessages.classification} IN ('reply', 'unsubscribe', 'bounce_hard')`,
        or(sql`${inboundMessages.receivedAt} >= ${r.receivedAt}`, sql`${inboundMessages.reviewedAt} >= ${r.receivedAt}`),
        sql`NOT (${UNAPPLIED})`,
        sql`coalesce(json_extract(${inboundMessages.effect}, '$.correcting.at'), 0) < ${t - CORRECTION_LEASE_MS}`,
      ),
    )
    .orderBy(asc(inboundMessages.receivedAt), asc(inboundMessages.id));
}

/**
 * What of this email's effect a later one still stands for is handed over to it (written into its
 * effect: correcting that one undoes it then) instead of being undone. A reply since keeps every run
 * this one ended or paused and the Replied stage; an unsubscribe request or a hard bounce since keeps
 * the person's own runs finished (a colleague's run was ended by a reply only) and the address's
 * suppression, which applying it found already there (one row per address) and so did not record. What
 * is the contact's own (its stage, its bounced or unsubscribed mark) is kept only by the same contact's
 * later email, as applyEffect and mark() set them on the contact answered alone: a duplicate's email
 * moved and marked the duplicate. Returns what is left to undo, and the email that kept the suppression.
 */
async function handOver(
  d: Db,
  r: typeof inboundMessages.$inferSelect,
  t: number,
  said: string[],
): Promise<{ e: InboundEffect; suppressedBy?: string; restamp?: { messageId: string; at: number } }> {
  let e = r.effect;
  const entries = e.enrollments ?? [];
  if (!entries.length && e.stageFrom === undefined && !e.suppressed && !e.contactMarked) return { e };
  const heirs = await standingSince(d, r, t);
  type Heir = (typeof heirs)[number];
  // A reply of this very contact first: it can keep the contact's stage too (below).
  const replied = heirs.find((h) => h.kind === "reply" && h.contactId === r.contactId) ?? heirs.find((h) => h.kind === "reply");
  const stopped = heirs.find((h) => h.kind !== "reply");
  const why = (heir: Heir) =>
    heir.kind === "reply"
      ? "they replied since"
      : heir.kind === "unsubscribe"
        ? "they asked to unsubscribe since"
        : "their address bounced since";
  const give = async (heir: Heir, kept: EffectEntry[], own: Partial<InboundEffect>) => {
    // What the heir already records of its own is what its correction gives back; only the rest is added.
    const added = Object.fromEntries(
      Object.entries(own).filter(([k, v]) => v !== undefined && heir.effect[k as keyof InboundEffect] === undefined),
    );
    const effect: InboundEffect = { ...heir.effect, enrollments: [...(heir.effect.enrollments ?? []), ...kept], ...added };
    // Only while that email is as read: a correction of it claiming it meanwhile would store over this.
    const [written] = await d
      .update(inboundMessages)
      .set({ effect })
      .where(
        and(
          eq(inboundMessages.id, heir.id),
          eq(inboundMessages.classification, heir.kind),
          sql`coalesce(json_extract(${inboundMessages.effect}, '$.correcting.at'), 0) = ${heir.effect.correcting?.at ?? 0}`,
        ),
      )
      .returning({ id: inboundMessages.id });
    if (!written) return false;
    for (const g of kept) said.push(`Enrollment ${g.id} stays ${g.action === "finish" ? "finished" : "paused"}: ${why(heir)}`);
    return true;
  };
  // The stage is the contact's own: a reply matched to a duplicate moved that one (applyEffect), and
  // correcting it gives back that one's stage, so this contact's goes back now.
  const stage = !!replied && replied.contactId === r.contactId && e.stageFrom !== undefined;
  if (replied && (await give(replied, entries, stage ? { stageFrom: e.stageFrom } : {}))) {
    if (stage) said.push(`The contact stays in the Replied stage: ${why(replied)}`);
    e = { ...e, enrollments: [], ...(stage ? { stageFrom: undefined } : {}) };
  }
  if (!stopped) return { e };
  const own = replied ? [] : entries.filter((g) => g.reason !== "colleague_replied");
  // The same mark from the same contact since (it found the contact marked and recorded none).
  const marked =
    e.contactMarked &&
    stopped.contactId === r.contactId &&
    stopped.kind === (e.contactMarked === "bounced" ? "bounce_hard" : "unsubscribe");
  // The address's opt-out stamp (one email per address) goes with it to a request since: on this same
  // email it stays; on another (a duplicate's) it moves there (undoEffect), as that request would have stamped it.
  const stamp = !!e.messageUnsubscribed && stopped.kind === "unsubscribe" && stopped.effect.messageUnsubscribed === undefined;
  const restamp = stamp && stopped.messageId !== r.messageId ? { messageId: stopped.messageId, at: stopped.receivedAt } : undefined;
  if (!own.length && !e.suppressed && !marked) return { e };
  const handed: Partial<InboundEffect> = {
    suppressed: e.suppressed,
    ...(marked ? { contactMarked: e.contactMarked } : {}),
    ...(stamp ? { messageUnsubscribed: true } : {}),
  };
  if (!(await give(stopped, own, handed))) return { e };
  if (marked) said.push(`The contact stays marked ${e.contactMarked}: ${why(stopped)}`);
  return {
    e: {
      ...e,
      enrollments: own.length ? entries.filter((g) => g.reason === "colleague_replied") : e.enrollments,
      suppressed: undefined,
      ...(marked ? { contactMarked: undefined } : {}),
      ...(stamp ? { messageUnsubscribed: undefined } : {}),
    },
    ...(e.suppressed ? { suppressedBy: why(stopped) } : {}),
    ...(restamp ? { restamp } : {}),
  };
}

/**
 * The email's answer among its inbound emails other than `exceptId`, as applyEffect counts it: the
 * first reply, else the first out-of-office; null when none is left.
 */
async function answerOf(d: Db, teamId: string, messageId: string, exceptId: string) {
  const [a] = await d
    .select({ at: inboundMessages.receivedAt, kind: inboundMessages.classification })
    .from(inboundMessages)
    .where(
      and(
        eq(inboundMessages.teamId, teamId),
        eq(inboundMessages.messageId, messageId),
        sql`${inboundMessages.id} <> ${exceptId}`,
        sql`${inboundMessages.classification} IN ('reply', 'out_of_office')`,
      ),
    )
    .orderBy(sql`${inboundMessages.classification} = 'reply' DESC`, asc(inboundMessages.receivedAt))
    .limit(1);
  return a ? { repliedAt: a.at, replyKind: a.kind as "reply" | "out_of_office" } : { repliedAt: null, replyKind: null };
}

/** Runs of a sequence the corrector may not edit, which a correction leaves as they are (named only when visible). */
type LeftAlone = { sequence_id: string | null; sequence_name: string | null; action: "finish" | "pause"; enrollments: number };

/** Of these sequences (the caller's team's), the ones the caller may see, with whether they may edit them. */
async function sequenceRights(d: Db, caller: Caller, teamId: string, ids: string[]) {
  const out = new Map<string, { name: string; edit: boolean }>();
  if (!ids.length) return out;
  const rows = await d
    .select({ id: sequences.id, name: sequences.name, ownerId: sequences.ownerId, share: sequenceShares.access })
    .from(sequences)
    .leftJoin(sequenceShares, and(eq(sequenceShares.sequenceId, sequences.id), eq(sequenceShares.userId, caller.userId)))
    .where(and(eq(sequences.teamId, teamId), inList(sequences.id, ids)));
  for (const x of rows)
    if (sequenceAllows(caller, "sequence.view", x.ownerId, x.share ?? null))
      out.set(x.id, { name: x.name, edit: sequenceAllows(caller, "sequence.edit", x.ownerId, x.share ?? null) });
  return out;
}

/**
 * Undoes what an inbound email did, from its recorded effect, only where nothing else changed it
 * since: enrollments it finished come back to active at the same step (the SequenceDO re-checks the
 * step's wait and never sends a step twice: invariants 2 and 4), those it paused resume, the
 * suppression and the contact's mark it wrote go, the stage and the email's status come back. What
 * the person's later emails stand for stays (standingSince): a reply since keeps the runs as they are
 * and the Replied stage; an unsubscribe request or a hard bounce since keeps their own runs finished
 * and the address suppressed (handOver).
 */
async function undoEffect(
  env: Env,
  d: Db,
  caller: Caller,
  r: typeof inboundMessages.$inferSelect,
  t: number,
): Promise<{ said: string[]; leftAlone: LeftAlone[]; kept: EffectEntry[] }> {
  const said: string[] = [];
  const leftAlone: LeftAlone[] = [];
  // The entries of the runs left alone, for the new effect: this email still stands for them, and a later
  // correction by someone who may edit their sequence undoes them then.
  const kept: EffectEntry[] = [];
  const { e, suppressedBy, restamp } = await handOver(d, r, t, said);
  const [target] = await d.select({ toEmail: messages.toEmail }).from(messages).where(eq(messages.id, r.messageId));
  const email = (target?.toEmail ?? "").toLowerCase();
  // Only the suppression this email wrote goes. One the address got since by other means (its one-click
  // unsubscribe link, a list) stays, and so do the contact's mark and the runs it ended: invariant 5.
  // One a later request or bounce of the address stands for stays too (handOver), and with it the email's
  // opt-out stamp, but not the contact's mark: a duplicate's email marked the duplicate.
  let stillSuppressed = false;
  if (suppressedBy && email) {
    stillSuppressed = true;
    said.push(`${email} stays suppressed: ${suppressedBy}`);
  }
  if (e.suppressed && email) {
    const own = and(eq(suppressions.teamId, r.teamId), eq(suppressions.email, email), eq(suppressions.reason, e.suppressed));
    const gone = await d
      .delete(suppressions)
      .where(and(own, eq(suppressions.source, e.suppressed === "bounced" ? "dsn" : "reply")))
      .returning({ id: suppressions.id });
    stillSuppressed = !!(
      await d
        .select({ id: suppressions.id })
        .from(suppressions)
        .where(and(eq(suppressions.teamId, r.teamId), eq(suppressions.email, email)))
        .limit(1)
    ).length;
    said.push(
      stillSuppressed
        ? `${email} stays suppressed: it was suppressed since by other means (its unsubscribe link, a list)`
        : gone.length
          ? `${email} is no longer suppressed`
          : `${email} was not suppressed any more`,
    );
  }
  if (e.senderSuppressed) {
    // The forwarded reader's own request: only the suppression it wrote goes (by its id).
    const gone = await d
      .delete(suppressions)
      .where(and(eq(suppressions.teamId, r.teamId), eq(suppressions.id, e.senderSuppressed.id)))
      .returning({ id: suppressions.id });
    said.push(
      gone.length ? `${e.senderSuppressed.email} is no longer suppressed` : `${e.senderSuppressed.email} was not suppressed any more`,
    );
  }
  const rights = await sequenceRights(d, caller, r.teamId, [...new Set((e.enrollments ?? []).map((x) => x.sequenceId))]);
  for (const [sequenceId, group] of groupBy(e.enrollments ?? [], (x) => x.sequenceId)) {
    const seq = sequence(env, sequenceId, r.teamId);
    const finished = group.filter((g) => g.action === "finish");
    const right = rights.get(sequenceId);
    if (!right?.edit) {
      // Restarting or resuming runs is editing their sequence (sequence.edit): the email reached sequences
      // the corrector may not change (a reply stops the person everywhere), and those runs stay as they are.
      const paused = group.filter((g) => g.action === "pause");
      for (const [action, runs] of [
        ["finish", stillSuppressed ? [] : finished],
        ["pause", paused],
      ] as const) {
        if (!runs.length) continue;
        kept.push(...runs);
        leftAlone.push({ sequence_id: right ? sequenceId : null, sequence_name: right?.name ?? null, action, enrollments: runs.length });
        const state = action === "finish" ? "finished" : "paused";
        const n = runs.length === 1 ? "1 run" : `${runs.length} runs`;
        said.push(
          right
            ? `${n} in "${right.name}" ${runs.length === 1 ? "stays" : "stay"} ${state}: you can't edit that sequence`
            : `${n} in a sequence you can't see ${runs.length === 1 ? "stays" : "stay"} ${state}`,
        );
      }
      if (stillSuppressed)
        for (const g of finished)
          said.push(
            right
              ? `Enrollment ${g.id} was not reactivated: its address is still suppressed`
              : "A run in a sequence you can't see stays finished: its address is still suppressed",
          );
      continue;
    }
    if (finished.length && stillSuppressed)
      for (const g of finished) said.push(`Enrollment ${g.id} was not reactivated: its address is still suppressed`);
    else if (finished.length) {
      const back = await seq.reactivate(
        finished.map((g) => g.id),
        [...new Set(finished.map((g) => g.reason))],
        Object.fromEntries(finished.flatMap((g) => (g.from ? [[g.id, { reason: g.from.reason, until: g.from.until }]] : []))),
      );
      for (const g of finished)
        said.push(
          !back.includes(g.id)
            ? `Enrollment ${g.id} was not reactivated (it changed since, or the contact is in the sequence again)`
            : g.from
              ? `Enrollment ${g.id} is paused again at the same step, as it was`
              : `Enrollment ${g.id} is active again at the same step`,
        );
    }
    const paused = group.filter((g) => g.action === "pause");
    if (paused.length) {
      // Only those still paused for this reason: a user's own pause since stays.
      const still = await d
        .select({ id: enrollments.id })
        .from(enrollments)
        .where(
          and(
            inList(
              enrollments.id,
              paused.map((g) => g.id),
            ),
            eq(enrollments.status, "paused"),
            inList(enrollments.reason, [...new Set(paused.map((g) => g.reason))]),
          ),
        );
      const resumed = still.length ? await seq.resume(still.map((s) => s.id)) : [];
      for (const g of paused)
        said.push(resumed.includes(g.id) ? `Enrollment ${g.id} resumed` : `Enrollment ${g.id} was not resumed (it changed since)`);
    }
  }
  if (e.messageUnsubscribed && !stillSuppressed) await d.update(messages).set({ unsubscribedAt: null }).where(eq(messages.id, r.messageId));
  if (restamp && email) {
    // Lifted here first: the stamp is one email per address (stampUnsubscribed checks none is stamped).
    await d
      .update(messages)
      .set({ unsubscribedAt: null })
      .where(and(eq(messages.id, r.messageId), eq(messages.teamId, r.teamId)));
    await stampUnsubscribed(d, r.teamId, email, restamp.at, { id: restamp.messageId });
  }
  if (e.contactMarked && stillSuppressed && !suppressedBy)
    said.push(`The contact stays marked ${e.contactMarked}: its address is still suppressed`);
  else if (e.contactMarked) {
    const t = now();
    await d
      .update(contacts)
      .set(e.contactMarked === "bounced" ? { bouncedAt: null, updatedAt: t } : { unsubscribedAt: null, updatedAt: t })
      .where(and(eq(contacts.id, r.contactId), eq(contacts.teamId, r.teamId)));
    said.push(`The contact is no longer marked ${e.contactMarked}`);
  }
  if (e.stageFrom !== undefined) {
    const [replied] = await d
      .select({ id: contactStages.id })
      .from(contactStages)
      .where(and(eq(contactStages.teamId, r.teamId), eq(contactStages.name, "Replied")));
    if (replied) {
      const back = await d
        .update(contacts)
        .set({ stageId: e.stageFrom, updatedAt: now() })
        .where(and(eq(contacts.id, r.contactId), eq(contacts.teamId, r.teamId), eq(contacts.stageId, replied.id)))
        .returning({ id: contacts.id });
      if (back.length) said.push("The contact's stage is back to what it was");
    }
  }
  if (e.messageStatusFrom) {
    const from = e.messageStatusFrom as (typeof messages.$inferSelect)["status"];
    await d
      .update(messages)
      .set({ status: from, error: null })
      .where(and(eq(messages.id, r.messageId), eq(messages.status, "bounced")));
    said.push(`The email is ${from} again`);
  }
  // The email's answer goes back to what its other answers make it, and only while it is still this
  // one's kind: a reply that replaced this out-of-office stays the email's reply.
  if (r.classification === "reply" || r.classification === "out_of_office")
    await d
      .update(messages)
      .set(await answerOf(d, r.teamId, r.messageId, r.id))
      .where(and(eq(messages.id, r.messageId), eq(messages.teamId, r.teamId), eq(messages.replyKind, r.classification)));
  if (e.retry?.key) {
    const [m] = await d.select({ mailboxId: messages.mailboxId }).from(messages).where(eq(messages.id, r.messageId));
    const pulled = m ? await engine.mailbox(env, m.mailboxId).withdraw([{ enrollmentId: r.enrollmentId, stepId: e.retry.key }]) : [];
    said.push(pulled.length ? "The email's next try was taken back" : "The email's next try had already gone out");
  }
  return { said, leftAlone, kept };
}

/** What applying a classification did, in words (for the answer and the audit log). */
function describe(e: InboundEffect): string[] {
  const out: string[] = [];
  for (const x of e.enrollments ?? []) out.push(`Enrollment ${x.id} ${x.action === "finish" ? "finished" : "paused"} (${x.reason})`);
  if (e.suppressed) out.push(`Address suppressed (${e.suppressed})`);
  if (e.senderSuppressed)
    out.push(
      e.suppressed
        ? `Sender's address suppressed too (${e.senderSuppressed.email}): the request came from another address`
        : `Sender's address suppressed (${e.senderSuppressed.email}): a colleague's request, not the contact's`,
    );
  if (e.contactMarked) out.push(`Contact marked ${e.contactMarked}`);
  if (e.stageFrom !== undefined) out.push("Contact moved to the Replied stage");
  if (e.messageStatusFrom) out.push("Email marked bounced");
  return out;
}

/**
 * A user corrects (or confirms) a classification: the old effect is undone and the new one applied,
 * as if the email had been classified that way (a soft bounce: its retry is scheduled again), and the
 * correction is audit-logged with who made it. Needs edit access to the sequence (invariant 9).
 */
export async function correctClassification(env: Env, d: Db, caller: Caller, id: string, to: InboundClassification, confirm = false) {
  const r = await replyFor(d, caller, id, "sequence.edit");
  const t = now();
  if (r.classification === to) {
    await d.update(inboundMessages).set({ reviewedAt: t, reviewedBy: caller.userId }).where(eq(inboundMessages.id, r.id));
    return { reply: await getReply(d, caller, id), undone: [], applied: [], left_alone: [] };
  }
  // Taking back an unsubscribe request or a hard bounce lifts the address's suppression (undoEffect): the
  // same right, and for an opt-out the same confirmation, as lifting it on the Do not email list
  // (liftSuppression), checked before anything is written.
  if (r.classification === "unsubscribe" || r.classification === "bounce_hard") {
    authorize(
      caller,
      "suppressions.manage",
      `Only team admins can take back ${SAYS[r.classification]}: correcting it lifts the address's suppression`,
    );
    if (r.classification === "unsubscribe" && !confirm) {
      const message =
        "This person asked to unsubscribe: correcting it lifts their opt-out, so do it only if they did not ask to be removed, and confirm it";
      throw new ApiError("validation_failed", message, {
        fields: [{ field: "confirm", message, code: "opted_out", reason: "unsubscribed" }],
      });
    }
  }
  const [target] = await d
    .select({ toEmail: messages.toEmail, mailboxId: messages.mailboxId, stepId: messages.stepId, settings: sequences.settings })
    .from(messages)
    .innerJoin(sequences, eq(sequences.id, messages.sequenceId))
    .where(eq(messages.id, r.messageId));
  if (!target) throw new ApiError("conflict", "The email this answers no longer exists, so its classification can't change");
  // Claimed first, if the row is still as read and no other correction holds it (compare-and-set): two at
  // once would both undo the old effect and apply the new one, and the second store an empty effect
  // over the first's (a suppression no later correction would lift). What is undone is the row as claimed.
  const busy = r.effect.correcting && r.effect.correcting.at > t - CORRECTION_LEASE_MS;
  // An email being acted on late (applyStored) is left to it: its effect isn't written yet, so nothing would be undone.
  const applying = !!r.effect.applying && r.effect.applying > t - UNAPPLIED_AFTER_MS;
  const [claimed] =
    busy || applying
      ? []
      : await d
          .update(inboundMessages)
          .set({ effect: sql`json_set(${inboundMessages.effect}, '$.correcting', json(${JSON.stringify({ by: caller.userId, at: t })}))` })
          .where(
            and(
              eq(inboundMessages.id, r.id),
              eq(inboundMessages.classification, r.classification),
              sql`coalesce(json_extract(${inboundMessages.effect}, '$.correcting.at'), 0) = ${r.effect.correcting?.at ?? 0}`,
              sql`coalesce(json_extract(${inboundMessages.effect}, '$.applying'), 0) = ${r.effect.applying ?? 0}`,
            ),
          )
          .returning();
  if (!claimed)
    throw new ApiError(
      "conflict",
      busy
        ? "Someone else is correcting this email right now: reload in a moment to see what it is"
        : applying
          ? "This email is being acted on right now (that failed when it came in): reload in a moment to see what it did"
          : "Someone else changed this email's classification meanwhile: reload to see what it is now",
    );
  const { said: undone, leftAlone, kept } = await undoEffect(env, d, caller, claimed, t);
  const x: Target = {
    teamId: r.teamId,
    sequenceId: r.sequenceId,
    enrollmentId: r.enrollmentId,
    contactId: r.contactId,
    messageId: r.messageId,
    mailboxId: target.mailboxId,
    stepId: target.stepId,
    toEmail: target.toEmail,
    settings: target.settings,
    fromEmail: r.fromEmail,
  };
  const returnAt =
    to === "out_of_office" ? (claimed.returnAt && claimed.returnAt > t ? claimed.returnAt : t + OOO_DEFAULT_MS) : claimed.returnAt;
  const retryAttempt =
    to === "bounce_soft" ? Math.min(Math.max(1, claimed.retryAttempt), SOFT_BOUNCE_BACKOFF_MS.length) : claimed.retryAttempt;
  const retryAt = to === "bounce_soft" ? t + SOFT_BOUNCE_BACKOFF_MS[retryAttempt - 1]! : null;
  const made = await applyEffect(
    env,
    d,
    x,
    to,
    returnAt,
    t,
    claimed.receivedAt,
    retryAt === null ? undefined : { attempt: retryAttempt, at: retryAt },
  );
  // The runs left alone stay in the stored effect: dropped, they would be recorded nowhere, and no
  // correction (an admin's either) could restart them. Applying the new classification is not limited
  // to the sequences the corrector may edit: a reply stops the person everywhere, as the engine does
  // for one that came in so; only undoing is, and what it left alone is kept for a later one.
  const effect: InboundEffect = kept.length ? { ...made, enrollments: [...(made.enrollments ?? []), ...kept] } : made;
  // Stored with the lease released (the new effect has none), only while this correction still holds it.
  const stored = await d
    .update(inboundMessages)
    .set({
      classification: to,
      effect,
      returnAt,
      reviewedAt: t,
      reviewedBy: caller.userId,
      retryAttempt,
      retryAt,
    })
    .where(and(eq(inboundMessages.id, r.id), sql`json_extract(${inboundMessages.effect}, '$.correcting.at') = ${t}`))
    .returning({ id: inboundMessages.id });
  if (!stored.length)
    throw new ApiError("conflict", "This correction took too long and another one took over: reload to see what the email is now");
  // What this correction did: the runs kept from before were not its doing (left_alone says them).
  const applied = describe(made);
  await audit(d, caller, "reply.reclassified", "reply", r.id, {
    from: r.classification,
    to,
    undone,
    applied,
    left_alone: leftAlone,
    confirmed: confirm,
    enrollment_id: r.enrollmentId,
  });
  return {
    reply: await getReply(d, caller, id),
    undone,
    applied,
    left_alone: leftAlone,
    says: `Now ${SAYS[to]} (was ${SAYS[r.classification]})`,
  };
}
