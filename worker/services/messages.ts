import { and, asc, desc, eq, getTableColumns, gt, gte, inArray, isNull, lte, ne, not, sql, type SQL } from "drizzle-orm";
import { isEmailStep } from "../../durable-objects/sequence-config";
import type { Db } from "../db/client";
import { inList } from "../db/in-list";
import { contacts, enrollments, mailboxes, messages, sequenceCounts, sequences, steps, teamMessageCounts } from "../db/schema";
import type { Caller, Env } from "../env";
import { ApiError, notFound } from "../lib/errors";
import { contactFor, mailboxFor, messageFor, sequenceFor, visibleMessages } from "./access";
import { previewScheduledEmail } from "./scheduled-emails";

/** Emails (the Outbox): D1's `messages`, written by the MailboxDO's mirror; read here with the sequence's visibility. */

export interface MessageQuery {
  page: number;
  per_page: number;
  mailbox_id?: string | undefined;
  sequence_id?: string | undefined;
  contact_id?: string | undefined;
  status?: MessageStatusFilter | undefined;
}

/**
 * The outbox's status filters. `sent` is an email the transport accepted that has not bounced; `bounced` one
 * that went out and came back; `sent_or_bounced` both, every email of a sequence that went out, which is what the
 * sequence list and report count as sent (sequence_counts, report_rollup): a mailbox's test email (sequence_id
 * '') is in neither, so it is not in this one either. `replied` is an email the contact answered (it or a later
 * one of its run), the rows whose Replied badge shows: the same lookup (repliedAfter), whatever its status.
 */
export type MessageStatusFilter = "sent" | "failed" | "bounced" | "unknown" | "sent_or_bounced" | "replied";
/**
 * The emails a filter means. The statuses as literal values (`status = ?`, or `IN (?, ?)` for sent_or_bounced),
 * which the planner reads as it reads one equality; written out, not mapped from a table, so no list from data is
 * bound. sent_or_bounced adds what the rollup's triggers ask of an email they count (migration 0041).
 */
function statusIs(f: MessageStatusFilter): SQL {
  if (f === "replied") return sql`${repliedAfter} is not null`;
  return f === "sent_or_bounced"
    ? and(inArray(messages.status, ["sent", "bounced"]), sql`${messages.sentAt} IS NOT NULL`, ne(messages.sequenceId, ""))!
    : eq(messages.status, f);
}

/**
 * The team's outbox total under a status filter alone, from counts kept by triggers rather than a count of every
 * email. sent_or_bounced is the sequence list's Sent added up over the team's sequences (sequence_counts, one row
 * each, kept by the triggers of migration 0057 under the rollup's rule); every other status is team_message_counts'.
 */
function keptTotal(d: Db, teamId: string, f: Exclude<MessageStatusFilter, "replied"> | undefined) {
  if (f === "sent_or_bounced")
    return d
      .select({ n: sql<number>`coalesce(sum(${sequenceCounts.sent}), 0)` })
      .from(sequenceCounts)
      .innerJoin(sequences, eq(sequences.id, sequenceCounts.sequenceId))
      .where(eq(sequences.teamId, teamId));
  return d
    .select({ n: sql<number>`coalesce(sum(${teamMessageCounts.n}), 0)` })
    .from(teamMessageCounts)
    .where(and(eq(teamMessageCounts.teamId, teamId), f ? eq(teamMessageCounts.status, f) : undefined));
}

/**
 * When the contact answered this email or a later one of the same run: the first reply (not an
 * out-of-office) stamped on an email of the enrollment (replied_at, set as the reply is classified) at or
 * after this one went out. Outreach's mailings list marks a mailing replied the same way. A subquery of
 * the page's own statement, along messages_enrollment_step_uq (enrollment_id first): no read per row.
 * The unary plus on team_id and replied_at keeps them from driving an index: without statistics for
 * messages SQLite otherwise chose messages_team_replied_idx (team_id = ? AND replied_at > ?), every reply
 * the team received since the email went out, for each row of the page.
 */
const repliedAfter = sql<number | null>`(select min(r.replied_at) from messages r
  where r.enrollment_id = ${messages.enrollmentId} and +r.team_id = ${messages.teamId} and r.reply_kind = 'reply'
    and +r.replied_at >= ${messages.sentAt})`;

/**
 * How many emails under `where` (every filter but the status) the contact replied to: no count of them is kept
 * (team_message_counts is by status), and a count of every email with repliedAfter would be a subquery per email
 * the team ever sent. Read from the replies instead, along messages_team_replied_idx (team_id, replied_at): each
 * of the team's replies, then its run's emails sent at or before it (messages_enrollment_step_uq), each counted
 * once however many replies its run had. CROSS JOIN keeps that order (SQLite never reorders it). The same rule as
 * repliedAfter: a reply, not an out-of-office, of the same run and team, stamped at or after the email went out.
 */
