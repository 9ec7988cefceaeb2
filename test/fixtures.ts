import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { EnrollItem } from "../durable-objects/sequence-do";
import { bulkInsert } from "../worker/db/bulk";
import { alarmFailures, armedAlarms, trackAlarms } from "../worker/lib/alarms";
import { now, setClock } from "../worker/lib/clock";
import { newId } from "../worker/lib/ids";
import { mailboxStub, sequenceStub } from "../durable-objects/engine";
import { DEMO } from "../worker/seed/demo";
import type { enrollments, jobs, messages } from "../worker/db/schema";
import type { Env } from "../worker/env";
import type { QueueMessage } from "../worker/queue/messages";
import { DEFAULT_WATERFALL, runWaterfall } from "../worker/services/enrichment";
import { env, type RawRow } from "./helpers";

/**
 * The Worker's env with a job queue of the test's own, which the test delivers itself: it collects what
 * is sent into `sent`, and refuses sends while `down.left` is above 0 (each refusal counts one down).
 */
export function withQueue(sent: QueueMessage[], down: { left: number } = { left: 0 }): Env {
  const push = async (bodies: QueueMessage[]) => {
    if (down.left > 0) {
      down.left--;
      throw new Error("queue unavailable");
    }
    sent.push(...bodies);
  };
  const JOBS = { send: (b: QueueMessage) => push([b]), sendBatch: (m: { body: QueueMessage }[]) => push(m.map((x) => x.body)) };
  return { ...(env as unknown as Env), JOBS: JOBS as unknown as Queue<QueueMessage> };
}

/** Monday 2027-03-01 00:00 UTC: simulated time starts after real time, so real alarms never fire mid-test. */
export const SIM_START = Date.UTC(2027, 2, 1);
export const MIN = 60_000;
export const HOUR = 60 * MIN;

/** A schedule's windows: the same hours on every day of the week (e.g. "00:00"–"23:59", open all week). */
export const everyDay = (from: string, to: string) =>
  Object.fromEntries(["0", "1", "2", "3", "4", "5", "6"].map((d) => [d, [[from, to]] as [string, string][]]));
export const DAY = 24 * HOUR;
/** SIM_START is Monday 00:00 UTC = Sunday 19:00 in New York (EST, UTC-5): a 09:00–17:00 weekday window there (makeSchedule's) opens at +14 h. */
export const MONDAY_9AM_NY = SIM_START + 14 * HOUR;

export interface StepSpec {
  type?: string;
  wait?: number;
  unit?: "minutes" | "hours" | "days";
  businessDays?: boolean;
  enabled?: boolean;
  threadReply?: boolean;
  variants?: { subject: string; body: string }[];
}

export interface ScheduleSpec {
  timeZone?: string;
  windows?: Record<string, [string, string][]>;
  holidays?: string[];
  holidayCalendar?: string;
  useContactTimeZone?: boolean;
}

/** A team of its own per test, so tests never see each other's rows. */
export async function makeTeam(name = "Sim") {
  const teamId = newId();
  const userId = newId();
  const t = now();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO teams (id, name, postal_address, credit_balance, created_at) VALUES (?, ?, '1 Test St, Testville', 1000, ?)",
    ).bind(teamId, name, t),
    env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Sim Owner', 'admin', 'x', ?)",
    ).bind(userId, teamId, `${userId}@sim.test`, t),
    env.DB.prepare(
      "INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Cold', 'open', 0), (?, ?, 'Do Not Contact', 'dnc', 1)",
    ).bind(`${teamId}-cold`, teamId, `${teamId}-dnc`, teamId),
  ]);
  return { teamId, userId };
}

