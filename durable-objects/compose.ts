import type { Db } from "../worker/db/client";
import type { Env } from "../worker/env";
import { fnv1a } from "../worker/lib/hash";
import type { MailboxSettings } from "../worker/transports/mailbox-settings";
import { appSecret, publicUrl } from "../worker/services/secrets";
import {
  bodyText,
  buildMessage,
  messageIdFor,
  PREVIEW_UNSUBSCRIBE_TOKEN,
  signUnsubscribeToken,
  subjectForThread,
  type MessageInput,
} from "../worker/services/mime";
import { missingValues, renderSubject, renderTemplate, type TemplateContext } from "../worker/services/templates";
import type { QueuedEmail } from "./engine-types";
import { sendChecksStatements, toSendChecks, type ContactRow, type SendChecks } from "./eligibility";

/**
 * murmur3's finalizer: fnv1a alone barely mixes its last bytes (the variant id), so the variants' scores for one
 * contact were correlated and one variant won more than its share (1,103 of 3,000 for three).
 */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A/B split: contacts spread evenly and deterministically over a step's enabled variants, by rendezvous
 * hashing: each contact gets the variant scoring highest for it (fnv1a of enrollment id and variant id).
 * A variant's score doesn't depend on the others, so turning one off, deleting it or adding one moves only
 * the contacts that change to or from it; a hash modulo the count of variants reshuffled the others too.
 * Emails already sent keep the variant recorded on their message (messages.variant_id, what reports read).
 */
export function pickVariant<T extends { id: string }>(variants: T[], enrollmentId: string): T | undefined {
  let best: T | undefined;
  let bestScore = -1;
  for (const v of variants) {
    const score = mix32(fnv1a(`${enrollmentId}:${v.id}`));
    // Ties (rare) go to the lower id, so the choice never rests on the order the variants were read in.
    if (score > bestScore || (score === bestScore && best && v.id < best.id)) [best, bestScore] = [v, score];
  }
  return best;
}

/** The subject a same-thread reply with no thread goes under: its opener's, the variant this contact got there. */
export function openerSubject(sc: Pick<SendContext, "threadOpeners">, stepId: string, enrollmentId: string): string {
  return pickVariant(sc.threadOpeners.get(stepId) ?? [], enrollmentId)?.subject ?? "";
}

export interface ComposedEmail {
  to: string;
  subject: string;
  text: string;
  raw: string;
  messageId: string;
  inReplyTo: string | null;
  variantId: string | null;
  /** What the recipient reads (body, signature, footer): the scheduled-email preview shows it. */
  shown: string;
  /**
   * Why this email must not go as composed, a reason code the MailboxDO settles it with (cancelled; the
   * SequenceDO pauses the contact on the step, saying why): `no_variant` (the step has no variant on, and
   * no edit of this contact's gives the text), or `missing_variables: <names>` (the text uses variables this
   * contact has no value for and no fallback: "Hi ," is never sent). Null (or absent): it may go.
   */
  refused?: string | null;
  /**
   * The variables this contact has no value for (and no fallback) where this email shows them: the body's, and
   * the subject's unless it goes under the thread's. Non-empty: `refused` says missing_variables.
   */
  missing: string[];
}

/**
 * Why a refused email (`ComposedEmail.refused`) won't go, in words: the previews' text and a step test's 422 say it
 * alike. `missing` is the same email's `missing`, the names its missing_variables refusal was written from.
 */
export function refusalWhy(refused: string, missing: readonly string[]): string {
  return refused === "no_variant"
    ? "the step has no variant turned on"
    : missing.length
      ? `the email uses ${missing.map((n) => `{{${n}}}`).join(", ")}, which this contact has no value for: fill it in, or give the variable a fallback`
      : refused;
}

/** A refusal as a preview says it: the email won't go, and the contact waits on the step. */
export function refusalText(refused: string, missing: readonly string[]): string {
  return `Not sent: the contact will be paused on this step (${refusalWhy(refused, missing)})`;
}

/** Everything a batch of sends needs from D1, read in one round trip (D1 batch). */
export interface SendContext extends SendChecks {
  variants: Map<string, { id: string; subject: string; body: string }[]>;
  /**
   * For each same-thread reply of the batch, the ids and subjects of the email step it follows (its enabled
   * variants, in label order): the subject it goes under when its contact has no thread to reply in.
   */
  threadOpeners: Map<string, { id: string; subject: string }[]>;
  /**
   * Each enrollment's thread as its sent emails say (RUN_THREAD_SQL), for the items that named their
   * enrollment: what a same-thread reply answers.
   */
  threads: Map<string, { messageId: string; subject: string }>;
  postalAddress: string;
  /**
   * The sending mailbox's settings as D1 holds them now, when asked for (`mailboxId`): the MailboxDO
   * checks its kept copy against them before each batch, at no extra round trip.
   */
  mailbox?: MailboxSettings | null;
}

/**
 * mailboxQuery (transports/mailbox-settings.ts) as a written statement: the same columns, answered by
 * toMailboxSettings as the same object key for key, since the MailboxDO compares it with its kept copy
 * as JSON (test/engine/send-context-reads holds the two equal).
 */
