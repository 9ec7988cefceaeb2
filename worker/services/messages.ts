import { and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { contacts, mailboxes, messages, sequences } from "../db/schema";
import type { Caller } from "../env";
import { notFound } from "../lib/errors";
import { messageFor, visibleMessages } from "./access";

/** Emails (the Outbox): D1's `messages`, written by the MailboxDO's mirror; read here with the sequence's visibility. */

export interface MessageQuery {
  page: number;
  per_page: number;
  mailbox_id?: string | undefined;
  sequence_id?: string | undefined;
  contact_id?: string | undefined;
  status?: "sent" | "failed" | "bounced" | "unknown" | undefined;
}

/** One page of the team's emails the caller may see, newest first. */
export async function listMessages(d: Db, caller: Caller, q: MessageQuery) {
  const where = and(
    eq(messages.teamId, caller.teamId),
    visibleMessages(caller),
    q.mailbox_id ? eq(messages.mailboxId, q.mailbox_id) : undefined,
    q.sequence_id ? eq(messages.sequenceId, q.sequence_id) : undefined,
    q.contact_id ? eq(messages.contactId, q.contact_id) : undefined,
    q.status ? eq(messages.status, q.status) : undefined,
  );
  const [rows, total] = await Promise.all([
    d
      .select({ m: messages, mb: { id: mailboxes.id, email: mailboxes.email }, s: { id: sequences.id, name: sequences.name }, c: { id: contacts.id, first: contacts.firstName, last: contacts.lastName } })
      .from(messages)
      .leftJoin(mailboxes, eq(mailboxes.id, messages.mailboxId))
      .leftJoin(sequences, eq(sequences.id, messages.sequenceId))
      .leftJoin(contacts, eq(contacts.id, messages.contactId))
      .where(where)
      .orderBy(desc(messages.sentAt), desc(messages.id))
      .limit(q.per_page)
      .offset((q.page - 1) * q.per_page),
    d.select({ n: sql<number>`count(*)` }).from(messages).where(where),
  ]);
  return {
    total: total[0]?.n ?? 0,
    messages: rows.map((r) => ({
      id: r.m.id,
      status: r.m.status,
      to_email: r.m.toEmail,
      subject: r.m.subject,
      body: r.m.body,
      message_id: r.m.messageIdHeader,
      in_reply_to: r.m.inReplyTo,
      error: r.m.error,
      sent_at: r.m.sentAt,
      step_id: r.m.stepId,
      enrollment_id: r.m.enrollmentId,
      mailbox: r.mb?.id ? r.mb : null,
      sequence: r.s?.id ? r.s : null,
      contact: r.c?.id ? { id: r.c.id, name: `${r.c.first} ${r.c.last}`.trim() } : null,
    })),
  };
}

/** The exact RFC 5322 message handed to the transport (404 when none was built). */
export async function rawMessage(d: Db, caller: Caller, messageId: string): Promise<string> {
  const row = await messageFor(d, caller, messageId);
  if (!row.raw) throw notFound("Message");
  return row.raw;
}