export async function makeSchedule(teamId: string, s: ScheduleSpec = {}) {
  const id = newId();
  await env.DB.prepare(
    "INSERT INTO schedules (id, team_id, name, time_zone, windows, holidays, holiday_calendar, use_contact_time_zone, is_default, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
  )
    .bind(
      id,
      teamId,
      `sched-${id}`,
      s.timeZone ?? "America/New_York",
      JSON.stringify(s.windows ?? Object.fromEntries(["1", "2", "3", "4", "5"].map((d) => [d, [["09:00", "17:00"]]]))),
      JSON.stringify(s.holidays ?? []),
      s.holidayCalendar ?? "none",
      s.useContactTimeZone ? 1 : 0,
      now(),
    )
    .run();
  return id;
}

export async function makeSequence(teamId: string, ownerId: string, steps: StepSpec[], scheduleId: string | null, active = true) {
  const id = newId();
  const t = now();
  const stmts = [
    env.DB.prepare(
      "INSERT INTO sequences (id, team_id, owner_id, name, active, schedule_id, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
    ).bind(id, teamId, ownerId, `Seq ${id}`, active ? 1 : 0, scheduleId, t, t),
  ];
  const stepIds: string[] = [];
  steps.forEach((s, i) => {
    const sid = newId();
    stepIds.push(sid);
    stmts.push(
      env.DB.prepare(
        "INSERT INTO steps (id, team_id, sequence_id, position, type, wait_amount, wait_unit, business_days, enabled, thread_reply, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)",
      ).bind(
        sid,
        teamId,
        id,
        i + 1,
        s.type ?? "auto_email",
        s.wait ?? 0,
        s.unit ?? "days",
        s.businessDays ? 1 : 0,
        s.enabled === false ? 0 : 1,
        s.threadReply ? 1 : 0,
        t,
      ),
    );
    for (const [k, v] of (
      s.variants ?? [{ subject: `Step ${i + 1} for {{first_name}}`, body: `Hello {{first_name}} at {{company}}` }]
    ).entries()) {
      stmts.push(
        env.DB.prepare(
          "INSERT INTO step_variants (id, team_id, step_id, label, subject, body, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
        ).bind(newId(), teamId, sid, String.fromCharCode(65 + k), v.subject, v.body, t),
      );
    }
  });
  await env.DB.batch(stmts);
  return { sequenceId: id, stepIds };
}

export async function makeMailbox(
  teamId: string,
  userId: string,
  o: { daily?: number; hourly?: number; gapSeconds?: number; jitterSeconds?: number } = {},
) {
  const id = newId();
  const t = now();
  await env.DB.prepare(
    "INSERT INTO mailboxes (id, team_id, user_id, email, sender_name, signature, transport, daily_limit, hourly_limit, min_gap_seconds, jitter_seconds, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'Sim Sender', 'Sim', 'outbox', ?, ?, ?, ?, 'connected', ?, ?)",
  )
    .bind(id, teamId, userId, `${id}@sender.test`, o.daily ?? 100, o.hourly ?? 20, o.gapSeconds ?? 60, o.jitterSeconds ?? 0, t, t)
    .run();
  return id;
}

export async function makeContacts(
  teamId: string,
  n: number,
  o: { score?: (i: number) => number; timeZone?: (i: number) => string | null } = {},
) {
  const t = now();
  const ids = Array.from({ length: n }, () => newId());
  await bulkInsert(
    env.DB,
    "contacts",
    [
      "id",
      "team_id",
      "first_name",
      "last_name",
      "company",
      "email",
      "email_status",
      "score",
      "time_zone",
      "stage_id",
      "created_at",
      "updated_at",
    ],
    ids.map((id, i) => [
      id,
      teamId,
      `First${i}`,
      `Last${i}`,
      "Acme",
      `c${i}.${id}@example.test`,
      "verified",
      o.score ? o.score(i) : 50,
      o.timeZone ? o.timeZone(i) : null,
      `${teamId}-cold`,
      t,
      t,
    ]),
    "",
  );
  return ids;
}

export async function enroll(teamId: string, sequenceId: string, contactIds: string[], mailboxIds: string[], score = (i: number) => 50) {
  const items: EnrollItem[] = contactIds.map((c, i) => ({
    enrollmentId: newId(),
    contactId: c,
    mailboxId: mailboxIds[i % mailboxIds.length]!,
    score: score(i),
    timeZone: null,
  }));
  return sequenceStub(env, sequenceId).enroll(sequenceId, teamId, items);
}