const MAILBOX_SQL = `SELECT id, team_id, user_id, email, sender_name, signature, transport, transport_config, secret_ciphertext, daily_limit,
  hourly_limit, min_gap_seconds, jitter_seconds, status, status_reason FROM mailboxes WHERE id = ?`;

function toMailboxSettings(row: unknown): MailboxSettings | null {
  if (!row) return null;
  const r = row as Record<string, string | number | null>;
  return {
    id: r.id as string,
    teamId: r.team_id as string,
    userId: r.user_id as string,
    email: r.email as string,
    senderName: r.sender_name as string,
    signature: r.signature as string,
    transport: r.transport as MailboxSettings["transport"],
    transportConfig: JSON.parse(r.transport_config as string) as Record<string, unknown>,
    secretCiphertext: r.secret_ciphertext as string | null,
    dailyLimit: r.daily_limit as number,
    hourlyLimit: r.hourly_limit as number,
    minGapSeconds: r.min_gap_seconds as number,
    jitterSeconds: r.jitter_seconds as number,
    status: r.status as MailboxSettings["status"],
    statusReason: r.status_reason as string | null,
  };
}

const VARIANTS_SQL =
  "SELECT id, step_id AS stepId, subject, body FROM step_variants WHERE step_id IN (SELECT value FROM json_each(?)) AND enabled = 1 ORDER BY label, id";
const POSTAL_ADDRESS_SQL = "SELECT postal_address AS postalAddress FROM teams WHERE id = ?";
/**
 * A same-thread reply's opener: the nearest email step before it that starts a thread (turned off or not:
 * a contact who skipped it would have seen its subject), with that step's enabled variants' subjects.
 * "Before" in STEP_ORDER (position, then id), as the editor lists and the engine runs them: by position
 * alone, a step tied with the reply was never its opener.
 */
const THREAD_OPENERS_SQL = `SELECT s.id AS stepId, v.id, v.subject FROM steps s
  JOIN step_variants v ON v.step_id = (SELECT o.id FROM steps o WHERE o.sequence_id = s.sequence_id AND (o.position, o.id) < (s.position, s.id)
                                         AND o.type = 'auto_email' AND o.thread_reply = 0 ORDER BY o.position DESC, o.id DESC LIMIT 1)
  WHERE s.id IN (SELECT value FROM json_each(?)) AND s.thread_reply = 1 AND v.enabled = 1 ORDER BY v.label, v.id`;

/**
 * A run's thread: its latest email that went out (sent, or maybe sent: never resent) as a new email, not as a
 * reply in a thread. A same-thread reply answers the email before it, so an email step that starts a new
 * thread ("Case study" after "Intro") is the thread from then on, as the editor says ("reply in the same
 * thread as the previous email"). Read from the sent emails, not the SequenceDO's kept thread, which runs
 * already under way kept from their first email: each reply after a second new email answered the first.
 * Bare columns beside max() are the row of the max in SQLite. On messages_enrollment_step_uq: the unary `+`
 * keeps a planner without statistics off messages_team_sent_idx, which read every email the team ever sent.
 */
const RUN_THREAD_SQL = `SELECT enrollment_id AS enrollmentId, message_id_header AS messageId, subject, max(coalesce(sent_at, created_at)) AS at
  FROM messages WHERE enrollment_id IN (SELECT value FROM json_each(?)) AND +team_id = ? AND status IN ('sent', 'unknown') AND in_reply_to IS NULL
  GROUP BY enrollment_id`;

/**
 * Everything a batch of sends needs, in one D1 batch of written statements (the send path runs one per
 * batch of emails: no query building each time).
 */
export async function loadSendContext(
  d: Db,
  teamId: string,
  items: (Pick<QueuedEmail, "contactId" | "stepId" | "sequenceId"> & { enrollmentId?: string })[],
  mailboxId?: string,
): Promise<SendContext> {
  const d1 = d.$client;
  const steps = [...new Set(items.map((i) => i.stepId))];
  const stepIds = JSON.stringify(steps);
  const runs = [...new Set(items.flatMap((i) => (i.enrollmentId ? [i.enrollmentId] : [])))];
  const [contactRows, seqRows, live, variants, openers, team, runThreads, mailbox] = await d1.batch([
    ...sendChecksStatements(
      d1,
      teamId,
      items.map((i) => i.contactId),
      items.map((i) => i.sequenceId),
      steps,
    ),
    d1.prepare(VARIANTS_SQL).bind(stepIds),
    d1.prepare(THREAD_OPENERS_SQL).bind(stepIds),
    d1.prepare(POSTAL_ADDRESS_SQL).bind(teamId),
    d1.prepare(RUN_THREAD_SQL).bind(JSON.stringify(runs), teamId),
    ...(mailboxId ? [d1.prepare(MAILBOX_SQL).bind(mailboxId)] : []),
  ]);
  const byStep = new Map<string, { id: string; subject: string; body: string }[]>();
  for (const v of variants!.results as { id: string; stepId: string; subject: string; body: string }[])
    byStep.set(v.stepId, [...(byStep.get(v.stepId) ?? []), { id: v.id, subject: v.subject, body: v.body }]);
  const threadOpeners = new Map<string, { id: string; subject: string }[]>();
  for (const o of openers!.results as { stepId: string; id: string; subject: string }[])
    threadOpeners.set(o.stepId, [...(threadOpeners.get(o.stepId) ?? []), { id: o.id, subject: o.subject }]);
  const threads = new Map<string, { messageId: string; subject: string }>();
  for (const r of runThreads!.results as { enrollmentId: string; messageId: string; subject: string }[])
    threads.set(r.enrollmentId, { messageId: r.messageId, subject: r.subject });
  return {
    ...toSendChecks(contactRows!, seqRows!, live!),
    variants: byStep,
    threadOpeners,
    threads,
    postalAddress: (team!.results[0] as { postalAddress: string } | undefined)?.postalAddress ?? "",
    ...(mailbox && { mailbox: toMailboxSettings(mailbox.results[0]) }),
  };
}

