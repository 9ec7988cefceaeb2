import { and, asc, eq } from "drizzle-orm";
import type { Db } from "../worker/db/client";
import { inList } from "../worker/db/in-list";
import { stepVariants, teams } from "../worker/db/schema";
import type { Env } from "../worker/env";
import { fnv1a } from "../worker/lib/hash";
import { mailboxQuery, type MailboxSettings } from "../worker/transports/mailbox-settings";
import { appSecret } from "../worker/services/secrets";
import { bodyText, buildMessage, messageIdFor, signUnsubscribeToken, subjectForThread, type MessageInput } from "../worker/services/mime";
import { renderSubject, renderTemplate, type TemplateContext } from "../worker/services/templates";
import type { QueuedEmail } from "./engine-types";
import { sendChecksQueries, toSendChecks, type SendChecks } from "./eligibility";

/** A/B split: contacts spread evenly and deterministically over a step's enabled variants. */
export function pickVariant<T>(variants: T[], enrollmentId: string): T | undefined {
  if (!variants.length) return undefined;
  return variants[fnv1a(enrollmentId) % variants.length];
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
}

/** Public base URL for links in emails (unsubscribe). */
const publicUrl = (env: Env) => (env.PUBLIC_URL ?? "http://localhost:8787").replace(/\/$/, "");

/** Everything a batch of sends needs from D1, read in one round trip (D1 batch). */
export interface SendContext extends SendChecks {
  variants: Map<string, { id: string; subject: string; body: string }[]>;
  postalAddress: string;
  /**
   * The sending mailbox's settings as D1 holds them now, when asked for (`mailboxId`): the MailboxDO
   * checks its kept copy against them before each batch, at no extra round trip.
   */
  mailbox?: MailboxSettings | null;
}

export async function loadSendContext(
  d: Db,
  teamId: string,
  items: Pick<QueuedEmail, "contactId" | "stepId" | "sequenceId">[],
  mailboxId?: string,
): Promise<SendContext> {
  const reads = [
    ...sendChecksQueries(
      d,
      teamId,
      items.map((i) => i.contactId),
      items.map((i) => i.sequenceId),
    ),
    d
      .select({ id: stepVariants.id, stepId: stepVariants.stepId, subject: stepVariants.subject, body: stepVariants.body })
      .from(stepVariants)
      .where(and(inList(stepVariants.stepId, [...new Set(items.map((i) => i.stepId))]), eq(stepVariants.enabled, true)))
      .orderBy(asc(stepVariants.label), asc(stepVariants.id)),
    d.select({ postalAddress: teams.postalAddress }).from(teams).where(eq(teams.id, teamId)),
  ] as const;
  const [[contactRows, seqRows, variants, team], mailbox] = mailboxId
    ? await d.batch([...reads, mailboxQuery(d, mailboxId)]).then(([c, s, v, t, m]) => [[c, s, v, t] as const, m[0] ?? null] as const)
    : [await d.batch(reads), undefined];
  const byStep = new Map<string, { id: string; subject: string; body: string }[]>();
  for (const v of variants) byStep.set(v.stepId, [...(byStep.get(v.stepId) ?? []), { id: v.id, subject: v.subject, body: v.body }]);
  return {
    ...toSendChecks(contactRows, seqRows),
    variants: byStep,
    postalAddress: team[0]?.postalAddress ?? "",
    ...(mailbox !== undefined && { mailbox }),
  };
}

/** Renders the step's email for one contact into a complete RFC 5322 message. */
export async function composeEmail(
  env: Env,
  item: QueuedEmail,
  mailbox: MailboxSettings,
  at: number,
  sc: SendContext,
): Promise<ComposedEmail | null> {
  const contact = sc.contacts.get(item.contactId);
  if (!contact?.email) return null;
  const variant = pickVariant(sc.variants.get(item.stepId) ?? [], item.enrollmentId);
  const ctx: TemplateContext = {
    contact: {
      firstName: contact.firstName,
      lastName: contact.lastName,
      company: contact.company,
      title: contact.title,
      email: contact.email,
      city: contact.city,
      country: contact.country,
      custom: contact.customFields,
    },
    sender: { name: mailbox.senderName },
    now: at,
    timeZone: item.zone ?? item.window.timeZone,
  };
  const domain = mailbox.email.split("@")[1] ?? "seqflare.local";
  const messageId = messageIdFor(item.enrollmentId, item.stepId, domain);
  // A user's edit for this one contact replaces the step's text and is rendered the same way (scheduled-email.ts).
  const ov = item.override ?? null;
  const rendered = renderSubject(ov?.subject ?? variant?.subject ?? "", ctx);
  const subject = item.thread ? subjectForThread(item.thread.subject) : rendered || "(no subject)";
  const text = renderTemplate(ov?.body ?? variant?.body ?? "", ctx);
  const token = await signUnsubscribeToken(appSecret(env), { teamId: item.teamId, email: contact.email.toLowerCase() });
  const input: MessageInput = {
    from: { email: mailbox.email, name: mailbox.senderName },
    to: { email: contact.email, name: [contact.firstName, contact.lastName].filter(Boolean).join(" ") || undefined },
    subject,
    text,
    messageId,
    inReplyTo: item.thread?.messageId,
    references: item.thread ? [item.thread.messageId] : undefined,
    date: at,
    unsubscribeUrl: `${publicUrl(env)}/unsubscribe/${token}`,
    postalAddress: sc.postalAddress,
    signature: mailbox.signature,
  };
  const raw = buildMessage(input);
  // An edited email is not its variant's any more: it stays out of the A/B figures.
  const variantId = ov ? null : (variant?.id ?? null);
  return { to: contact.email, subject, text, raw, messageId, inReplyTo: item.thread?.messageId ?? null, variantId, shown: bodyText(input) };
}
