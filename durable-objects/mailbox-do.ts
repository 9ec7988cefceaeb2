import { DurableObject } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { bulkInsertJsonSql } from "../worker/db/bulk";
import { batchSql, db, type BatchStatement, type Db } from "../worker/db/client";
import { contacts, enrollments, mailboxes, messages, suppressions } from "../worker/db/schema";
import type { Env } from "../worker/env";
import { alarmOrRetry, armAlarm, armRetry } from "../worker/lib/alarms";
import { now } from "../worker/lib/clock";
import { fnv1a } from "../worker/lib/hash";
import { newId } from "../worker/lib/ids";
import { inWindow, nextWindowStart, windowEnd, type WindowSpec } from "../worker/services/schedule-time";
import { transportFor } from "../worker/transports";
import { loadMailbox, replyCheckMark, sameSendingSettings, type MailboxSettings } from "../worker/transports/mailbox-settings";
import type { SendResult, Transport } from "../worker/transports/types";
import { composeEmail, loadSendContext, type ComposedEmail, type SendContext } from "./compose";
import {
  blockingReason,
  loadContactStates,
  loadContactZones,
  loadSendChecks,
  sendBlock,
  type SendChecks,
  type SequenceState,
} from "./eligibility";
import { suppressionMatches } from "../worker/services/suppressions";
import { engine } from "./engine";
import { SEND_NOW_SCORE, sendNowWindow, type PlannedSend, type PlanWait } from "./scheduled-email";
import {
  outcomeOfMailboxState,
  type ReasonCode,
  type EmailOverride,
  type MailboxItemState,
  type QueuedEmail,
  type StepResult,
} from "./engine-types";
import { migrate, patchRow, readMeta, writeMeta } from "./object-storage";

type Verdict = { ok: boolean; reason: string | null; override?: EmailOverride | null };

type State = "queued" | "sending" | "sent" | "unknown" | "bounced" | "failed" | "cancelled";

interface QueueRow {
  enrollment_id: string;
  step_id: string;
  sequence_id: string;
  team_id: string;
  contact_id: string;
  due_at: number;
  score: number;
  window: string;
  zone: string | null;
  thread: string | null;
  state: State;
  attempts: number;
  next_attempt_at: number | null;
  reserved_at: number | null;
  settled_at: number | null;
  error: string | null;
  reason: string | null;
  reported: number;
  msg: string | null;
  /** Bumped each time the SequenceDO hands this key over: a decision taken on an older hand-over is void. */
  gen: number;
  /** The sending window group (window + zone) the row belongs to. */
  gid: number;
  message_id: string | null;
  subject: string | null;
  /** A soft-bounce retry (keyed `<step>~r<n>`): the step whose email it sends again. */
  resend_of: string | null;
  /** A user's edit of this email for this contact (JSON EmailOverride), as the SequenceDO last handed it out. */
  override: string | null;
}

/** A settled row as report() reads it: its stored message stays in SQLite but for what this needs. */
type ReportedRow = Pick<
  QueueRow,
  | "enrollment_id"
  | "step_id"
  | "sequence_id"
  | "team_id"
  | "contact_id"
  | "state"
  | "reason"
  | "error"
  | "settled_at"
  | "resend_of"
  | "score"
> & {
  rid: number;
  /** 1 when a message was stored (something was, or may have been, sent). */
  has_msg: number;
  message_id: string | null;
  subject: string | null;
  /** The recipient, read for a bounce only. */
  to_email: string | null;
  /** A new message's D1 row without its id (a JSON array, `messages` columns after `id`); null for a retry or no message. */
  message_row: string | null;
};

/**
 * Emails as they travel to enqueue(): each distinct sending window once, as the JSON the ledger
 * stores, and the items naming theirs by index. A window is the larger part of an item, and the same
 * for most of a hand-over: the call no longer copies it per email, nor the object stringifies it per email.
 */
export interface EnqueueBatch {
  windows: string[];
  items: (Omit<QueuedEmail, "window"> & { window: number })[];
}

/**
 * An email a person writes and sends by hand, now (a rep's answer to a reply): composed by the caller, keyed
 * like a step's (`enrollmentId`, `stepId` "reply:<id>"), recorded with no sequence (sequence_id '', as a test
 * email: the reports' rollups leave it out).
 */
export interface HandEmail {
  enrollmentId: string;
  stepId: string;
  contactId: string;
  to: string;
  subject: string;
  text: string;
  raw: string;
  messageId: string;
  inReplyTo: string | null;
}

/** What sendByHand did: sent (or may have: unknown, or bounced at once), or refused with nothing recorded. */
export type HandSendResult =
  | { ok: true; state: "sent" | "unknown" | "bounced"; at: number; error: string | null }
  | {
      ok: false;
      code: "already" | "not_connected" | "blocked" | "held_for_reply_check" | "held" | "daily_limit" | "hourly_limit" | "not_sent";
      /** blocked: why the address may not be emailed (invariant 5). */
      reason?: ReasonCode;
      /** already: the key's state; not_connected: the mailbox's status. */
      state?: string;
      /** held, daily_limit, hourly_limit: when it could send again; not_sent with a hold: when the hold ends. */
      until?: number;
      message?: string;
      /** not_sent: what the refusal did to the mailbox (paused for its sender; held after a rate limit or sign-in refusal). */
      mailbox?: "paused" | "held";
    };

/** The composed message kept with a reservation until its outcome is reported (invariant 4). */
type StoredMessage = Omit<ComposedEmail, "shown" | "refused" | "missing">;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Retry delays for transient failures; after the last one the step fails with a reason. */
const BACKOFF_MS = [60_000, 5 * 60_000, 15 * 60_000, HOUR, 4 * HOUR];
/** States whose reservation counts against the caps: something was (or may have been) sent. */
const COUNTED = "('sending','sent','unknown','bounced')";
/** A hand-sent email still "sending" this long after its reservation (the object restarted mid-call) is settled by the alarm. */
const HAND_SEND_SETTLE_MS = 60_000;
// Reads of what counts against the caps say `+state IN COUNTED AND reserved_at > ?`: the `+` keeps SQLite
// on queue_reserved (the last day's reservations) instead of an index on state, which walked every
// sent row the queue still keeps.
/** Rows picked (and claimed, and checked) together: one D1 read and one SequenceDO call per batch. */
const PICK_BATCH = 100;
/** Rows looked at per pass (sends, cancellations, withdrawals): a pass ends, and re-arms, after this many. */
const MAX_PICKS_PER_RUN = 5_000;
/** Rows read or deleted at a time by bulk work (pruning, forecasts): memory stays bounded. */
const PAGE = 5_000;
/**
 * Settled and reported rows are kept this long, then pruned: past the 24 h cap window, and long after
 * their SequenceDO recorded the outcome (it never hands a done step over again).
 */
const KEEP_SETTLED_MS = 2 * DAY;
/**
 * A hand-over is written a page per statement, the page bound as one JSON value: at most this many rows and
 * characters (a bound value may hold 2 MB; each row carries its window, holidays included, and a user's edit).
 */
const ENQUEUE_ROWS = 500;
const ENQUEUE_MAX_CHARS = 900_000;
/** How often settled rows are pruned (engine clock): the ledger holds at most this much more than KEEP_SETTLED_MS. */
const PRUNE_EVERY_MS = 6 * HOUR;

/** What a forecast needs of the mailbox's row: whether it sends, and its caps and gap. */
export type MailboxLimits = Pick<MailboxSettings, "status" | "dailyLimit" | "hourlyLimit" | "minGapSeconds">;

/**
 * The ledger's side of a mailbox's capacity (usage()): sends counted against the rolling caps, the
 * queue, the next pass. The limits and the status are the mailbox row's, which every caller has read.
 */
export interface MailboxUsage {
  usedLast24h: number;
  usedLastHour: number;
  queued: number;
  nextSendAt: number | null;
  /** The whole mailbox waits until `until` (the provider's limit, or its sign-in failing): null when it doesn't. */
  hold: MailboxHold | null;
}

/**
 * A hold of the whole mailbox after an answer that any send of the account would get alike
 * (SendFailureKind "rate_limited" / "sign_in"): nothing is tried before `until`, the emails keep their attempts.
 */
export interface MailboxHold {
  until: number;
  cause: "rate_limited" | "sign_in";
  /** The provider's answer, as a person can read it. */
  reason: string;
}

/** How long a hold lasts when the provider didn't say: an hour (Gmail's limits lift over a rolling day). */
const HOLD_MS = HOUR;
/** Bounds on the provider's own wait: a Retry-After of 0 can't make a loop, nor a bogus one hold for days. */
const MIN_HOLD_MS = 60_000;
const MAX_HOLD_MS = DAY;

/** The object's storage schema, one step per version (object-storage.ts runs the missing ones). */
const MIGRATIONS: ((sql: SqlStorage) => void)[] = [
  (sql) =>
    sql.exec(`
        CREATE TABLE queue (
          enrollment_id TEXT NOT NULL, step_id TEXT NOT NULL, sequence_id TEXT NOT NULL, team_id TEXT NOT NULL,
          contact_id TEXT NOT NULL, due_at INTEGER NOT NULL, score INTEGER NOT NULL, window TEXT NOT NULL, zone TEXT,
          thread TEXT, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER,
          reserved_at INTEGER, settled_at INTEGER, error TEXT, reason TEXT, reported INTEGER NOT NULL DEFAULT 1, msg TEXT,
          PRIMARY KEY (enrollment_id, step_id)
        );
        CREATE INDEX queue_pick ON queue (state, score DESC, due_at);
        CREATE INDEX queue_reserved ON queue (reserved_at) WHERE reserved_at IS NOT NULL;
        CREATE INDEX queue_unreported ON queue (reported) WHERE reported = 0;
      `),
  (sql) =>
    // Rows are grouped by sending window (window + zone): picking and the next alarm look at each
    // group whose window is open, so rows outside their window never hide rows inside theirs.
    sql.exec(`
        CREATE TABLE wgroups (gid INTEGER PRIMARY KEY, window TEXT NOT NULL, zone TEXT NOT NULL DEFAULT '', UNIQUE (window, zone));
        ALTER TABLE queue ADD COLUMN gen INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE queue ADD COLUMN gid INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE queue ADD COLUMN message_id TEXT;
        ALTER TABLE queue ADD COLUMN subject TEXT;
        INSERT OR IGNORE INTO wgroups (window, zone) SELECT DISTINCT window, coalesce(zone, '') FROM queue;
        UPDATE queue SET gid = (SELECT gid FROM wgroups g WHERE g.window = queue.window AND g.zone = coalesce(queue.zone, ''));
        CREATE INDEX queue_gpick ON queue (gid, state, score DESC, due_at);
        CREATE INDEX queue_settled ON queue (settled_at) WHERE reported = 1 AND state NOT IN ('queued', 'sending');
      `),
  // Soft-bounce retries: a row of its own per try, keyed `<step>~r<n>`, naming the step it sends again.
  (sql) => sql.exec("ALTER TABLE queue ADD COLUMN resend_of TEXT"),
  // A user's edit of one email for one contact (scheduled-email.ts), kept with the row it changes.
  (sql) => sql.exec("ALTER TABLE queue ADD COLUMN override TEXT"),
  // A group's earliest ready instant by one index entry (nextAlarm): a backlog of thousands of queued rows
  // waiting for capacity was walked row by row on every pass.
  (sql) => sql.exec("CREATE INDEX queue_gready ON queue (gid, max(due_at, coalesce(next_attempt_at, 0))) WHERE state = 'queued'"),
  // The picking indexes hold queued rows only: every statement that walks them asks for queued rows
  // (or for the few in flight), and a sent row kept in them was moved within both on the send and
  // dropped from both when pruned, for entries nothing read (a send's UPDATE: 5 rows written, now 3).
  (sql) =>
    sql.exec(`
      DROP INDEX queue_pick;
      DROP INDEX queue_gpick;
      CREATE INDEX queue_qpick ON queue (score DESC, due_at) WHERE state = 'queued';
      CREATE INDEX queue_qgpick ON queue (gid, score DESC, due_at) WHERE state = 'queued';
      CREATE INDEX queue_sending ON queue (state) WHERE state = 'sending';
    `),
];

