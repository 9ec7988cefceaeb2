import { and, desc, eq, like, sql } from "drizzle-orm";
import { blockingReason, loadContactStates } from "../../durable-objects/eligibility";
import { mailboxStub } from "../../durable-objects/engine";
import { reasonText } from "../../durable-objects/engine-types";
import type { HandSendResult } from "../../durable-objects/mailbox-do";
import type { Db } from "../db/client";
import { contacts, mailboxes, messages } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { sha256Hex } from "../lib/crypto";
import { principalOf } from "../middleware/idempotency";
import { ApiError, notFound } from "../lib/errors";
import { ANSWER_STEP_PREFIX } from "../lib/answer-step";
import { newId } from "../lib/ids";
import { contactFor, mailboxFor } from "./access";
import { audit } from "./audit";
import { buildMessage, messageIdFor, subjectForThread } from "./mime";
import { replyFor } from "./replies";
import { suppressionMatches, suppressionWords } from "./suppressions";

/**
 * A rep's answer to an inbound email, written in the replies inbox and sent now from the mailbox the
 * email came to (the mailbox of our email it answers), threaded under it. It goes through that mailbox's
 * MailboxDO (MailboxDO.sendByHand): counted against its caps, recorded before the transport is called,
 * never sent twice for one key. Stored as an email with no sequence (sequence_id '', step_id
 * `reply:<key>`, the run's enrollment): the Outbox and the contact's timeline show it, an answer to it is
 * matched to the run (replies.ts findTarget), and no report counts it as a step's send.
 */

/** The longest answer a rep may write (a reply, not a newsletter). */
export const ANSWER_BODY_MAX = 20_000;
/** The quoted reply under the answer is cut to this many lines and characters, as mail clients keep it modest. */
const QUOTE_MAX_LINES = 40;
const QUOTE_MAX_CHARS = 4_000;

/** "Re: <their subject>" (never "Re: Re:"), or what the rep wrote. */
export function answerSubject(theirs: string, given?: string): string {
  const own = given?.trim();
  if (own) return own;
  return subjectForThread(theirs.trim() || "(no subject)");
}

/** Their email quoted the way mail clients do: "On <date>, <name> wrote:" and "> " lines, cut to a modest size. */
export function quoteOf(text: string, at: number, who: string): string {
  const date = new Date(at).toUTCString().replace(/ GMT$/, " UTC");
  let body = text.replace(/\r\n?/g, "\n").trimEnd();
  let cut = false;
  if (body.length > QUOTE_MAX_CHARS) {
    body = body.slice(0, QUOTE_MAX_CHARS);
    cut = true;
  }
  let lines = body.split("\n");
  if (lines.length > QUOTE_MAX_LINES) {
    lines = lines.slice(0, QUOTE_MAX_LINES);
    cut = true;
  }
  if (cut) lines.push("[…]");
  return `On ${date}, ${who} wrote:\n${lines.map((l) => (l ? `> ${l}` : ">")).join("\n")}`;
}

/** The classifications an answer never goes to: a mail server's bounce, and a request to be removed. */
const NOT_ANSWERED: Record<string, string> = {
  unsubscribe:
    "They asked to be removed from your emails: no answer is sent to them, a reply by hand included. Correct the classification first if they didn't ask that",
  bounce_hard: "This is a mail server's bounce, not a person: there is no one to answer",
  bounce_soft: "This is a mail server's bounce, not a person: there is no one to answer",
};

const refuse = (message: string, code: string, reason?: string) =>
  new ApiError("validation_failed", message, { fields: [{ field: "to", message, code, ...(reason ? { reason } : {}) }] });

/**
 * Why no email may go to `to` (invariant 5): the team's suppression list (the address or its domain), or a
 * live contact with the address, the reply's own included, unsubscribed, bounced or in a Do Not Contact stage.
 */
async function mustBeReachable(d: Db, teamId: string, to: string, contactId: string) {
  const suppressed = (await suppressionMatches(d, teamId, [to])).get(to);
  if (suppressed) throw refuse(`${suppressionWords(suppressed)}: no answer is sent to it`, "suppressed", suppressed.reason);
  const ids = await d
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(eq(contacts.teamId, teamId), sql`(lower(${contacts.email}) = ${to} OR ${contacts.id} = ${contactId})`));
  for (const c of (
    await loadContactStates(
      d,
      teamId,
      ids.map((r) => r.id),
    )
  ).values()) {
    // A deleted duplicate says nothing of the address; the reply's own contact was checked as existing.
    if (c.deletedAt) continue;
    const reason = blockingReason(c, false);
    if (reason) throw refuse(`${reasonText(reason)}: no answer is sent to this address`, "blocked", reason);
  }
}