/**
 * Discrete-event driver: run the earliest armed alarm at its simulated instant, until `until`. An alarm
 * whose work failed (it arms its own retry, alarmOrRetry) fails the run, unless `allowFailures` (a test of
 * what a failure does): a bug in an alarm is not hidden behind its retries.
 */
export async function runUntil(until: number, maxEvents = 1_000_000, o: { allowFailures?: boolean } = {}): Promise<number> {
  const failuresBefore = alarmFailures.length;
  let events = 0;
  for (; events < maxEvents; events++) {
    let next: { key: string; kind: string; name: string; at: number } | null = null;
    for (const [key, a] of armedAlarms) if (!next || a.at < next.at) next = { key, ...a };
    if (!next || next.at > until) break;
    if (next.at > now()) setClock(next.at);
    armedAlarms.delete(next.key);
    const stub = next.kind === "sequence" ? sequenceStub(env, next.name) : mailboxStub(env, next.name);
    await runDurableObjectAlarm(stub);
  }
  if (now() < until) setClock(until);
  const failed = alarmFailures.slice(failuresBefore);
  if (failed.length && !o.allowFailures)
    throw new Error(`${failed.length} alarm(s) failed, first ${failed[0]!.kind} ${failed[0]!.name}: ${String(failed[0]!.error)}`);
  return events;
}

export function startSimulation(at = SIM_START) {
  trackAlarms(false);
  trackAlarms(true);
  setClock(at);
}

/** A D1 message row with its step's position. */
export type SentMessage = RawRow<typeof messages> & { position: number };

export const sentMessages = async (sequenceId: string) =>
  (
    await env.DB.prepare(
      "SELECT m.*, s.position FROM messages m JOIN steps s ON s.id = m.step_id WHERE m.sequence_id = ? ORDER BY m.sent_at",
    )
      .bind(sequenceId)
      .all<SentMessage>()
  ).results;

export { DEMO };

/** D1's enrollment rows of a sequence (what lists show), oldest first. */
export const enrollmentsOf = async (sequenceId: string) =>
  (
    await env.DB.prepare("SELECT * FROM enrollments WHERE sequence_id = ? ORDER BY created_at, id")
      .bind(sequenceId)
      .all<RawRow<typeof enrollments>>()
  ).results;

/** Every D1 message row of a mailbox, in send order. */
export const mailboxMessages = async (mailboxId: string) =>
  (
    await env.DB.prepare(
      "SELECT m.*, s.position FROM messages m JOIN steps s ON s.id = m.step_id WHERE m.mailbox_id = ? ORDER BY m.sent_at",
    )
      .bind(mailboxId)
      .all<SentMessage>()
  ).results;

/** The MailboxDO's send ledger and its armed alarm, read inside the object. */
export const mailboxLedger = (mailboxId: string) => runInDurableObject(mailboxStub(env, mailboxId), (o) => o.inspect());

/** The SequenceDO's enrollments, timers and alarm, read inside the object. */
export const sequenceState = (sequenceId: string) => runInDurableObject(sequenceStub(env, sequenceId), (o) => o.inspect());

/** Connect, disconnect or pause a mailbox the way the settings route does: write D1, then tell its MailboxDO. */
export async function setMailboxStatus(mailboxId: string, status: "connected" | "disconnected" | "paused", reason: string | null = null) {
  await env.DB.prepare("UPDATE mailboxes SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?")
    .bind(status, reason, now(), mailboxId)
    .run();
  await mailboxStub(env, mailboxId).refresh(mailboxId);
}

