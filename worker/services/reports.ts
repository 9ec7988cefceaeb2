import { ENROLLMENT_STATUSES } from "../db/schema";
import { abVerdict, type AbVerdict } from "./reports-stats";

/**
 * The sequence report: every figure is a SQL aggregate over a covering index (messages_sequence_report_idx,
 * enrollments_sequence_report_idx, tasks_sequence_step_idx); the Worker only ever holds grouped rows,
 * never one row per contact or per email.
 */

export const DAY_MS = 86_400_000;

/**
 * Lines a sender should stay under. Google's and Yahoo's bulk-sender rules (Feb 2024): spam complaint
 * rate (as Postmaster Tools reports it) below 0.3%, aim for below 0.1%; bounce rate is commonly kept
 * under 2% to protect the domain's reputation.
 */
export const THRESHOLDS = {
  bounce_rate_max: 0.02,
  spam_rate_max: 0.003,
  spam_rate_target: 0.001,
  note: "Google and Yahoo ask bulk senders to keep the spam complaint rate (as Google Postmaster Tools reports it) under 0.3%, and ideally under 0.1%. Keep the bounce rate under 2%: verify addresses before sending.",
} as const;

export const TRACKING_NOTE =
  "Open and click tracking is off (the default): tracking pixels and rewritten links make emails look like bulk mail to spam filters and hurt deliverability, and Apple Mail Privacy Protection makes opens unreliable anyway. Replies are the figure to trust.";

export interface ReportFilter {
  from?: number;
  to?: number;
  addedBy?: string;
  mailboxId?: string;
}

/** SQL text + parameters for the filters on an enrollments alias / messages alias. */
function enrollmentFilter(f: ReportFilter, alias = "e") {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.from !== undefined) (where.push(`${alias}.created_at >= ?`), params.push(f.from));
  if (f.to !== undefined) (where.push(`${alias}.created_at < ?`), params.push(f.to));
  if (f.addedBy) (where.push(`${alias}.added_by = ?`), params.push(f.addedBy));
  if (f.mailboxId) (where.push(`${alias}.mailbox_id = ?`), params.push(f.mailboxId));
  return { sql: where.length ? ` AND ${where.join(" AND ")}` : "", params };
}

function messageFilter(f: ReportFilter, sequenceId: string) {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.from !== undefined) (where.push("m.sent_at >= ?"), params.push(f.from));
  if (f.to !== undefined) (where.push("m.sent_at < ?"), params.push(f.to));
  if (f.mailboxId) (where.push("m.mailbox_id = ?"), params.push(f.mailboxId));
  if (f.addedBy)
    (where.push("m.enrollment_id IN (SELECT id FROM enrollments WHERE sequence_id = ? AND added_by = ?)"),
      params.push(sequenceId, f.addedBy));
  return { sql: where.length ? ` AND ${where.join(" AND ")}` : "", params };
}

/** The same filters over report_rollup (from/to are whole UTC days, so day numbers are exact). */
function rollupFilter(f: ReportFilter) {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.from !== undefined) (where.push("day >= ?"), params.push(Math.floor(f.from / DAY_MS)));
  if (f.to !== undefined) (where.push("day < ?"), params.push(Math.ceil(f.to / DAY_MS)));
  if (f.mailboxId) (where.push("mailbox_id = ?"), params.push(f.mailboxId));
  return { sql: where.length ? ` AND ${where.join(" AND ")}` : "", params };
}

type GroupRow = {
  step_id: string;
  variant_id: string | null;
  mailbox_id: string;
  sent: number;
  bounced: number;
  replied: number;
  ooo: number;
};
type DayRow = { day: number; sent: number; bounced: number; replied: number; ooo: number };

export interface Counts {
  sent: number;
  replied: number;
  out_of_office: number;
  bounced: number;
}

