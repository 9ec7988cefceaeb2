import { and, asc, desc, eq, ne } from "drizzle-orm";
import {
  composeEmail,
  loadSendContext,
  openerSubject,
  refusalText,
  refusalWhy,
  templateContext,
  type ComposedEmail,
} from "../../durable-objects/compose";
import { blockingReason } from "../../durable-objects/eligibility";
import { reasonText, type ReasonCode, type QueuedEmail } from "../../durable-objects/engine-types";
import { loadSequenceConfig, sendingZone } from "../../durable-objects/sequence-config";
import type { Db } from "../db/client";
import { enrollments, mailboxes, steps, stepVariants, users } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { loadMailbox, type MailboxSettings } from "../transports/mailbox-settings";
import { contactFor, mailboxFor, sendableMailboxes, sequenceFor } from "./access";
import { sendTestMessage, type TestResult } from "./mailboxes";
import { buildMessage, messageIdFor, PREVIEW_UNSUBSCRIBE_TOKEN } from "./mime";
import { publicUrl } from "./secrets";
import { renderSubject } from "./templates";

/**
 * A sequence step's email as one contact of the team would get it, before it is sent to anyone: the send
 * path's own composer (compose.ts: variant, variables and fallbacks, the thread's subject, signature, footer),
 * the same one the scheduled-email preview runs, so the editor never shows an email the engine would not send.
 * The contact need not be in the sequence. Its test goes to the caller through the mailbox's test-email path.
 */

export interface StepPreviewInput {
  contact_id: string;
  variant_id?: string | undefined;
  mailbox_id?: string | undefined;
}

/**
 * The mailbox a preview is written from: the one asked for, else the contact's in this sequence, else one the
 * caller may send from, else any of the team's (a member may view them all): the From line and the signature
 * depend on it.
 */
async function previewMailbox(d: Db, caller: Caller, asked: string | undefined, runMailbox: string | null | undefined) {
  if (asked) return (await loadMailbox(d, (await mailboxFor(d, caller, asked, "mailbox.view")).id))!;
  if (runMailbox) {
    // The run's mailbox through the same check as an asked one; one removed (or out of reach) falls to the next choice.
    const m = await mailboxFor(d, caller, runMailbox, "mailbox.view").catch((e: unknown) => {
      if (e instanceof ApiError) return null;
      throw e;
    });
    if (m) return (await loadMailbox(d, m.id))!;
  }
  const rows = await d
    .select({ id: mailboxes.id, userId: mailboxes.userId })
    .from(mailboxes)
    .where(and(eq(mailboxes.teamId, caller.teamId), ne(mailboxes.status, "removed")))
    .orderBy(asc(mailboxes.createdAt), asc(mailboxes.id));
  const pick = sendableMailboxes(caller, rows)[0] ?? rows[0];
  if (!pick)
    throw new ApiError("validation_failed", "The team has no mailbox to write this email from: connect one on the Mailboxes page", {
      fields: [{ field: "mailbox_id", message: "Connect a mailbox first" }],
    });
  return (await loadMailbox(d, pick.id))!;
}

interface Rendered {
  step: typeof steps.$inferSelect;
  contact: { id: string; name: string; email: string };
  inSequence: boolean;
  variant: { id: string; label: string } | null;
  mailbox: MailboxSettings;
  mail: ComposedEmail;
  /** Why the send path would email this contact nothing at all (eligibility.ts blockingReason), if it would. */
  blocked: ReasonCode | null;
  postalAddress: string;
}