/** Another user of a team (a member unless said), with a sequence shared with them when `share` is given. */
export async function makeUser(
  teamId: string,
  role: "admin" | "member" = "member",
  share?: { sequenceId: string; access: "view" | "edit" },
): Promise<string> {
  const id = newId();
  await env.DB.batch([
    env.DB.prepare("INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, 'x', 0)").bind(
      id,
      teamId,
      `${id}@sim.test`,
      role === "admin" ? "Other admin" : "Member",
      role,
    ),
    ...(share
      ? [
          env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, ?)").bind(
            share.sequenceId,
            id,
            teamId,
            share.access,
          ),
        ]
      : []),
  ]);
  return id;
}

/** A signed-in session for a fixture user, without going through the password check. */
export async function sessionFor(teamId: string, userId: string) {
  const { sha256Hex } = await import("../worker/lib/crypto");
  const token = `tok-${newId()}`;
  const csrf = `csrf-${newId()}`;
  await env.DB.prepare("INSERT INTO sessions (id, user_id, team_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
    .bind(await sha256Hex(token), userId, teamId, csrf, 0, Number.MAX_SAFE_INTEGER)
    .run();
  return { cookie: `sf_session=${token}`, csrf, userId, teamId };
}

/** A team ready for adding contacts: an active one-step sequence, mailboxes, a session, credits. */
export async function addContactsSetup(
  o: { mailboxes?: { daily?: number; hourly?: number; gapSeconds?: number }[]; credits?: number; steps?: StepSpec[] } = {},
) {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  await env.DB.prepare("UPDATE teams SET credit_balance = ? WHERE id = ?")
    .bind(o.credits ?? 1000, teamId)
    .run();
  const scheduleId = await makeSchedule(teamId);
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, o.steps ?? [{ wait: 0 }, { wait: 2 }], scheduleId);
  const mailboxIds: string[] = [];
  for (const m of o.mailboxes ?? [{}])
    mailboxIds.push(await makeMailbox(teamId, userId, { daily: m.daily ?? 100, hourly: m.hourly ?? 20, gapSeconds: m.gapSeconds ?? 60 }));
  return { teamId, userId, s, scheduleId, sequenceId, stepIds, mailboxIds };
}

export async function makeList(teamId: string, ownerId: string, contactIds: string[], name = `List ${newId()}`) {
  const id = newId();
  await env.DB.prepare("INSERT INTO lists (id, team_id, owner_id, name, created_at) VALUES (?, ?, ?, ?, ?)")
    .bind(id, teamId, ownerId, name, now())
    .run();
  await bulkInsert(
    env.DB,
    "list_members",
    ["list_id", "contact_id", "team_id", "added_at"],
    contactIds.map((c) => [id, c, teamId, now()]),
  );
  return id;
}