/** What a template is filled with for one contact (the email sent, its preview, a manual email's draft). */
export function templateContext(c: ContactRow | undefined, senderName: string, at: number, timeZone: string): TemplateContext {
  return {
    contact: {
      firstName: c?.firstName ?? "",
      lastName: c?.lastName ?? "",
      company: c?.company ?? null,
      title: c?.title ?? null,
      email: c?.email ?? null,
      city: c?.city ?? null,
      country: c?.country ?? null,
      custom: c?.customFields ?? {},
    },
    sender: { name: senderName },
    now: at,
    timeZone,
  };
}

/**
 * Renders the step's email for one contact into a complete RFC 5322 message. `preview`: for a screen, not a
 * send: the unsubscribe link is PREVIEW_UNSUBSCRIBE_TOKEN's, not the contact's.
 */
export async function composeEmail(
  env: Env,
  item: QueuedEmail,
  mailbox: MailboxSettings,
  at: number,
  sc: SendContext,
  preview = false,
): Promise<ComposedEmail | null> {
  const contact = sc.contacts.get(item.contactId);
  if (!contact?.email) return null;
  const variant = pickVariant(sc.variants.get(item.stepId) ?? [], item.enrollmentId);
  const ctx = templateContext(contact, mailbox.senderName, at, item.zone ?? item.window.timeZone);
  const domain = mailbox.email.split("@")[1] ?? "seqflare.local";
  const messageId = messageIdFor(item.enrollmentId, item.stepId, domain);
  // A user's edit for this one contact replaces the step's text and is rendered the same way (scheduled-email.ts).
  const ov = item.override ?? null;
  // The thread is the run's as its sent emails say (else the one handed over with the email), if its step
  // still replies in the same thread: a step whose threading was turned off after the hand-over goes as
  // a new email under its own subject.
  const thread = sc.threadSteps.has(item.stepId) ? (sc.threads.get(item.enrollmentId) ?? item.thread) : null;
  // A same-thread reply whose contact has no thread (the email before it was skipped, turned off or
  // deleted) starts one: under its own subject if it has one, else its opener's, the variant this contact gets.
  let subjectTemplate = ov?.subject ?? variant?.subject ?? "";
  if (!thread && !subjectTemplate.trim()) subjectTemplate = openerSubject(sc, item.stepId, item.enrollmentId);
  const rendered = renderSubject(subjectTemplate, ctx);
  const subject = thread ? subjectForThread(thread.subject) : rendered || "(no subject)";
  const bodyTemplate = ov?.body ?? variant?.body ?? "";
  const text = renderTemplate(bodyTemplate, ctx);
  // A reply in the thread goes under the thread's subject: only the body's variables count then.
  const missing = [...new Set([...(thread ? [] : missingValues(subjectTemplate, ctx)), ...missingValues(bodyTemplate, ctx)])];
  const refused = !variant && ov?.body == null ? "no_variant" : missing.length ? `missing_variables: ${missing.join(", ")}` : null;
  const token = preview
    ? PREVIEW_UNSUBSCRIBE_TOKEN
    : await signUnsubscribeToken(appSecret(env), { teamId: item.teamId, email: contact.email.toLowerCase(), messageId });
  const input: MessageInput = {
    from: { email: mailbox.email, name: mailbox.senderName },
    to: { email: contact.email, name: [contact.firstName, contact.lastName].filter(Boolean).join(" ") || undefined },
    subject,
    text,
    messageId,
    inReplyTo: thread?.messageId,
    references: thread ? [thread.messageId] : undefined,
    date: at,
    unsubscribeUrl: `${publicUrl(env)}/unsubscribe/${token}`,
    postalAddress: sc.postalAddress,
    signature: mailbox.signature,
  };
  const raw = buildMessage(input);
  // An edited email is not its variant's any more: it stays out of the A/B figures.
  const variantId = ov ? null : (variant?.id ?? null);
  return {
    to: contact.email,
    subject,
    text,
    raw,
    messageId,
    inReplyTo: thread?.messageId ?? null,
    variantId,
    shown: bodyText(input),
    refused,
    missing,
  };
}