/** The step's email for the contact, composed as the send path would now (the read checks of the preview). */
async function renderStepEmail(
  env: Env,
  d: Db,
  caller: Caller,
  sequenceId: string,
  stepId: string,
  input: StepPreviewInput,
): Promise<Rendered> {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.view");
  const step = await d.query.steps.findFirst({
    where: and(eq(steps.id, stepId), eq(steps.sequenceId, seq.id), eq(steps.teamId, caller.teamId)),
  });
  if (!step) throw notFound("Step");
  if (step.type !== "auto_email") {
    const message =
      step.type === "manual_email"
        ? "This step is a manual email: its rep writes it from the task's draft, which the Tasks screen shows for each contact"
        : "Only an automatic email step has an email to preview: this step is a call, task or LinkedIn step";
    throw new ApiError("validation_failed", message, { fields: [{ field: "stepId", message }] });
  }
  const contact = await contactFor(d, caller, input.contact_id);
  const [chosen, run] = await Promise.all([
    input.variant_id
      ? d.query.stepVariants.findFirst({ where: and(eq(stepVariants.id, input.variant_id), eq(stepVariants.stepId, step.id)) })
      : null,
    // The contact's latest run in this sequence, if any: the variant it gets and its thread are that run's.
    d.query.enrollments.findFirst({
      where: and(eq(enrollments.sequenceId, seq.id), eq(enrollments.contactId, contact.id), eq(enrollments.teamId, caller.teamId)),
      orderBy: [desc(enrollments.createdAt), desc(enrollments.id)],
    }),
  ]);
  if (input.variant_id && !chosen) throw notFound("Variant");
  const [mb, cfg] = await Promise.all([previewMailbox(d, caller, input.mailbox_id, run?.mailboxId), loadSequenceConfig(d, seq.id)]);
  if (!cfg) throw notFound("Sequence");
  // A contact not in the sequence has no run yet: their variant is picked by their contact id, the same even split.
  const key = run?.id ?? `preview.${contact.id}`;
  const t = now();
  const item: QueuedEmail = {
    enrollmentId: key,
    stepId: step.id,
    sequenceId: seq.id,
    teamId: caller.teamId,
    contactId: contact.id,
    dueAt: t,
    score: contact.score ?? 0,
    window: cfg.window,
    zone: sendingZone(cfg, contact.timeZone),
    thread: null,
    override: null,
  };
  const sc = await loadSendContext(d, caller.teamId, [item]);
  // A variant chosen in the editor is previewed whether it is on or not (it may be about to be turned on).
  if (chosen) sc.variants.set(step.id, [{ id: chosen.id, subject: chosen.subject, body: chosen.body }]);
  // The step as it is set, on or off: the send path reads only steps that are on.
  if (step.threadReply) {
    sc.threadSteps.add(step.id);
    // No email of the thread has gone to this contact yet: the reply answers the opener this contact would get,
    // rendered for them, as it will have been sent ("Re: <its subject>").
    const openers = sc.threadOpeners.get(step.id) ?? [];
    if (!sc.threads.has(key) && openers.length) {
      const row = sc.contacts.get(contact.id);
      const opener = renderSubject(
        openerSubject(sc, step.id, key),
        templateContext(row, mb.senderName, t, item.zone ?? cfg.window.timeZone),
      );
      item.thread = { messageId: messageIdFor(key, `${step.id}.opener`, mb.email.split("@")[1] ?? ""), subject: opener || "(no subject)" };
    }
  }
  // A preview's unsubscribe link opts nobody out, and so does the test email's.
  const mail = await composeEmail(env, item, mb, t, sc, true);
  if (!mail)
    throw new ApiError("validation_failed", "This contact has no email address: an email step skips them", {
      fields: [{ field: "contact_id", message: "This contact has no email address" }],
    });
  const variants = chosen
    ? [chosen]
    : await d
        .select({ id: stepVariants.id, label: stepVariants.label })
        .from(stepVariants)
        .where(and(eq(stepVariants.stepId, step.id), eq(stepVariants.enabled, true)));
  const variant = variants.find((v) => v.id === mail.variantId);
  return {
    step,
    contact: { id: contact.id, name: [contact.firstName, contact.lastName].filter(Boolean).join(" "), email: mail.to },
    inSequence: !!run,
    variant: variant ? { id: variant.id, label: variant.label } : null,
    mailbox: mb,
    mail,
    // The contact as the send context read it, checked as the engine checks it when the step falls due.
    blocked: blockingReason(sc.contacts.get(contact.id), true),
    postalAddress: sc.postalAddress,
  };
}

