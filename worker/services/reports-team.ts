import type { Caller } from "../env";
import { visibleSequenceRaw } from "./access";
import { THRESHOLDS } from "./reports";

/**
 * The team report and the home dashboard: grouped SQL over covering indexes (messages_team_sent_idx,
 * enrollments_team_created_idx), limited to the sequences the caller may see (services/access.ts).
 * Emails count for the user who owns the sending mailbox; added contacts for the user who added them.
 */

export interface TeamRow {
  added: number;
  sent: number;
  replies: number;
  meetings: number;
  bounced: number;
  bounce_rate: number;
  reply_rate: number;
}

const DAY = 86_400_000;
const rate = (x: number, n: number) => (n > 0 ? x / n : 0);
const blank = () => ({ added: 0, sent: 0, replies: 0, meetings: 0, bounced: 0 });
const finish = <T extends ReturnType<typeof blank>>(r: T) => ({
  ...r,
  bounce_rate: rate(r.bounced, r.sent),
  reply_rate: rate(r.replies, r.sent - r.bounced),
});

export async function teamReport(d1: D1Database, caller: Caller, from: number, to: number) {
  const visE = visibleSequenceRaw(caller, "e.sequence_id");
  const visM = visibleSequenceRaw(caller, "m.sequence_id");
  const visR = visibleSequenceRaw(caller, "r.sequence_id");
  const [users, seqs, mailboxes, added, sent, meetings] = await Promise.all([
    d1
      .prepare("SELECT id, name, email FROM users WHERE team_id = ? ORDER BY name")
      .bind(caller.teamId)
      .all<{ id: string; name: string; email: string }>(),
    d1
      .prepare(`SELECT s.id, s.name, s.owner_id FROM sequences s WHERE s.team_id = ? AND ${visibleSequenceRaw(caller, "s.id").sql}`)
      .bind(caller.teamId, ...visibleSequenceRaw(caller, "s.id").params)
      .all<{ id: string; name: string; owner_id: string }>(),
    d1.prepare("SELECT id, user_id FROM mailboxes WHERE team_id = ?").bind(caller.teamId).all<{ id: string; user_id: string }>(),
    d1
      .prepare(
        `SELECT e.added_by, e.sequence_id, count(*) AS n FROM enrollments e WHERE e.team_id = ? AND e.created_at >= ? AND e.created_at < ? AND ${visE.sql} GROUP BY 1, 2`,
      )
      .bind(caller.teamId, from, to, ...visE.params)
      .all<{ added_by: string | null; sequence_id: string; n: number }>(),
    // Emails from the rollup (kept by triggers on messages): a few rows per sequence, mailbox and day.
    d1
      .prepare(
        `SELECT r.sequence_id, r.mailbox_id, sum(r.sent) AS sent, sum(r.bounced) AS bounced, sum(r.replied) AS replies
         FROM report_rollup r WHERE r.team_id = ? AND r.day >= ? AND r.day < ? AND ${visR.sql} GROUP BY 1, 2`,
      )
      .bind(caller.teamId, Math.floor(from / DAY), Math.ceil(to / DAY), ...visR.params)
      .all<{ sequence_id: string; mailbox_id: string; sent: number; bounced: number; replies: number }>(),
    // Meetings: contacts who replied and now sit in a "succeeded" stage (Interested, Meeting booked).
    d1
      .prepare(
        `SELECT m.sequence_id, m.mailbox_id, count(DISTINCT m.contact_id) AS n FROM messages m
         JOIN contacts c ON c.id = m.contact_id AND c.team_id = m.team_id JOIN contact_stages st ON st.id = c.stage_id
        WHERE m.team_id = ? AND m.replied_at IS NOT NULL AND m.reply_kind = 'reply' AND m.sent_at >= ? AND m.sent_at < ? AND st.category = 'succeeded' AND ${visM.sql} GROUP BY 1, 2`,
      )
      .bind(caller.teamId, from, to, ...visM.params)
      .all<{ sequence_id: string; mailbox_id: string; n: number }>(),
  ]);
  const mailboxOwner = new Map(mailboxes.results.map((m) => [m.id, m.user_id]));
  const byUser = new Map(users.results.map((u) => [u.id, blank()]));
  const bySeq = new Map(seqs.results.map((s) => [s.id, blank()]));
  const at = <K>(m: Map<K, ReturnType<typeof blank>>, k: K) => m.get(k) ?? (m.set(k, blank()), m.get(k)!);
  for (const r of added.results) {
    if (r.added_by) at(byUser, r.added_by).added += r.n;
    if (bySeq.has(r.sequence_id)) at(bySeq, r.sequence_id).added += r.n;
  }
  for (const r of sent.results) {
    const owner = mailboxOwner.get(r.mailbox_id);
    for (const row of [owner ? at(byUser, owner) : null, bySeq.get(r.sequence_id) ?? null]) {
      if (!row) continue;
      row.sent += r.sent;
      row.bounced += r.bounced ?? 0;
      row.replies += r.replies ?? 0;
    }
  }
  for (const r of meetings.results) {
    const owner = mailboxOwner.get(r.mailbox_id);
    if (owner) at(byUser, owner).meetings += r.n;
    const s = bySeq.get(r.sequence_id);
    if (s) s.meetings += r.n;
  }
  const userName = new Map(users.results.map((u) => [u.id, u]));
  return {
    from,
    to,
    users: [...byUser.entries()]
      .filter(([id]) => userName.has(id))
      .map(([id, r]) => ({ user_id: id, name: userName.get(id)!.name, email: userName.get(id)!.email, ...finish(r) })),
    sequences: seqs.results
      .map((s) => ({ sequence_id: s.id, name: s.name, ...finish(bySeq.get(s.id)!) }))
      .sort((a, b) => b.sent - a.sent || a.name.localeCompare(b.name)),
    thresholds: THRESHOLDS,
  };
}

