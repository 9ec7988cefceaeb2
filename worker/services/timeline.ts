import { and, desc, eq, sql } from "drizzle-orm";
import { REASONS } from "../../durable-objects/engine";
import type { Db } from "../db/client";
import { inList } from "../db/in-list";
import { auditLog, enrollments, mailboxes, messages, sequences, steps, tasks, users } from "../db/schema";
import type { Caller } from "../env";
import { contactFor, visibleMessages, visibleSequence } from "./access";
import { contactReplies } from "./replies";
import { workflowOfJobs } from "./workflows";

/**
 * A contact's timeline, newest first: every email with its step and mailbox, every task and call (with
 * its outcome and notes), every reply / bounce / out-of-office (the replies inbox's rows), and every
 * status change with who made it (the audit log, one entry per contact and action, including its stage,
 * owner and field changes; the engine's own finishes carry no user). Only what the caller may see: sequences follow their visibility (invariant 8).
 *
 * Paged by merging the newest page × per_page events of each source: deep pages cost more, which the
 * page limit bounds.
 */

export const TIMELINE_KINDS = ["email", "reply", "task", "call", "status", "added"] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface TimelineEvent {
  id: string;
  kind: TimelineKind;
  at: number;
  title: string;
  detail: string | null;
  status: string | null;
  sequence: { id: string; name: string } | null;
  step: number | null;
  mailbox: string | null;
  by: { id: string; name: string } | null;
  data: Record<string, unknown>;
}

const ACTION_WORDS: Record<string, string> = {
  "enrollment.pause": "Paused",
  "enrollment.resume": "Resumed",
  "enrollment.finish": "Marked finished",
  "enrollment.remove": "Removed from the sequence",
  "enrollment.restart": "Restarted",
  "enrollment.move": "Moved to another sequence",
  "enrollment.change-mailbox": "Sending mailbox changed",
  "task.completed": "Task completed",
  "task.skipped": "Task skipped",
  "task.call_logged": "Call logged",
  "task.rescheduled": "Task rescheduled",
  "task.reassigned": "Task reassigned",
  "scheduled_email.edit": "Scheduled email edited for this contact",
  "scheduled_email.send_now": "Scheduled email sent now",
  "scheduled_email.skip": "Scheduled email skipped",
  "scheduled_email.reschedule": "Scheduled email rescheduled",
  "contact.deleted": "Contact deleted",
  "contact.meeting_booked": "Meeting booked",
};

const CALL_WORDS: Record<string, string> = {
  connected: "Connected",
  left_voicemail: "Left a voicemail",
  no_answer: "No answer",
  busy: "Busy",
  wrong_number: "Wrong number",
  not_interested: "Not interested",
  meeting_booked: "Meeting booked",
  call_back_later: "Call back later",
};

/** The title of a contact change (services/contacts.ts audits them): what it changed to. */
function contactChangeTitle(action: string, det: Record<string, unknown>): string | null {
  if (action === "contact.stage") return `Stage changed to ${String(det.stage)}`;
  if (action === "contact.owner") return det.owner_id ? `Owner changed to ${String(det.owner)}` : "Owner removed";
  if (action === "contact.edit") return "Details edited";
  return null;
}

const reasonWords = (r: string | null) => (r ? ((REASONS as Record<string, string>)[r] ?? r) : null);

/** A contact's audit entries, newest first (served by `audit_log_target_idx`; the plan is tested). */
export function contactAuditEntries(d: Db, teamId: string, contactId: string, take: number) {
  return d
    .select({ a: auditLog, by: { id: users.id, name: users.name } })
    .from(auditLog)
    .leftJoin(users, eq(users.id, auditLog.userId))
    .where(and(eq(auditLog.teamId, teamId), eq(auditLog.targetType, "contact"), eq(auditLog.targetId, contactId)))
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
    .limit(take);
}

