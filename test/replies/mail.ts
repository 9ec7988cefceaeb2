// Inbound emails as mail servers and people send them, answering a sent Seqflare email `m`.
import { now } from "../../worker/lib/clock";
import { env } from "../helpers";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor } from "../fixtures";

export interface Sent {
  id: string;
  enrollment_id: string;
  contact_id: string;
  to_email: string;
  subject: string;
  message_id_header: string;
}

/** A reply (or an auto-reply with `extra` headers) threaded to `m`. */
export const replyTo = (m: Sent, o: { extra?: string; subject?: string; body?: string; from?: string; id?: string } = {}) =>
  `From: Prospect <${o.from ?? m.to_email}>\r\nTo: sender@x.test\r\nSubject: ${o.subject ?? `Re: ${m.subject}`}\r\nMessage-ID: <${o.id ?? `r-${crypto.randomUUID()}`}@mail.test>\r\nIn-Reply-To: ${m.message_id_header}\r\nReferences: ${m.message_id_header}\r\n${o.extra ?? ""}Content-Type: text/plain\r\n\r\n${o.body ?? "Sounds good, let's talk Tuesday."}\r\n`;

/** A delivery status report (RFC 3464) for `m` with `status` (and `action`). */
export const dsn = (m: Sent, status: string, action = "failed", id = `d-${crypto.randomUUID()}`) =>
  `From: Mail Delivery System <MAILER-DAEMON@mx.test>\r\nTo: sender@x.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <${id}@mx.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; ${m.to_email}\r\nAction: ${action}\r\nStatus: ${status}\r\n--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: ${m.message_id_header}\r\nSubject: ${m.subject}\r\n--b1--\r\n`;

/**
 * A team with a Replied stage, a sequence of emails (`waits` in days before each step; default two
 * emails a day apart) and `n` contacts enrolled; runs until the first step went out to everyone.
 */
export async function sentFirst(
  o: { waits?: number[]; n?: number; emails?: (i: number) => string; settings?: Record<string, unknown> } = {},
) {
  const { teamId, userId } = await makeTeam();
  await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Replied', 'in_progress', 2)")
    .bind(`${teamId}-replied`, teamId)
    .run();
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    (o.waits ?? [0, 1]).map((w) => ({ wait: w, unit: "days" as const })),
    null,
  );
  if (o.settings) await env.DB.prepare("UPDATE sequences SET settings = ? WHERE id = ?").bind(JSON.stringify(o.settings), sequenceId).run();
  const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
  const contactIds = await makeContacts(teamId, o.n ?? 1);
  if (o.emails)
    for (const [i, id] of contactIds.entries())
      await env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(o.emails(i), id).run();
  await enroll(teamId, sequenceId, contactIds, [mb]);
  await runUntil(now() + HOUR);
  const sent = (await env.DB.prepare("SELECT * FROM messages WHERE sequence_id = ? ORDER BY to_email").bind(sequenceId).all<Sent>())
    .results;
  return { teamId, userId, sequenceId, stepIds, mailboxId: mb, contactIds, sent, m: sent[0]!, session: await sessionFor(teamId, userId) };
}

export const enrollmentRow = (id: string) =>
  env.DB.prepare("SELECT status, reason, current_step FROM enrollments WHERE id = ?")
    .bind(id)
    .first<{ status: string; reason: string | null; current_step: number }>();
export const countSent = async (sequenceId: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n;

/** A fresh email (no thread headers) from `from` to the mailbox `to`: a person writing anew, or a client that strips them. */
export const freshMail = (from: string, to: string, subject: string) =>
  `From: Prospect <${from}>\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <f-${crypto.randomUUID()}@mail.test>\r\nContent-Type: text/plain\r\n\r\nYes, let's talk Tuesday.\r\n`;

/**
 * One contact in two sequences (subjects "Pricing …" and "Intro …"), both emailing from one mailbox, run until
 * both first emails went out; in `team` when given (a test that set up its stages or subscriptions first).
 */
export async function twoOpenRuns(team?: { teamId: string; userId: string }) {
  const { teamId, userId } = team ?? (await makeTeam());
  const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
  const seq = async (subject: string) =>
    (
      await makeSequence(
        teamId,
        userId,
        [
          { wait: 0, variants: [{ subject, body: "Hello {{first_name}}" }] },
          { wait: 3, unit: "days" },
        ],
        null,
      )
    ).sequenceId;
  const pricing = await seq("Pricing for {{first_name}}");
  const intro = await seq("Intro for {{first_name}}");
  const [contactId] = await makeContacts(teamId, 1);
  await enroll(teamId, pricing, [contactId!], [mb]);
  await enroll(teamId, intro, [contactId!], [mb]);
  await runUntil(now() + HOUR);
  const sentIn = async (sequenceId: string) =>
    (await env.DB.prepare("SELECT * FROM messages WHERE sequence_id = ?").bind(sequenceId).first<Sent>())!;
  const mailbox = (await env.DB.prepare("SELECT email FROM mailboxes WHERE id = ?").bind(mb).first<{ email: string }>())!.email;
  return {
    teamId,
    userId,
    contactId: contactId!,
    mailbox,
    pricing: { id: pricing, email: await sentIn(pricing) },
    intro: { id: intro, email: await sentIn(intro) },
  };
}