/** Sequences with at least this many emails in the window are judged on their bounce rate. */
export const BOUNCE_ALERT_MIN_SENT = 20;

export async function homeDashboard(d1: D1Database, caller: Caller, t: number, startOfDay: number) {
  const visM = visibleSequenceRaw(caller, "m.sequence_id");
  const visJ = visibleSequenceRaw(caller, "j.sequence_id");
  const visR = visibleSequenceRaw(caller, "r.sequence_id");
  const endOfDay = startOfDay + 86_400_000;
  const since = t - 30 * 86_400_000;
  const [team, tasks, replies, jobs, bounces] = await Promise.all([
    d1.prepare("SELECT credit_balance FROM teams WHERE id = ?").bind(caller.teamId).first<{ credit_balance: number }>(),
    d1
      .prepare(
        "SELECT sum(due_at < ?) AS overdue, sum(due_at >= ? AND due_at < ?) AS today FROM tasks WHERE team_id = ? AND assignee_id = ? AND status = 'open' AND due_at < ?",
      )
      .bind(startOfDay, startOfDay, endOfDay, caller.teamId, caller.userId, endOfDay)
      .first<{ overdue: number | null; today: number | null }>(),
    d1
      .prepare(
        `SELECT m.id, m.replied_at, m.subject, m.sequence_id, s.name AS sequence_name, m.contact_id, trim(c.first_name || ' ' || c.last_name) AS contact_name, c.email
         FROM messages m JOIN sequences s ON s.id = m.sequence_id LEFT JOIN contacts c ON c.id = m.contact_id AND c.team_id = m.team_id
        WHERE m.team_id = ? AND m.reply_kind = 'reply' AND m.replied_at >= ? AND ${visM.sql} ORDER BY m.replied_at DESC LIMIT 10`,
      )
      .bind(caller.teamId, since, ...visM.params)
      .all<Record<string, string | number | null>>(),
    d1
      .prepare(
        `SELECT j.id, j.status, j.sequence_id, s.name AS sequence_name, j.total, j.processed, j.run_at, j.created_at FROM jobs j LEFT JOIN sequences s ON s.id = j.sequence_id
        WHERE j.team_id = ? AND j.status IN ('scheduled', 'queued', 'running') AND ${visJ.sql} ORDER BY j.created_at DESC LIMIT 10`,
      )
      .bind(caller.teamId, ...visJ.params)
      .all<Record<string, string | number | null>>(),
    d1
      .prepare(
        `SELECT r.sequence_id, s.name, sum(r.sent) AS sent, sum(r.bounced) AS bounced FROM report_rollup r JOIN sequences s ON s.id = r.sequence_id
        WHERE r.team_id = ? AND r.day >= ? AND ${visR.sql} GROUP BY 1, 2`,
      )
      .bind(caller.teamId, Math.floor(since / DAY), ...visR.params)
      .all<{ sequence_id: string; name: string; sent: number; bounced: number }>(),
  ]);
  return {
    credits: team?.credit_balance ?? 0,
    tasks: { overdue: tasks?.overdue ?? 0, due_today: tasks?.today ?? 0 },
    recent_replies: replies.results.map((r) => ({
      message_id: String(r.id),
      replied_at: Number(r.replied_at),
      subject: String(r.subject ?? ""),
      sequence: { id: String(r.sequence_id), name: String(r.sequence_name) },
      contact: { id: String(r.contact_id), name: String(r.contact_name || r.email || "Unknown contact") },
    })),
    jobs: jobs.results.map((j) => ({
      id: String(j.id),
      status: String(j.status),
      sequence: j.sequence_id ? { id: String(j.sequence_id), name: String(j.sequence_name ?? "") } : null,
      total: Number(j.total),
      processed: Number(j.processed),
      run_at: j.run_at === null ? null : Number(j.run_at),
      created_at: Number(j.created_at),
    })),
    high_bounce_sequences: bounces.results
      .map((r) => ({
        sequence_id: r.sequence_id,
        name: r.name,
        sent: r.sent,
        bounced: r.bounced ?? 0,
        bounce_rate: rate(r.bounced ?? 0, r.sent),
      }))
      .filter((r) => r.sent >= BOUNCE_ALERT_MIN_SENT && r.bounce_rate > THRESHOLDS.bounce_rate_max)
      .sort((a, b) => b.bounce_rate - a.bounce_rate),
    bounce_window_days: 30,
    thresholds: THRESHOLDS,
  };
}