/** An answer under this key is in the ledger or in the Outbox already: the dialog says to reload to see it. */
const alreadySent = () =>
  new ApiError("conflict", "This answer was already sent (the same request came twice): it is not sent again. Reload to see it");

/** The MailboxDO's refusal, in words; nothing was recorded as sent. */
function refusal(res: Extract<HandSendResult, { ok: false }>, mailbox: { email: string; dailyLimit: number; hourlyLimit: number }) {
  const when = (at: number | undefined) => (at ? new Date(at).toISOString().replace(/\.\d+Z$/, "Z") : "later");
  switch (res.code) {
    case "already":
      return alreadySent();
    case "blocked":
      return refuse(`${reasonText(res.reason ?? "suppressed")}: no answer is sent to this address`, "blocked", res.reason);
    case "not_connected":
      return new ApiError(
        "conflict",
        `${mailbox.email} is ${res.state === "needs_reconnect" ? "waiting to be signed in again" : (res.state ?? "not connected")}: reconnect or resume it first; nothing was sent`,
      );
    case "held_for_reply_check":
      return new ApiError(
        "conflict",
        `${mailbox.email} was signed in again and sends nothing until its reply check has read the inbox: try again once it has; nothing was sent`,
      );
    case "held":
      return new ApiError(
        "conflict",
        `${mailbox.email} is held until ${when(res.until)} after its provider refused a send (${res.message ?? "no reason given"}); nothing was sent`,
        { until: res.until ?? null },
      );
    case "daily_limit":
      return new ApiError(
        "conflict",
        `${mailbox.email} has sent its daily limit of ${mailbox.dailyLimit} emails in the last 24 hours: it can send again at ${when(res.until)}; nothing was sent`,
        { until: res.until ?? null },
      );
    case "hourly_limit":
      return new ApiError(
        "conflict",
        `${mailbox.email} has sent its hourly limit of ${mailbox.hourlyLimit} emails in the last hour: it can send again at ${when(res.until)}; nothing was sent`,
        { until: res.until ?? null },
      );
    case "not_sent": {
      // What the refusal did to the mailbox, as the Mailboxes screen will show it: the rep learns it here, not
      // from the next answer's refusal or the queue going quiet.
      const then =
        res.mailbox === "paused"
          ? `; ${mailbox.email} is paused until it is reconnected or resumed (Mailboxes), and sends nothing meanwhile`
          : res.mailbox === "held"
            ? `; ${mailbox.email} is held until ${when(res.until)} and sends nothing meanwhile`
            : "";
      return new ApiError("conflict", `Not sent: ${mailbox.email}'s server refused it (${res.message ?? "no reason given"})${then}`, {
        mailbox_status: res.mailbox ?? null,
        until: res.until ?? null,
      });
    }
  }
}

export interface AnswerSent {
  id: string | null;
  status: "sent" | "unknown" | "bounced";
  to_email: string;
  subject: string;
  body: string;
  sent_at: number;
  message_id: string;
  error: string | null;
  mailbox: { id: string; email: string };
}

/**
 * Sends a rep's answer to inbound email `id`. Rights: the reply visible (404 otherwise), its contact one the
 * caller may change (as moving its stage needs), and the mailbox it came to one the caller may send from
 * (403: its owner or an admin). Refused (422, nothing recorded) to an address that asked to be removed,
 * bounced or is suppressed; refused (409, nothing recorded) while the mailbox can't send now. The
 * Idempotency-Key, when given, names the answer in the mailbox's ledger: a retry of a request that died
 * after the hand-over finds it there and sends nothing again.
 */
