import type { Env } from "../env";
import { IN_LIST, listParam } from "../db/in-list";
import { appSecret } from "./secrets";
import { buildMessage, messageIdFor, signUnsubscribeToken, subjectForThread } from "./mime";
import type { QueuedEmail } from "./engine-types";
import { contactStatesStatement, toContactRows, type ContactRow } from "./eligibility";
import { renderSubject, renderTemplate, type TemplateContext } from "./templates";
import { fnv1a } from "../lib/hash";

export interface MailboxSettings {
  id: string;
  teamId: string;
  userId: string;
  email: string;
  senderName: string;
  signature: string;
  transport: "outbox" | "smtp" | "send_email" | "gmail" | "graph";
  transportConfig: Record<string, unknown>;
  secretCiphertext: string | null;
  dailyLimit: number;
  hourlyLimit: number;
  minGapSeconds: number;
  jitterSeconds: number;
  status: "connected" | "disconnected" | "paused" | "needs_reconnect";
  statusReason: string | null;
}

export async function loadMailbox(d1: D1Database, mailboxId: string): Promise<MailboxSettings | null> {
  const r = await d1.prepare("SELECT * FROM mailboxes WHERE id = ?").bind(mailboxId).first<Record<string, any>>();
  if (!r) return null;
  return {
    id: r.id,
    teamId: r.team_id,
    userId: r.user_id,
    email: r.email,
    senderName: r.sender_name,
    signature: r.signature,
    transport: r.transport,
    transportConfig: JSON.parse(r.transport_config || "{}"),
    secretCiphertext: r.secret_ciphertext,
    dailyLimit: r.daily_limit,
    hourlyLimit: r.hourly_limit,
    minGapSeconds: r.min_gap_seconds,
    jitterSeconds: r.jitter_seconds,
    status: r.status,
    statusReason: r.status_reason,
  };
}

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
}

/** Public base URL for links in emails (unsubscribe). */
export const publicUrl = (env: Env) => (env.PUBLIC_URL ?? "http://localhost:8787").replace(/\/$/, "");

/** Everything a batch of sends needs from D1, read in one round trip (D1 batch). */
export interface SendContext {
  contacts: Map<string, ContactRow>;
  variants: Map<string, { id: string; subject: string; body: string }[]>;
  postalAddress: string;
  sequences: Map<string, { active: boolean; archived: boolean }>;
}

export async function loadSendContext(d1: D1Database, teamId: string, items: Pick<QueuedEmail, "contactId" | "stepId" | "sequenceId">[]): Promise<SendContext> {
  const json = (xs: string[]) => listParam([...new Set(xs)]);
  const [contacts, variants, team, seqs] = await d1.batch<Record<string, any>>([
    contactStatesStatement(d1, teamId, [...new Set(items.map((i) => i.contactId))]),
    d1.prepare(`SELECT id, step_id, subject, body FROM step_variants WHERE step_id IN ${IN_LIST} AND enabled = 1 ORDER BY label, id`).bind(json(items.map((i) => i.stepId))),
    d1.prepare("SELECT postal_address FROM teams WHERE id = ?").bind(teamId),
    d1.prepare(`SELECT id, active, archived_at FROM sequences WHERE id IN ${IN_LIST} AND team_id = ?`).bind(json(items.map((i) => i.sequenceId)), teamId),
  ]);
  const byStep = new Map<string, { id: string; subject: string; body: string }[]>();
  for (const v of variants!.results) byStep.set(v.step_id, [...(byStep.get(v.step_id) ?? []), { id: v.id, subject: v.subject, body: v.body }]);
  return {
    contacts: toContactRows(contacts!.results),
    variants: byStep,
    postalAddress: team!.results[0]?.postal_address ?? "",
    sequences: new Map(seqs!.results.map((r) => [r.id, { active: !!r.active, archived: r.archived_at !== null }])),
  };
}

/** Renders the step's email for one contact into a complete RFC 5322 message. */
export async function composeEmail(env: Env, item: QueuedEmail, mailbox: MailboxSettings, at: number, sc: SendContext): Promise<ComposedEmail | null> {
  const contact = sc.contacts.get(item.contactId);
  if (!contact?.email) return null;
  const variant = pickVariant(sc.variants.get(item.stepId) ?? [], item.enrollmentId);
  const ctx: TemplateContext = {
    contact: {
      firstName: contact.firstName, lastName: contact.lastName, company: contact.company, title: contact.title,
      email: contact.email, city: contact.city, country: contact.country,
    },
    sender: { name: mailbox.senderName },
    now: at,
    timeZone: item.zone ?? item.window.timeZone,
  };
  const domain = mailbox.email.split("@")[1] ?? "seqflare.local";
  const messageId = messageIdFor(item.enrollmentId, item.stepId, domain);
  const rendered = renderSubject(variant?.subject ?? "", ctx);
  const subject = item.thread ? subjectForThread(item.thread.subject) : rendered || "(no subject)";
  const text = renderTemplate(variant?.body ?? "", ctx);
  const token = await signUnsubscribeToken(appSecret(env), { teamId: item.teamId, email: contact.email.toLowerCase() });
  const raw = buildMessage({
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
  });
  return { to: contact.email, subject, text, raw, messageId, inReplyTo: item.thread?.messageId ?? null, variantId: variant?.id ?? null };
}