/**
 * MailboxDO — one per mailbox. The single writer of the mailbox's send ledger (the queue table,
 * keyed by (enrollment, step): invariant 4) and of its capacity (rolling 24 h and 1 h caps and the
 * gap between sends: invariant 3). Capacity is reserved before the transport is called and released
 * when nothing was sent. Due emails go out by prospect score, then due time, only inside their
 * sending window (invariant 7), after a last eligibility check (invariant 5).
 */
export class MailboxDO extends DurableObject<Env> {
  private sql: SqlStorage;
  private d: Db;
  /** Sends whose transport call is in progress in this instance. A "sending" row not in here was cut off by a crash. */
  private inFlight = new Set<string>();
  private running: Promise<void> | null = null;
  /**
   * The mailbox's settings, kept between passes. Stays correct because every writer of the columns
   * read here tells the object (refresh(): settings, connect, reconnect, disconnect, needs-reconnect),
   * a sender error clears it, eta() reads afresh, and each batch of sends re-reads
   * the row in its own D1 read and starts over when it changed (a lost refresh() costs nothing sent
   * on stale settings). OAuth tokens are not taken from here: the transports read them per send.
   */
  private settingsCache: MailboxSettings | null | undefined = undefined;
  /**
   * The reservation instants that count against the caps in the last 24 h, ascending (older ones are
   * ignored): read at the start of each pass and kept current by the only code that reserves or
   * releases (sendOne, release), so the caps cost no query per email nor per hand-over between passes
   * (invariant 3). No other call changes a counted row's reservation: withdraw deletes and touch
   * bumps only queued rows, reconcile keeps the reservation, prune drops rows settled two days ago.
   * Forgotten when a transaction rolls back; null (a new instance) reads the ledger.
   */
  private recent: number[] | null = null;
  /**
   * The alarm as this object last armed it (it is its only writer): undefined while unknown, i.e.
   * from the moment an alarm fires or schedule() starts until schedule() has armed the next one.
   * A hand-over due no sooner than an armed alarm needs no re-plan: that alarm's pass plans it.
   */
  private armedAt: number | null | undefined = undefined;
  /** When prune() last ran to the end (engine clock): settled rows are dropped a few times a day, not per call. */
  private prunedAt = Number.NEGATIVE_INFINITY;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.d = db(env.DB);
    ctx.blockConcurrencyWhile(async () => migrate(this.sql, MIGRATIONS));
  }

  /**
   * Group ids by (window, zone) as stored: a hand-over of many emails reads the table once per group,
   * not twice per email. Cleared when a transaction that may have created a group rolls back.
   */
  private gids = new Map<string, number>();

  /** The group id of a (window, zone) pair, created on first use. */
  private groupId(window: string, zone: string | null): number {
    const k = `${window}\u0000${zone ?? ""}`;
    const known = this.gids.get(k);
    if (known !== undefined) return known;
    this.sql.exec("INSERT OR IGNORE INTO wgroups (window, zone) VALUES (?, ?)", window, zone ?? "");
    const gid = this.sql.exec<{ gid: number }>("SELECT gid FROM wgroups WHERE window = ? AND zone = ?", window, zone ?? "").one().gid;
    this.gids.set(k, gid);
    return gid;
  }

  /**
   * `meta` as last read or written by this object, its only writer: the gap (`next_send_at`) is asked
   * before every send and the ids are stated by every call, which costs no statement when unchanged.
   */
  private metaCache = new Map<string, string | null>();

  private meta(key: string): string | null {
    if (!this.metaCache.has(key)) this.metaCache.set(key, readMeta(this.sql, key));
    return this.metaCache.get(key)!;
  }
  private setMeta(key: string, value: string) {
    if (this.metaCache.get(key) === value) return;
    // Forgotten first: if the write throws (or its transaction rolls back) the next read goes to storage.
    this.metaCache.delete(key);
    writeMeta(this.sql, key, value);
    this.metaCache.set(key, value);
  }

  /** The hold in force at `t`, if any (meta `hold`, written only by holdMailbox and lifted by refresh). */
  private holdAt(t: number): MailboxHold | null {
    const raw = this.meta("hold");
    if (!raw) return null;
    const h = JSON.parse(raw) as MailboxHold;
    return h.until > t ? h : null;
  }

  /** A transaction whose rollback also forgets what the memos above learnt in it (a group id may not exist any more). */
  private inTransaction<T>(fn: () => T): T {
    try {
      return this.ctx.storage.transactionSync(fn);
    } catch (err) {
      this.gids.clear();
      // A group created and read in the rolled-back transaction is gone, and SQLite gives its id to the next one.
      this.groups.clear();
      this.metaCache.clear();
      this.recent = null;
      throw err;
    }
  }

  // ---------------------------------------------------------------- RPC verbs

  /**
   * Accept due emails. Idempotent on (enrollment, step): a repeat of a queued key refreshes it, a key
   * withdrawn or cancelled before it was sent is queued afresh, and a key that was or may have been
   * sent is never queued again (invariant 4): those come back in `existing` with their state, so the
   * SequenceDO never waits on a mailbox that will not send.
   */
  async enqueue(mailboxId: string, teamId: string, batch: EnqueueBatch): Promise<{ added: number; existing: MailboxItemState[] }> {
    const { items, windows } = batch;
    this.setMeta("mailbox_id", mailboxId);
    this.setMeta("team_id", teamId);
    let added = 0;
    const existing: MailboxItemState[] = [];
    this.inTransaction(() => {
      // The rows these keys already have, read once (a key given twice sees its own insert below).
      const rows = new Map(
        this.sql
          .exec<{ enrollment_id: string; step_id: string; state: State; reported: number }>(
            "SELECT enrollment_id, step_id, state, reported FROM queue WHERE enrollment_id IN (SELECT value FROM json_each(?))",
            JSON.stringify([...new Set(items.map((i) => i.enrollmentId))]),
          )
          .toArray()
          .map((r) => [`${r.enrollment_id}:${r.step_id}`, { state: r.state, reported: r.reported }]),
      );
      // New and queued keys are written together, each row as JSON, a page of rows per statement (ON CONFLICT
      // takes them in order: a key given twice is inserted, then refreshed); a withdrawn key is reset first.
      const pages: string[][] = [];
      let chars = 0;
      for (const i of items) {
        const window = windows[i.window]!;
        const key = `${i.enrollmentId}:${i.stepId}`;
        const ex = rows.get(key);
        // A key that was or may have been sent is never queued again (invariant 4), nor one cancelled whose report is on its way.
        if (ex && ex.state !== "queued" && !(ex.state === "cancelled" && ex.reported)) {
          existing.push(this.stateOf(i.enrollmentId, i.stepId));
          continue;
        }
        // A withdrawn key is queued afresh: its last try is forgotten, then it takes the new hand-over
        // exactly as a new key is inserted with it and a queued key is refreshed with it.
        if (ex?.state === "cancelled")
          this.sql.exec(
            `UPDATE queue SET state = 'queued', attempts = 0, next_attempt_at = NULL, reserved_at = NULL, settled_at = NULL, error = NULL,
               reason = NULL, msg = NULL WHERE enrollment_id = ? AND step_id = ?`,
            i.enrollmentId,
            i.stepId,
          );
        const row = JSON.stringify([
          i.enrollmentId,
          i.stepId,
          i.sequenceId,
          i.teamId,
          i.contactId,
          i.dueAt,
          i.score,
          window,
          i.zone,
          i.thread ? JSON.stringify(i.thread) : null,
          this.groupId(window, i.zone),
          i.override ? JSON.stringify(i.override) : null,
        ]);
        const page = pages.at(-1);
        if (!page || page.length >= ENQUEUE_ROWS || chars + row.length > ENQUEUE_MAX_CHARS) {
          pages.push([row]);
          chars = 0;
        } else page.push(row);
        chars += row.length + 1;
        rows.set(key, { state: "queued", reported: ex?.reported ?? 1 });
        added++;
      }
      const v = (k: number) => `json_extract(value, '$[${k}]')`;
      for (const page of pages)
        this.sql.exec(
          `INSERT INTO queue (enrollment_id, step_id, sequence_id, team_id, contact_id, due_at, score, window, zone, thread, state, gen, gid, override)
           SELECT ${v(0)}, ${v(1)}, ${v(2)}, ${v(3)}, ${v(4)}, ${v(5)}, ${v(6)}, ${v(7)}, ${v(8)}, ${v(9)}, 'queued', 1, ${v(10)}, ${v(11)}
           FROM json_each(?) WHERE true
           ON CONFLICT (enrollment_id, step_id) DO UPDATE SET due_at = excluded.due_at, score = excluded.score, window = excluded.window,
             zone = excluded.zone, thread = excluded.thread, gid = excluded.gid, override = excluded.override, gen = gen + 1`,
          `[${page.join(",")}]`,
        );
    });
    // Nothing added can go out before its due time: an alarm armed no later than that already covers it.
    const due = Math.min(...items.map((i) => i.dueAt));
    if (!added || this.armedAt == null || this.armedAt > due) await this.schedule(now());
    return { added, existing };
  }

  /** What this mailbox knows about steps handed to it (the SequenceDO's reconciler asks). */
  async probe(mailboxId: string, items: { enrollmentId: string; stepId: string }[]): Promise<MailboxItemState[]> {
    this.setMeta("mailbox_id", mailboxId);
    return this.statesOf(items);
  }

  private stateOf(enrollmentId: string, stepId: string): MailboxItemState {
    return this.statesOf([{ enrollmentId, stepId }])[0]!;
  }

  /**
   * The states of these keys, in their order, read in one statement by primary key (a reconciler's
   * probe asks about many emails at once). The message id and subject of a row not yet reported
   * come from its stored message, read in SQLite instead of parsing the whole message here.
   */
  private statesOf(items: { enrollmentId: string; stepId: string }[]): MailboxItemState[] {
    if (!items.length) return [];
    const rows = new Map(
      this.sql
        .exec<{
          enrollment_id: string;
          step_id: string;
          state: State;
          reported: number;
          settled_at: number | null;
          reason: string | null;
          message_id: string | null;
          subject: string | null;
        }>(
          `SELECT q.enrollment_id, q.step_id, q.state, q.reported, q.settled_at, q.reason,
             coalesce(q.message_id, json_extract(q.msg, '$.messageId')) AS message_id, coalesce(q.subject, json_extract(q.msg, '$.subject')) AS subject
           FROM json_each(?) j JOIN queue q ON q.enrollment_id = json_extract(j.value, '$[0]') AND q.step_id = json_extract(j.value, '$[1]')`,
          JSON.stringify(items.map((i) => [i.enrollmentId, i.stepId])),
        )
        .toArray()
        .map((r) => [`${r.enrollment_id}:${r.step_id}`, r]),
    );
    return items.map(({ enrollmentId, stepId }) => {
      const r = rows.get(`${enrollmentId}:${stepId}`);
      if (!r)
        return { enrollmentId, stepId, state: "missing", reported: false, settledAt: null, reason: null, messageId: null, subject: null };
      return {
        enrollmentId,
        stepId,
        state: r.state,
        reported: !!r.reported,
        settledAt: r.settled_at,
        reason: r.reason,
        messageId: r.message_id,
        subject: r.subject,
      };
    });
  }

  /**
   * A soft bounce (the receiving server gave the email back for now: mailbox full, try later): the same
   * email goes out again at `at`, as a ledger row of its own (`<step>~r<attempt>`), so the retry
   * reserves capacity like any send (invariant 3) and the first send still counts. It is not claimed
   * from the SequenceDO (the step is done there): it goes only while the enrollment is active or ran
   * through its steps, and after the same send-time checks as any email (invariant 5). Idempotent per
   * attempt; a step this mailbox no longer holds (pruned) is not queued. Returns the retry keys queued.
   */
  async resend(
    mailboxId: string,
    items: { enrollmentId: string; stepId: string; attempt: number; at: number }[],
  ): Promise<{ enrollmentId: string; stepId: string }[]> {
    this.setMeta("mailbox_id", mailboxId);
    const queued: { enrollmentId: string; stepId: string }[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const i of items) {
        const key = `${i.stepId}~r${i.attempt}`;
        const r = this.sql.exec(
          `INSERT OR IGNORE INTO queue (enrollment_id, step_id, sequence_id, team_id, contact_id, due_at, score, window, zone, thread, state, gen, gid, resend_of, override)
           SELECT enrollment_id, ?, sequence_id, team_id, contact_id, ?, score, window, zone, thread, 'queued', 1, gid, step_id, override
             FROM queue WHERE enrollment_id = ? AND step_id = ? AND state IN ('sent', 'unknown')`,
          key,
          i.at,
          i.enrollmentId,
          i.stepId,
        );
        if (r.rowsWritten) queued.push({ enrollmentId: i.enrollmentId, stepId: key });
      }
    });
    await this.schedule(now());
    return queued;
  }

  /**
   * Invariant 11 for a soft-bounce retry: its enrollment must still be active, or have run through its steps,
   * and the contact must not have replied to any of its emails (a reply to an earlier email finishes nothing
   * once every step went out, and the retry would follow the reply).
   */
  private async resendVerdict(row: QueueRow): Promise<{ ok: boolean; reason: string | null }[]> {
    const [e] = await this.d
      .select({
        status: enrollments.status,
        reason: enrollments.reason,
        // Every answer recorded, not only an email's first (an out-of-office, then the reply), as it stands now.
        replied: sql<number>`EXISTS (SELECT 1 FROM inbound_messages i WHERE i.contact_id = ${row.contact_id} AND i.enrollment_id = ${row.enrollment_id}
                                     AND i.classification = 'reply')`,
      })
      .from(enrollments)
      .where(eq(enrollments.id, row.enrollment_id));
    if (e?.replied) return [{ ok: false, reason: "replied" }];
    const ok =
      !!e &&
      (e.status === "active" || (e.status === "finished" && (e.reason === "completed_all_steps" || e.reason === "delivery_unknown")));
    return [{ ok, reason: ok ? null : (e?.reason ?? "withdrawn") }];
  }

  /** Take back emails not yet being sent (the enrollment was paused, finished or removed). */
  async withdraw(
    mailboxId: string,
    items: { enrollmentId: string; stepId: string }[],
  ): Promise<{ enrollmentId: string; stepId: string }[]> {
    this.setMeta("mailbox_id", mailboxId);
    const pulled: { enrollmentId: string; stepId: string }[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const i of items) {
        const r = this.sql.exec("DELETE FROM queue WHERE enrollment_id = ? AND step_id = ? AND state = 'queued'", i.enrollmentId, i.stepId);
        if (r.rowsWritten) pulled.push(i);
      }
    });
    // The rows are out whatever happens next: the caller must hear which (changeMailbox moves them on
    // that answer). A failure to plan the next alarm has armed its own retry (schedule) and is not the
    // withdrawal's: failing here left a moved email on the old mailbox, which no longer had it.
    await this.schedule(now()).catch((err: unknown) => console.error(`mailbox ${mailboxId}: planning after a withdrawal failed`, err));
    return pulled;
  }

  /**
   * A user edited these emails (scheduled-email.ts): a send decided on the old text while the edit was
   * being written is void (a queued row gets a new hand-over number; the pass composes it again, and its
   * claim brings the edit). Answers each row's state and which edit it holds, so the SequenceDO can tell
   * whether an email that is (being) sent carried the edit.
   */
  async touch(
    mailboxId: string,
    items: { enrollmentId: string; stepId: string }[],
  ): Promise<{ enrollmentId: string; stepId: string; state: MailboxItemState["state"]; ver: string | null }[]> {
    this.setMeta("mailbox_id", mailboxId);
    return this.ctx.storage.transactionSync(() =>
      items.map((i) => {
        this.sql.exec(
          "UPDATE queue SET gen = gen + 1 WHERE enrollment_id = ? AND step_id = ? AND state = 'queued'",
          i.enrollmentId,
          i.stepId,
        );
        const r = this.sql
          .exec<{ state: State; override: string | null }>(
            "SELECT state, override FROM queue WHERE enrollment_id = ? AND step_id = ?",
            i.enrollmentId,
            i.stepId,
          )
          .toArray()[0];
        return { ...i, state: r?.state ?? "missing", ver: r?.override ? (JSON.parse(r.override) as EmailOverride).ver : null };
      }),
    );
  }

  /** When one queued email will go out (the forecast's answer for it), or null when it can't be planned. */
  async eta(mailboxId: string, key: { enrollmentId: string; stepId: string }): Promise<number | null> {
    this.setMeta("mailbox_id", mailboxId);
    const plan = await this.forecast(mailboxId, await this.settings(true), PAGE);
    return plan.find((p) => p.enrollmentId === key.enrollmentId && p.stepId === key.stepId)?.at ?? null;
  }

  /**
   * A schedule changed (windows, holidays, zones, the contact's time zone, the team's default) or a
   * sequence moved to another: the queued emails move to their sequences' windows as they are now and the
   * plan follows, so a widened window is used at once and the forecast tells the new times. Every send
   * checks its window again anyway (inCurrentWindows), so a change this call never heard of still holds.
   */
  async rewindow(mailboxId: string): Promise<void> {
    this.setMeta("mailbox_id", mailboxId);
    type Queued = Pick<QueueRow, "sequence_id" | "team_id" | "contact_id" | "zone" | "score" | "gid"> & { rid: number };
    const readQueued = () =>
      this.sql
        .exec<Queued>("SELECT rowid AS rid, sequence_id, team_id, contact_id, zone, score, gid FROM queue WHERE state = 'queued'")
        .toArray();
    const queued = readQueued();
    if (queued.length) {
      const teamId = queued[0]!.team_id;
      const checks = await loadSendChecks(this.d, teamId, [], [...new Set(queued.map((q) => q.sequence_id))], []);
      const inContactZone = queued.filter((q) => checks.sequences.get(q.sequence_id)?.useContactTimeZone);
      const zones = await loadContactZones(this.d, teamId, [...new Set(inContactZone.map((q) => q.contact_id))]);
      // Read again after the awaits (sends, withdrawals and hand-overs ran meanwhile); one scan, then one
      // statement per group that gains rows. A move bumps `gen`: a send decided under the old window (a
      // batch in progress, its checks read before the change) is void, and the row waits for its new window.
      this.inTransaction(() => {
        const moves = new Map<number, { window: string; zone: string | null; rids: number[] }>();
        for (const q of readQueued()) {
          const seq = checks.sequences.get(q.sequence_id);
          if (!seq) continue;
          const to = this.currentGroup(seq, q, zones.get(q.contact_id));
          if (to.gid === q.gid) continue;
          const m = moves.get(to.gid) ?? { window: to.window, zone: to.zone, rids: [] };
          m.rids.push(q.rid);
          moves.set(to.gid, m);
        }
        // Row ids 20,000 a statement: a bound value stays far below its 2 MB limit whatever the queue's size.
        for (const [gid, m] of moves)
          for (let i = 0; i < m.rids.length; i += 20_000)
            this.sql.exec(
              "UPDATE queue SET gid = ?, window = ?, zone = ?, gen = gen + 1 WHERE state = 'queued' AND rowid IN (SELECT value FROM json_each(?))",
              gid,
              m.window,
              m.zone,
              JSON.stringify(m.rids.slice(i, i + 20_000)),
            );
      });
    }
    // Groups no row names any more (their emails moved to a new window, or sent and since pruned) go: each
    // send pass looks at every group, and every edit of a schedule makes new ones. A group a row still
    // names stays, settled rows included (a soft bounce's retry is queued in its row's group).
    this.inTransaction(() => {
      const gone = this.sql
        .exec<{ gid: number }>("DELETE FROM wgroups WHERE NOT EXISTS (SELECT 1 FROM queue q WHERE q.gid = wgroups.gid) RETURNING gid")
        .toArray();
      if (!gone.length) return;
      this.gids.clear();
      for (const g of gone) this.groups.delete(g.gid);
    });
    await this.schedule(now(), undefined, true);
  }

  /**
   * The mailbox was removed (its row says so before this is called): every email still queued is taken
   * back and the plan re-read, which arms no alarm for a mailbox that isn't connected (one stays only while
   * outcomes wait to be reported). Answers the emails taken back; their enrollments were moved or ended first.
   */
  async close(mailboxId: string): Promise<{ enrollmentId: string; stepId: string }[]> {
    this.setMeta("mailbox_id", mailboxId);
    const pulled = this.inTransaction(() =>
      this.sql
        .exec<{ enrollment_id: string; step_id: string }>("DELETE FROM queue WHERE state = 'queued' RETURNING enrollment_id, step_id")
        .toArray()
        .map((r) => ({ enrollmentId: r.enrollment_id, stepId: r.step_id })),
    );
    this.setMeta("hold", "");
    await this.schedule(now(), undefined, true);
    return pulled;
  }

  /**
   * Settings changed (limits, reconnect, disconnect): re-plan now. A reconnected mailbox resumes by itself,
   * once the reply check releases it: `released` is the reconnect's mark (release_pending) that check
   * caught up on (see waitsForReplies).
   */
  async refresh(mailboxId: string, released?: string): Promise<void> {
    this.setMeta("mailbox_id", mailboxId);
    if (released) this.setMeta("released_mark", released);
    // A reconnect or new settings (another transport, another sign-in) may have lifted what held the
    // mailbox: the next send asks the provider again, and one refusal holds it anew.
    this.setMeta("hold", "");
    await this.schedule(now(), undefined, true);
    // A shorter gap counts from the last send now, not once the longer one it replaced runs out (the edit
    // dialog promises changes apply to the next email).
    if (this.fitGap(this.settingsCache ?? null)) await this.schedule(now(), this.settingsCache);
  }

  /**
   * A Gmail / Microsoft 365 mailbox signed in again is marked (release_pending) until a reply check that
   * started after the sign-in has read to the newest point and applied the replies that came while it was
   * down; that check then refreshes this object with the mark. Until then the mailbox sends nothing, as
   * while it needed reconnecting: a follow-up would cross an unread reply. Only the first refresh after the
   * reconnect used to release it, but any re-plan that read the settings afresh (an edit of the mailbox,
   * this object started again) found it connected and sent its held follow-ups. A later reconnect writes a
   * new mark, which holds it again. A mailbox switched to another transport has no reply check to wait for.
   */
  private waitsForReplies(mb: MailboxSettings): boolean {
    const mark = replyCheckMark(mb.transport, mb.transportConfig);
    return mark !== null && mark !== this.meta("released_mark");
  }

  /** Shortens the gap in force to the longest the settings allow after the last send; true if it did. */
  private fitGap(mb: MailboxSettings | null): boolean {
    if (!mb) return false;
    const next = Number(this.meta("next_send_at") ?? 0);
    if (next <= now()) return false;
    const last = this.sql.exec<{ at: number | null }>(`SELECT max(reserved_at) AS at FROM queue WHERE +state IN ${COUNTED}`).one().at;
    if (last === null) return false;
    const longest = last + (mb.minGapSeconds + mb.jitterSeconds) * 1000;
    if (next <= longest) return false;
    this.setMeta("next_send_at", String(longest));
    return true;
  }

  /**
   * What the ledger says of the caps and the queue, from this object's storage alone. The limits and the
   * status are the mailbox row's in D1, which each caller reads in its own batch (a preview, a plan page,
   * the mailbox list): reading them here again cost a D1 round trip per mailbox per call.
   */
  async usage(mailboxId: string): Promise<MailboxUsage> {
    this.setMeta("mailbox_id", mailboxId);
    const t = now();
    return {
      usedLast24h: this.used(t - DAY),
      usedLastHour: this.used(t - HOUR),
      queued: this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM queue WHERE state = 'queued'").one().n,
      nextSendAt: await this.ctx.storage.getAlarm(),
      hold: this.holdAt(t),
    };
  }

  /**
   * When each queued email will go out, by replaying the caps, the gap and the windows forward from
   * now, assuming nothing else is added. Used by the scheduled-emails view and the enrollments list.
   * `mb`: the mailbox's status and limits as the caller read its row from D1 with the rows it shows
   * (null: no such mailbox): reading the row here again cost a D1 round trip per mailbox per page.
   */
  async forecast(mailboxId: string, mb: MailboxLimits | null, limit = 500, horizonDays = 60): Promise<PlannedSend[]> {
    this.setMeta("mailbox_id", mailboxId);
    // Memory stays bounded whatever the queue's size: the forecast covers the PAGE highest-priority
    // rows (a view shows at most that many; the rest are later still).
    limit = Math.min(limit, PAGE);
    // The columns the plan reads, not whole ledger rows (a page of up to PAGE rows is read per forecast).
    const rows = this.sql
      .exec<PlanRow>(
        "SELECT enrollment_id, step_id, due_at, next_attempt_at, window, zone, score FROM queue WHERE state = 'queued' ORDER BY score DESC, due_at LIMIT ?",
        PAGE,
      )
      .toArray();
    if (!mb || mb.status !== "connected")
      return rows.slice(0, limit).map((r) => ({ enrollmentId: r.enrollment_id, stepId: r.step_id, at: null }));
    const t0 = now();
    const sends = this.sql
      .exec<{ reserved_at: number }>(
        `SELECT reserved_at FROM queue WHERE +state IN ${COUNTED} AND reserved_at > ? ORDER BY reserved_at`,
        t0 - DAY,
      )
      .toArray()
      .map((r) => r.reserved_at);
    const holdUntil = this.holdAt(t0)?.until ?? 0;
    const nextSendAt = Math.max(Number(this.meta("next_send_at") ?? 0), holdUntil);
    const plan = planSends(rows, mb, sends, nextSendAt, t0, t0 + horizonDays * DAY, limit, holdUntil);
    return plan;
  }

  /**
   * Sends one email written by hand now (HandEmail): outside the queue and every sending window (a person
   * is answering), but within the mailbox's caps like every send (invariant 3), and recorded as "sending"
   * with its message before the transport is called (invariant 4: a restart in between settles it as
   * unknown, never sends it again). A key already in the ledger is never sent again. Refused, with nothing
   * recorded, while the mailbox is not connected, held, or at its daily or hourly limit; a transport answer
   * that sent nothing removes the row and gives its reservation back (a sender refusal also pauses the
   * mailbox, as the queue's does). Reported to D1 before answering.
   */
  async sendByHand(mailboxId: string, teamId: string, mail: HandEmail): Promise<HandSendResult> {
    this.setMeta("mailbox_id", mailboxId);
    this.setMeta("team_id", teamId);
    const seen = this.stateOf(mail.enrollmentId, mail.stepId);
    if (seen.state !== "missing") return { ok: false, code: "already", state: seen.state };
    // Invariant 5's second check, at send time: the contact and the address as they are now, read in the
    // same round as the settings (the Worker's check came several round trips earlier).
    const [mb, contactStates, suppressed] = await Promise.all([
      this.settings(true),
      loadContactStates(this.d, teamId, [mail.contactId]),
      suppressionMatches(this.d, teamId, [mail.to]),
    ]);
    if (!mb || mb.status !== "connected") return { ok: false, code: "not_connected", state: mb?.status ?? "removed" };
    const contact = contactStates.get(mail.contactId);
    const match = suppressed.get(mail.to.trim().toLowerCase());
    const blocked = match
      ? match.domain
        ? "suppressed_domain"
        : "suppressed"
      : contact && !contact.deletedAt
        ? blockingReason(contact, false)
        : null;
    if (blocked) return { ok: false, code: "blocked", reason: blocked };
    if (this.waitsForReplies(mb)) return { ok: false, code: "held_for_reply_check" };
    const t = now();
    const hold = this.holdAt(t);
    if (hold) return { ok: false, code: "held", until: hold.until, message: hold.reason };
    // The caps as the queue's sends count them, at this instant; nothing is awaited from here to the insert.
    const day = this.capFreesAt(t, DAY, mb.dailyLimit);
    if (day > t) return { ok: false, code: "daily_limit", until: day };
    const hour = this.capFreesAt(t, HOUR, mb.hourlyLimit);
    if (hour > t) return { ok: false, code: "hourly_limit", until: hour };
    if (this.stateOf(mail.enrollmentId, mail.stepId).state !== "missing") return { ok: false, code: "already" };
    const stored: StoredMessage = {
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      raw: mail.raw,
      messageId: mail.messageId,
      inReplyTo: mail.inReplyTo,
      variantId: null,
    };
    this.inTransaction(() =>
      this.sql.exec(
        `INSERT INTO queue (enrollment_id, step_id, sequence_id, team_id, contact_id, due_at, score, window, zone, thread, state,
           attempts, reserved_at, reported, msg, gid, message_id, subject)
         VALUES (?, ?, '', ?, ?, ?, 0, 'null', NULL, NULL, 'sending', 1, ?, 1, ?, 0, ?, ?)`,
        mail.enrollmentId,
        mail.stepId,
        teamId,
        mail.contactId,
        t,
        t,
        JSON.stringify(stored),
        mail.messageId,
        mail.subject,
      ),
    );
    this.recent?.splice(upperBound(this.recent, t), 0, t);
    // A restart during the transport call must not leave the row "sending" for ever (seen by no Outbox,
    // counted against the caps, every retry told "already"): an alarm shortly after lets reconcile()
    // settle it as unknown and report it. An earlier alarm already armed is kept.
    const armed = await this.ctx.storage.getAlarm();
    if (armed === null || armed > t + HAND_SEND_SETTLE_MS) {
      await armAlarm(this.ctx.storage, "mailbox", mailboxId, t + HAND_SEND_SETTLE_MS);
      this.armedAt = t + HAND_SEND_SETTLE_MS;
    }
    const key = `${mail.enrollmentId}:${mail.stepId}`;
    const res = await this.transmit(mb, key, mail);
    const done = now();
    const row = { enrollment_id: mail.enrollmentId, step_id: mail.stepId };
    let out: HandSendResult;
    if (res.ok || res.kind === "unknown" || res.kind === "recipient_permanent") {
      const state = res.ok ? "sent" : res.kind === "unknown" ? "unknown" : "bounced";
      const error = res.ok ? null : res.kind === "unknown" ? res.message : `${res.code ?? ""} ${res.message}`.trim();
      this.settle(row, {
        state,
        settled_at: done,
        reported: 0,
        error,
        reason: state === "sent" ? null : state === "unknown" ? "delivery_unknown" : "bounced",
      });
      this.startGap(mb, key, t);
      out = { ok: true, state, at: t, error };
    } else {
      // Nothing was sent: no row, no reservation; the person may try again.
      this.sql.exec("DELETE FROM queue WHERE enrollment_id = ? AND step_id = ? AND state = 'sending'", mail.enrollmentId, mail.stepId);
      this.release(t);
      out = { ok: false, code: "not_sent", message: res.message };
      if (res.kind === "rate_limited" || res.kind === "sign_in") {
        out.until = this.holdMailbox(res.kind, res.message, res.retryAfterMs, done);
        out.mailbox = "held";
        if (res.kind === "sign_in") this.settingsCache = undefined;
      }
    }
    // Written to D1 now (the Outbox, the matcher of answers); if D1 fails, the alarm armed below reports it.
    try {
      // The account refused the sender, as a queued send's refusal does (outcome "sender"): the mailbox is
      // paused with the reason before the queue's next pass, which would otherwise send its emails into it.
      // The person is told it was paused only if this pause took (a mailbox disconnected meanwhile stays so).
      if (!res.ok && res.kind === "sender" && (await this.pauseForSender(mb, res, done)) && !out.ok) out.mailbox = "paused";
      await this.report();
    } finally {
      await this.schedule(now());
    }
    return out;
  }

  async inspect(): Promise<{ queue: QueueRow[]; alarm: number | null }> {
    return {
      queue: this.sql.exec("SELECT * FROM queue ORDER BY reserved_at, due_at").toArray() as unknown as QueueRow[],
      alarm: await this.ctx.storage.getAlarm(),
    };
  }

  override async alarm(): Promise<void> {
    // The alarm that fired is gone: until the pass arms the next, a hand-over plans for itself.
    this.armedAt = undefined;
    // At-least-once: a repeated alarm finds nothing due or is held back by the caps and the gap.
    const mailboxId = this.meta("mailbox_id");
    if (!mailboxId) return;
    // D1 or a sequence out of reach: the object tries again itself, ALARM_RETRY_MS later.
    const retry = await alarmOrRetry(this.ctx.storage, "mailbox", mailboxId, () => this.process());
    if (retry !== null) this.armedAt = retry;
  }

  // ---------------------------------------------------------------- engine

  /** One processing pass at a time: overlapping alarms and RPCs wait for the running pass. */
  private async process(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<void> {
    if (!this.meta("mailbox_id")) return;
    // A pass that found the settings changed under it starts over with them (bounded: a writer that
    // keeps changing them can't hold the object in here).
    for (let i = 0; i < 3 && (await this.sendPass()); i++);
    // However it stopped (done, held, or settings still changing after three starts): what went out is
    // reported and the next alarm armed, with the settings as kept now.
    while (await this.report());
    await this.schedule(now());
  }

  /** One pass of sends; true when it stopped because D1's settings differ from the kept copy (now replaced). */
  private async sendPass(): Promise<boolean> {
    const mailboxId = this.meta("mailbox_id")!;
    await this.reconcile();
    await this.report();
    const mb = await this.settings();
    // Held while disconnected or paused: nothing is stranded, refresh() on reconnect resumes.
    if (!mb || mb.status !== "connected" || this.waitsForReplies(mb)) return false;
    let looked = 0;
    let changed = false;
    this.recent = this.sql
      .exec<{ reserved_at: number }>(
        `SELECT reserved_at FROM queue WHERE +state IN ${COUNTED} AND reserved_at > ? ORDER BY reserved_at`,
        now() - DAY,
      )
      .toArray()
      .map((r) => r.reserved_at);
    // One pass while the window is open: as many as the caps allow now (with a gap, one per alarm).
    const transport = await transportFor(this.env, mb).catch(() => null);
    const local = transport?.local === true;
    while (looked < MAX_PICKS_PER_RUN) {
      const t = now();
      if (this.gate(mb, t) > t) break;
      const room =
        mb.minGapSeconds > 0 ? 1 : Math.min(PICK_BATCH, mb.dailyLimit - this.used(t - DAY), mb.hourlyLimit - this.used(t - HOUR));
      const picks = this.pick(t, room);
      if (!picks.length) break;
      looked += picks.length;
      // Content (variants, names) for the batch; eligibility is read again right before each send.
      const sc = await loadSendContext(
        this.d,
        mb.teamId,
        picks.map((p) => ({
          enrollmentId: p.enrollment_id,
          contactId: p.contact_id,
          stepId: p.resend_of ?? p.step_id,
          sequenceId: p.sequence_id,
        })),
        mailboxId,
      );
      // The settings kept in memory are checked against D1's before every batch, in the batch's own
      // read: a write whose refresh() never arrived (status, limits, sender, transport) is seen
      // before anything more is sent, as if read at the start of the pass. Nothing of this batch was
      // claimed or reserved yet: the pass starts over with the new settings.
      if (sc.mailbox === null || (sc.mailbox && !sameSendingSettings(sc.mailbox, mb))) {
        this.settingsCache = sc.mailbox;
        changed = true;
        break;
      }
      // A reconnect marked since the settings were kept (the mark is no sending setting, so only this
      // fresh read shows it): nothing goes until its reply check releases it, and no alarm is armed for it.
      if (sc.mailbox && this.waitsForReplies(sc.mailbox)) {
        this.settingsCache = sc.mailbox;
        break;
      }
      const open = this.inTransaction(() => this.inCurrentWindows(this.ofLiveSteps(picks, sc), sc, t));
      if (!open.length) continue;
      // Through a local transport nothing reaches this object between the sends of a batch: the batch
      // is claimed at once and its context stays current (sendLocalBatch). Otherwise each send after
      // the first is claimed and checked again at its moment.
      let stop = false;
      if (local && transport && !open.some((p) => p.resend_of)) stop = (await this.sendLocalBatch(mb, open, sc, transport)) === "stop";
      else
        for (const p of open) {
          const outcome = await this.sendOne(mb, p, sc, transport);
          if (outcome === "stop" || (outcome === "sent" && mb.minGapSeconds > 0)) {
            stop = true;
            break;
          }
        }
      if (stop) break;
    }
    return changed;
  }

  /**
   * Invariant 7 against the schedule as it is now. An email is queued with its sequence's window of
   * that moment, and the schedule may change while it waits (narrowed, a holiday added, another
   * schedule, the contact's time zone turned on or off): each pick whose sequence now has another
   * window or zone moves to that group (the planner then waits for it to open), and only the picks
   * inside their current window now go on. "Send now" keeps its all-week window, in the schedule's zone.
   */
  private inCurrentWindows(picks: QueueRow[], checks: SendChecks, t: number): QueueRow[] {
    return picks.filter((p) => {
      const seq = checks.sequences.get(p.sequence_id);
      // A sequence gone from D1: the send's own checks settle the email (sendBlock).
      if (!seq) return true;
      const { gid, window, zone } = this.currentGroup(seq, p, checks.contacts.get(p.contact_id)?.timeZone);
      if (gid !== p.gid) {
        this.sql.exec(
          "UPDATE queue SET gid = ?, window = ?, zone = ? WHERE enrollment_id = ? AND step_id = ? AND state = 'queued'",
          gid,
          window,
          zone,
          p.enrollment_id,
          p.step_id,
        );
        Object.assign(p, { gid, window, zone });
      }
      return inWindow(t, this.group(gid)!.w, zone);
    });
  }

  /**
   * The picks whose step still exists and is on. An email whose step a user turned off or deleted while
   * it waited here is not sent: it is settled "step_disabled" and reported, and the SequenceDO moves its
   * enrollment on as for any step found off when it falls due. A soft-bounce retry resends an email that
   * already went out once, whatever became of its step.
   */
  private ofLiveSteps(picks: QueueRow[], sc: SendContext): QueueRow[] {
    return picks.filter((p) => {
      if (p.resend_of || sc.liveSteps.has(p.step_id)) return true;
      this.settle(p, { state: "cancelled", reason: "step_disabled", settled_at: now(), reported: 0 }, p.gen);
      return false;
    });
  }

  /**
   * The window group a queued email of this sequence belongs in now: the sequence's window ("send now"
   * keeps its all-week one) in the contact's zone when the schedule sends in it (the contact's zone as D1
   * has it, else the one the email was handed over with), else the schedule's.
   */
  private currentGroup(seq: SequenceState, row: Pick<QueueRow, "score" | "zone">, contactZone: string | null | undefined) {
    const window = row.score >= SEND_NOW_SCORE ? JSON.stringify(sendNowWindow(seq.window)) : seq.windowText;
    const zone = seq.useContactTimeZone ? (contactZone ?? row.zone) : null;
    return { gid: this.groupId(window, zone), window, zone };
  }

  /** Earliest instant the caps and the gap allow a send (invariant 3). */
  private gate(mb: MailboxSettings, t: number): number {
    let at = Math.max(t, Number(this.meta("next_send_at") ?? 0), this.holdAt(t)?.until ?? 0);
    at = Math.max(at, this.capFreesAt(t, DAY, mb.dailyLimit), this.capFreesAt(t, HOUR, mb.hourlyLimit));
    return at;
  }

  private used(since: number): number {
    if (this.recent) return this.recent.length - upperBound(this.recent, since);
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM queue WHERE +state IN ${COUNTED} AND reserved_at > ?`, since).one().n;
  }

  /** When the rolling window of `span` has room for one more send. */
  private capFreesAt(t: number, span: number, limit: number): number {
    const used = this.used(t - span);
    if (used < limit) return t;
    if (limit <= 0) return Number.MAX_SAFE_INTEGER;
    if (this.recent) return this.recent[upperBound(this.recent, t - span) + used - limit]! + span + 1;
    const r = this.sql
      .exec<{ reserved_at: number }>(
        `SELECT reserved_at FROM queue WHERE +state IN ${COUNTED} AND reserved_at > ? ORDER BY reserved_at LIMIT 1 OFFSET ?`,
        t - span,
        used - limit,
      )
      .toArray()[0];
    return r ? r.reserved_at + span + 1 : t;
  }

  /** Parsed windows of the groups, by gid (a group's window and zone never change). */
  private groups = new Map<number, { w: WindowSpec; zone: string | null }>();

  private group(gid: number): { w: WindowSpec; zone: string | null } | null {
    let g = this.groups.get(gid);
    if (!g) {
      const r = this.sql.exec<{ window: string; zone: string }>("SELECT window, zone FROM wgroups WHERE gid = ?", gid).toArray()[0];
      if (!r) return null;
      g = { w: JSON.parse(r.window) as WindowSpec, zone: r.zone || null };
      this.groups.set(gid, g);
    }
    return g;
  }

  /** Groups that hold queued rows. */
  private queuedGroups(): number[] {
    return this.sql
      .exec<{ gid: number }>("SELECT gid FROM wgroups g WHERE EXISTS (SELECT 1 FROM queue q WHERE q.gid = g.gid AND q.state = 'queued')")
      .toArray()
      .map((r) => r.gid);
  }

  /**
   * Up to `n` due emails whose window is open now, highest score first, then earliest due. Only
   * groups whose window is open are read, each through its index: rows waiting for another window,
   * however many and however high their score, never hide these (no hot loop, defect 4).
   */
  private pick(t: number, n: number): QueueRow[] {
    if (n <= 0) return [];
    const out: QueueRow[] = [];
    for (const gid of this.queuedGroups()) {
      const g = this.group(gid);
      if (!g || !inWindow(t, g.w, g.zone)) continue;
      out.push(
        ...(this.sql
          .exec(
            "SELECT * FROM queue WHERE gid = ? AND state = 'queued' AND due_at <= ? AND coalesce(next_attempt_at, 0) <= ? ORDER BY score DESC, due_at LIMIT ?",
            gid,
            t,
            t,
            n,
          )
          .toArray() as unknown as QueueRow[]),
      );
    }
    out.sort((a, b) => b.score - a.score || a.due_at - b.due_at);
    return out.slice(0, n);
  }

  /**
   * Settles a row. With `ifQueuedGen`, only while it is still queued on that hand-over: a row
   * withdrawn or handed over again meanwhile (its `gen` moved on) is left alone.
   */
  private settle(row: Pick<QueueRow, "enrollment_id" | "step_id">, patch: Partial<QueueRow>, ifQueuedGen?: number): boolean {
    const key = { enrollment_id: row.enrollment_id, step_id: row.step_id };
    return patchRow(this.sql, "queue", patch, ifQueuedGen === undefined ? key : { ...key, state: "queued", gen: ifQueuedGen }) > 0;
  }

  /** Invariant 5's facts and the steps' being on, read now, for these rows (a batch's context is fresh for its first send only). */
  private sendChecks(rows: Pick<QueueRow, "team_id" | "contact_id" | "sequence_id" | "step_id">[]): Promise<SendChecks> {
    return loadSendChecks(
      this.d,
      rows[0]!.team_id,
      rows.map((r) => r.contact_id),
      rows.map((r) => r.sequence_id),
      rows.map((r) => r.step_id),
    );
  }

  /** The mailbox's settings, from the cache unless `reload` (each alarm, refresh(), capacity and forecast read them afresh). */
  private async settings(reload = false): Promise<MailboxSettings | null> {
    const mailboxId = this.meta("mailbox_id");
    if (!mailboxId) return null;
    if (reload || this.settingsCache === undefined) this.settingsCache = await loadMailbox(this.d, mailboxId);
    return this.settingsCache;
  }

  /** Invariant 11 for a whole batch: one claim per sequence, asked together right before the batch's sends. */
  private async claimAll(picks: QueueRow[]): Promise<Map<string, Verdict>> {
    const out = new Map<string, Verdict>();
    const bySequence = new Map<string, QueueRow[]>();
    for (const p of picks) {
      if (p.resend_of) continue;
      const l = bySequence.get(p.sequence_id) ?? [];
      l.push(p);
      bySequence.set(p.sequence_id, l);
    }
    await Promise.all(
      [...bySequence.values()].map(async (rows) => {
        const verdicts = await engine
          .sequence(this.env, rows[0]!.sequence_id, rows[0]!.team_id)
          .claim(rows.map((r) => ({ enrollmentId: r.enrollment_id, stepId: r.step_id })));
        // The override comes too: it is the latest edit of the email, which verdictOn compares with the one composed.
        for (const v of verdicts) out.set(`${v.enrollmentId}:${v.stepId}`, { ok: v.ok, reason: v.reason, override: v.override });
      }),
    );
    return out;
  }

  /** A reservation released (nothing was sent): it no longer counts against the caps. */
  private release(at: number) {
    if (!this.recent) return;
    const i = upperBound(this.recent, at) - 1;
    if (i >= 0 && this.recent[i] === at) this.recent.splice(i, 1);
  }

  /** The email a ledger row sends; its window parsed once per group, not per email. */
  private itemOf(row: QueueRow): QueuedEmail {
    return {
      enrollmentId: row.enrollment_id,
      stepId: row.resend_of ?? row.step_id,
      sequenceId: row.sequence_id,
      teamId: row.team_id,
      contactId: row.contact_id,
      dueAt: row.due_at,
      score: row.score,
      window: this.group(row.gid)?.w ?? (JSON.parse(row.window) as WindowSpec),
      zone: row.zone,
      thread: row.thread ? JSON.parse(row.thread) : null,
      override: row.override ? (JSON.parse(row.override) as EmailOverride) : null,
    };
  }

  /**
   * What a send decided by the claim and the checks comes to before its reservation: "go", or the row
   * settled as skipped (withdrawn, edited since it was composed, blocked by invariant 5).
   */
  private verdictOn(row: QueueRow, item: QueuedEmail, verdict: Verdict | undefined, checks: SendChecks): "go" | "skipped" {
    if (!verdict?.ok) {
      // Withdrawn: nothing to report (the SequenceDO knows); handed over again later, it is queued afresh.
      this.settle(row, { state: "cancelled", reason: verdict?.reason ?? "withdrawn", settled_at: now(), reported: 1 }, row.gen);
      return "skipped";
    }
    // A user edited this email since it was composed: keep the SequenceDO's latest edit and compose again
    // (the row stays queued on a new hand-over number; the pass picks it again).
    const latest = verdict.override ? JSON.stringify(verdict.override) : null;
    if (!row.resend_of && verdict.override !== undefined && (verdict.override?.ver ?? null) !== (item.override?.ver ?? null)) {
      this.settle(row, { override: latest }, row.gen);
      this.sql.exec(
        "UPDATE queue SET gen = gen + 1 WHERE enrollment_id = ? AND step_id = ? AND state = 'queued'",
        row.enrollment_id,
        row.step_id,
      );
      return "skipped";
    }
    // A step turned off or deleted since the batch read its steps (ofLiveSteps): a send after the
    // first, through a transport that takes its time, checks it again, as it checks the contact.
    const block =
      sendBlock(checks, row.sequence_id, row.contact_id) ?? (row.resend_of || checks.liveSteps.has(row.step_id) ? null : "step_disabled");
    if (block) {
      this.settle(row, { state: "cancelled", reason: block, settled_at: now(), reported: 0 }, row.gen);
      return "skipped";
    }
    return "go";
  }

  /**
   * Reserves one send at `t` (invariants 3 and 4), inside the caller's transaction: the row goes to
   * "sending" with its composed message, the caps count it, and the gap starts. The message is stored
   * with the reservation: if we crash while the transport has it, reconcile() still records what may
   * have gone out (invariant 4: an unknown outcome is recorded).
   */
  private reserve(mb: MailboxSettings, row: QueueRow, mail: ComposedEmail, t: number) {
    this.sql.exec(
      "UPDATE queue SET state = 'sending', reserved_at = ?, attempts = attempts + 1, msg = ?, message_id = ?, subject = ? WHERE enrollment_id = ? AND step_id = ?",
      t,
      storedMessage(mail),
      mail.messageId,
      mail.subject,
      row.enrollment_id,
      row.step_id,
    );
    this.startGap(mb, `${row.enrollment_id}:${row.step_id}`, t);
  }

  /** The gap (and jitter) after a send reserved at `t`. */
  private startGap(mb: MailboxSettings, key: string, t: number) {
    const jitter = mb.jitterSeconds > 0 ? fnv1a(key) % (mb.jitterSeconds * 1000 + 1) : 0;
    const nextSendAt = t + mb.minGapSeconds * 1000 + jitter;
    // Without a gap or jitter the next send may go at once: nothing to record unless an older gap still holds.
    if (nextSendAt > t || Number(this.meta("next_send_at") ?? 0) > t) this.setMeta("next_send_at", String(nextSendAt));
  }

  /** Calls the transport; one that throws gives no answer: the server may have taken the message. */
  private async transmit(
    mb: MailboxSettings,
    key: string,
    mail: Pick<ComposedEmail, "to" | "raw" | "messageId">,
    passTransport?: Transport | null,
  ): Promise<SendResult> {
    this.inFlight.add(key);
    try {
      // The pass's transport when it has one: an SMTP password is unsealed once per pass, not per email.
      // Failing to open one (D1 out of reach, a stored secret that won't unseal) is before any send:
      // certainly not sent, so tried again later, never "delivery unknown".
      let transport: Transport;
      try {
        transport = passTransport ?? (await transportFor(this.env, mb));
      } catch (err) {
        return {
          ok: false,
          kind: "transient",
          message: `Could not open the mailbox's transport: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
      return await transport.send({
        from: { email: mb.email, name: mb.senderName },
        to: mail.to,
        raw: mail.raw,
        messageId: mail.messageId,
      });
    } catch (err) {
      return { ok: false, kind: "unknown", message: err instanceof Error ? err.message : String(err) };
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async sendOne(
    mb: MailboxSettings,
    row: QueueRow,
    sc: SendContext,
    passTransport?: Transport | null,
  ): Promise<"sent" | "skipped" | "retry" | "stop"> {
    const key = `${row.enrollment_id}:${row.step_id}`;
    const item = this.itemOf(row);
    const mail = await composeEmail(this.env, item, mb, now(), sc);
    if (!mail || mail.refused) {
      // No address, or an email compose won't let go as written (its reason: the SequenceDO pauses the contact).
      this.settle(row, { state: "cancelled", reason: mail?.refused ?? "no_email", settled_at: now(), reported: 0 }, row.gen);
      return "skipped";
    }
    // Both checks at the moment of sending, read together (one round trip each, side by side):
    // - invariant 11: the enrollment must still be active on this step. The SequenceDO, the single
    //   writer of transitions, decides; a "no" means a reply, pause, removal or finish withdrew it;
    // - invariant 5: the contact may have unsubscribed or bounced, the sequence been turned off, since
    //   the step fell due or since this batch started. Read again for the batch's first send too: the batch's
    //   context was read before its email was composed and its claim asked.
    const [verdicts, checks] = await Promise.all([
      row.resend_of
        ? this.resendVerdict(row)
        : engine.sequence(this.env, row.sequence_id, row.team_id).claim([{ enrollmentId: row.enrollment_id, stepId: row.step_id }]),
      this.sendChecks([row]),
    ]);
    if (this.verdictOn(row, item, verdicts[0], checks) === "skipped") return "skipped";
    // Re-read after the awaits: other calls ran meanwhile (a withdrawal, a new hand-over).
    const current = this.sql
      .exec<{ state: string; gen: number }>(
        "SELECT state, gen FROM queue WHERE enrollment_id = ? AND step_id = ?",
        row.enrollment_id,
        row.step_id,
      )
      .toArray()[0];
    if (current?.state !== "queued" || current.gen !== row.gen) return "skipped";
    // The window and the caps at this very instant: a slow batch may have run past the window's end (invariants 3 and 7).
    const t = now();
    if (!inWindow(t, item.window, row.zone) || this.gate(mb, t) > t) return "stop";
    this.inTransaction(() => this.reserve(mb, row, mail, t));
    this.recent?.splice(upperBound(this.recent, t), 0, t);
    const res = await this.transmit(mb, key, mail, passTransport);
    return this.settleAndTell(mb, row, t, res);
  }

  /**
   * Settles a send through a real transport by its answer, and reports it to D1 at once: a bounce or an
   * answer that comes back while the pass still sends finds its email in D1 (an inbound email matching none
   * is dropped), and a hard bounce marks the contact and suppresses the address before the next send of the
   * pass checks it (another sequence's email to the same address, or another mailbox's). A send through a
   * real transport takes far longer than this write. (A local batch awaits nothing between its sends: it is
   * reported with the pass.)
   */
  private async settleAndTell(mb: MailboxSettings, row: QueueRow, t: number, res: SendResult) {
    const o = await this.outcome(mb, row, t, res);
    await this.report();
    return o;
  }

  /**
   * A batch through a local transport (sendPass claims it at once): composed while the claim is asked,
   * re-read once after that await, then sent, each email reserved and settled in one write. From the
   * re-read to the last write nothing awaits anything but the local transport, which answers without
   * leaving the isolate (no network, no storage): no other call reaches the object in between (no
   * withdrawal, hand-over or edit to re-check per email), and the caps and the gap count each send
   * for the next in memory. Reserving first would guard nothing here: nothing left the isolate that a
   * crash could leave unrecorded, and the batch's writes share one storage commit (nothing is awaited
   * between them), so a crash keeps either a send with its reservation or neither (the email still
   * queued, never seen outside). A transport's other answers (unknown, bounce, a retry, a sender
   * refusal) are settled from a reservation as for every transport. A soft-bounce retry (its own
   * verdict, read from D1) goes through sendOne.
   */
  private async sendLocalBatch(
    mb: MailboxSettings,
    picks: QueueRow[],
    sc: SendContext,
    transport: Transport,
  ): Promise<"sent" | "skipped" | "stop"> {
    const items = picks.map((p) => this.itemOf(p));
    const [claimed, mails] = await Promise.all([
      this.claimAll(picks),
      Promise.all(items.map((i) => composeEmail(this.env, i, mb, now(), sc))),
    ]);
    // Other calls ran during the claim (a withdrawal, a new hand-over, an edit): each row as it is now.
    const current = new Map(
      this.sql
        .exec<{ enrollment_id: string; step_id: string; state: string; gen: number }>(
          `SELECT q.enrollment_id, q.step_id, q.state, q.gen FROM json_each(?) j
             JOIN queue q ON q.enrollment_id = json_extract(j.value, '$[0]') AND q.step_id = json_extract(j.value, '$[1]')`,
          JSON.stringify(picks.map((p) => [p.enrollment_id, p.step_id])),
        )
        .toArray()
        .map((r) => [`${r.enrollment_id}:${r.step_id}`, r]),
    );
    const go: { row: QueueRow; mail: ComposedEmail; t: number }[] = [];
    let stop = false;
    this.inTransaction(() => {
      for (const [k, row] of picks.entries()) {
        const mail = mails[k];
        const key = `${row.enrollment_id}:${row.step_id}`;
        if (!mail || mail.refused) {
          this.settle(row, { state: "cancelled", reason: mail?.refused ?? "no_email", settled_at: now(), reported: 0 }, row.gen);
          continue;
        }
        if (this.verdictOn(row, items[k]!, claimed.get(key), sc) === "skipped") continue;
        const cur = current.get(key);
        if (cur?.state !== "queued" || cur.gen !== row.gen) continue;
        // The window and the caps at this very instant, each reservation counted for the next (invariants 3 and 7).
        const t = now();
        if (!inWindow(t, items[k]!.window, row.zone) || this.gate(mb, t) > t) {
          stop = true;
          break;
        }
        // Counted against the caps and the gap now; written with its outcome below.
        this.startGap(mb, key, t);
        this.recent?.splice(upperBound(this.recent, t), 0, t);
        go.push({ row, mail, t });
        // With a gap, one send per pass (room was 1).
        if (mb.minGapSeconds > 0) break;
      }
    });
    let outcome: "sent" | "skipped" | "stop" = stop ? "stop" : "skipped";
    // Emails the transport took, written together: reserved and sent in one write, each row going from
    // queued to sent with its message (invariants 3 and 4). Nothing between the sends leaves the isolate,
    // so one statement for the batch is the same commit as one per email, without a statement per email.
    const sent: [string, string, number, string, string, string, number][] = [];
    const writeSent = () => {
      if (!sent.length) return;
      this.sql.exec(
        `UPDATE queue SET state = 'sent', reserved_at = u.t, attempts = attempts + 1, msg = u.msg, message_id = u.mid, subject = u.subject,
           settled_at = u.at, reported = 0
         FROM (SELECT json_extract(value, '$[0]') AS e, json_extract(value, '$[1]') AS s, json_extract(value, '$[2]') AS t,
                      json_extract(value, '$[3]') AS msg, json_extract(value, '$[4]') AS mid, json_extract(value, '$[5]') AS subject,
                      json_extract(value, '$[6]') AS at FROM json_each(?)) AS u
         WHERE queue.enrollment_id = u.e AND queue.step_id = u.s`,
        JSON.stringify(sent),
      );
      sent.length = 0;
    };
    for (const [k, g] of go.entries()) {
      const res = await this.transmit(mb, `${g.row.enrollment_id}:${g.row.step_id}`, g.mail, transport);
      if (res.ok) {
        sent.push([g.row.enrollment_id, g.row.step_id, g.t, storedMessage(g.mail), g.mail.messageId, g.mail.subject, now()]);
        if (outcome === "skipped") outcome = "sent";
        continue;
      }
      // Any other answer is settled as for every transport, from the reservation; what went before is
      // written first, since settling may wait on D1 (a sender's refusal pauses the mailbox there).
      writeSent();
      this.reserve(mb, g.row, g.mail, g.t);
      const o = await this.outcome(mb, g.row, g.t, res);
      if (o === "sent" && outcome === "skipped") outcome = "sent";
      if (o === "stop") {
        // The sender refused (the mailbox is paused): the emails not handed to it stay queued, their capacity released.
        for (const r of go.slice(k + 1)) this.release(r.t);
        outcome = "stop";
        break;
      }
    }
    writeSent();
    if (outcome === "sent" && mb.minGapSeconds > 0) return "stop";
    return outcome;
  }

  /** Settles a reserved row by its transport's answer. */
  private async outcome(mb: MailboxSettings, row: QueueRow, t: number, res: SendResult): Promise<"sent" | "skipped" | "retry" | "stop"> {
    const done = now();
    if (res.ok) {
      // The message was stored with the reservation: not written again.
      this.settle(row, { state: "sent", settled_at: done, reported: 0 });
      return "sent";
    }
    switch (res.kind) {
      case "unknown":
        // Recorded, counted against the caps, and never resent (invariant 4).
        this.settle(row, { state: "unknown", settled_at: done, reported: 0, error: res.message, reason: "delivery_unknown" });
        return "sent";
      case "recipient_permanent":
        this.settle(row, {
          state: "bounced",
          settled_at: done,
          reported: 0,
          error: `${res.code ?? ""} ${res.message}`.trim(),
          reason: "bounced",
        });
        return "sent";
      case "sender":
        // Nothing was sent: release the reservation and pause the mailbox with the reason, if it is still
        // connected: a disconnect or a "needs reconnect" written while the transport had the email says more
        // (and is what lifts by itself or by the owner's action), so it stays.
        this.settle(row, { state: "queued", reserved_at: null, msg: null, message_id: null, subject: null, error: res.message });
        this.release(t);
        await this.pauseForSender(mb, res, done);
        return "stop";
      case "rate_limited":
      case "sign_in":
        // Nothing was sent and nothing is wrong with this email: it waits as it was (its attempt given
        // back, its reservation released), and so does every other one: the pass ends and the mailbox is
        // held until the provider's wait is over (one call per hold, not one per queued email).
        this.sql.exec(
          `UPDATE queue SET state = 'queued', attempts = max(attempts - 1, 0), reserved_at = NULL, msg = NULL, message_id = NULL,
             subject = NULL, error = ? WHERE enrollment_id = ? AND step_id = ?`,
          res.message,
          row.enrollment_id,
          row.step_id,
        );
        this.release(t);
        this.setMeta("next_send_at", "0");
        this.holdMailbox(res.kind, res.message, res.retryAfterMs, done);
        // A sign-in found revoked put the mailbox in "needs reconnect" in D1: the next plan reads its status.
        if (res.kind === "sign_in") this.settingsCache = undefined;
        return "stop";
      case "transient": {
        const attempts =
          this.sql
            .exec<{ attempts: number }>(
              "SELECT attempts FROM queue WHERE enrollment_id = ? AND step_id = ?",
              row.enrollment_id,
              row.step_id,
            )
            .toArray()[0]?.attempts ?? 1;
        this.release(t);
        this.setMeta("next_send_at", "0");
        if (attempts > BACKOFF_MS.length) {
          // Certainly not sent: no message row (msg cleared), the enrollment fails with the reason.
          this.settle(row, {
            state: "failed",
            reserved_at: null,
            msg: null,
            message_id: null,
            subject: null,
            settled_at: done,
            reported: 0,
            error: res.message,
            reason: "send_failed",
          });
        } else {
          this.settle(row, {
            state: "queued",
            reserved_at: null,
            msg: null,
            message_id: null,
            subject: null,
            next_attempt_at: done + BACKOFF_MS[attempts - 1]!,
            error: res.message,
          });
        }
        return "retry";
      }
    }
  }

  /**
   * A "sender" refusal (the account or its credentials said no: every send would get it): the mailbox is
   * paused in D1 with the reason the Mailboxes screen shows, if it is still connected (a disconnect or a
   * "needs reconnect" written meanwhile says more and stays), and the next plan reads that status.
   */
  /** Answers whether it paused the mailbox (only a connected one is: a disconnected one stays so). */
  private async pauseForSender(mb: MailboxSettings, res: { code?: string | undefined; message: string }, t: number): Promise<boolean> {
    this.settingsCache = undefined;
    this.setMeta("next_send_at", "0");
    const r = await this.d
      .update(mailboxes)
      .set({
        status: "paused",
        statusReason: `Sending error: ${res.code ? `${res.code} ` : ""}${res.message}`.slice(0, 500),
        updatedAt: t,
      })
      .where(and(eq(mailboxes.id, mb.id), eq(mailboxes.status, "connected")));
    return (r.meta.changes ?? 0) > 0;
  }

  /** Holds the whole mailbox after an answer every send would get alike (see MailboxHold); answers when the hold ends. */
  private holdMailbox(cause: MailboxHold["cause"], reason: string, retryAfterMs: number | undefined, t: number) {
    const ms = Math.min(Math.max(retryAfterMs ?? HOLD_MS, MIN_HOLD_MS), MAX_HOLD_MS);
    this.setMeta("hold", JSON.stringify({ until: t + ms, cause, reason: reason.slice(0, 500) } satisfies MailboxHold));
    return t + ms;
  }

  /**
   * Deletes settled, reported rows older than KEEP_SETTLED_MS, a page at a time (the table stays the
   * size of the live work), at most every PRUNE_EVERY_MS unless the last run filled its page: a row
   * kept a few hours longer changes nothing (it is settled and reported), and each run was a statement
   * on every hand-over and pass.
   */
  private prune(t: number) {
    if (t < this.prunedAt + PRUNE_EVERY_MS) return;
    this.sql.exec(
      "DELETE FROM queue WHERE rowid IN (SELECT rowid FROM queue WHERE reported = 1 AND state NOT IN ('queued', 'sending') AND settled_at < ? LIMIT ?)",
      t - KEEP_SETTLED_MS,
      PAGE,
    );
    // A full page may have left more behind: the next call goes on.
    const deleted = this.sql.exec<{ n: number }>("SELECT changes() AS n").one().n;
    this.prunedAt = deleted < PAGE ? t : Number.NEGATIVE_INFINITY;
  }

  /** A "sending" row with no transport call in flight here was cut off by a crash: its outcome is unknown, never resent. */
  private async reconcile() {
    const stuck = this.sql
      .exec<{ enrollment_id: string; step_id: string }>("SELECT enrollment_id, step_id FROM queue WHERE state = 'sending'")
      .toArray();
    for (const s of stuck) {
      if (this.inFlight.has(`${s.enrollment_id}:${s.step_id}`)) continue;
      this.settle(s, {
        state: "unknown",
        settled_at: now(),
        reported: 0,
        reason: "delivery_unknown",
        error: "interrupted while sending; not resent",
      });
    }
  }

  /**
   * Outbox pattern: settled rows are written to D1 (messages, bounces, suppressions) and reported to
   * their SequenceDOs, then marked reported. A crash in between repeats the report, which both sides
   * ignore the second time.
   */
  private async report(): Promise<number> {
    // The stored message (the whole MIME message) stays in SQLite: a new message's D1 row is built from it
    // there (`message_row`: every column after the id, as JSON), so it is not parsed and written again as
    // JSON here, and only the fields this needs come out.
    const rows = this.sql
      .exec<ReportedRow>(
        `SELECT rowid AS rid, enrollment_id, step_id, sequence_id, team_id, contact_id, state, reason, error, settled_at, resend_of, score,
                msg IS NOT NULL AS has_msg, json_extract(msg, '$.messageId') AS message_id, json_extract(msg, '$.subject') AS subject,
                CASE WHEN state = 'bounced' THEN json_extract(msg, '$.to') END AS to_email,
                CASE WHEN msg IS NOT NULL AND resend_of IS NULL THEN
                  json_array(team_id, enrollment_id, sequence_id, step_id, json_extract(msg, '$.variantId'), ?, contact_id, json_extract(msg, '$.to'),
                    json_extract(msg, '$.subject'), json_extract(msg, '$.text'), json_extract(msg, '$.messageId'), json_extract(msg, '$.inReplyTo'),
                    json_extract(msg, '$.raw'),
                    CASE state WHEN 'sent' THEN 'sent' WHEN 'bounced' THEN 'bounced' WHEN 'unknown' THEN 'unknown' ELSE 'failed' END,
                    error, due_at, reserved_at, coalesce(settled_at, ?))
                END AS message_row
         FROM queue WHERE reported = 0 LIMIT 200`,
        this.meta("mailbox_id")!,
        now(),
      )
      .toArray();
    if (!rows.length) return 0;
    const writes: BatchStatement[] = [];
    // A hard bounce marks the contact and suppresses the address for the team (invariant 5), whether
    // it came from the first send or from a soft-bounce retry.
    const bounced = (r: ReportedRow) => {
      const at = r.settled_at ?? now();
      writes.push(
        this.d
          .update(contacts)
          .set({ bouncedAt: sql`coalesce(${contacts.bouncedAt}, ${at})`, updatedAt: at })
          .where(and(eq(contacts.id, r.contact_id), eq(contacts.teamId, r.team_id))),
        this.d
          .insert(suppressions)
          .values({ id: newId(), teamId: r.team_id, email: r.to_email!.toLowerCase(), reason: "bounced", source: "smtp", createdAt: at })
          .onConflictDoNothing(),
      );
    };
    // Each email recorded as a new message: its row with a new id in front.
    const messageRows: string[] = [];
    for (const r of rows) {
      if (!r.has_msg) continue;
      if (r.resend_of) {
        // A soft-bounce retry is the same email (same Message-ID) sent again: its row says so.
        const status = r.state === "bounced" ? "bounced" : "sent";
        const note = r.state === "sent" ? `Sent again after a soft bounce (try ${r.step_id.split("~r")[1]})` : r.error;
        writes.push(
          this.d
            .update(messages)
            .set({ status, error: note })
            .where(and(eq(messages.enrollmentId, r.enrollment_id), eq(messages.stepId, r.resend_of))),
        );
      } else messageRows.push(`[${JSON.stringify(newId())},${r.message_row!.slice(1)}`);
      if (r.state === "bounced") bounced(r);
    }
    const inserts = bulkInsertJsonSql(
      "messages",
      [
        "id",
        "team_id",
        "enrollment_id",
        "sequence_id",
        "step_id",
        "variant_id",
        "mailbox_id",
        "contact_id",
        "to_email",
        "subject",
        "body",
        "message_id_header",
        "in_reply_to",
        "raw",
        "status",
        "error",
        "scheduled_at",
        "sent_at",
        "created_at",
      ],
      messageRows,
    );
    // The sequences' config_rev, read in this same round trip: a SequenceDO whose config has that number
    // applies the results without reading its config again (SequenceDO.config).
    const reported = JSON.stringify([...new Set(rows.flatMap((r) => (r.resend_of || !r.sequence_id ? [] : [r.sequence_id])))]);
    const answers = await batchSql(this.d, [
      ...inserts,
      ...writes,
      sql`SELECT id, config_rev AS rev FROM sequences WHERE id IN (SELECT value FROM json_each(${reported}))`,
    ]);
    const revs = new Map((answers.at(-1)!.results as { id: string; rev: number }[]).map((r) => [r.id, r.rev]));
    const bySequence = new Map<string, { teamId: string; results: StepResult[]; sentNow: boolean }>();
    for (const r of rows) {
      // The SequenceDO counted the step when it first went out; a retry of it is the mailbox's own business.
      // An email sent by hand (sendByHand, no sequence) is no step of any run.
      if (r.resend_of || !r.sequence_id) continue;
      const outcome = outcomeOfMailboxState(r.state);
      const entry = bySequence.get(r.sequence_id) ?? { teamId: r.team_id, results: [], sentNow: false };
      entry.sentNow ||= r.score >= SEND_NOW_SCORE;
      entry.results.push({
        enrollmentId: r.enrollment_id,
        stepId: r.step_id,
        outcome,
        at: r.settled_at ?? now(),
        reason: r.reason ?? undefined,
        messageId: r.message_id ?? undefined,
        subject: r.subject ?? undefined,
      });
      bySequence.set(r.sequence_id, entry);
    }
    // A user's "send now" is watched on the scheduled emails' screen: D1 gets its sequence's rows at once.
    // The rest reach D1 with the sequence's next mirror write, a moment later, with other mailboxes' reports.
    for (const [sequenceId, { teamId, results, sentNow }] of bySequence)
      await engine.sequence(this.env, sequenceId, teamId).stepsDone(results, revs.get(sequenceId), sentNow ? "now" : "soon");
    // One statement marks the batch: a settled, unreported row changes only here, so the rows read above are still these.
    // The message id and subject went in with the reservation (older rows: from the stored message, read before it is cleared).
    this.sql.exec(
      `UPDATE queue SET reported = 1, msg = NULL, message_id = coalesce(message_id, json_extract(msg, '$.messageId')),
         subject = coalesce(subject, json_extract(msg, '$.subject'))
       WHERE reported = 0 AND rowid IN (SELECT value FROM json_each(?))`,
      JSON.stringify(rows.map((r) => r.rid)),
    );
    return rows.length;
  }

  /**
   * Arm the one alarm at the earliest instant something can actually go out: per window group, its
   * earliest ready row, no sooner than the caps and the gap allow, moved into that group's window.
   * Never "now" unless something is sendable now (or an outcome waits to be reported).
   */
  private async schedule(t: number, mb?: MailboxSettings | null, reload = false) {
    const mailboxId = this.meta("mailbox_id");
    if (!mailboxId) return;
    // Unknown until armed below: a hand-over arriving meanwhile plans for itself.
    this.armedAt = undefined;
    let at: number | null;
    try {
      at = await this.nextAlarm(t, mailboxId, reload ? await this.settings(true) : mb);
    } catch (err) {
      // The settings could not be read (D1 out of reach) after the caller's rows were stored: the object
      // tries again itself rather than leave them with no alarm, and the caller still hears of the failure.
      this.armedAt = await armRetry(this.ctx.storage, "mailbox", mailboxId);
      throw err;
    }
    await armAlarm(this.ctx.storage, "mailbox", mailboxId, at);
    this.armedAt = at;
  }

  /** The instant schedule() arms: now while outcomes wait to be reported, null while held or when nothing is queued. */
  private async nextAlarm(t: number, mailboxId: string, mb?: MailboxSettings | null): Promise<number | null> {
    this.prune(t);
    const unreported = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM queue WHERE reported = 0").one().n;
    if (unreported) return t;
    mb ??= await this.settings();
    if (!mb || mb.status !== "connected" || this.waitsForReplies(mb)) return null;
    const gate = this.gate(mb, t);
    let next = Number.MAX_SAFE_INTEGER;
    for (const gid of this.queuedGroups()) {
      const g = this.group(gid);
      // The expression is queue_gready's, so the first entry of the group is the answer.
      const at = this.sql
        .exec<{ at: number }>(
          `SELECT max(due_at, coalesce(next_attempt_at, 0)) AS at FROM queue WHERE gid = ? AND state = 'queued'
           ORDER BY max(due_at, coalesce(next_attempt_at, 0)) LIMIT 1`,
          gid,
        )
        .toArray()[0]?.at;
      if (!g || at === undefined) continue;
      const open = nextWindowStart(Math.max(at, gate), g.w, g.zone);
      if (open !== null) next = Math.min(next, open);
    }
    return next === Number.MAX_SAFE_INTEGER ? null : Math.max(next, t);
  }
}

/** What planSends reads of a queued row (its score, when given, tells the emails ahead of it apart in PlanWait). */
type PlanRow = Pick<QueueRow, "enrollment_id" | "step_id" | "due_at" | "next_attempt_at" | "window" | "zone"> & { score?: number };

/** A planned email that waits longer than this past the moment it could first go is told why (PlanWait). */
const WAIT_TOLD_MS = 60_000;

/**
 * Replays sending forward in time: the same rules as the live pass (caps, gap, windows, priority),
 * without sending. `sent` are the reservation times already in the last 24 h. Rows are grouped by
 * window and zone, so each simulated instant costs one window check per group, not one per row.
 */
export function planSends(
  rows: PlanRow[],
  mb: Pick<MailboxSettings, "dailyLimit" | "hourlyLimit" | "minGapSeconds">,
  sent: number[],
  nextSendAt: number,
  from: number,
  until: number,
  limit: number,
  holdUntil = 0,
): PlannedSend[] {
  const out: PlannedSend[] = [];
  // What the replay did, for each email's PlanWait: the sends it planned (ascending) and when it skipped
  // ahead for a full daily or hourly cap. A wait is read back from these, not guessed from the settings.
  const planned: { at: number; score: number; i: number }[] = [];
  // Running counts of the planned sends by score (rank 1 = lowest) and, per score, by place in the line, for
  // the waits' "how many went ahead of it" without walking every send planned before it.
  const scores = [...new Set(rows.map((r) => r.score ?? 0))].sort((a, b) => a - b);
  const scoreRank = new Map(scores.map((x, j) => [x, j + 1]));
  const byScore = new Fenwick(scores.length);
  const sameScore = new Map<number, Fenwick>();
  /** Planned sends with the score of rank `r` placed before `i` in the line. */
  const sameScoreBefore = (r: number, i: number) => sameScore.get(scores[r - 1]!)?.sum(i) ?? 0;
  const capped: { to: number; cap: "daily" | "hourly" }[] = [];
  // Rows arrive by score, then due time: each group keeps that order. `from`..`until`: the span the group's
  // last window check holds for (inside the window up to its end, or outside it up to the next opening),
  // so the sends planned one after the other within one opening ask the time zone rules once, not each.
  type Group = {
    w: WindowSpec;
    zone: string | null;
    rows: { r: PlanRow; ready: number; i: number }[];
    open: boolean;
    from: number;
    until: number;
    /** The waits' time zone answers, by instant: a backlog's emails share their ready time (the plan's start). */
    opens: Map<number, number>;
    /** since → when that opening closes (null: it doesn't, as far as the plan looks). */
    closes: Map<number, number | null>;
  };
  const groups = new Map<string, Group>();
  for (const [i, r] of rows.entries()) {
    const k = `${r.window}\u0000${r.zone ?? ""}`;
    let g = groups.get(k);
    if (!g)
      groups.set(
        k,
        (g = {
          w: JSON.parse(r.window) as WindowSpec,
          zone: r.zone,
          rows: [],
          open: false,
          from: 0,
          until: 0,
          opens: new Map(),
          closes: new Map(),
        }),
      );
    g.rows.push({ r, ready: Math.max(r.due_at, r.next_attempt_at ?? 0), i });
  }
  const isOpen = (g: Group, t: number): boolean => {
    if (t >= g.from && t < g.until) return g.open;
    g.open = inWindow(t, g.w, g.zone);
    g.from = t;
    g.until = (g.open ? windowEnd(t, g.w, g.zone) : nextWindowStart(t, g.w, g.zone)) ?? (g.open ? t + 1 : Number.MAX_SAFE_INTEGER);
    return g.open;
  };
  let left = rows.length;
  // Ascending (sends are reserved in order, and the plan only moves forward): the sends of the last day
  // or hour before `t` are the tail after a binary search, not a filter of the whole history per send.
  const history = [...sent].sort((a, b) => a - b);
  const sentSorted = history.slice();
  let t = Math.max(from, nextSendAt);
  while (left && t <= until && out.length < limit) {
    if (history.length - upperBound(history, t - DAY) >= mb.dailyLimit) {
      t = history[history.length - mb.dailyLimit]! + DAY + 1;
      capped.push({ to: t, cap: "daily" });
      continue;
    }
    if (history.length - upperBound(history, t - HOUR) >= mb.hourlyLimit) {
      t = history[history.length - mb.hourlyLimit]! + HOUR + 1;
      capped.push({ to: t, cap: "hourly" });
      continue;
    }
    // The first ready row of each open group is that group's best; the best of those goes (ties: input order).
    let best: { g: Group; i: number } | null = null;
    for (const g of groups.values()) {
      if (!g.rows.length || !isOpen(g, t)) continue;
      const i = g.rows.findIndex((p) => p.ready <= t);
      if (i >= 0 && (!best || g.rows[i]!.i < best.g.rows[best.i]!.i)) best = { g, i };
    }
    if (!best) {
      let next = Number.MAX_SAFE_INTEGER;
      for (const g of groups.values()) {
        if (!g.rows.length) continue;
        const ready = Math.min(...g.rows.map((p) => p.ready));
        const open = nextWindowStart(Math.max(ready, t), g.w, g.zone);
        if (open !== null) next = Math.min(next, open);
      }
      if (next === Number.MAX_SAFE_INTEGER) break;
      t = Math.max(next, t + 1);
      continue;
    }
    const [p] = best.g.rows.splice(best.i, 1);
    left--;
    const sent: PlannedSend = { enrollmentId: p!.r.enrollment_id, stepId: p!.r.step_id, at: t };
    // Why it goes this late: from the moment it was ready with its window open, the emails planned before
    // it (ahead in the line: higher score, or the same and due earlier) and the cap the replay met meanwhile.
    const ready = Math.max(p!.ready, from);
    if (t > ready + WAIT_TOLD_MS) {
      const g = best.g;
      let since = g.opens.get(ready);
      if (since === undefined) g.opens.set(ready, (since = nextWindowStart(ready, g.w, g.zone) ?? ready));
      if (t > since + WAIT_TOLD_MS) {
        // Only the sends ahead of it in the line: a lower-scored one (or one scored the same, due later) went
        // meanwhile only because this one could not go then (its window closed), so it is no reason for the wait.
        const score = p!.r.score ?? 0;
        const isAhead = (q: (typeof planned)[number]) => q.score > score || (q.score === score && q.i < p!.i);
        // The planned sends since `since` are planned' tail (it is ascending). Counted over the shorter side: the
        // tail itself, or everything (the running counts) less the head. A backlog's emails all wait from the
        // plan's start, so the head is empty and this is two lookups, not a walk of every send planned before.
        const k = lowerBound(planned, since);
        let ahead = 0;
        let higher = 0;
        if (planned.length - k <= k) {
          for (let j = k; j < planned.length; j++) {
            if (planned[j]!.score > score) higher++;
            if (isAhead(planned[j]!)) ahead++;
          }
        } else {
          const r = scoreRank.get(score)!;
          higher = planned.length - byScore.sum(r);
          // Ahead: a higher score, or the same score and earlier in the line.
          ahead = higher + sameScoreBefore(r, p!.i);
          for (let j = 0; j < k; j++) {
            if (planned[j]!.score > score) higher--;
            if (isAhead(planned[j]!)) ahead--;
          }
        }
        let cap: PlanWait["limit"] | null = null;
        // A skip that ends after `since` held it (one that began before it too: the cap was full when it came).
        for (let j = capped.length - 1; j >= 0 && capped[j]!.to > since && cap !== "daily"; j--) cap = capped[j]!.cap;
        // Its window closed before its turn came: it went at a later opening, whatever filled the one it missed.
        let end = g.closes.get(since);
        if (end === undefined) {
          const e = windowEnd(since, g.w, g.zone);
          g.closes.set(since, (end = e !== null && !inWindow(e, g.w, g.zone) ? e : null));
        }
        const closed = end !== null && end < t;
        const limit = closed ? "window" : (cap ?? (holdUntil > since ? "hold" : "gap"));
        const span = limit === "hourly" ? HOUR : DAY;
        // The mailbox's real sends only (`sent`), not the ones this plan puts before it: the words say "sent".
        const used = upperBound(sentSorted, since) - upperBound(sentSorted, since - span);
        sent.wait = { since, ahead, higher, limit, used };
      }
    }
    out.push(sent);
    planned.push({ at: t, score: p!.r.score ?? 0, i: p!.i });
    byScore.add(scoreRank.get(p!.r.score ?? 0)!);
    (sameScore.get(p!.r.score ?? 0) ?? sameScore.set(p!.r.score ?? 0, new Fenwick(rows.length)).get(p!.r.score ?? 0)!).add(p!.i + 1);
    history.splice(upperBound(history, t), 0, t); // at the end, unless a caller planned from before its last send
    t += Math.max(1, mb.minGapSeconds * 1000);
  }
  for (const g of groups.values())
    for (const p of g.rows) if (out.length < limit) out.push({ enrollmentId: p.r.enrollment_id, stepId: p.r.step_id, at: null });
  return out;
}

/** The index of the first of the ascending-by-`at` `xs` at or after `x`. */
function lowerBound(xs: readonly { at: number }[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]!.at < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts by position 1..n: add one at a position, and how many are at or before a position, in log n. */
class Fenwick {
  private readonly t: Int32Array;
  constructor(n: number) {
    this.t = new Int32Array(n + 1);
  }
  add(at: number) {
    for (let j = at; j < this.t.length; j += j & -j) this.t[j]!++;
  }
  sum(at: number) {
    let n = 0;
    for (let j = Math.min(at, this.t.length - 1); j > 0; j -= j & -j) n += this.t[j]!;
    return n;
  }
}

/** How many of the ascending `xs` are <= `x` (the index of the first one above it). */
function upperBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The composed message as a reservation keeps it until its outcome is reported (invariant 4). */
function storedMessage(mail: ComposedEmail): string {
  const stored: StoredMessage = {
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    raw: mail.raw,
    messageId: mail.messageId,
    inReplyTo: mail.inReplyTo,
    variantId: mail.variantId,
  };
  return JSON.stringify(stored);
}