/** Waits for a job to finish (the queue consumer runs it in the background). */
export async function waitForJob(jobId: string, timeoutMs = 60_000): Promise<RawRow<typeof jobs>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const j = await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(jobId).first<RawRow<typeof jobs>>();
    if (j && ["completed", "failed", "cancelled"].includes(j.status)) return j;
    if (Date.now() > until) throw new Error(`job ${jobId} still ${j?.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A sequence's stored counts (sequence_counts, kept by triggers) beside the same counts taken from
 * every enrollment and email: a test expects the two equal. Statuses at zero are left out of both.
 */
export async function sequenceCountsVsTruth(sequenceId: string) {
  const statuses = ["scheduled", "active", "paused", "held", "finished", "failed", "removed"] as const;
  const row = await env.DB.prepare("SELECT * FROM sequence_counts WHERE sequence_id = ?").bind(sequenceId).first<Record<string, number>>();
  const stored = Object.fromEntries(
    [...statuses, "sent", "bounced", "replied"].map((k) => [k, row?.[k] ?? 0] as const).filter(([, n]) => n !== 0),
  );
  const byStatus = (
    await env.DB.prepare("SELECT status, count(*) AS n FROM enrollments WHERE sequence_id = ? GROUP BY status")
      .bind(sequenceId)
      .all<{ status: string; n: number }>()
  ).results;
  // Emails as the sequence report counts them (migration 0057): went out (bounced included) with a sent time.
  const mail = await env.DB.prepare(
    `SELECT count(*) AS sent, sum(status = 'bounced') AS bounced, sum(reply_kind IS 'reply') AS replied FROM messages
      WHERE sequence_id = ? AND status IN ('sent', 'bounced') AND sent_at IS NOT NULL`,
  )
    .bind(sequenceId)
    .first<{ sent: number | null; bounced: number | null; replied: number | null }>();
  const truth = Object.fromEntries(
    [
      ...byStatus.map((r) => [r.status, r.n] as const),
      ["sent", mail?.sent ?? 0] as const,
      ["bounced", mail?.bounced ?? 0] as const,
      ["replied", mail?.replied ?? 0] as const,
    ].filter(([, n]) => n !== 0),
  );
  return { stored, truth };
}

/**
 * Emails in D1's outbox as the MailboxDO writes them, one per contact (the same contact may repeat),
 * the i-th with status `status(i)`; sent ones at decreasing instants. Returns their ids.
 */
export async function makeMessages(
  teamId: string,
  sequenceId: string,
  stepId: string,
  mailboxId: string,
  contactIds: readonly string[],
  status: (i: number) => string = () => "sent",
) {
  const t = now();
  const rows = contactIds.map((c, i) => {
    const id = newId();
    const s = status(i);
    const sent = s === "sent" || s === "bounced" || s === "unknown";
    return [
      id,
      teamId,
      newId(),
      sequenceId,
      stepId,
      mailboxId,
      c,
      `${i}@x.test`,
      `Hello ${i}`,
      "Hi",
      `<${id}@x.test>`,
      s,
      t - i,
      sent ? t - i : null,
      t - i,
    ];
  });
  await bulkInsert(
    env.DB,
    "messages",
    [
      "id",
      "team_id",
      "enrollment_id",
      "sequence_id",
      "step_id",
      "mailbox_id",
      "contact_id",
      "to_email",
      "subject",
      "body",
      "message_id_header",
      "status",
      "scheduled_at",
      "sent_at",
      "created_at",
    ],
    rows,
  );
  return rows.map((r) => r[0] as string);
}

/** A sequence's enrollment_groups (kept by triggers) beside the same groups counted from its enrollments. */
export async function enrollmentGroupsVsTruth(sequenceId: string) {
  const stored = await env.DB.prepare(
    "SELECT status, reason, mailbox_id, n FROM enrollment_groups WHERE sequence_id = ? AND n <> 0 ORDER BY 1, 2, 3",
  )
    .bind(sequenceId)
    .all();
  const truth = await env.DB.prepare(
    "SELECT status, coalesce(reason, '') AS reason, coalesce(mailbox_id, '') AS mailbox_id, count(*) AS n FROM enrollments WHERE sequence_id = ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
  )
    .bind(sequenceId)
    .all();
  return { stored: stored.results, truth: truth.results };
}

/**
 * A saved contact with no address, at a domain where the built-in enrichment waterfall finds a verified one
 * (it answers by name and key: the first of up to 50 tries it finds). Returns the contact and that address.
 */
export async function contactEnrichmentFinds(teamId: string, stageId: string | null = null): Promise<{ id: string; email: string }> {
  const t = now();
  for (let i = 0; i < 50; i++) {
    const id = newId();
    const w = await runWaterfall(DEFAULT_WATERFALL, {
      firstName: "Ada",
      lastName: `Lovelace${i}`,
      domain: "engine.example.test",
      company: "Engine",
      key: id,
    });
    if (!w.email || w.status !== "verified") continue;
    await env.DB.prepare(
      `INSERT INTO contacts (id, team_id, first_name, last_name, company, domain, email, email_status, score, stage_id, created_at, updated_at)
       VALUES (?, ?, 'Ada', ?, 'Engine', 'engine.example.test', NULL, 'unavailable', 50, ?, ?, ?)`,
    )
      .bind(id, teamId, `Lovelace${i}`, stageId, t, t)
      .run();
    return { id, email: w.email };
  }
  throw new Error("the waterfall found no verified address in 50 tries");
}