export async function contactTimeline(
  d: Db,
  caller: Caller,
  contactId: string,
  page: number,
  perPage: number,
): Promise<{ events: TimelineEvent[]; has_more: boolean }> {
  const ct = await contactFor(d, caller, contactId);
  const take = page * perPage + 1;
  // The Outbox's rule: an answer a rep wrote to a reply is as visible as the run it answers in. (Its test-email arm
  // never matches here: a test email has no contact.)
  const seenMsg = visibleMessages(caller);
  const seenEnr = visibleSequence(caller, enrollments.sequenceId);
  const seenTask = visibleSequence(caller, tasks.sequenceId);
  const [emails, enrolled, taskRows, audits, replies] = await Promise.all([
    d
      .select({ m: messages, step: steps.position, mailbox: mailboxes.email, seq: { id: sequences.id, name: sequences.name } })
      .from(messages)
      .leftJoin(steps, eq(steps.id, messages.stepId))
      .leftJoin(mailboxes, eq(mailboxes.id, messages.mailboxId))
      .leftJoin(sequences, eq(sequences.id, messages.sequenceId))
      .where(and(eq(messages.teamId, caller.teamId), eq(messages.contactId, ct.id), seenMsg))
      .orderBy(desc(sql`coalesce(${messages.sentAt}, ${messages.scheduledAt}, ${messages.createdAt})`), desc(messages.id))
      .limit(take),
    d
      .select({ e: enrollments, seq: { id: sequences.id, name: sequences.name }, by: { id: users.id, name: users.name } })
      .from(enrollments)
      .innerJoin(sequences, eq(sequences.id, enrollments.sequenceId))
      .leftJoin(users, eq(users.id, enrollments.addedBy))
      .where(and(eq(enrollments.teamId, caller.teamId), eq(enrollments.contactId, ct.id), seenEnr))
      .orderBy(desc(enrollments.createdAt), desc(enrollments.id))
      .limit(take),
    d
      .select({ t: tasks, seq: { id: sequences.id, name: sequences.name }, step: steps.position, assignee: users.name })
      .from(tasks)
      .leftJoin(sequences, eq(sequences.id, tasks.sequenceId))
      .leftJoin(steps, eq(steps.id, tasks.stepId))
      .leftJoin(users, eq(users.id, tasks.assigneeId))
      .where(
        and(
          eq(tasks.teamId, caller.teamId),
          eq(tasks.contactId, ct.id),
          seenTask ? sql`(${tasks.sequenceId} IS NULL OR ${seenTask})` : undefined,
        ),
      )
      .orderBy(desc(tasks.createdAt), desc(tasks.id))
      .limit(take),
    contactAuditEntries(d, caller.teamId, ct.id, take),
    contactReplies(d, caller, ct.id, take),
  ]);

  // Audit entries about a sequence the caller can't see stay hidden like the sequence.
  const seqNames = new Map<string, string>();
  for (const r of [...emails, ...enrolled, ...taskRows]) if (r.seq?.id) seqNames.set(r.seq.id, r.seq.name);
  const auditSeqIds = [
    ...new Set(audits.map((a) => a.a.details.sequence_id).filter((s): s is string => typeof s === "string" && !seqNames.has(s))),
  ];
  if (auditSeqIds.length) {
    const more = await d
      .select({ id: sequences.id, name: sequences.name })
      .from(sequences)
      .where(and(eq(sequences.teamId, caller.teamId), inList(sequences.id, auditSeqIds), visibleSequence(caller, sequences.id)));
    for (const s of more) seqNames.set(s.id, s.name);
  }
  const seqRef = (id: unknown) => (typeof id === "string" && seqNames.has(id) ? { id, name: seqNames.get(id)! } : null);
  // A run a workflow's job added names the workflow: its added_by is the workflow's owner, who did nothing by hand.
  const jobIds = [...new Set(enrolled.map((r) => r.e.jobId).filter((j): j is string => !!j))];
  const byWorkflow = new Map((await workflowOfJobs(d, caller.teamId, jobIds)).map((w) => [w.job_id, { id: w.workflow_id, name: w.name }]));

  const events: TimelineEvent[] = [];
  for (const r of emails) {
    const m = r.m;
    const at = m.sentAt ?? m.scheduledAt ?? m.createdAt;
    events.push({
      id: `email:${m.id}`,
      kind: "email",
      at,
      title:
        m.status === "sent"
          ? `Email sent: ${m.subject}`
          : m.status === "bounced"
            ? `Email bounced: ${m.subject}`
            : `Email ${m.status}: ${m.subject}`,
      detail: m.error,
      status: m.status,
      sequence: r.seq?.id ? r.seq : null,
      step: r.step ?? null,
      mailbox: r.mailbox ?? null,
      by: null,
      data: { message_id: m.id, to: m.toEmail, replied_at: m.repliedAt, reply_kind: m.replyKind },
    });
  }
  for (const r of enrolled) {
    const e = r.e;
    const wf = e.jobId ? byWorkflow.get(e.jobId) : undefined;
    events.push({
      id: `added:${e.id}`,
      kind: "added",
      at: e.createdAt,
      title: wf ? `Added to ${r.seq.name} by the workflow “${wf.name}”` : `Added to ${r.seq.name}`,
      detail: null,
      status: null,
      sequence: r.seq,
      step: null,
      mailbox: null,
      by: r.by?.id ? r.by : null,
      data: { enrollment_id: e.id, ...(wf ? { workflow: wf } : {}) },
    });
    // The engine's own endings (replied, bounced, every step done…) have no audit entry: the enrollment says when and why.
    if (e.finishedAt !== null && e.status !== "removed") {
      events.push({
        id: `finished:${e.id}`,
        kind: "status",
        at: e.finishedAt,
        title: `Finished in ${r.seq.name}`,
        detail: reasonWords(e.reason),
        status: e.status,
        sequence: r.seq,
        step: e.currentStep || null,
        mailbox: null,
        by: null,
        data: { enrollment_id: e.id, reason: e.reason },
      });
    }
  }
  for (const r of taskRows) {
    const t = r.t;
    events.push({
      id: `task:${t.id}`,
      kind: "task",
      at: t.createdAt,
      title: `${t.type === "call" ? "Call" : "Task"} due${r.assignee ? ` for ${r.assignee}` : ""}`,
      detail: t.note || null,
      status: t.status,
      sequence: r.seq?.id ? r.seq : null,
      step: r.step ?? null,
      mailbox: null,
      by: null,
      data: { task_id: t.id, type: t.type, due_at: t.dueAt, completed_at: t.completedAt },
    });
  }
  for (const r of audits) {
    const a = r.a;
    const det = a.details;
    if (det.sequence_id && !seqRef(det.sequence_id)) continue;
    const isCall = a.action === "task.call_logged";
    events.push({
      id: `audit:${a.id}`,
      kind: isCall ? "call" : "status",
      at: a.createdAt,
      title: isCall
        ? `Call: ${CALL_WORDS[String(det.outcome)] ?? String(det.outcome)}`
        : (contactChangeTitle(a.action, det) ?? ACTION_WORDS[a.action] ?? a.action),
      detail: isCall
        ? typeof det.notes === "string" && det.notes
          ? det.notes
          : null
        : a.action === "enrollment.finish"
          ? reasonWords(String(det.reason ?? ""))
          : a.action === "contact.edit" && Array.isArray(det.fields)
            ? det.fields.join(", ")
            : null,
      status: null,
      sequence: seqRef(det.sequence_id),
      step: typeof det.step === "number" ? det.step : null,
      mailbox: null,
      by: r.by?.id ? r.by : null,
      data: det,
    });
  }
  for (const r of replies) {
    events.push({
      id: `reply:${r.id}`,
      kind: "reply",
      at: r.received_at,
      title:
        {
          reply: "Replied",
          out_of_office: "Out of office",
          bounce_hard: "Bounced",
          bounce_soft: "Soft bounce",
          unsubscribe: "Asked to unsubscribe",
          auto_reply: "Auto-reply",
        }[r.classification as string] ?? r.classification,
      detail: r.snippet || r.subject || null,
      status: r.classification,
      sequence: r.sequence,
      step: r.answered?.step ?? null,
      mailbox: r.answered?.mailbox ?? null,
      by: null,
      data: { reply_id: r.id, corrected: r.corrected, return_at: r.return_at },
    });
  }
  events.sort((x, y) => y.at - x.at || (x.id < y.id ? 1 : -1));
  const from = (page - 1) * perPage;
  return { events: events.slice(from, from + perPage), has_more: events.length > from + perPage };
}