/**
 * A contact the engine emails nothing (unsubscribed, bounced, Do Not Contact, suppressed), as the preview says it:
 * their run ends when it reaches the step, in the engine's own words for the reason. The test goes to the caller,
 * not to them, so it is still allowed.
 */
function blockedText(reason: ReasonCode): string {
  return `Not sent: ${reasonText(reason)}, so no sequence emails this contact: their run ends when it reaches this step (a test to yourself still goes)`;
}

/**
 * The preview as the API answers it. `refused`: why the contact would not get this email, the blocking reason
 * first (the engine checks it before composing), and whether a test of it may still go to the caller.
 */
export async function previewStep(env: Env, d: Db, caller: Caller, sequenceId: string, stepId: string, input: StepPreviewInput) {
  const r = await renderStepEmail(env, d, caller, sequenceId, stepId, input);
  return {
    step: { id: r.step.id, position: r.step.position, thread_reply: r.step.threadReply, enabled: r.step.enabled },
    contact: { ...r.contact, in_sequence: r.inSequence },
    variant: r.variant,
    mailbox: { id: r.mailbox.id, email: r.mailbox.email },
    from: { email: r.mailbox.email, name: r.mailbox.senderName },
    to: r.mail.to,
    subject: r.mail.subject,
    body: r.mail.shown,
    missing: r.mail.missing,
    refused: r.blocked
      ? { reason: r.blocked as string, text: blockedText(r.blocked), test_allowed: !r.mail.refused }
      : r.mail.refused
        ? { reason: r.mail.refused, text: refusalText(r.mail.refused, r.mail.missing), test_allowed: false }
        : null,
  };
}

/**
 * The step's email for the contact, sent to the caller's own address through the mailbox's test-email path
 * (mailboxes.ts sendTestMessage: the right to test the mailbox, the hourly cap, recorded as a test email, so no
 * run, contact, report or outbox count of the sequence changes). Never to the contact. It goes as the contact
 * would see it, subject included (the mailbox's own test marks nothing either), except the unsubscribe link: a
 * preview's, which opts nobody out. The contact's would opt the contact out; one signed for the caller's address
 * suppressed it when the rep checked the link or their mail app's Unsubscribe button posted it, and every later
 * test to them was refused. A contact the engine won't email is still tested: the test goes to the caller.
 */
export async function sendStepTest(
  env: Env,
  d: Db,
  caller: Caller,
  sequenceId: string,
  stepId: string,
  input: StepPreviewInput & { mailbox_id: string },
) {
  // The right to send a test from the mailbox first: a caller without it learns nothing of the rendering.
  await mailboxFor(d, caller, input.mailbox_id, "mailbox.manage");
  const r = await renderStepEmail(env, d, caller, sequenceId, stepId, input);
  if (r.mail.refused) {
    const message = `Nothing was sent: ${refusalWhy(r.mail.refused, r.mail.missing)}`;
    throw new ApiError("validation_failed", message, {
      fields: [{ field: "contact_id", message, code: r.mail.refused === "no_variant" ? "no_variant" : "missing_variables" }],
      missing: r.mail.missing,
    });
  }
  const me = await d
    .select({ email: users.email })
    .from(users)
    .where(and(eq(users.id, caller.userId), eq(users.teamId, caller.teamId)))
    .get();
  if (!me) throw notFound("User");
  const { subject, text } = r.mail;
  const res: TestResult = await sendTestMessage(env, d, caller, r.mailbox.id, me.email, async (mb, to, messageId, t) => {
    const raw = buildMessage({
      from: { email: mb.email, name: mb.senderName },
      to: { email: to },
      subject,
      text,
      messageId,
      date: t,
      unsubscribeUrl: `${publicUrl(env)}/unsubscribe/${PREVIEW_UNSUBSCRIBE_TOKEN}`,
      postalAddress: r.postalAddress,
      signature: mb.signature,
    });
    return { subject, text, raw };
  });
  return {
    ...res,
    to: me.email.toLowerCase(),
    from: { email: r.mailbox.email, name: r.mailbox.senderName },
    subject,
    contact: r.contact,
    variant: r.variant,
  };
}