export interface SequenceReport {
  sequence: { id: string; name: string };
  filters: { from: number | null; to: number | null; added_by: string | null; mailbox_id: string | null };
  totals: Counts & {
    contacts: number;
    reply_rate: number;
    bounce_rate: number;
    positive_replies: number;
    unsubscribed: number;
    tasks_done: number;
  };
  statuses: { status: string; contacts: number }[];
  steps: {
    step_id: string;
    position: number;
    type: string;
    enabled: boolean;
    reached: number;
    sent: number;
    replied: number;
    bounced: number;
    unsubscribed: number;
    tasks_done: number;
    reply_rate: number;
    bounce_rate: number;
  }[];
  mailboxes: (Counts & { mailbox_id: string; email: string; reply_rate: number; bounce_rate: number })[];
  daily: (Counts & { day: string })[];
  ab_tests: (AbVerdict & { step_id: string; position: number; winner_id: string | null })[];
  thresholds: typeof THRESHOLDS;
  tracking: { opens: boolean; clicks: boolean; note: string };
}

const rate = (x: number, n: number) => (n > 0 ? x / n : 0);
const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

export async function sequenceReport(
  d1: D1Database,
  seq: { id: string; teamId: string; name: string; settings: Record<string, unknown> },
  f: ReportFilter,
): Promise<SequenceReport> {
  const ef = enrollmentFilter(f);
  const mf = messageFilter(f, seq.id);
  const rf = rollupFilter(f);
  const emailsIn = "m.status IN ('sent', 'bounced') AND m.sent_at IS NOT NULL";
  const [stepRows, variantRows, mailboxRows, enrollRows, byStepVariantMailbox, byDay, taskRows, positive] = await Promise.all([
    d1
      .prepare("SELECT id, position, type, enabled FROM steps WHERE sequence_id = ? AND team_id = ? ORDER BY position")
      .bind(seq.id, seq.teamId)
      .all<{ id: string; position: number; type: string; enabled: number }>(),
    d1
      .prepare(
        "SELECT v.id, v.step_id, v.label, v.enabled FROM step_variants v JOIN steps s ON s.id = v.step_id WHERE s.sequence_id = ? AND v.team_id = ? ORDER BY v.label, v.id",
      )
      .bind(seq.id, seq.teamId)
      .all<{ id: string; step_id: string; label: string; enabled: number }>(),
    d1.prepare("SELECT id, email FROM mailboxes WHERE team_id = ?").bind(seq.teamId).all<{ id: string; email: string }>(),
    d1
      .prepare(
        `SELECT e.status, e.current_step, e.reason, count(*) AS n FROM enrollments e WHERE e.sequence_id = ?${ef.sql} GROUP BY 1, 2, 3`,
      )
      .bind(seq.id, ...ef.params)
      .all<{ status: string; current_step: number; reason: string | null; n: number }>(),
    // Without the added-by filter the rollup answers (a few rows per day); with it, the emails of those enrollments are grouped.
    f.addedBy
      ? d1
          .prepare(
            `SELECT m.step_id, m.variant_id, m.mailbox_id, count(*) AS sent, sum(m.status = 'bounced') AS bounced, sum(m.reply_kind = 'reply') AS replied, sum(m.reply_kind = 'out_of_office') AS ooo
           FROM messages m WHERE m.sequence_id = ? AND ${emailsIn}${mf.sql} GROUP BY 1, 2, 3`,
          )
          .bind(seq.id, ...mf.params)
          .all<GroupRow>()
      : d1
          .prepare(
            `SELECT step_id, nullif(variant_id, '') AS variant_id, mailbox_id, sum(sent) AS sent, sum(bounced) AS bounced, sum(replied) AS replied, sum(out_of_office) AS ooo FROM report_rollup WHERE sequence_id = ?${rf.sql} GROUP BY 1, 2, 3`,
          )
          .bind(seq.id, ...rf.params)
          .all<GroupRow>(),
    f.addedBy
      ? d1
          .prepare(
            `SELECT m.sent_at / ${DAY_MS} AS day, count(*) AS sent, sum(m.status = 'bounced') AS bounced, sum(m.reply_kind = 'reply') AS replied, sum(m.reply_kind = 'out_of_office') AS ooo
           FROM messages m WHERE m.sequence_id = ? AND ${emailsIn}${mf.sql} GROUP BY 1 ORDER BY 1`,
          )
          .bind(seq.id, ...mf.params)
          .all<DayRow>()
      : d1
          .prepare(
            `SELECT day, sum(sent) AS sent, sum(bounced) AS bounced, sum(replied) AS replied, sum(out_of_office) AS ooo FROM report_rollup WHERE sequence_id = ?${rf.sql} GROUP BY 1 ORDER BY 1`,
          )
          .bind(seq.id, ...rf.params)
          .all<DayRow>(),
    d1
      .prepare(
        `SELECT t.step_id, count(*) AS n FROM tasks t WHERE t.sequence_id = ? AND t.status = 'completed'${
          f.from !== undefined ? " AND t.completed_at >= ?" : ""
        }${f.to !== undefined ? " AND t.completed_at < ?" : ""}${
          f.addedBy || f.mailboxId
            ? ` AND t.enrollment_id IN (SELECT e.id FROM enrollments e WHERE e.sequence_id = ?${enrollmentFilter({ addedBy: f.addedBy, mailboxId: f.mailboxId }).sql})`
            : ""
        } GROUP BY 1`,
      )
      .bind(
        seq.id,
        ...[f.from, f.to].filter((x) => x !== undefined),
        ...(f.addedBy || f.mailboxId ? [seq.id, ...enrollmentFilter({ addedBy: f.addedBy, mailboxId: f.mailboxId }).params] : []),
      )
      .all<{ step_id: string; n: number }>(),
    // Positive replies: contacts who replied and now sit in a "succeeded" stage (Interested, Meeting booked).
    d1
      .prepare(
        `SELECT count(DISTINCT m.contact_id) AS n FROM messages m JOIN contacts c ON c.id = m.contact_id AND c.team_id = m.team_id JOIN contact_stages s ON s.id = c.stage_id
        WHERE m.team_id = ? AND m.replied_at IS NOT NULL AND m.reply_kind = 'reply' AND m.sequence_id = ? AND ${emailsIn} AND s.category = 'succeeded'${mf.sql}`,
      )
      .bind(seq.teamId, seq.id, ...mf.params)
      .first<{ n: number }>(),
  ]);

  const steps = stepRows.results;
  const lastPosition = steps.reduce((a, s) => Math.max(a, s.position), 0);
  const statusCount = new Map<string, number>(ENROLLMENT_STATUSES.map((s) => [s, 0]));
  let contacts = 0;
  let unsubscribed = 0;
  for (const r of enrollRows.results) {
    statusCount.set(r.status, (statusCount.get(r.status) ?? 0) + r.n);
    contacts += r.n;
    if (r.reason === "unsubscribed") unsubscribed += r.n;
  }
  const stepCounts = new Map<string, Counts>();
  const mailboxCounts = new Map<string, Counts>();
  const variantCounts = new Map<string, Counts>();
  const totals: Counts = { sent: 0, replied: 0, out_of_office: 0, bounced: 0 };
  const add = (m: Map<string, Counts>, k: string, r: { sent: number; bounced: number; replied: number; ooo: number }) => {
    const c = m.get(k) ?? { sent: 0, replied: 0, out_of_office: 0, bounced: 0 };
    c.sent += r.sent;
    c.bounced += r.bounced ?? 0;
    c.replied += r.replied ?? 0;
    c.out_of_office += r.ooo ?? 0;
    m.set(k, c);
  };
  for (const r of byStepVariantMailbox.results) {
    add(stepCounts, r.step_id, r);
    add(mailboxCounts, r.mailbox_id, r);
    if (r.variant_id) add(variantCounts, r.variant_id, r);
    totals.sent += r.sent;
    totals.bounced += r.bounced ?? 0;
    totals.replied += r.replied ?? 0;
    totals.out_of_office += r.ooo ?? 0;
  }
  const tasksDone = new Map(taskRows.results.map((r) => [r.step_id, r.n]));
  const zero: Counts = { sent: 0, replied: 0, out_of_office: 0, bounced: 0 };
  const delivered = (c: Counts) => c.sent - c.bounced;

  const stepsOut = steps.map((s) => {
    // Reached: contacts whose current step is this one or later (a contact that finished on an
    // earlier step, by a reply or an unsubscribe, never reached the later ones).
    let reached = 0;
    let unsub = 0;
    for (const r of enrollRows.results) {
      if (r.current_step >= s.position) reached += r.n;
      if (r.reason === "unsubscribed" && (r.current_step === s.position || (s.position === lastPosition && r.current_step > lastPosition)))
        unsub += r.n;
    }
    const c = stepCounts.get(s.id) ?? zero;
    return {
      step_id: s.id,
      position: s.position,
      type: s.type,
      enabled: !!s.enabled,
      reached,
      sent: c.sent,
      replied: c.replied,
      bounced: c.bounced,
      unsubscribed: unsub,
      tasks_done: tasksDone.get(s.id) ?? 0,
      reply_rate: rate(c.replied, delivered(c)),
      bounce_rate: rate(c.bounced, c.sent),
    };
  });

  const mailboxEmail = new Map(mailboxRows.results.map((m) => [m.id, m.email]));
  const mailboxesOut = [...mailboxCounts.entries()]
    .map(([id, c]) => ({
      mailbox_id: id,
      email: mailboxEmail.get(id) ?? "(deleted mailbox)",
      ...c,
      reply_rate: rate(c.replied, delivered(c)),
      bounce_rate: rate(c.bounced, c.sent),
    }))
    .sort((a, b) => b.sent - a.sent || a.email.localeCompare(b.email));

  const winners = (seq.settings.ab_winners ?? {}) as Record<string, string>;
  const abTests = steps
    .filter((s) => s.type === "auto_email" || s.type === "manual_email")
    .map((s) => ({ s, vs: variantRows.results.filter((v) => v.step_id === s.id) }))
    .filter(({ vs }) => vs.length >= 2)
    .map(({ s, vs }) => ({
      step_id: s.id,
      position: s.position,
      winner_id: winners[s.id] ?? null,
      ...abVerdict(
        vs.map((v) => {
          const c = variantCounts.get(v.id) ?? zero;
          // Replies over delivered emails, like every reply rate in the report.
          return { id: v.id, label: v.label, enabled: !!v.enabled, sent: delivered(c), replies: c.replied };
        }),
      ),
    }));

  return {
    sequence: { id: seq.id, name: seq.name },
    filters: { from: f.from ?? null, to: f.to ?? null, added_by: f.addedBy ?? null, mailbox_id: f.mailboxId ?? null },
    totals: {
      ...totals,
      contacts,
      unsubscribed,
      positive_replies: positive?.n ?? 0,
      tasks_done: [...tasksDone.values()].reduce((a, b) => a + b, 0),
      reply_rate: rate(totals.replied, delivered(totals)),
      bounce_rate: rate(totals.bounced, totals.sent),
    },
    statuses: [...statusCount.entries()].map(([status, n]) => ({ status, contacts: n })),
    steps: stepsOut,
    mailboxes: mailboxesOut,
    daily: byDay.results.map((r) => ({
      day: isoDay(r.day),
      sent: r.sent,
      replied: r.replied ?? 0,
      out_of_office: r.ooo ?? 0,
      bounced: r.bounced ?? 0,
    })),
    ab_tests: abTests,
    thresholds: THRESHOLDS,
    tracking: { opens: false, clicks: false, note: TRACKING_NOTE },
  };
}