function repliedTotal(d: Db, teamId: string, where: SQL | undefined) {
  return d.all<{ n: number }>(sql`select count(distinct ${messages.id}) as n
    from messages r cross join ${messages}
      on ${messages.enrollmentId} = r.enrollment_id and ${messages.teamId} = r.team_id and ${messages.sentAt} <= r.replied_at
    where r.team_id = ${teamId} and r.replied_at is not null and r.reply_kind = 'reply' and ${where ?? sql`1`}`);
}

/**
 * One page of the team's emails the caller may see, newest first. A filter naming a sequence, mailbox or
 * contact the caller can't see (another team's, a deleted one, a sequence not shared with them) answers
 * 404 through the access helpers, as the scheduled emails' filters do, not an empty page.
 */
export async function listMessages(d: Db, caller: Caller, q: MessageQuery) {
  const visible = visibleMessages(caller);
  const filters = and(
    eq(messages.teamId, caller.teamId),
    visible,
    q.mailbox_id ? eq(messages.mailboxId, q.mailbox_id) : undefined,
    q.sequence_id ? eq(messages.sequenceId, q.sequence_id) : undefined,
    q.contact_id ? eq(messages.contactId, q.contact_id) : undefined,
  );
  const where = and(filters, q.status ? statusIs(q.status) : undefined);
  // The team's whole outbox (or one status of it), seen by someone who sees every email: the counts kept
  // by triggers (team_message_counts), not a count of every email the team ever sent. Else counted.
  const kept = !visible && !q.mailbox_id && !q.sequence_id && !q.contact_id;
  // Not one batch: the page's joined columns share names (id), which a D1 batch's rows, objects, lose.
  // The filters' checks run beside the page's reads (the page is already limited to what the caller may see),
  // and nothing is answered unless they pass.
  const [rows, total] = await Promise.all([
    d
      .select({
        m: messages,
        repliedAt: repliedAfter,
        mb: { id: mailboxes.id, email: mailboxes.email },
        s: { id: sequences.id, name: sequences.name },
        c: { id: contacts.id, first: contacts.firstName, last: contacts.lastName },
      })
      .from(messages)
      .leftJoin(mailboxes, eq(mailboxes.id, messages.mailboxId))
      .leftJoin(sequences, eq(sequences.id, messages.sequenceId))
      // A deleted contact's emails stay (they were sent) without the person's name, as on Home and in the exports.
      .leftJoin(contacts, and(eq(contacts.id, messages.contactId), eq(contacts.teamId, messages.teamId), isNull(contacts.deletedAt)))
      .where(where)
      .orderBy(desc(messages.sentAt), desc(messages.id))
      .limit(q.per_page)
      .offset((q.page - 1) * q.per_page),
    q.status === "replied"
      ? repliedTotal(d, caller.teamId, filters)
      : kept
        ? keptTotal(d, caller.teamId, q.status)
        : d
            .select({ n: sql<number>`count(*)` })
            .from(messages)
            .where(where),
    q.sequence_id ? sequenceFor(d, caller, q.sequence_id) : undefined,
    q.mailbox_id ? mailboxFor(d, caller, q.mailbox_id, "mailbox.view") : undefined,
    q.contact_id ? contactFor(d, caller, q.contact_id) : undefined,
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
      replied_at: r.repliedAt ?? null,
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

/** Apollo's emailer_messages/search: sent emails of sequences (any of several), contacts and statuses, newest first. */

/** `status IN ('sent', …)` with the schema's status words inlined: a fixed, bounded list, never the request's text. */
function statusesInline(values: readonly (typeof messages.status.enumValues)[number][]) {
  if (!values.length) return sql`0`;
  return sql`${messages.status} IN (${sql.raw(values.map((v) => `'${v.replace(/'/g, "''")}'`).join(", "))})`;
}
export async function searchSequenceMessages(
  d: Db,
  caller: Caller,
  q: {
    sequenceIds?: readonly string[];
    /** Sequences left out. */
    notSequenceIds?: readonly string[];
    contactIds?: readonly string[];
    /** Sent from a mailbox of one of these users. */
    userIds?: readonly string[];
    statuses?: readonly string[];
    /**
     * Emails whose time falls in [from, to] (ms, either end open): `sent` is when it went out (Apollo's
     * completed_at, read down messages_team_sent_idx as a range), `scheduled` when it was due (due_at, read
     * as a range of messages_mailbox_status_idx for each of the team's mailboxes and statuses).
     */
    dates?: { field: "sent" | "scheduled"; from?: number | undefined; to?: number | undefined };
    page: number;
    perPage: number;
  },
): Promise<{ rows: (typeof messages.$inferSelect)[]; total: number }> {
  const dateColumn = q.dates?.field === "scheduled" ? messages.scheduledAt : messages.sentAt;
  // A scheduled-time range has no index after the team: the planner read the team's every email
  // (messages_team_sent_idx on team_id alone), skip-scanned every team's mailboxes, or scanned the table,
  // as statistics had it. It is read as a range of messages_mailbox_status_idx (INDEXED BY) for each of the
  // team's mailboxes (rows kept when a mailbox is removed, so every email's is there) and each status. No
  // index of its own: every email sent would write it, for a filter only Apollo's due_at asks for.
  const byDue = q.dates?.field === "scheduled" && (q.dates.from !== undefined || q.dates.to !== undefined);
  const where = and(
    eq(messages.teamId, caller.teamId),
    ne(messages.sequenceId, ""),
    visibleMessages(caller),
    q.sequenceIds?.length ? inList(messages.sequenceId, q.sequenceIds) : undefined,
    q.notSequenceIds?.length ? not(inList(messages.sequenceId, q.notSequenceIds)) : undefined,
    q.userIds?.length || byDue
      ? inArray(
          messages.mailboxId,
          d
            .select({ id: mailboxes.id })
            .from(mailboxes)
            .where(and(eq(mailboxes.teamId, caller.teamId), q.userIds?.length ? inList(mailboxes.userId, q.userIds) : undefined)),
        )
      : undefined,
    q.contactIds?.length ? inList(messages.contactId, q.contactIds) : undefined,
    byDue
      ? // Each status as a value of its own, written into the SQL (the schema's own words, never the request's: the
        // request only picks among them), so the planner seeks the index once per status; a bound list (json_each)
        // or ORs of parameters made it skip-scan every team's mailboxes.
        statusesInline(messages.status.enumValues.filter((v) => !q.statuses?.length || q.statuses.includes(v)))
      : q.statuses?.length
        ? inList(messages.status, q.statuses)
        : undefined,
    q.dates?.from !== undefined ? gte(dateColumn, q.dates.from) : undefined,
    q.dates?.to !== undefined ? lte(dateColumn, q.dates.to) : undefined,
  );
  type Row = typeof messages.$inferSelect;
  if (byDue) {
    // Drizzle's builder can't say INDEXED BY: the same columns, named as its rows name them (every column of
    // messages is plain text or integer, read as stored), the same filters and order.
    const columns = sql.join(
      Object.entries(getTableColumns(messages)).map(([name, column]) => sql`${column} AS ${sql.identifier(name)}`),
      sql`, `,
    );
    const from = sql`FROM ${messages} INDEXED BY messages_mailbox_status_idx WHERE ${where}`;
    const [rows, total] = await Promise.all([
      d.all<Row>(
        sql`SELECT ${columns} ${from} ORDER BY ${messages.sentAt} DESC, ${messages.id} ASC LIMIT ${q.perPage} OFFSET ${(q.page - 1) * q.perPage}`,
      ),
      d.get<{ n: number }>(sql`SELECT count(*) AS n ${from}`),
    ]);
    return { rows, total: total?.n ?? 0 };
  }
  const [rows, total] = await d.batch([
    d
      .select()
      .from(messages)
      .where(where)
      .orderBy(desc(messages.sentAt), asc(messages.id))
      .limit(q.perPage)
      .offset((q.page - 1) * q.perPage),
    d
      .select({ n: sql<number>`count(*)` })
      .from(messages)
      .where(where),
  ]);
  return { rows, total: total[0]?.n ?? 0 };
}

/**
 * A contact's next automatic email as they will get it: the step it waits on (or the next email step),
 * previewed by the scheduled-emails preview, i.e. the send path's own composer (variant, variables, the
 * contact's edit, thread subject, signature, footer) at the time it goes, with the variables it lacks and
 * the composer's refusal: what the send will do, said once for both previews.
 */
export async function previewNextEmail(env: Env, d: Db, caller: Caller, sequenceId: string, enrollmentId: string) {
  const { seq } = await sequenceFor(d, caller, sequenceId);
  const e = await d.query.enrollments.findFirst({
    where: and(eq(enrollments.id, enrollmentId), eq(enrollments.sequenceId, seq.id), eq(enrollments.teamId, caller.teamId)),
  });
  if (!e) throw notFound("Enrollment");
  if (!["active", "paused", "held", "scheduled"].includes(e.status))
    throw new ApiError("conflict", `This contact is ${e.status} in the sequence: nothing more will be sent`);
  const step = await d
    .select()
    .from(steps)
    .where(and(eq(steps.sequenceId, seq.id), eq(steps.enabled, true), gt(steps.position, Math.max(0, e.currentStep - 1))))
    .orderBy(asc(steps.position))
    .then((rows) => rows.find((r) => isEmailStep(r.type)));
  if (!step) throw new ApiError("conflict", "No automatic email step is left for this contact");
  const p = await previewScheduledEmail(env, d, caller, e.id, step.id);
  return {
    enrollment_id: e.id,
    step: { id: step.id, position: step.position },
    variant: p.variant,
    from: p.from,
    to: p.to,
    subject: p.subject,
    body: p.body,
    missing: p.missing,
    refused: p.refused,
  };
}