export async function answerReply(
  env: Env,
  d: Db,
  caller: Caller,
  id: string,
  input: { body: string; subject?: string | undefined },
  idempotencyKey?: string,
): Promise<AnswerSent> {
  const r = await replyFor(d, caller, id, "sequence.view");
  // Our email it answers: only what threads the answer (not its raw MIME).
  const [ours] = await d
    .select({
      mailboxId: messages.mailboxId,
      subject: messages.subject,
      inReplyTo: messages.inReplyTo,
      messageIdHeader: messages.messageIdHeader,
    })
    .from(messages)
    .where(and(eq(messages.id, r.messageId), eq(messages.teamId, caller.teamId)));
  if (!ours) throw notFound("Reply");
  const contact = await contactFor(d, caller, r.contactId, "contact.edit");
  // One read of the mailbox: the right to send from it, and the settings the answer is built with. Its 404 (gone
  // or removed) is the reply's mailbox having been removed. Whether it can send now (connected, not held for its
  // reply check, within its caps) is MailboxDO.sendByHand's to say, at send time.
  const mb = await mailboxFor(d, caller, ours.mailboxId, "mailbox.send").catch((e: unknown) => {
    if (e instanceof ApiError && e.code === "not_found")
      throw new ApiError("conflict", "The mailbox this reply came to was removed: answer it from your own email client");
    throw e;
  });
  const said = NOT_ANSWERED[r.classification];
  if (said) throw refuse(said, r.classification);
  const to = (r.fromEmail || contact.email || "").trim().toLowerCase();
  if (!to) throw refuse("This reply has no sender address to answer", "no_email");
  await mustBeReachable(d, caller.teamId, to, contact.id);
  // The route's schema trimmed it and refused it empty.
  const body = input.body.replace(/\r\n?/g, "\n");

  // One key per answer: from the Idempotency-Key when there is one (a retry finds it in the ledger), else new.
  // 24 hex characters, the shape of a step id: the Message-ID is then one the inbound matcher knows as ours (OUR_ID).
  // The key and whose it is (as the Idempotency-Key middleware scopes it), not the reply or the text: the client
  // sends a new key for new text, so an answer rewritten after a failed try is a new answer, a retry of one
  // request still finds it, and another user or API key sending the same key sends its own answer.
  const key = idempotencyKey ? (await sha256Hex(`${principalOf(caller)}\n${idempotencyKey}`)).slice(0, 24) : newId();
  const stepId = `${ANSWER_STEP_PREFIX}${key}`;
  // The mailbox's ledger forgets a settled answer after 2 days and the idempotency record after 24 hours:
  // an old key sent again finds the answer in D1 instead, and nothing is sent twice.
  const [earlier] = await d
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.enrollmentId, r.enrollmentId), eq(messages.stepId, stepId), eq(messages.teamId, caller.teamId)))
    .limit(1);
  if (earlier) throw alreadySent();
  const domain = mb.email.split("@")[1]!;
  const messageId = messageIdFor(r.enrollmentId, key, domain);
  // Their Message-ID, when their email had one (one without is stored under a hash of its text).
  const theirs = r.headerId.startsWith("sha256:") ? null : r.headerId;
  const references = [...new Set([ours.inReplyTo, ours.messageIdHeader, theirs].filter((x): x is string => !!x))];
  const subject = answerSubject(r.subject || ours.subject, input.subject);
  const who = `${contact.firstName} ${contact.lastName}`.trim() || to;
  const quote = quoteOf(r.body ?? r.snippet, r.receivedAt, `${who} <${to}>`);
  // Below the signature when there is one, as Gmail and Outlook place it; else below the text.
  const text = mb.signature ? body : `${body}\n\n${quote}`;
  const t = now();
  const raw = buildMessage({
    from: { email: mb.email, name: mb.senderName },
    to: { email: to, name: who === to ? undefined : who },
    subject,
    text,
    messageId,
    inReplyTo: theirs ?? ours.messageIdHeader ?? undefined,
    references,
    date: t,
    // A person's answer in a conversation they started: no list footer (the sequence's emails carry it).
    unsubscribeUrl: "",
    postalAddress: "",
    signature: mb.signature ? `${mb.signature.trimEnd()}\n\n${quote}` : undefined,
  });
  const res = await mailboxStub(env, mb.id).sendByHand(mb.id, caller.teamId, {
    enrollmentId: r.enrollmentId,
    stepId,
    contactId: contact.id,
    to,
    subject,
    text: body,
    raw,
    messageId,
    inReplyTo: theirs ?? ours.messageIdHeader ?? null,
  });
  if (!res.ok) throw refusal(res, mb);
  const [stored] = await d
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.enrollmentId, r.enrollmentId), eq(messages.stepId, stepId), eq(messages.teamId, caller.teamId)));
  await audit(d, caller, "reply.answered", "contact", contact.id, {
    reply_id: r.id,
    mailbox_id: mb.id,
    message_id: stored?.id ?? null,
    status: res.state,
  });
  return {
    id: stored?.id ?? null,
    status: res.state,
    to_email: to,
    subject,
    body,
    sent_at: res.at,
    message_id: messageId,
    error: res.error,
    mailbox: { id: mb.id, email: mb.email },
  };
}

/** The answers sent by hand to inbound email `r` (the newest first), for its read dialog's thread. */
export async function answersOf(d: Db, teamId: string, r: { enrollmentId: string; headerId: string }) {
  const rows = await d
    .select({
      id: messages.id,
      status: messages.status,
      body: messages.body,
      subject: messages.subject,
      sent_at: messages.sentAt,
      mailbox: mailboxes.email,
    })
    .from(messages)
    .leftJoin(mailboxes, eq(mailboxes.id, messages.mailboxId))
    .where(
      and(
        eq(messages.teamId, teamId),
        eq(messages.enrollmentId, r.enrollmentId),
        like(messages.stepId, `${ANSWER_STEP_PREFIX}%`),
        r.headerId.startsWith("sha256:") ? undefined : eq(messages.inReplyTo, r.headerId),
      ),
    )
    .orderBy(desc(messages.sentAt))
    .limit(20);
  return rows;
}
