import { and, asc, desc, eq, exists, isNotNull, notExists, sql } from "drizzle-orm";
import { db } from "../db/client";
import { inList } from "../db/in-list";
import { enrollments, messages } from "../db/schema";
import type { Env } from "../env";
import { handleInbound } from "../inbound";
import { now } from "../lib/clock";
import { DEMO } from "./demo";

/**
 * The demo's replies inbox: one inbound email of each kind (a reply, an out-of-office with its return
 * date, a hard and a soft bounce, an unsubscribe request, an auto-reply), each written as a mail server
 * or a person sends it and delivered to the same `handleInbound` the email() handler calls, so the
 * classification, its evidence and its effect (finish, pause, suppression, retry) are the engine's own
 * and a "Correct it" undoes them for real.
 *
 * The kinds that change a run answer the seeded contacts still paused by an out-of-office in the history
 * (the only open enrollments with emails already sent), so nothing here contradicts the engine: the
 * out-of-office is the very one that paused its contact (same return date), the reply comes from someone
 * back early (finished: correcting it pauses them again until that date), and so on. The soft bounce and
 * the auto-reply answer a run that went through every step with no answer to any of its emails: the engine
 * retries a soft bounce only for a run that is active or ran through its steps (MailboxDO.resendVerdict), and
 * an email answered by an out-of-office was delivered; on a paused run the inbox showed "Try 1 of 3 · next …"
 * beside "Paused · Out of office", a retry the engine would drop.
 *
 * Idempotent: fixed Message-IDs, and an inbound email already stored changes nothing the second time.
 * Runs after the SequenceDOs took the seeded enrollments over (routes/dev.ts).
 */
export async function seedInbound(env: Env): Promise<{ delivered: number }> {
  const d = db(env.DB);
  const open = await d
    .select({ id: enrollments.id, until: enrollments.nextDueAt })
    .from(enrollments)
    .where(and(eq(enrollments.teamId, DEMO.team), eq(enrollments.status, "paused"), eq(enrollments.reason, "out_of_office")))
    .orderBy(asc(enrollments.id))
    .limit(CHANGING);
  // Runs that went through every step, none of their emails answered: the soft bounce's and the auto-reply's
  // (and, in a small seed with few paused ones, the rest's).
  const done = await d
    .select({ id: enrollments.id, until: enrollments.nextDueAt })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.teamId, DEMO.team),
        eq(enrollments.status, "finished"),
        eq(enrollments.reason, "completed_all_steps"),
        exists(
          d
            .select({ one: sql`1` })
            .from(messages)
            .where(eq(messages.enrollmentId, enrollments.id)),
        ),
        notExists(
          d
            .select({ one: sql`1` })
            .from(messages)
            .where(and(eq(messages.enrollmentId, enrollments.id), isNotNull(messages.repliedAt))),
        ),
      ),
    )
    .orderBy(asc(enrollments.id))
    .limit(KINDS.length);
  // The unchanging kinds take their runs first, so a paused run is never one of theirs.
  const quiet = done.slice(0, KINDS.length - CHANGING);
  const rest = done.slice(quiet.length);
  const changing = [...open, ...rest].slice(0, CHANGING);
  // Each run with its kind: the changing kinds in order, then the unchanging ones (a small seed may lack some).
  type Run = (typeof done)[number];
  const targets: [number, Run][] = [
    ...changing.map((p, i): [number, Run] => [i, p]),
    ...quiet.map((p, i): [number, Run] => [CHANGING + i, p]),
  ];
  if (!targets.length) return { delivered: 0 };
  const sent = await d
    .select({
      enrollmentId: messages.enrollmentId,
      toEmail: messages.toEmail,
      subject: messages.subject,
      header: messages.messageIdHeader,
      sentAt: messages.sentAt,
    })
    .from(messages)
    .where(
      and(
        eq(messages.teamId, DEMO.team),
        inList(
          messages.enrollmentId,
          targets.map(([, p]) => p.id),
        ),
      ),
    )
    .orderBy(desc(messages.sentAt));
  const t = now();
  let delivered = 0;
  for (const [i, p] of targets) {
    // The latest email of that enrollment: what a person (or their mail server) answers.
    const m = sent.find((s) => s.enrollmentId === p.id);
    if (!m?.header) continue;
    const raw = KINDS[i]!({ ...m, header: m.header, until: p.until ?? t + 7 * DAY, n: i + 1 });
    const r = await handleInbound(env, raw);
    if (!r.duplicate && r.inboundId) delivered++;
  }
  return { delivered };
}

const DAY = 86_400_000;

interface Answered {
  toEmail: string;
  subject: string;
  header: string;
  until: number;
  n: number;
}

const id = (n: number) => `<seed-inbound-${n}@mail.demo-prospect.test>`;
const day = (at: number) => new Date(at).toISOString().slice(0, 10);
const person = (a: Answered, headers: string, subject: string, body: string) =>
  `From: <${a.toEmail}>\r\nTo: sender@demo.test\r\nSubject: ${subject}\r\nMessage-ID: ${id(a.n)}\r\nIn-Reply-To: ${a.header}\r\nReferences: ${a.header}\r\n${headers}Content-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n\r\n> ${a.subject}\r\n`;
const report = (a: Answered, status: string, diagnostic: string) =>
  `From: Mail Delivery System <MAILER-DAEMON@mx.demo-prospect.test>\r\nTo: sender@demo.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: ${id(a.n)}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nYour message to ${a.toEmail} could not be delivered.\r\n${diagnostic}\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.demo-prospect.test\r\n\r\nFinal-Recipient: rfc822; ${a.toEmail}\r\nAction: failed\r\nStatus: ${status}\r\nDiagnostic-Code: smtp; ${diagnostic}\r\n--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: ${a.header}\r\nSubject: ${a.subject}\r\n--b1--\r\n`;

/** How many of KINDS (the first) change their run: the out-of-office, the reply, the hard bounce and the unsubscribe. */
const CHANGING = 4;

/** One inbound email per kind, in the order the contacts are taken (those that change an enrollment first). */
const KINDS: ((a: Answered) => string)[] = [
  // The out-of-office that paused this contact: its return date is the one the enrollment waits for.
  (a) =>
    person(
      a,
      "Auto-Submitted: auto-replied\r\n",
      `Out of office: ${a.subject}`,
      `Thanks for your email. I'm out of the office with limited access to email, back on ${day(a.until)}.`,
    ),
  (a) =>
    person(
      a,
      "",
      `Re: ${a.subject}`,
      "Back a few days early. This is timely: we're reviewing outbound tools this quarter. Could you do Thursday at 2pm?",
    ),
  (a) => report(a, "5.1.1", "550 5.1.1 The email account that you tried to reach does not exist"),
  (a) => person(a, "", `Re: ${a.subject}`, "Not interested, please remove me from your list."),
  (a) => report(a, "4.2.2", "452 4.2.2 The recipient's mailbox is full and can't accept messages now"),
  (a) =>
    person(
      a,
      "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
      `Automatic reply: ${a.subject}`,
      "Thank you for contacting us. Your request has been received and a member of our team will get back to you within two business days.",
    ),
];
