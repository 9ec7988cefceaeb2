import { DurableObject } from "cloudflare:workers";
import { and, asc, eq, gt, sql } from "drizzle-orm";
import { db, type Db } from "../worker/db/client";
import { inChunks, listParam } from "../worker/db/in-list";
import { enrollments as d1Enrollments } from "../worker/db/schema";
import type { Env } from "../worker/env";
import { ALARM_RETRY_MS, alarmOrRetry, armAlarm } from "../worker/lib/alarms";
import { now } from "../worker/lib/clock";
import { sha256Hex } from "../worker/lib/crypto";
import { newId } from "../worker/lib/ids";
import { activeElsewhereSql, colleaguesOf, repliedHereSql } from "../worker/services/add-contacts/candidates";
import { addWait, nextWindowStart } from "../worker/services/schedule-time";
import { engine } from "./engine";
import {
  outcomeOfMailboxState,
  type EmailOverride,
  type MailboxItemState,
  type QueuedEmail,
  type ReasonCode,
  type StepResult,
} from "./engine-types";
import { blockingReason, loadContactStates, type ContactState } from "./eligibility";
import { MIRROR_MAX_CHARS, readMirrorPage, writeMirrorPage } from "./enrollment-mirror";
import { deleteMeta, migrate, patchRow, readMeta, writeMeta } from "./object-storage";
import {
  isEmailStep,
  loadSequenceConfig,
  nextEnabledStep,
  sendingZone,
  stepInPlaceOf,
  stepOfEnrollment,
  type SequenceConfig,
  type StepConfig,
  type StepsBehind,
} from "./sequence-config";
import { overrideOf, toChoice, withChoice, type ChoiceRow, type EmailChoice, type ScheduledActionResult } from "./scheduled-email";
import { createTasks, runEnding, type NewTask } from "./tasks";

/** One contact to enroll (the add-contacts pipeline has already validated it). */
export interface EnrollItem {
  enrollmentId: string;
  contactId: string;
  mailboxId: string | null;
  score: number;
  timeZone: string | null;
  jobId?: string | null;
  addedBy?: string | null;
  /**
   * The contact as the caller read it at the start of its work (the add-contacts job's facts): a first step
   * due at once that is an email is decided on it (stepDue) instead of on a second read of D1, since the
   * mailbox checks the contact again right before sending (invariant 5). Without it, and for a first step
   * that is a task (nothing checks the contact after the task is created), D1 is read.
   */
  contact?: ContactState;
  /**
   * One contact per company was asked (add-contacts skip_same_company): the contact's company as the rule keys it
   * (candidates.ts companyKeySql). It is not enrolled while a colleague runs here, nor after one this call enrolled.
   */
  company?: string | null;
}

type Status = "active" | "paused" | "held" | "finished" | "failed" | "removed";
type Waiting = "timer" | "mailbox" | "task" | "none";
/** An email queued at a mailbox that an enrollment's change takes back (invariant 11). */
interface Withdrawal {
  mailboxId: string;
  enrollmentId: string;
  stepId: string;
}

interface Row {
  id: string;
  contact_id: string;
  mailbox_id: string | null;
  status: Status;
  step_id: string | null;
  step_pos: number;
  waiting: Waiting;
  due_at: number | null;
  reason: string | null;
  score: number;
  zone: string | null;
  thread_msg: string | null;
  thread_subject: string | null;
  job_id: string | null;
  added_by: string | null;
  created_at: number;
  finished_at: number | null;
  /** When the last step was done (or the enrollment started): what the next step's wait counts from. */
  last_at: number | null;
}

const DUE_BATCH = 500;
/** Rows per statement when enrolling: the JSON of one page stays far below the 2 MB a bound value may hold. */
const ENROLL_ROWS = 500;
/** Changed rows mirrored to D1 per statement; a page of unusually long rows is cut to FLUSH_ROWS_LONG (the JSON stays under MIRROR_MAX_CHARS). */
const FLUSH_ROWS = 2_000;
const FLUSH_ROWS_LONG = 200;
/** How far the mirrored revision may run ahead of the one kept in storage (flush). */
const MIRRORED_SAVE_EVERY = 2_000;
/**
 * A mailbox's report reaches D1 within this long (meta `flush_at`, an alarm), not in a D1 call of its own:
 * the mailboxes of a sequence send at the same moments (a window opening, an hour's cap freed), and their
 * reports in that span go out as one page. The messages themselves are in D1 from the mailbox's own write.
 */
export const MIRROR_SOON_MS = 2_000;
/**
 * Why a restart was refused: a code of invariant 5 (never overridden), `duplicate_email` (another contact with
 * the address runs in this sequence now: one run per address, never overridden), a finish reason of
 * RESTART_ASKS_FIRST (or `replied`: the address answered this sequence), or `active_elsewhere` (the address is
 * in another sequence now); the last two give way to `anyway`.
 */
export type RestartBlock = ReasonCode | "active_elsewhere" | "duplicate_email" | "mailbox_not_connected";
/** What `restart` did with each enrollment; `blocked`: not restarted, with the reason. */
export type RestartOutcome = {
  id: string;
  outcome: "restarted" | "not_found" | "no_such_step" | "already" | "blocked";
  newId: string | null;
  reason?: RestartBlock;
};
/**
 * Runs that ended because the contact answered (a reply, a colleague's, a call, a booked meeting) or went
 * on in another sequence: a new run would email them as if nothing had happened, so a restart of one
 * needs the caller's word (`anyway`), as re-adding someone who replied needs an override.
 */
export const RESTART_ASKS_FIRST: ReadonlySet<string> = new Set<ReasonCode>([
  "replied",
  "meeting_booked",
  "not_interested",
  "colleague_replied",
  "moved",
]);
/** Rows read or written at a time by any bulk pass (bind, activate, reconcile): memory stays bounded. */
export const PAGE = 5_000;
/**
 * Reconciler bounds (invariant 10). A step handed to a mailbox or a task gets a check timer: if the
 * email has not come back by then, the mailbox is asked what became of it (lost hand-over, step
 * re-handed after a reorder, withdrawn) and the enrollment is repaired. Checked again while it waits.
 */
const CHECK_AFTER_MS = 60 * 60_000;
const RECHECK_MAILBOX_MS = 24 * 60 * 60_000;
const RECHECK_TASK_MS = 24 * 60 * 60_000;
/**
 * A check falls on the next point of a grid as wide as its delay (the first check: the next full hour
 * after an hour; a recheck: the next midnight UTC after a day), so the checks of many enrollments share
 * one alarm.
 */
const checkAt = (t: number, after: number) => Math.ceil((t + after) / after) * after;
/**
 * The emails of one hand-over, by the revisions its transaction gave their rows. Each row gets its daily
 * recheck timer at once; the first check, an hour on, is kept once for the batch: a `handovers` row,
 * deleted in the transaction that applies the mailboxes' answers. Only a batch whose answers never came
 * (a restart, a mailbox call that failed) is checked after the hour, each of its rows still waiting on a
 * mailbox. Moving every row's timer from the hour to the day once the answers came cost 1.8 index writes
 * and 4.5 rows read per email (`BENCH_DO_SQL`).
 */
type HandOver = { from: number; to: number };
/** The hand-over's guard, written in the hand-over's transaction. */
const guardHandOver = (sql: SqlStorage, h: HandOver | null, t: number) => {
  if (h) sql.exec("INSERT INTO handovers (rev_from, rev_to, run_at) VALUES (?, ?, ?)", h.from, h.to, checkAt(t, CHECK_AFTER_MS));
};
/** Extends `h` by one row's revision. */
const withRev = (h: HandOver | null, rev: number): HandOver =>
  h ? { from: Math.min(h.from, rev), to: Math.max(h.to, rev) } : { from: rev, to: rev };
/**
 * The widest recheck of a step queued in a mailbox (the bound on repairing a hand-over the mailbox lost): the
 * recheck falls on the next point of a grid this wide, so 7 to 14 days after the last look.
 */
const RECHECK_MAX_MS = 7 * 24 * 60 * 60_000;
/**
 * When to look again at a step the mailbox still holds queued: after a day, then after as many whole
 * days as it has waited since it fell due, at most a week. A mailbox with days of backlog is asked about
 * each of its emails a few times instead of every day (at full load most emails wait several days).
 */
const recheckQueued = (t: number, dueAt: number | null) =>
  checkAt(
    t,
    Math.min(RECHECK_MAX_MS, Math.max(RECHECK_MAILBOX_MS, Math.floor((t - (dueAt ?? t)) / RECHECK_MAILBOX_MS) * RECHECK_MAILBOX_MS)),
  );
const OPEN = "('active','paused','held')";
/**
 * Which of these contacts (a JSON array) have an open enrollment here: by contact_id through the unique
 * index of open enrollments (test/engine/enroll-plan; a walk of every open enrollment per page was
 * quadratic in a 100,000-contact add).
 */
export const OPEN_FOR_CONTACTS = `SELECT contact_id FROM enrollments WHERE status IN ${OPEN} AND contact_id IN (SELECT value FROM json_each(?))`;
/**
 * The other live contacts of the team with each given contact's address (a JSON array of ids, then the
 * team): from each id to its row, then along contacts_team_email_idx (team_id, lower(email), deleted_at)
 * to its twins (test/add-contacts/concurrent-same-address checks the plan).
 */
export const TWINS_OF = `SELECT c.id AS cid, d.id AS twin FROM contacts c
    JOIN contacts d ON d.team_id = c.team_id AND lower(d.email) = lower(c.email) AND d.deleted_at IS NULL AND d.id <> c.id
   WHERE c.id IN (SELECT value FROM json_each(?)) AND +c.team_id = ?`;
/** The rows of a hand-over (HandOver) still waiting on a mailbox, along enrollments_rev (the batch's revisions). */
export const HANDED_OVER_IN = "SELECT * FROM enrollments WHERE dirty BETWEEN ? AND ? AND status = 'active' AND waiting = 'mailbox'";
/** The rows whose timers are due, the earliest first and, among those due at one instant, the first set first (setTimers). */
export const DUE_ROWS =
  "SELECT e.* FROM timers t JOIN enrollments e ON e.id = t.enrollment_id WHERE t.run_at <= ? ORDER BY t.run_at, t.seq LIMIT ?";
/** A page of held rows (activate), through enrollments_held. */
export const HELD_PAGE = "SELECT id, due_at FROM enrollments WHERE status = 'held' LIMIT ?";
/** Outcomes after which the enrollment moves on to the next step. */
const ADVANCING = new Set(["sent", "unknown", "completed", "skipped"]);

/** The object's storage schema, one step per version (object-storage.ts runs the missing ones). */
export const MIGRATIONS: ((sql: SqlStorage) => void)[] = [
  (sql) =>
    sql.exec(`
        CREATE TABLE enrollments (
          id TEXT PRIMARY KEY, contact_id TEXT NOT NULL UNIQUE, mailbox_id TEXT, status TEXT NOT NULL,
          step_id TEXT, step_pos INTEGER NOT NULL DEFAULT 0, waiting TEXT NOT NULL DEFAULT 'none', due_at INTEGER,
          reason TEXT, score INTEGER NOT NULL DEFAULT 0, zone TEXT, thread_msg TEXT, thread_subject TEXT,
          job_id TEXT, added_by TEXT, created_at INTEGER NOT NULL, finished_at INTEGER, dirty INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX enrollments_dirty ON enrollments (dirty) WHERE dirty > 0;
        CREATE TABLE timers (enrollment_id TEXT PRIMARY KEY, run_at INTEGER NOT NULL);
        CREATE INDEX timers_run_at ON timers (run_at);
        CREATE TABLE results (enrollment_id TEXT NOT NULL, step_id TEXT NOT NULL, outcome TEXT NOT NULL, PRIMARY KEY (enrollment_id, step_id));
      `),
  (sql) => sql.exec("ALTER TABLE enrollments ADD COLUMN last_at INTEGER"),
  (sql) => {
    // Invariant 1 is "at most once at a time": the contact is unique among open enrollments only,
    // so a finished or removed contact can be added again and its history is kept.
    sql.exec(`
      CREATE TABLE enrollments_v3 (
        id TEXT PRIMARY KEY, contact_id TEXT NOT NULL, mailbox_id TEXT, status TEXT NOT NULL,
        step_id TEXT, step_pos INTEGER NOT NULL DEFAULT 0, waiting TEXT NOT NULL DEFAULT 'none', due_at INTEGER,
        reason TEXT, score INTEGER NOT NULL DEFAULT 0, zone TEXT, thread_msg TEXT, thread_subject TEXT,
        job_id TEXT, added_by TEXT, created_at INTEGER NOT NULL, finished_at INTEGER, dirty INTEGER NOT NULL DEFAULT 0, last_at INTEGER
      );
      INSERT INTO enrollments_v3 (id, contact_id, mailbox_id, status, step_id, step_pos, waiting, due_at, reason, score, zone, thread_msg,
          thread_subject, job_id, added_by, created_at, finished_at, dirty, last_at)
        SELECT id, contact_id, mailbox_id, status, step_id, step_pos, waiting, due_at, reason, score, zone, thread_msg,
          thread_subject, job_id, added_by, created_at, finished_at, dirty, last_at FROM enrollments;
      DROP TABLE enrollments;
      ALTER TABLE enrollments_v3 RENAME TO enrollments;
      CREATE UNIQUE INDEX enrollments_open_contact ON enrollments (contact_id) WHERE status IN ${OPEN};
      CREATE INDEX enrollments_contact ON enrollments (contact_id);
      CREATE INDEX enrollments_dirty ON enrollments (dirty) WHERE dirty > 0;
      CREATE INDEX enrollments_status ON enrollments (status);
    `);
    // Every active enrollment has a timer from now on (a step timer or a check timer): give one to
    // those that waited on a mailbox or a task without any.
    sql.exec(`INSERT OR IGNORE INTO timers (enrollment_id, run_at) SELECT id, ? FROM enrollments WHERE status = 'active'`, now());
  },
  // Users' decisions about single scheduled emails (edit, send now, reschedule, a skip in progress): scheduled-email.ts.
  (sql) =>
    sql.exec(`
      CREATE TABLE email_choices (
        enrollment_id TEXT NOT NULL, step_id TEXT NOT NULL, subject TEXT, body TEXT, ver TEXT, send_at INTEGER,
        send_now INTEGER NOT NULL DEFAULT 0, skip INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,
        PRIMARY KEY (enrollment_id, step_id)
      );
    `),
  // A change that touched only the reason of a row D1 already had in full (a hand-over): the mirror writes the reason alone.
  // The same column says 2 for a change of only the step, its due time and the reason (advanceAll: a step done, the next one waiting).
  (sql) => sql.exec("ALTER TABLE enrollments ADD COLUMN reason_only INTEGER NOT NULL DEFAULT 0"),
  // `dirty` is the revision of a row's last change and is never cleared: D1 has every row up to the
  // revision kept in meta (`mirrored`), so mirroring a page writes one meta row instead of rewriting
  // every enrollment in it. The index now holds every row (a revision of 0 is a row bound from D1).
  (sql) =>
    sql.exec(`
      CREATE INDEX enrollments_rev ON enrollments (dirty);
      DROP INDEX enrollments_dirty;
    `),
  // A batch of emails handed to the mailboxes that has not been answered yet: its rows' revisions and when
  // to check them (the guard of the first check; see HandOver).
  (sql) => sql.exec("CREATE TABLE handovers (rev_from INTEGER PRIMARY KEY, rev_to INTEGER NOT NULL, run_at INTEGER NOT NULL)"),
  // Two indexes every enrolled row paid for and no read needed: each lookup by contact asks for open
  // enrollments (the unique partial index answers it), and the one read by status is activate's page of
  // held rows, which a partial index of held rows alone serves (empty while the sequence is on). A new
  // row wrote six b-trees and writes four; a row that finishes no longer moves within the status index.
  (sql) =>
    sql.exec(`
      DROP INDEX enrollments_contact;
      DROP INDEX enrollments_status;
      CREATE INDEX enrollments_held ON enrollments (status) WHERE status = 'held';
    `),
  // A timer is moved in place (setTimers): its row and its entry in the due order are rewritten, where
  // INSERT OR REPLACE deleted and re-inserted the row, its id's entry and its due entry (6 rows written
  // per move, now 2). `seq` keeps what the new rowid gave: among timers due at the same instant, the
  // one set last goes last (processDue's batches; in id order the sending bench took 449 -> 609 alarms).
  (sql) =>
    sql.exec(`
      ALTER TABLE timers ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
      DROP INDEX timers_run_at;
      CREATE INDEX timers_due ON timers (run_at, seq);
    `),
  // Steps a reorder moved from after an enrollment's step to before it: still ahead of it (oweStepsMovedAbove).
  (sql) =>
    sql.exec(
      "CREATE TABLE steps_owed (enrollment_id TEXT NOT NULL, step_id TEXT NOT NULL, PRIMARY KEY (enrollment_id, step_id)) WITHOUT ROWID",
    ),
];

/**
 * SequenceDO — one per sequence. The single writer of its enrollments' transitions: enroll
 * (deduplicated: invariant 1), advance step by step (invariant 2), pause, resume, finish, remove.
 * Keeps a timer table of due steps behind one alarm, re-checks eligibility when a step falls due
 * (invariant 5) and mirrors every change to D1 through a dirty flag, so a crash between the two
 * writes is repaired by the next call.
 */
/**
 * Whether an email that went out is the run's thread from now on: the first one, and every later one of a step
 * that isn't a same-thread reply (a new email, "Case study" after "Intro"), as compose reads the thread from the
 * sent emails (RUN_THREAD_SQL). A step deleted meanwhile keeps the thread as it was, unless there was none.
 */
function startsThread(r: StepResult, e: Pick<Row, "thread_msg">, step: { threadReply: boolean } | undefined): boolean {
  if ((r.outcome !== "sent" && r.outcome !== "unknown") || !r.messageId) return false;
  return !e.thread_msg || (step !== undefined && !step.threadReply);
}

export class SequenceDO extends DurableObject<Env> {
  private sql: SqlStorage;
  private d: Db;
  /** Change counter: `dirty` holds the revision of a row's last change (0: a row bound from D1). */
  private rev = 0;
  /** D1 has every row as of this revision (meta `mirrored`): a row is still to mirror while its `dirty` is above it. */
  private mirrored = 0;
  /** The last `seq` given to a timer (setTimers). */
  private timerSeq = 0;
  /** The `mirrored` kept in storage (at most `mirrored`: a restart sends D1 again what it may lack, never less). */
  private savedMirrored = 0;
  /** When a mirror write is due (meta `flush_at`, which rearm() reads), kept here too: no read per flush. */
  private flushAt: number | null = null;
  /** The flush sending pages to D1 right now, if any (flush). */
  private flushing: Promise<void> | null = null;
  /** The steps' places the enrollments' positions follow (meta `step_places`; null: not read yet). */
  private stepPlaces: string | null = null;
  /** The places as a map, for rows written from a config read before the last change (placeOf). */
  private places: Map<string, number> | null = null;
  /** Config loads started, and the latest one whose steps' places were applied (config). */
  private loadsStarted = 0;
  private placesLoad = 0;
  /** That latest load's config: a caller who read D1's `config_rev` since, and found it the same, uses it (config). */
  private lastConfig: SequenceConfig | null = null;
  /**
   * Times `activate` ran, and the count each config was loaded at. A config read before the sequence
   * was turned on says "off": a batch that read it, then awaited D1 while `activate` released the held
   * rows, must not hold its own rows after (nothing would release them again).
   */
  private activations = 0;
  private loadedAt = new WeakMap<SequenceConfig, number>();
  /** Whether steps_owed has any row: while it has none (no reorder ever owed a step), nothing reads it. */
  private owing = false;
  /** Transactions that wrote new runs (enroll, restart) since the object started (settled: a twin read they overtook is read again). */
  private enrollCommits = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.d = db(env.DB);
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, MIGRATIONS);
      this.rev = this.sql.exec<{ r: number | null }>("SELECT max(dirty) AS r FROM enrollments").toArray()[0]?.r ?? 0;
      this.mirrored = this.savedMirrored = Number(this.meta("mirrored") ?? 0);
      const flushAt = this.meta("flush_at");
      this.flushAt = flushAt === null ? null : Number(flushAt);
      this.owing = this.sql.exec<{ n: number }>("SELECT EXISTS (SELECT 1 FROM steps_owed) AS n").one().n === 1;
    });
  }

  private setFlushAt(at: number | null) {
    if (at === null) deleteMeta(this.sql, "flush_at");
    else this.setMeta("flush_at", String(at));
    this.flushAt = at;
  }

  private meta(key: string): string | null {
    return readMeta(this.sql, key);
  }
  private setMeta(key: string, value: string) {
    writeMeta(this.sql, key, value);
  }

  /**
   * The sequence as the engine reads it, and every enrollment's position made its step's position now.
   * A contact stays on its step by id whatever happens to the order; its position is the number D1's
   * lists, the funnel and the next-email preview show, and steps added in front, deleted or moved change
   * it. So each load whose steps' places differ from those last applied here moves the positions before
   * anything else is written (followStepPlaces); `followSteps` does it at once after an edit.
   */
  private async config(sequenceId: string, rev?: number): Promise<SequenceConfig | null> {
    // `rev`: D1's config_rev as a caller just read it (a mailbox's report, in the write it makes anyway).
    // The same number as the last load's is the same config (migration 0033's triggers move it on every
    // change the config reads), and that load's places are applied: no round trip.
    if (rev !== undefined && this.lastConfig?.id === sequenceId && this.lastConfig.rev === rev) return this.lastConfig;
    const load = ++this.loadsStarted;
    const activations = this.activations;
    const cfg = await loadSequenceConfig(this.d, sequenceId);
    if (cfg) this.loadedAt.set(cfg, activations);
    // A load started earlier may answer later: it must not put back the places a newer one applied.
    if (cfg && load > this.placesLoad) {
      this.placesLoad = load;
      this.followStepPlaces(cfg);
      this.lastConfig = cfg;
    }
    return cfg;
  }

  /** The sequence was turned on after `cfg` was read: its "off" is out of date. */
  private activatedSince(cfg: SequenceConfig): boolean {
    return (this.loadedAt.get(cfg) ?? -1) !== this.activations;
  }

  private followStepPlaces(cfg: SequenceConfig) {
    // Each step's position, and for a deleted step the position of the step that took its place.
    const places: Record<string, number> = {};
    for (const s of cfg.steps) places[s.id] = s.position;
    for (const id of Object.keys(cfg.deleted).sort()) {
      const inPlace = stepInPlaceOf(cfg, id);
      if (inPlace) places[id] = inPlace.position;
    }
    const text = JSON.stringify(places);
    // The common case, every alarm and report: the places as last applied, nothing to write or rebuild.
    if (text === this.stepPlaces && this.places) return;
    this.stepPlaces ??= this.meta("step_places");
    if (text !== this.stepPlaces)
      this.ctx.storage.transactionSync(() => {
        if (this.stepPlaces === null) this.bindStepIds(cfg);
        else {
          this.oweStepsMovedAbove(JSON.parse(this.stepPlaces) as Record<string, number>, places, cfg);
          this.moveStepPlaces(text);
        }
        this.setMeta("step_places", text);
      });
    this.stepPlaces = text;
    this.places = new Map(Object.entries(places));
  }

  /**
   * A reorder that moves steps from after an enrollment's step to before it (A, B, C made A, C, B while
   * the contact waits for B): those steps were still ahead of the contact and stay so, owed after its
   * step (nextEnabledStep), or the contact would finish without ever getting C. A step that was behind
   * it stays behind. `old` and `places`: each step's place (a deleted step's: its follower's) before and after.
   */
  private oweStepsMovedAbove(old: Record<string, number>, places: Record<string, number>, cfg: SequenceConfig) {
    const pairs: [string, string][] = [];
    for (const [on, to] of Object.entries(places)) {
      const from = old[on];
      if (from === undefined) continue;
      for (const x of cfg.steps) {
        const was = old[x.id];
        if (x.id !== on && was !== undefined && was > from && x.position < to) pairs.push([on, x.id]);
      }
    }
    if (!pairs.length) return;
    this.sql.exec(
      `INSERT OR IGNORE INTO steps_owed (enrollment_id, step_id)
       SELECT e.id, p.x FROM (SELECT json_extract(value, '$[0]') AS s, json_extract(value, '$[1]') AS x FROM json_each(?)) AS p
       JOIN enrollments e ON e.step_id = p.s
       WHERE e.status IN ${OPEN} AND NOT EXISTS (SELECT 1 FROM results r WHERE r.enrollment_id = e.id AND r.step_id = p.x)`,
      JSON.stringify(pairs),
    );
    this.owing ||= this.sql.exec<{ n: number }>("SELECT EXISTS (SELECT 1 FROM steps_owed) AS n").one().n === 1;
  }

  /** Steps owed to these enrollments (`ids`: a JSON array) by a reorder, by enrollment; none read while none are owed. */
  private owedOf(ids: string): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    if (!this.owing) return out;
    for (const r of this.sql.exec<{ enrollment_id: string; step_id: string }>(
      "SELECT enrollment_id, step_id FROM steps_owed WHERE enrollment_id IN (SELECT value FROM json_each(?))",
      ids,
    ))
      addTo(out, r.enrollment_id, r.step_id);
    return out;
  }

  /**
   * The first load here (places never kept before): every row so far took its position from the config
   * of its time. Rows an older version took over from D1 without their step (only a position) are bound
   * to the step at that position now, as processDue would place them, so they follow their steps from here.
   */
  private bindStepIds(cfg: SequenceConfig) {
    if (!this.sql.exec("SELECT 1 FROM enrollments LIMIT 1").toArray().length) return;
    this.sql.exec(
      `UPDATE enrollments SET step_id = (SELECT json_extract(value, '$[1]') FROM json_each(?) WHERE json_extract(value, '$[0]') = step_pos)
       WHERE step_id IS NULL AND step_pos > 0`,
      JSON.stringify(cfg.steps.map((s) => [s.position, s.id])),
    );
  }

  /**
   * Positions changed: every enrollment's position becomes its step's (`text`: step id → position). A walk
   * over every enrollment, once per change of the order (a rare edit): an index on step_id would cost a
   * write on every step every contact takes.
   * Each row changed gets a new revision so flush() mirrors it (D1 sees the step alone, reason_only 2,
   * unless the row has other changes still to send). Rows D1 doesn't have yet are renumbered with them,
   * all in their revisions' order: a contact's finished enrollment must still reach D1 before its new one
   * (D1's open-once index). A hand-over whose answers haven't come finds its rows by their revisions
   * (HANDED_OVER_IN): the ones renumbered get a check of their own, at the same time, over their new
   * revisions (consecutive runs: each hand-over's rows keep their order).
   */
  private moveStepPlaces(text: string) {
    const base = this.rev;
    // The rows to renumber, `n` their order: the same in both statements below (one transaction).
    const renumbering = `WITH p AS (SELECT key AS step_id, value AS pos FROM json_each(?)),
            c AS (SELECT e.id, e.dirty AS old, coalesce(p.pos, e.step_pos) AS pos, p.pos IS NOT NULL AND p.pos != e.step_pos AS moved,
                         row_number() OVER (ORDER BY e.dirty, e.id) AS n
                  FROM enrollments e LEFT JOIN p ON p.step_id = e.step_id
                  WHERE (p.pos IS NOT NULL AND e.step_pos != p.pos) OR e.dirty > ?)`;
    const checks = this.sql
      .exec<{ n: number; rev_from: number; run_at: number }>(
        `${renumbering}
         SELECT c.n, h.rev_from, h.run_at FROM handovers h JOIN c ON c.old BETWEEN h.rev_from AND h.rev_to
         JOIN enrollments e ON e.id = c.id WHERE e.status = 'active' AND e.waiting = 'mailbox' ORDER BY h.rev_from, c.n`,
        text,
        this.mirrored,
      )
      .toArray();
    this.sql.exec(
      `${renumbering}
       UPDATE enrollments SET reason_only = CASE WHEN NOT c.moved THEN reason_only WHEN dirty <= ? OR reason_only > 0 THEN 2 ELSE 0 END,
                              step_pos = c.pos, dirty = ? + c.n
       FROM c WHERE enrollments.id = c.id`,
      text,
      this.mirrored,
      this.mirrored,
      base,
    );
    this.rev = Math.max(this.rev, this.sql.exec<{ r: number | null }>("SELECT max(dirty) AS r FROM enrollments").one().r ?? 0);
    for (let i = 0; i < checks.length;) {
      let j = i;
      while (j + 1 < checks.length && checks[j + 1]!.rev_from === checks[i]!.rev_from && checks[j + 1]!.n === checks[j]!.n + 1) j++;
      this.sql.exec(
        "INSERT INTO handovers (rev_from, rev_to, run_at) VALUES (?, ?, ?)",
        base + checks[i]!.n,
        base + checks[j]!.n,
        checks[i]!.run_at,
      );
      i = j + 1;
    }
  }

  /** The position a row on `step` gets: its place as last applied here (a config read before an await may be older). */
  private placeOf(step: StepConfig): number {
    return this.places?.get(step.id) ?? step.position;
  }

  /**
   * Bind this object to its sequence and take over enrollments that exist only in D1 (seeded or
   * imported), PAGE rows at a time (keyset on id), so a sequence of any size fits in memory. The
   * position is kept in `meta`: a restart part-way carries on where it stopped.
   */
  private async bind(sequenceId: string, teamId: string) {
    if (!this.meta("sequence_id")) {
      this.ctx.storage.transactionSync(() => {
        this.setMeta("sequence_id", sequenceId);
        this.setMeta("team_id", teamId);
        this.setMeta("bind_after", "");
      });
    }
    // A row from D1 names its step by position only: it is bound to the step at that position now, so from
    // then on it follows its step through edits of the order like every other row (followStepPlaces). Of
    // two steps at one position (old data) it is the first in STEP_ORDER, which the engine runs first (the
    // steps are set in reverse so the first one's entry is written last and stays).
    let stepAt: Map<number, string> | null = null;
    for (;;) {
      const after = this.meta("bind_after");
      if (after === null) return;
      const steps = (stepAt ??= new Map(((await this.config(sequenceId))?.steps ?? []).map((s) => [s.position, s.id] as const).reverse()));
      const results = await this.d
        .select({
          id: d1Enrollments.id,
          contactId: d1Enrollments.contactId,
          mailboxId: d1Enrollments.mailboxId,
          status: d1Enrollments.status,
          currentStep: d1Enrollments.currentStep,
          nextDueAt: d1Enrollments.nextDueAt,
          reason: d1Enrollments.reason,
          jobId: d1Enrollments.jobId,
          addedBy: d1Enrollments.addedBy,
          createdAt: d1Enrollments.createdAt,
          finishedAt: d1Enrollments.finishedAt,
        })
        .from(d1Enrollments)
        .where(and(eq(d1Enrollments.sequenceId, sequenceId), gt(d1Enrollments.id, after)))
        .orderBy(asc(d1Enrollments.id))
        .limit(PAGE);
      const t = now();
      this.ctx.storage.transactionSync(() => {
        for (const e of results) {
          // OR IGNORE: a row this object already has (same id, or an open one for the same contact) wins.
          this.sql.exec(
            `INSERT OR IGNORE INTO enrollments (id, contact_id, mailbox_id, status, step_id, step_pos, waiting, due_at, reason, job_id, added_by, created_at, finished_at, dirty)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
            e.id,
            e.contactId,
            e.mailboxId,
            e.status,
            steps.get(e.currentStep) ?? null,
            e.currentStep,
            e.status === "active" ? "timer" : "none",
            e.nextDueAt,
            e.reason,
            e.jobId,
            e.addedBy,
            e.createdAt,
            e.finishedAt,
          );
          if (e.status === "active") this.setTimers([[e.id, e.nextDueAt ?? t]], "keep");
        }
        if (results.length < PAGE) deleteMeta(this.sql, "bind_after");
        else this.setMeta("bind_after", String(results[results.length - 1]!.id));
      });
    }
  }

  // ---------------------------------------------------------------- RPC verbs

  /**
   * Enroll contacts. Invariant 1, at most once at a time: a contact with an open enrollment here is
   * "already"; `alreadyOther` lists those whose open enrollment is not this call's (a repeat of the
   * same call, same enrollment id, is "already" only). A finished or removed contact is enrolled
   * again under the new id; the old enrollment stays as history. One run per address: a contact another
   * live contact with its email runs here now (open), or was enrolled earlier in this call, is not
   * enrolled and is listed in `duplicateEmail` (the add-contacts check in D1 can't see a run that a
   * concurrent job is enrolling at the same moment; this object can). One contact per company, the same way: an
   * item with a `company` whose colleague runs here now, or was enrolled earlier in this call, is not enrolled and
   * is listed in `sameCompany` (two adds at once each found the company absent in D1).
   *
   * Set-based: a chunk of a thousand contacts costs a handful of statements here (two lookups, then
   * ENROLL_ROWS rows per insert), and one more to mirror them to D1 (flush: the page's JSON is built by
   * this object's SQLite); the rows stay dirty until D1 has them, so a crash in between is repaired by
   * the next flush.
   */
  async enroll(
    sequenceId: string,
    teamId: string,
    items: EnrollItem[],
  ): Promise<{ enrolled: string[]; already: string[]; alreadyOther: string[]; duplicateEmail: string[]; sameCompany: string[] }> {
    await this.bind(sequenceId, teamId);
    const cfg = await this.config(sequenceId);
    if (!cfg) throw new Error(`sequence ${sequenceId} not found`);
    const t = now();
    const first = nextEnabledStep(cfg, null);
    const dueAt = first ? this.dueAfterWait(t, first, cfg) : t;
    // An archived sequence (a job's chunk that arrives after the archive) takes no one: the run is written
    // finished, saying why, not held with no timer, where it counted as open ("active in another sequence")
    // and an unarchive and turn-on would start only these contacts.
    const status: Status = cfg.archived ? "finished" : cfg.active ? "active" : "held";
    const reason: ReasonCode = cfg.archived ? "sequence_archived" : cfg.active ? "waiting_for_step" : "sequence_inactive";
    const waits = status === "active";
    // A first step due at once is handed over by the transaction that enrolls, with the alarm's own
    // decision (stepDue: invariant 5 on the contacts as D1 has them now, or for an email as the caller read
    // them (EnrollItem.contact); check timers; invariant 4's keys): each row is written once, already queued,
    // instead of with a timer that a second pass claims, re-reads and replaces. Anything else (a wait first,
    // no step) gets its timer; an inactive sequence's rows are held, an archived one's finished.
    const handNow = waits && first !== null && dueAt <= t;
    const firstIsEmail = first !== null && isEmailStep(first.type);
    const given = (it: EnrollItem) => (firstIsEmail ? it.contact : undefined);
    const unread = handNow ? items.flatMap((it) => (given(it) ? [] : [it.contactId])) : [];
    // The items' twins (other live contacts with the address) are read from D1 here, and whether one of
    // them runs is decided in the transaction below from this object's own rows. This object is the one
    // place where runs of this sequence are created, and its transactions run one at a time: of two calls
    // adding twins A and B at the same moment, the second transaction sees the first one's run. The D1
    // read may come before the transaction because it only asks which contacts share the address, and a
    // contact is in D1 before any call enrolls it. Reads during which another call wrote runs here
    // (settled) are made again: that call's contact may be a twin created after the read began, and its
    // run would otherwise go unseen. Nothing but the transaction follows them, with no await between.
    // The items' colleagues likewise (EnrollItem.company; none asked, nothing read): the contacts of their
    // companies with a run open in D1, and with a run here D1 has not been sent yet (read as the D1 read starts:
    // a run mirrored before then is in D1 by the time it reads, one written during it makes `settled` read again).
    const contactIds = [...new Set(items.map((it) => it.contactId))];
    const companies = [...new Set(items.flatMap((it) => (it.company ? [it.company] : [])))];
    const [read, twins, colleagues] = await this.settled(() =>
      Promise.all([
        unread.length ? loadContactStates(this.d, cfg.teamId, [...new Set(unread)]) : null,
        this.twinsOf(cfg.teamId, contactIds),
        companies.length
          ? colleaguesOf(
              this.d,
              cfg.teamId,
              sequenceId,
              companies,
              this.sql
                .exec<{ contact_id: string }>(
                  `SELECT DISTINCT contact_id FROM enrollments WHERE dirty > ? AND status IN ${OPEN}`,
                  this.mirrored,
                )
                .toArray()
                .map((r) => r.contact_id),
            )
          : new Map<string, string[]>(),
      ]),
    );
    const emails = new Map<string, QueuedEmail[]>();
    const tasks: NewTask[] = [];
    const enrolled: string[] = [];
    const already: string[] = [];
    const alreadyOther: string[] = [];
    const duplicateEmail: string[] = [];
    const sameCompany: string[] = [];
    const fresh: { it: EnrollItem; dirty: number }[] = [];
    let handOver: HandOver | null = null;
    this.ctx.storage.transactionSync(() => {
      const known = new Set<string>();
      for (let i = 0; i < items.length; i += ENROLL_ROWS) {
        const ids = JSON.stringify(items.slice(i, i + ENROLL_ROWS).map((it) => it.enrollmentId));
        for (const r of this.sql.exec<{ id: string }>("SELECT id FROM enrollments WHERE id IN (SELECT value FROM json_each(?))", ids))
          known.add(r.id);
      }
      // Which of the items' contacts and of their twins run here now.
      const openFor = new Set<string>();
      const probe = [...new Set([...contactIds, ...[...twins.values()].flat(), ...[...colleagues.values()].flat()])];
      for (let i = 0; i < probe.length; i += ENROLL_ROWS)
        for (const r of this.sql.exec<{ contact_id: string }>(OPEN_FOR_CONTACTS, JSON.stringify(probe.slice(i, i + ENROLL_ROWS))))
          openFor.add(r.contact_id);
      // In the order given, as one by one: a second item for a contact this call just enrolled is "already"
      // too, and one whose twin this call just enrolled is a duplicate_email.
      const takenContacts = new Set<string>();
      const takenIds = new Set<string>();
      const takenCompanies = new Set<string>();
      for (const it of items) {
        if (known.has(it.enrollmentId) || takenIds.has(it.enrollmentId)) {
          already.push(it.contactId);
          continue;
        }
        if (openFor.has(it.contactId) || takenContacts.has(it.contactId)) {
          already.push(it.contactId);
          alreadyOther.push(it.contactId);
          continue;
        }
        if ((twins.get(it.contactId) ?? []).some((c) => openFor.has(c) || takenContacts.has(c))) {
          duplicateEmail.push(it.contactId);
          continue;
        }
        if (
          it.company &&
          (takenCompanies.has(it.company) || (colleagues.get(it.company) ?? []).some((c) => c !== it.contactId && openFor.has(c)))
        ) {
          sameCompany.push(it.contactId);
          continue;
        }
        if (it.company) takenCompanies.add(it.company);
        takenContacts.add(it.contactId);
        takenIds.add(it.enrollmentId);
        fresh.push({ it, dirty: ++this.rev });
        enrolled.push(it.contactId);
      }
      if (!fresh.length) return;
      const timers: [string, number][] = [];
      for (let i = 0; i < fresh.length; i += ENROLL_ROWS) {
        const page = fresh.slice(i, i + ENROLL_ROWS);
        const rows = page.map(({ it, dirty }) => {
          // [status, waiting, reason, finished_at] of the new row, and its timer if it has one.
          let state: [Status, Waiting, ReasonCode, number | null] = [status, waits ? "timer" : "none", reason, cfg.archived ? t : null];
          let timer: number | null = waits ? dueAt : null;
          if (handNow) {
            const next = this.stepDue(
              cfg,
              {
                id: it.enrollmentId,
                contact_id: it.contactId,
                mailbox_id: it.mailboxId,
                due_at: dueAt,
                score: it.score,
                zone: it.timeZone,
                thread_msg: null,
                thread_subject: null,
              },
              first,
              given(it) ?? read?.get(it.contactId),
              undefined,
              t,
            );
            if ("stop" in next) {
              state = [next.stop.status, next.stop.waiting, next.stop.reason, next.stop.finished_at ?? null];
              timer = null;
            } else {
              const waiting: Waiting = "email" in next ? "mailbox" : "task";
              state = ["active", waiting, WAITING_REASON[waiting], null];
              // The check timer, as processDue sets it: the reconciler repairs a hand-over a restart cut off.
              if ("email" in next) {
                pushTo(emails, next.mailboxId, next.email);
                handOver = withRev(handOver, dirty);
                timer = checkAt(t, RECHECK_MAILBOX_MS);
              } else {
                tasks.push(next.task);
                timer = checkAt(t, CHECK_AFTER_MS);
              }
            }
          }
          if (timer !== null) timers.push([it.enrollmentId, timer]);
          return [
            it.enrollmentId,
            it.contactId,
            it.mailboxId,
            it.score,
            it.timeZone,
            it.jobId ?? null,
            it.addedBy ?? null,
            dirty,
            ...state,
          ];
        });
        const v = (k: number) => `json_extract(value, '$[${k}]')`;
        this.sql.exec(
          `INSERT INTO enrollments (id, contact_id, mailbox_id, status, step_id, step_pos, waiting, due_at, reason, score, zone, job_id, added_by,
                                    created_at, last_at, dirty, finished_at)
           SELECT ${v(0)}, ${v(1)}, ${v(2)}, ${v(8)}, ?, ?, ${v(9)}, ?, ${v(10)}, ${v(3)}, ${v(4)}, ${v(5)}, ${v(6)}, ?, ?, ${v(7)}, ${v(11)}
           FROM json_each(?)`,
          first?.id ?? null,
          first ? this.placeOf(first) : 0,
          dueAt,
          t,
          t,
          JSON.stringify(rows),
        );
      }
      this.setTimers(timers);
      guardHandOver(this.sql, handOver, t);
      this.enrollCommits++;
    });
    if (emails.size || tasks.length) {
      const failed = await this.deliver(cfg, t, emails, tasks, [], handOver);
      if (failed) throw failed;
    } else {
      // No enabled step: the alarm's code settles those rows now.
      if (!handNow && fresh.length && waits && dueAt <= t) await this.processDue(sequenceId, cfg, Math.max(DUE_BATCH, fresh.length));
      await this.armAndMirror(cfg.teamId, sequenceId);
    }
    return { enrolled, already, alreadyOther, duplicateEmail, sameCompany };
  }

  /**
   * `read` (D1 reads that include twinsOf), made again while a transaction of this object that wrote new
   * runs (enroll, restart: `enrollCommits`) committed between its start and its end. Used right before a
   * transaction, with no await between: the twins it answers then include every contact that had a run
   * written here before that transaction, a twin created and enrolled during the read included. The loop
   * is bounded by progress only: a read is made again only because another call committed runs meanwhile,
   * so usually it is one read, and each further one follows another call's finished work.
   */
  private async settled<T>(read: () => Promise<T>): Promise<T> {
    for (;;) {
      const seen = this.enrollCommits;
      const out = await read();
      if (this.enrollCommits === seen) return out;
    }
  }

  /**
   * Reports from MailboxDOs and tasks. Idempotent: a repeated report for a step changes nothing.
   * `mirror`: "now" (a task done in the app: its screen reads D1 next) or "soon" (a mailbox's report:
   * D1 gets the rows within MIRROR_SOON_MS, with the other mailboxes' reports of that moment).
   * Returns the task outcomes refused because the mailbox is sending that step's email.
   */
  async stepsDone(
    sequenceId: string,
    teamId: string,
    results: StepResult[],
    configRev?: number,
    mirror: "now" | "soon" = "now",
    from: "mailbox" | "task" = "mailbox",
  ): Promise<{ enrollmentId: string; stepId: string }[]> {
    await this.bind(sequenceId, teamId);
    const cfg = await this.config(sequenceId, configRev);
    if (!cfg) return [];
    const sending: { enrollmentId: string; stepId: string }[] = [];
    this.ctx.storage.transactionSync(() => {
      // A task's completed or skipped for a step its run has handed to the mailbox (a manual email sent from
      // its task, sendTaskEmail) is not taken: only the mailbox's report settles that step. Taken, the run
      // moved on and the mailbox dropped the email at its claim while the send had answered "sent". The same
      // once its rep chose to send it (send_now) and a pause withdrew it: the resume hands it over again as an
      // email (stepDue), so a stale Complete or Skip meanwhile would drop an email the task says was sent.
      // Only a task's: the mailbox's own report (a skipped email) is what settles such a step.
      const taken = results.filter((r) => {
        if (from !== "task" || (r.outcome !== "completed" && r.outcome !== "skipped")) return true;
        const e = this.row(r.enrollmentId);
        if (!e || e.step_id !== r.stepId) return true;
        if (e.waiting !== "mailbox" && !this.choice(r.enrollmentId, r.stepId)?.send_now) return true;
        sending.push({ enrollmentId: r.enrollmentId, stepId: r.stepId });
        return false;
      });
      for (const r of this.advanceAll(cfg, taken)) this.applyResult(cfg, r);
      // Stored with the changes: a restart before the flush still has its alarm.
      if (mirror === "soon" && this.rev > this.mirrored && this.flushAt === null) this.setFlushAt(now() + MIRROR_SOON_MS);
    });
    // The alarm first: armed in the same write of this object's storage as the changes, before D1 is called.
    await this.rearm();
    if (mirror === "now") await this.mirrorNow(cfg.teamId, sequenceId);
    // A manual email sent from its task whose request ended before it completed the task (sendTaskEmail, then
    // the Worker died): the sent email completes it, or its open task and draft invite a second, manual send.
    const mailed = results.filter(
      (r) => (r.outcome === "sent" || r.outcome === "unknown") && cfg.steps.find((s) => s.id === r.stepId)?.type === "manual_email",
    );
    if (mailed.length)
      await this.d.$client
        .prepare(
          `UPDATE tasks SET status = 'completed', completed_at = ?
            WHERE team_id = ? AND status = 'open'
              AND EXISTS (SELECT 1 FROM json_each(?) r
                WHERE json_extract(r.value, '$[0]') = tasks.enrollment_id AND json_extract(r.value, '$[1]') = tasks.step_id)`,
        )
        .bind(now(), cfg.teamId, JSON.stringify(mailed.map((r) => [r.enrollmentId, r.stepId])))
        .run();
    return sending;
  }

  /**
   * applyResult for a whole report at once, for its common case: a step done (sent, unknown, completed,
   * skipped) that the enrollment waits on, seen for the first time. The batch's rows and recorded
   * outcomes are read in one statement each and its writes go out in one statement per table, in the
   * same transaction; the effects are applyResult's (tested against it by the engine's model and
   * property tests). Returns the results left to applyResult, in their order: any other outcome or
   * state, and every result of an enrollment named twice in the report (those keep their order).
   */
  private advanceAll(cfg: SequenceConfig, results: StepResult[]): StepResult[] {
    const named = new Map<string, number>();
    for (const r of results) named.set(r.enrollmentId, (named.get(r.enrollmentId) ?? 0) + 1);
    const once = results.filter((r) => named.get(r.enrollmentId) === 1 && ADVANCING.has(r.outcome));
    if (once.length < 2) return results;
    const ids = JSON.stringify(once.map((r) => r.enrollmentId));
    const rows = this.rowsById(ids);
    // Every step each of them has a result for, and any a reorder owes them (nextEnabledStep).
    const done = new Map<string, Set<string>>();
    for (const x of this.sql.exec<{ enrollment_id: string; step_id: string }>(
      "SELECT enrollment_id, step_id FROM results WHERE enrollment_id IN (SELECT value FROM json_each(?))",
      ids,
    ))
      addTo(done, x.enrollment_id, x.step_id);
    const owed = this.owedOf(ids);
    const handled = new Set<StepResult>();
    const outcomes: [string, string, string][] = [];
    const changes: [
      string,
      number,
      Status,
      string | null,
      number,
      number | null,
      number | null,
      Waiting,
      string | null,
      number | null,
      string | null,
      string | null,
    ][] = [];
    const timersSet: [string, number][] = [];
    const timersGone: string[] = [];
    for (const r of once) {
      const e = rows.get(r.enrollmentId);
      if (!e) {
        handled.add(r); // applyResult: nothing to apply to
        continue;
      }
      const open = e.status === "active" || e.status === "paused" || e.status === "held";
      if (e.step_id !== r.stepId || done.get(r.enrollmentId)?.has(r.stepId) || !open) continue;
      handled.add(r);
      outcomes.push([r.enrollmentId, r.stepId, r.outcome]);
      // sent, unknown (never resent: invariant 4), completed, skipped → the next step, after its wait (invariant 2).
      const current = cfg.steps.find((x) => x.id === r.stepId);
      const threaded = startsThread(r, e, current);
      const threadMsg = threaded ? r.messageId! : e.thread_msg;
      const threadSubject = threaded ? (r.subject ?? "") : e.thread_subject;
      const next = nextEnabledStep(cfg, r.stepId, current?.position ?? e.step_pos, {
        done: done.get(e.id),
        owed: owed.get(e.id),
      });
      if (!next) {
        const reason = r.outcome === "unknown" ? "delivery_unknown" : "completed_all_steps";
        changes.push([
          e.id,
          ++this.rev,
          "finished",
          e.step_id,
          e.step_pos,
          e.due_at,
          e.last_at,
          "none",
          reason,
          r.at,
          threadMsg,
          threadSubject,
        ]);
        timersGone.push(e.id);
        continue;
      }
      const dueAt = this.dueAfterWait(r.at, next, cfg);
      const reason = e.status === "active" ? "waiting_for_step" : e.reason;
      changes.push([
        e.id,
        ++this.rev,
        e.status,
        next.id,
        this.placeOf(next),
        dueAt,
        r.at,
        "timer",
        reason,
        e.finished_at,
        threadMsg,
        threadSubject,
      ]);
      // A paused enrollment keeps its own timer (an out-of-office return date) or none until resumed.
      if (e.status === "active") timersSet.push([e.id, dueAt]);
    }
    const v = (k: number) => `json_extract(value, '$[${k}]')`;
    if (outcomes.length)
      this.sql.exec(`INSERT OR REPLACE INTO results SELECT ${v(0)}, ${v(1)}, ${v(2)} FROM json_each(?)`, JSON.stringify(outcomes));
    // Two statements: an enrollment moving on keeps its status, and an UPDATE that sets status rewrites
    // the entries of the indexes on it (enrollments_open_contact, enrollments_held) for every row, changed or not.
    const moving = changes.filter((c) => c[2] !== "finished");
    const finishing = changes.filter((c) => c[2] === "finished");
    if (moving.length)
      this.sql.exec(
        // What D1 sees of a move is its step, due time and reason: a row D1 has in full (or has but for a
        // hand-over's reason) sends those alone (reason_only 2); one with other changes pending stays full.
        `UPDATE enrollments SET reason_only = CASE WHEN dirty <= ? OR reason_only > 0 THEN 2 ELSE 0 END, dirty = u.rev, step_id = u.step_id, step_pos = u.step_pos, due_at = u.due_at, last_at = u.last_at,
           waiting = u.waiting, reason = u.reason, thread_msg = u.thread_msg, thread_subject = u.thread_subject
         FROM (SELECT ${v(0)} AS id, ${v(1)} AS rev, ${v(3)} AS step_id, ${v(4)} AS step_pos, ${v(5)} AS due_at,
                      ${v(6)} AS last_at, ${v(7)} AS waiting, ${v(8)} AS reason, ${v(10)} AS thread_msg,
                      ${v(11)} AS thread_subject FROM json_each(?)) AS u
         WHERE enrollments.id = u.id`,
        this.mirrored,
        JSON.stringify(moving),
      );
    if (finishing.length)
      this.sql.exec(
        `UPDATE enrollments SET dirty = u.rev, reason_only = 0, status = u.status, step_id = u.step_id, step_pos = u.step_pos, due_at = u.due_at, last_at = u.last_at,
           waiting = u.waiting, reason = u.reason, finished_at = u.finished_at, thread_msg = u.thread_msg, thread_subject = u.thread_subject
         FROM (SELECT ${v(0)} AS id, ${v(1)} AS rev, ${v(2)} AS status, ${v(3)} AS step_id, ${v(4)} AS step_pos, ${v(5)} AS due_at,
                      ${v(6)} AS last_at, ${v(7)} AS waiting, ${v(8)} AS reason, ${v(9)} AS finished_at, ${v(10)} AS thread_msg,
                      ${v(11)} AS thread_subject FROM json_each(?)) AS u
         WHERE enrollments.id = u.id`,
        JSON.stringify(finishing),
      );
    if (timersGone.length)
      this.sql.exec("DELETE FROM timers WHERE enrollment_id IN (SELECT value FROM json_each(?))", JSON.stringify(timersGone));
    this.setTimers(timersSet);
    return results.filter((r) => !handled.has(r));
  }

  /**
   * Invariant 11, asked by a MailboxDO right before it calls the transport: may this step go out now?
   * Yes only while the enrollment is active and waits on this very step in the mailbox. This object
   * is the single writer of transitions, so the send is ordered here: a reply, pause or removal
   * answered before this call withdraws the email, one after it comes after the send. A "no" for an
   * enrollment that is paused puts it back on its step's timer, so resuming hands the step over again.
   */
  async claim(
    sequenceId: string,
    teamId: string,
    items: { enrollmentId: string; stepId: string }[],
  ): Promise<{ enrollmentId: string; stepId: string; ok: boolean; reason: string | null; override?: EmailOverride | null }[]> {
    await this.bind(sequenceId, teamId);
    const out: { enrollmentId: string; stepId: string; ok: boolean; reason: string | null; override?: EmailOverride | null }[] = [];
    this.ctx.storage.transactionSync(() => {
      // The batch's rows and choices in one statement each; a row is read again once this call changed it.
      const ids = JSON.stringify(items.map((i) => i.enrollmentId));
      const rows = this.rowsById(ids);
      const choices = this.choicesOf(ids);
      const changed = new Set<string>();
      for (const i of items) {
        const e = changed.has(i.enrollmentId) ? this.row(i.enrollmentId) : rows.get(i.enrollmentId);
        const mine = !!e && e.step_id === i.stepId && e.waiting === "mailbox";
        // A user's choice is ordered here too: a skip in progress refuses the send, and the send carries the latest edit.
        const choice = mine ? choices.get(`${i.enrollmentId}:${i.stepId}`) : undefined;
        if (mine && e!.status === "active" && choice?.skip) {
          out.push({ ...i, ok: false, reason: "withdrawn" });
          continue;
        }
        const ok = mine && e!.status === "active";
        if (ok) {
          out.push({ ...i, ok, reason: null, override: overrideOf(choice) });
          continue;
        }
        if (mine && !ok) {
          if (e!.status === "paused") this.update(e!.id, { waiting: "timer" });
          else if (e!.status === "held") this.update(e!.id, { waiting: "none" });
          changed.add(e!.id);
        }
        out.push({ ...i, ok, reason: ok ? null : e?.status === "active" ? "withdrawn" : (e?.reason ?? "withdrawn") });
      }
    });
    return out;
  }

  /**
   * Takes queued emails back from their mailboxes, one call per mailbox; `then` sees, right after
   * each call, what that mailbox gave back (one being sent right now is not given back).
   */
  private async withdrawQueued(
    items: Withdrawal[],
    then: (mailboxId: string, pulled: { enrollmentId: string; stepId: string }[], asked: Withdrawal[]) => void = () => {},
  ): Promise<void> {
    for (const [mb, group] of groupBy(items, (w) => w.mailboxId)) {
      const pulled = await engine.mailbox(this.env, mb).withdraw(group.map((i) => ({ enrollmentId: i.enrollmentId, stepId: i.stepId })));
      then(mb, pulled, group);
    }
  }

  /**
   * Pause, resume, finish or remove enrollments by id. Returns the ids that changed. A pause with
   * `resumeAt` (out of office) resumes by itself then; on a run already paused it moves the resume there.
   * Emails queued in a mailbox are withdrawn (invariant 11); one being sent right now reports back as usual.
   */
  async transition(
    sequenceId: string,
    teamId: string,
    ids: string[],
    action: "pause" | "resume" | "finish" | "remove",
    reason?: ReasonCode,
    resumeAt?: number,
  ): Promise<string[]> {
    await this.bind(sequenceId, teamId);
    const t = now();
    const changed: string[] = [];
    const withdraw: Withdrawal[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const id of ids) {
        const e = this.row(id);
        if (!e) continue;
        const open = e.status === "active" || e.status === "paused" || e.status === "held";
        if (action === "pause" && (e.status === "active" || e.status === "held")) {
          // The step's own due time is kept: on resume its wait still counts from the last step (invariant 2).
          this.update(id, { status: "paused", reason: reason ?? "paused_by_user" });
          this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", id);
          if (resumeAt) this.setTimers([[id, resumeAt]]);
        } else if (action === "pause" && e.status === "paused" && resumeAt) {
          // A new resume date for a paused run: its timer moves there (later or earlier). Why it is paused is
          // kept (out of office, a missing variable or variant, the user's own date); only a run the user
          // paused with no date becomes paused until the date now given. An out-of-office reply re-dates only
          // a run paused for out of office: a pause of the user's or for a missing field isn't theirs to end.
          const at = this.sql.exec<{ run_at: number }>("SELECT run_at FROM timers WHERE enrollment_id = ?", id).toArray()[0]?.run_at;
          if (at === resumeAt) continue;
          if (reason && reason !== "paused_until" && reason !== e.reason) continue;
          // The same reason written again: the row is mirrored to D1 with its new resume date.
          this.update(id, { reason: e.reason === "paused_by_user" ? (reason ?? e.reason) : e.reason });
          this.setTimers([[id, resumeAt]]);
          changed.push(id);
          continue;
        } else if (action === "resume" && e.status === "paused") {
          const waiting: Waiting = e.waiting === "mailbox" || e.waiting === "task" ? e.waiting : "timer";
          this.update(id, { status: "active", waiting, reason: WAITING_REASON[waiting] });
          this.setTimers([[id, waiting === "timer" ? Math.max(t, e.due_at ?? t) : checkAt(t, CHECK_AFTER_MS)]]);
        } else if ((action === "finish" || action === "remove") && (open || action === "remove") && e.status !== "removed") {
          this.update(id, {
            status: action === "remove" ? "removed" : "finished",
            reason: reason ?? (action === "remove" ? "removed_by_user" : "marked_finished"),
            finished_at: t,
            waiting: "none",
          });
          this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", id);
        } else continue;
        if (action !== "resume" && e.waiting === "mailbox" && e.mailbox_id && e.step_id)
          withdraw.push({ mailboxId: e.mailbox_id, enrollmentId: id, stepId: e.step_id });
        changed.push(id);
      }
    });
    await this.armAndMirror(teamId, sequenceId);
    await this.withdrawQueued(withdraw, (_mb, pulled) =>
      // Re-read after the await: the enrollment may have been resumed meanwhile.
      this.ctx.storage.transactionSync(() => {
        for (const p of pulled) {
          const e = this.row(p.enrollmentId);
          if (!e || e.waiting !== "mailbox" || e.step_id !== p.stepId) continue;
          if (e.status === "paused") this.update(e.id, { waiting: "timer", reason: e.reason });
          else if (e.status === "held") this.update(e.id, { waiting: "none" });
          else if (e.status === "active") {
            this.update(e.id, { waiting: "timer", reason: "waiting_for_step" });
            this.setTimers([[e.id, now()]]);
          }
        }
      }),
    );
    await this.armAndMirror(teamId, sequenceId);
    return changed;
  }
  /**
   * Undo a finish that was a mistake (a reply or a bounce classified wrongly, corrected in the replies
   * inbox): the enrollment is active again on the step it was on. The next alarm re-checks that step's
   * wait from the last step done (invariant 2) and a step it already went through is never handed over
   * again (the results table: invariant 4). Only enrollments still finished with one of `reasons`, and
   * only while the contact has no other open enrollment here (invariant 1). Returns the ids reactivated.
   */
  async reactivate(
    sequenceId: string,
    teamId: string,
    ids: string[],
    reasons: string[],
    paused: Record<string, { reason: string | null; until: number | null }> = {},
  ): Promise<string[]> {
    await this.bind(sequenceId, teamId);
    const t = now();
    const changed: string[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const id of ids) {
        const e = this.row(id);
        if (!e || e.status !== "finished" || !reasons.includes(e.reason ?? "")) continue;
        if (this.sql.exec(`SELECT 1 FROM enrollments WHERE contact_id = ? AND status IN ${OPEN}`, e.contact_id).toArray().length) continue;
        const p = paused[id];
        if (p) {
          // It was paused when the mistaken finish landed: paused again, with its own timer only if it
          // was paused until a date (past already: it resumes on the next alarm, as it would have).
          this.update(id, { status: "paused", waiting: "timer", reason: p.reason ?? "paused_by_user", finished_at: null });
          if (p.until !== null) this.setTimers([[id, Math.max(t, p.until)]]);
          changed.push(id);
          continue;
        }
        this.update(id, { status: "active", waiting: "timer", reason: "waiting_for_step", finished_at: null });
        this.setTimers([[id, Math.max(t, e.due_at ?? t)]]);
        changed.push(id);
      }
    });
    await this.armAndMirror(teamId, sequenceId);
    return changed;
  }

  /**
   * Restart enrollments from step 1 (or the step at `stepPos`), without cloning the sequence: an open
   * enrollment is closed ("restarted", its queued email withdrawn) and a new one starts at that step,
   * its wait counted from now. The old enrollment, its results and its messages stay as history, and
   * the new one has its own (enrollment, step) keys, so one run never gets a step twice. Repeating the
   * same restart is harmless: the new id derives from the old id and the step. A closed run that ended
   * as RESTART_ASKS_FIRST says, or whose address is in another sequence now, and a run whose address
   * answered this sequence (repliedHereSql, by any of its contacts), are restarted only `anyway`. An
   * address is one inbox whichever contact row holds it: a closed run whose address another contact runs
   * here now is not restarted (duplicate_email), nor are two of one address in one call. The new run
   * sends from `mailboxId` when given (the caller checked it), else from the old run's mailbox, which
   * must be connected (`mailbox_not_connected`: one removed since would hold its email for ever).
   */
  async restart(
    sequenceId: string,
    teamId: string,
    ids: string[],
    stepPos: number | null,
    addedBy: string | null,
    anyway = false,
    mailboxId: string | null = null,
  ): Promise<RestartOutcome[]> {
    await this.bind(sequenceId, teamId);
    const cfg = await this.config(sequenceId);
    if (!cfg) throw new Error(`sequence ${sequenceId} not found`);
    const step = stepPos === null ? nextEnabledStep(cfg, null) : cfg.steps.find((s) => s.position === stepPos && s.enabled);
    const newIds = new Map(
      await Promise.all(ids.map(async (id) => [id, (await sha256Hex(`restart:${id}:${stepPos ?? 1}`)).slice(0, 24)] as const)),
    );
    // Read before the transaction (D1), in two round trips (the second needs the first's twins):
    // invariant 5 before a new run is made (a contact who unsubscribed, bounced, is suppressed or in a Do Not
    // Contact stage is not restarted: the new run would only stop at its first step, and "restarted" would be
    // untrue), the other live contacts with each one's address, and which mailboxes are connected; then
    // whether the address replied here or runs in another sequence (by any of its contacts).
    // Settled as enroll's: a twin created and enrolled here while these reads were in flight is seen (its
    // run blocks a closed one's restart as duplicate_email), and so is the twins' own history.
    const contactIds = [...new Set(ids.flatMap((id) => this.row(id)?.contact_id ?? []))];
    const { contacts, twins, connected, elsewhere, replied } = await this.settled(async () => {
      const [contacts, twins, connected] = await Promise.all([
        loadContactStates(this.d, teamId, contactIds),
        this.twinsOf(teamId, contactIds),
        mailboxId
          ? null
          : this.connectedMailboxes(
              teamId,
              ids.flatMap((id) => this.row(id)?.mailbox_id ?? []),
            ),
      ]);
      const everyone = [...new Set([...contactIds, ...[...twins.values()].flat()])];
      const [elsewhere, replied] = anyway
        ? [new Set<string>(), new Set<string>()]
        : await Promise.all([this.openElsewhere(sequenceId, teamId, everyone), this.repliedHere(sequenceId, teamId, everyone)]);
      return { contacts, twins, connected, elsewhere, replied };
    });
    const ofAddress = (c: string) => [c, ...(twins.get(c) ?? [])];
    const openHere = (c: string) =>
      this.sql.exec(`SELECT 1 FROM enrollments WHERE contact_id = ? AND status IN ${OPEN}`, c).toArray().length > 0;
    const t = now();
    const out: RestartOutcome[] = [];
    const withdraw: Withdrawal[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const id of ids) {
        const e = this.row(id);
        const newId = newIds.get(id)!;
        if (!e) {
          out.push({ id, outcome: "not_found", newId: null });
          continue;
        }
        if (!step) {
          out.push({ id, outcome: "no_such_step", newId: null });
          continue;
        }
        // An archived sequence starts no new run (it would be held with nothing to release it), as enroll.
        if (cfg.archived) {
          out.push({ id, outcome: "blocked", newId: null, reason: "sequence_archived" });
          continue;
        }
        if (this.row(newId)) {
          out.push({ id, outcome: "already", newId });
          continue;
        }
        const open = e.status === "active" || e.status === "paused" || e.status === "held";
        // An open run is replaced, so the address has no more runs than before; a closed one adds a run.
        // This object's own rows say who runs here (a twin restarted earlier in this loop included).
        const block: RestartBlock | null =
          blockingReason(contacts.get(e.contact_id), isEmailStep(step.type)) ??
          (!open && (twins.get(e.contact_id) ?? []).some(openHere) ? "duplicate_email" : null) ??
          (connected && e.mailbox_id && !connected.has(e.mailbox_id) ? "mailbox_not_connected" : null) ??
          (anyway ? null : !open && RESTART_ASKS_FIRST.has(e.reason ?? "") ? (e.reason as ReasonCode) : null) ??
          (ofAddress(e.contact_id).some((c) => replied.has(c)) ? "replied" : null) ??
          (!open && ofAddress(e.contact_id).some((c) => elsewhere.has(c)) ? "active_elsewhere" : null);
        if (block) {
          out.push({ id, outcome: "blocked", newId: null, reason: block });
          continue;
        }
        if (open) {
          if (e.waiting === "mailbox" && e.mailbox_id && e.step_id)
            withdraw.push({ mailboxId: e.mailbox_id, enrollmentId: id, stepId: e.step_id });
          this.update(id, { status: "finished", reason: "restarted", waiting: "none", finished_at: t });
          this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", id);
        }
        // Another open enrollment of the same contact (re-added meanwhile): that one is the run.
        if (openHere(e.contact_id)) {
          out.push({ id, outcome: "already", newId: null });
          continue;
        }
        const dueAt = this.dueAfterWait(t, step, cfg);
        this.sql.exec(
          `INSERT INTO enrollments (id, contact_id, mailbox_id, status, step_id, step_pos, waiting, due_at, reason, score, zone, job_id, added_by, created_at, last_at, dirty)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          newId,
          e.contact_id,
          mailboxId ?? e.mailbox_id,
          cfg.active ? "active" : "held",
          step.id,
          this.placeOf(step),
          cfg.active ? "timer" : "none",
          dueAt,
          cfg.active ? "waiting_for_step" : "sequence_inactive",
          e.score,
          e.zone,
          null,
          addedBy,
          t,
          t,
          ++this.rev,
        );
        if (cfg.active) this.setTimers([[newId, dueAt]]);
        out.push({ id, outcome: "restarted", newId });
      }
      // A new run is written: a concurrent enroll or restart whose twin read was in flight reads again.
      if (out.some((o) => o.outcome === "restarted")) this.enrollCommits++;
    });
    await this.armAndMirror(teamId, sequenceId);
    await this.withdrawQueued(withdraw);
    return out;
  }

  /** Of these mailboxes, those of the team that are connected (D1). */
  private async connectedMailboxes(teamId: string, mailboxIds: string[]): Promise<Set<string>> {
    const rows = await inChunks([...new Set(mailboxIds)], (part) =>
      this.d.all<{ id: string }>(
        sql`SELECT id FROM mailboxes WHERE id IN (SELECT value FROM json_each(${listParam(part)})) AND +team_id = ${teamId} AND +status = 'connected'`,
      ),
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Each contact's other live contacts of the team with the same address (D1; none for a contact without
   * one): one statement per LIST_CHUNK ids (an enroll call's chunk of a job is one).
   */
  private async twinsOf(teamId: string, contactIds: string[]): Promise<Map<string, string[]>> {
    const rows = await inChunks(
      contactIds,
      async (part) => (await this.d.$client.prepare(TWINS_OF).bind(listParam(part), teamId).all<{ cid: string; twin: string }>()).results,
    );
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.cid, [...(out.get(r.cid) ?? []), r.twin]);
    return out;
  }

  /** Of these contacts, those who answered this sequence (repliedHereSql, D1). */
  private async repliedHere(sequenceId: string, teamId: string, contactIds: string[]): Promise<Set<string>> {
    const rows = await inChunks(contactIds, (part) =>
      this.d.all<{ id: string }>(
        sql`SELECT c.id FROM contacts c WHERE c.id IN (SELECT value FROM json_each(${listParam(part)})) AND +c.team_id = ${teamId}
              AND ${repliedHereSql(teamId, sequenceId, "c")}`,
      ),
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Of these contacts, those with an open run in another sequence of the team (activeElsewhereSql, D1). */
  private async openElsewhere(sequenceId: string, teamId: string, contactIds: string[]): Promise<Set<string>> {
    const rows = await inChunks(contactIds, (part) =>
      this.d.all<{ id: string }>(
        sql`SELECT c.id FROM contacts c WHERE c.id IN (SELECT value FROM json_each(${listParam(part)})) AND +c.team_id = ${teamId}
              AND ${activeElsewhereSql(teamId, sequenceId, "c")}`,
      ),
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Send the open enrollments' next emails from another mailbox. An email already queued in the old
   * MailboxDO is taken back from it and handed to the new one; one being sent right now stays with
   * the old mailbox ("sending_now"), so the step never goes out twice.
   */
  async changeMailbox(
    sequenceId: string,
    teamId: string,
    ids: string[],
    mailboxId: string,
  ): Promise<{ id: string; outcome: "changed" | "not_found" | "not_open" | "unchanged" | "sending_now"; from: string | null }[]> {
    await this.bind(sequenceId, teamId);
    const out = new Map<
      string,
      { id: string; outcome: "changed" | "not_found" | "not_open" | "unchanged" | "sending_now"; from: string | null }
    >();
    const pending: Withdrawal[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const id of ids) {
        const e = this.row(id);
        if (!e) out.set(id, { id, outcome: "not_found", from: null });
        else if (e.status !== "active" && e.status !== "paused" && e.status !== "held")
          out.set(id, { id, outcome: "not_open", from: e.mailbox_id });
        else if (e.mailbox_id === mailboxId) out.set(id, { id, outcome: "unchanged", from: e.mailbox_id });
        else if (e.waiting === "mailbox" && e.mailbox_id && e.step_id)
          pending.push({ mailboxId: e.mailbox_id, enrollmentId: id, stepId: e.step_id });
        else {
          // No mailbox held it yet: a "no mailbox" hold becomes a wait for its step.
          const patch: Partial<Row> = { mailbox_id: mailboxId };
          if (e.status === "held" && e.reason === "no_mailbox") {
            Object.assign(patch, { status: "active", waiting: "timer", reason: "waiting_for_step" });
            this.setTimers([[id, Math.max(now(), e.due_at ?? now())]]);
          }
          this.update(id, patch);
          out.set(id, { id, outcome: "changed", from: e.mailbox_id });
        }
      }
    });
    await this.rearm();
    await this.withdrawQueued(pending, (mb, pulledKeys, items) => {
      const pulled = new Set(pulledKeys.map((p) => p.enrollmentId));
      this.ctx.storage.transactionSync(() => {
        for (const i of items) {
          const e = this.row(i.enrollmentId);
          if (!e) continue;
          const stillThere = e.waiting === "mailbox" && e.step_id === i.stepId && e.mailbox_id === mb;
          if (stillThere && !pulled.has(e.id)) {
            out.set(e.id, { id: e.id, outcome: "sending_now", from: mb });
            continue;
          }
          if (stillThere) {
            // Back on its step's timer, due now: the next alarm hands it to the new mailbox.
            this.update(e.id, {
              mailbox_id: mailboxId,
              waiting: e.status === "held" ? "none" : "timer",
              reason: e.status === "active" ? "waiting_for_step" : e.reason,
            });
            if (e.status === "active") this.setTimers([[e.id, now()]]);
          } else this.update(e.id, { mailbox_id: mailboxId });
          out.set(e.id, { id: e.id, outcome: "changed", from: mb });
        }
      });
    });
    await this.armAndMirror(teamId, sequenceId);
    return ids.map((id) => out.get(id) ?? { id, outcome: "not_found", from: null });
  }

  /** Steps were added, deleted or moved: D1's copy shows each contact's step at its new position now. */
  async followSteps(sequenceId: string, teamId: string): Promise<void> {
    await this.bind(sequenceId, teamId);
    const cfg = await this.config(sequenceId);
    if (!cfg) return;
    await this.mirrorNow(teamId, sequenceId);
    // A deleted step's open tasks go with it, and their contacts move on.
    await this.settleDeadTasks(cfg);
  }

  /** The sequence was turned on: held enrollments continue where they stopped (PAGE at a time). */
  async activate(sequenceId: string, teamId: string): Promise<number> {
    await this.bind(sequenceId, teamId);
    this.activations++;
    const t = now();
    let n = 0;
    // Every held row is released, a page per transaction, with nothing awaited in between: D1 already
    // says the sequence is on and nothing calls this again, so a mirror write failing after the first
    // page must not leave the rest held. Their timers are armed before D1 is written.
    for (;;) {
      let page = 0;
      this.ctx.storage.transactionSync(() => {
        const held = this.sql.exec<{ id: string; due_at: number | null }>(HELD_PAGE, PAGE).toArray();
        for (const h of held) {
          this.update(h.id, { status: "active", waiting: "timer", reason: "waiting_for_step" });
          this.setTimers([[h.id, Math.max(t, h.due_at ?? t)]]);
        }
        page = held.length;
      });
      n += page;
      if (page < PAGE) break;
    }
    await this.armAndMirror(teamId, sequenceId);
    return n;
  }

  /**
   * A step's wait changed, or a step was turned on or off: contacts waiting for their next step are due
   * at the time the steps say now (the wait from their last step done), not at the one set before. A
   * later time was already kept when the timer fired (processDue looks again); an earlier one was not,
   * and the screens showed the old time. A page per transaction, as activate.
   */
  async retime(sequenceId: string, teamId: string): Promise<number> {
    await this.bind(sequenceId, teamId);
    const cfg = await this.config(sequenceId);
    if (!cfg) return 0;
    const t = now();
    let n = 0;
    let after = "";
    for (;;) {
      let page = 0;
      this.ctx.storage.transactionSync(() => {
        const rows = this.sql
          .exec<{ id: string; step_id: string | null; step_pos: number; last_at: number; due_at: number | null }>(
            `SELECT id, step_id, step_pos, last_at, due_at FROM enrollments
             WHERE id > ? AND status = 'active' AND waiting = 'timer' AND last_at IS NOT NULL ORDER BY id LIMIT ?`,
            after,
            PAGE,
          )
          .toArray();
        const timers: [string, number][] = [];
        for (const e of rows) {
          let step = stepOfEnrollment(cfg, e.step_id, e.step_pos);
          if (step && !step.enabled) step = nextEnabledStep(cfg, step.id, 0, this.behind(e.id));
          // No step left: it finishes when its timer fires, as now. A time a user chose stays.
          if (!step || this.choice(e.id, step.id)?.send_at != null) continue;
          const due = Math.max(t, this.dueAfterWait(e.last_at, step, cfg));
          if (due === e.due_at) continue;
          this.update(e.id, { due_at: due });
          timers.push([e.id, due]);
        }
        this.setTimers(timers);
        n += timers.length;
        page = rows.length;
        after = rows.at(-1)?.id ?? after;
      });
      if (page < PAGE) break;
    }
    if (n) await this.armAndMirror(teamId, sequenceId);
    // A step turned off: its open tasks are cancelled and their contacts move on.
    await this.settleDeadTasks(cfg);
    return n;
  }

  // ---------------------------------------------------------------- one scheduled email (scheduled-email.ts)

  /** Users' choices about these (enrollment, step) keys: the scheduled-emails list and preview show them. */
  async emailChoices(sequenceId: string, teamId: string, items: { enrollmentId: string; stepId: string }[]): Promise<EmailChoice[]> {
    await this.bind(sequenceId, teamId);
    return items.flatMap((i) => {
      const c = this.choice(i.enrollmentId, i.stepId);
      return c ? [toChoice(c)] : [];
    });
  }

  /**
   * Edit one scheduled email for this one contact. The edit is written before anything else, so every
   * claim from then on carries it; then the mailbox holding the email voids a send decided on the old
   * text (`touch`). If the email went out (or is going out) without this edit, the edit is taken back
   * and the answer says so (invariant 10: the screen never says "edited" about an email sent as it was).
   * `subject` and `body` null: the step's own text again.
   */
  async editEmail(
    sequenceId: string,
    teamId: string,
    enrollmentId: string,
    stepId: string,
    edit: { subject?: string | null; body?: string | null },
  ): Promise<ScheduledActionResult> {
    await this.bind(sequenceId, teamId);
    const cfg = await this.config(sequenceId);
    if (!cfg) return scheduledFail("not_found");
    let ver: string | null = null;
    let blocked: ScheduledActionResult | null = null;
    let prev: ChoiceRow | undefined;
    let mailboxId: string | null = null;
    this.ctx.storage.transactionSync(() => {
      blocked = this.scheduledBlock(cfg, enrollmentId, stepId, false);
      if (blocked) return;
      const e = this.row(enrollmentId)!;
      prev = this.choice(enrollmentId, stepId);
      // A field left out keeps this contact's edit of it; null gives back the step's own text.
      const subject = edit.subject === undefined ? (prev?.subject ?? null) : edit.subject;
      const body = edit.body === undefined ? (prev?.body ?? null) : edit.body;
      ver = subject === null && body === null ? null : crypto.randomUUID();
      this.setChoice(enrollmentId, stepId, { subject, body, ver });
      if (e.waiting === "mailbox" && e.mailbox_id) mailboxId = e.mailbox_id;
    });
    if (blocked) return blocked;
    if (mailboxId) {
      const [st] = await engine.mailbox(this.env, mailboxId).touch([{ enrollmentId, stepId }]);
      if (st && WENT_OUT.has(st.state) && st.ver !== ver) {
        this.ctx.storage.transactionSync(() => {
          if (this.choice(enrollmentId, stepId)?.ver === ver)
            this.setChoice(enrollmentId, stepId, { subject: prev?.subject ?? null, body: prev?.body ?? null, ver: prev?.ver ?? null });
        });
        return scheduledFail(st.state === "sending" ? "sending" : "already_sent");
      }
    }
    return { ok: true, at: null };
  }

  /**
   * Skip one scheduled email: the enrollment moves on to its next step on schedule (the next step's
   * wait counts from now). The skip is marked first, so claims refuse the email from then on; the
   * mailbox gives it back, and if it was already being sent the skip is taken back and the answer says
   * so (never "skipped" about an email that went out). A skip cut off by a restart is completed by the
   * next alarm (processDue), never sent.
   */
  async skipEmail(sequenceId: string, teamId: string, enrollmentId: string, stepId: string): Promise<ScheduledActionResult> {
    await this.bind(sequenceId, teamId);
    const cfg = await this.config(sequenceId);
    if (!cfg) return scheduledFail("not_found");
    let blocked: ScheduledActionResult | null = null;
    let mailboxId: string | null = null;
    this.ctx.storage.transactionSync(() => {
      blocked = this.scheduledBlock(cfg, enrollmentId, stepId, false);
      if (blocked) return;
      const e = this.row(enrollmentId)!;
      this.setChoice(enrollmentId, stepId, { skip: 1 });
      if (e.waiting === "mailbox" && e.mailbox_id) mailboxId = e.mailbox_id;
    });
    if (blocked) return blocked;
    if (mailboxId) {
      const key = { enrollmentId, stepId };
      const mb = engine.mailbox(this.env, mailboxId);
      const pulled = await mb.withdraw([key]);
      const [st] = pulled.length ? [] : await mb.probe([key]);
      if (st && WENT_OUT.has(st.state)) {
        this.ctx.storage.transactionSync(() => this.setChoice(enrollmentId, stepId, { skip: 0 }));
        return scheduledFail(st.state === "sending" ? "sending" : "already_sent");
      }
    }
    let result: ScheduledActionResult = { ok: true, at: null };
    this.ctx.storage.transactionSync(() => {
      this.setChoice(enrollmentId, stepId, { skip: 0 });
      // Re-read after the awaits: a reply or a pause may have landed, or an alarm completed the skip.
      if (
        this.sql
          .exec("SELECT 1 FROM results WHERE enrollment_id = ? AND step_id = ? AND outcome = 'skipped'", enrollmentId, stepId)
          .toArray().length
      )
        return;
      const again = this.scheduledBlock(cfg, enrollmentId, stepId, false);
      if (again) {
        result = again;
        return;
      }
      this.applyResult(cfg, { enrollmentId, stepId, outcome: "skipped", at: now() });
      const e = this.row(enrollmentId);
      result = { ok: true, at: e?.status === "active" && e.waiting === "timer" ? e.due_at : null };
    });
    await this.armAndMirror(teamId, sequenceId);
    return result;
  }

  /**
   * Send one scheduled email now: handed to its mailbox at once, ahead of every other email there and
   * outside the sequence's window, but never past the mailbox's caps or gap (invariant 3) and after the
   * same send-time checks as any email (claim: invariant 11; suppressions: invariant 5). The step's
   * remaining wait is waived: that is what the user asked for. Answers when it will go.
   */
  async sendNow(sequenceId: string, teamId: string, enrollmentId: string, stepId: string): Promise<ScheduledActionResult> {
    return this.handOverChoice(sequenceId, teamId, enrollmentId, stepId, (t) => ({ send_at: t, send_now: 1 }));
  }

  /** Send one scheduled email at `at` (checked to be inside the window by the caller) instead of its own time. */
  async rescheduleEmail(
    sequenceId: string,
    teamId: string,
    enrollmentId: string,
    stepId: string,
    at: number,
  ): Promise<ScheduledActionResult> {
    return this.handOverChoice(sequenceId, teamId, enrollmentId, stepId, () => ({ send_at: at, send_now: 0 }));
  }

  /**
   * A manual email's task sent from the Tasks screen: its step goes to the run's mailbox as an email, with
   * the rep's text (an edit for this contact, as editEmail keeps one) and "send now", through the same
   * hand-over, claim and send-time checks as an automatic email (invariants 3, 5, 11). The run stops waiting
   * on the task and waits on the mailbox in the one transaction that decides it, so a second click (or a
   * retry) finds it handed over and is refused ("sending"): never sent twice (invariant 4). A run the
   * contact left, a paused or held one, a contact who may not be emailed now: refused, nothing changed.
   */
  async sendTaskEmail(
    sequenceId: string,
    teamId: string,
    enrollmentId: string,
    stepId: string,
    edit: { subject: string | null; body: string | null },
    checkedMailboxId: string | null,
  ): Promise<ScheduledActionResult> {
    await this.bind(sequenceId, teamId);
    const cfg = await this.config(sequenceId);
    if (!cfg) return scheduledFail("not_found");
    const contactId = this.row(enrollmentId)?.contact_id;
    const contact = contactId ? (await loadContactStates(this.d, teamId, [contactId])).get(contactId) : undefined;
    const t = now();
    let blocked: ScheduledActionResult | null = null;
    let item: QueuedEmail | null = null;
    let mailboxId = "";
    this.ctx.storage.transactionSync(() => {
      const e = this.row(enrollmentId);
      if (!e) return void (blocked = scheduledFail("not_found"));
      const step = cfg.steps.find((s) => s.id === stepId);
      if (!step || step.type !== "manual_email") return void (blocked = scheduledFail("not_email"));
      const done = this.sql
        .exec<{ outcome: string }>("SELECT outcome FROM results WHERE enrollment_id = ? AND step_id = ?", enrollmentId, stepId)
        .toArray()[0];
      if (done && WENT_OUT.has(done.outcome)) return void (blocked = scheduledFail("already_sent"));
      if (e.status !== "active" && e.status !== "paused" && e.status !== "held")
        return void (blocked = scheduledFail("closed", e.status, e.reason));
      if (e.step_id !== stepId || done) return void (blocked = scheduledFail("not_next"));
      // Handed over already (an earlier click): the mailbox has it.
      if (e.waiting === "mailbox") return void (blocked = scheduledFail("sending"));
      if (!step.enabled) return void (blocked = scheduledFail("step_off"));
      if (e.status === "paused") return void (blocked = scheduledFail("paused", e.status, e.reason));
      if (e.status === "held" || !cfg.active || cfg.archived)
        return void (blocked = scheduledFail(
          "held",
          e.status,
          cfg.archived ? "sequence_archived" : !cfg.active ? "sequence_inactive" : e.reason,
        ));
      if (!e.mailbox_id) return void (blocked = scheduledFail("no_mailbox", e.status, "no_mailbox"));
      // The caller's right to send was checked on D1's copy of the run's mailbox: a change of mailbox since
      // (or not yet mirrored) would send from one they were never checked for, perhaps a colleague's.
      if (e.mailbox_id !== checkedMailboxId) return void (blocked = scheduledFail("not_next", e.status, "mailbox_changed"));
      const block = blockingReason(contact, true);
      if (block) return void (blocked = scheduledFail("closed", e.status, block));
      const edited = edit.subject !== null || edit.body !== null;
      this.setChoice(enrollmentId, stepId, {
        subject: edit.subject,
        body: edit.body,
        ver: edited ? crypto.randomUUID() : null,
        send_at: t,
        send_now: 1,
      });
      item = withChoice(
        {
          enrollmentId,
          stepId,
          sequenceId,
          teamId,
          contactId: e.contact_id,
          dueAt: t,
          score: contact?.score ?? e.score,
          window: cfg.window,
          zone: sendingZone(cfg, contact?.timeZone, e.zone),
          thread: step.threadReply && e.thread_msg ? { messageId: e.thread_msg, subject: e.thread_subject ?? "" } : null,
        },
        this.choice(enrollmentId, stepId),
      );
      mailboxId = e.mailbox_id;
      this.update(enrollmentId, { waiting: "mailbox", reason: "queued_for_mailbox", due_at: item.dueAt });
      this.setTimers([[enrollmentId, checkAt(t, CHECK_AFTER_MS)]]);
    });
    if (blocked || !item) return blocked ?? scheduledFail("not_found");
    return this.enqueueChosen(cfg, teamId, sequenceId, mailboxId, item);
  }

  private async handOverChoice(
    sequenceId: string,
    teamId: string,
    enrollmentId: string,
    stepId: string,
    patch: (t: number) => Pick<ChoiceRow, "send_at" | "send_now">,
  ): Promise<ScheduledActionResult> {
    await this.bind(sequenceId, teamId);
    const cfg = await this.config(sequenceId);
    if (!cfg) return scheduledFail("not_found");
    const contactId = this.row(enrollmentId)?.contact_id;
    const contact = contactId ? (await loadContactStates(this.d, teamId, [contactId])).get(contactId) : undefined;
    const t = now();
    let blocked: ScheduledActionResult | null = null;
    let item: QueuedEmail | null = null;
    let mailboxId = "";
    this.ctx.storage.transactionSync(() => {
      blocked = this.scheduledBlock(cfg, enrollmentId, stepId, true);
      if (blocked) return;
      const e = this.row(enrollmentId)!;
      const step = cfg.steps.find((s) => s.id === stepId)!;
      const block = blockingReason(contact, true);
      if (block) {
        blocked = scheduledFail("closed", e.status, block);
        return;
      }
      this.setChoice(enrollmentId, stepId, patch(t));
      // The same hand-over as processDue's, with the user's choice applied.
      item = withChoice(
        {
          enrollmentId,
          stepId,
          sequenceId,
          teamId,
          contactId: e.contact_id,
          dueAt: e.due_at ?? t,
          score: contact?.score ?? e.score,
          window: cfg.window,
          zone: sendingZone(cfg, contact?.timeZone, e.zone),
          thread: step.threadReply && e.thread_msg ? { messageId: e.thread_msg, subject: e.thread_subject ?? "" } : null,
        },
        this.choice(enrollmentId, stepId),
      );
      mailboxId = e.mailbox_id!;
      this.update(enrollmentId, { waiting: "mailbox", reason: "queued_for_mailbox", due_at: item.dueAt });
      this.setTimers([[enrollmentId, checkAt(t, CHECK_AFTER_MS)]]);
    });
    if (blocked || !item) return blocked ?? scheduledFail("not_found");
    return this.enqueueChosen(cfg, teamId, sequenceId, mailboxId, item);
  }

  /** The hand-over of one email a user chose to send (handOverChoice, sendTaskEmail), its row already waiting on the mailbox. */
  private async enqueueChosen(
    cfg: SequenceConfig,
    teamId: string,
    sequenceId: string,
    mailboxId: string,
    item: QueuedEmail,
  ): Promise<ScheduledActionResult> {
    // As in processDue: the check timer is armed before the email leaves this object (a lost hand-over is repaired).
    await this.armAndMirror(teamId, sequenceId);
    const mb = engine.mailbox(this.env, mailboxId);
    const res = await mb.enqueue(teamId, [item]);
    const st = res.existing[0];
    if (st) {
      // Already sent or being sent (or settled, its report on the way): never queued twice (invariant 4).
      this.ctx.storage.transactionSync(() => this.applyMailboxStates(cfg, res.existing));
      await this.armAndMirror(teamId, sequenceId);
      return WENT_OUT.has(st.state)
        ? scheduledFail(st.state === "sending" ? "sending" : "already_sent")
        : scheduledFail("closed", "active", st.reason);
    }
    return { ok: true, at: await mb.eta({ enrollmentId: item.enrollmentId, stepId: item.stepId }) };
  }

  private choice(enrollmentId: string, stepId: string): ChoiceRow | undefined {
    return this.sql
      .exec("SELECT * FROM email_choices WHERE enrollment_id = ? AND step_id = ?", enrollmentId, stepId)
      .toArray()[0] as unknown as ChoiceRow | undefined;
  }

  private setChoice(enrollmentId: string, stepId: string, patch: Partial<ChoiceRow>) {
    this.sql.exec("INSERT OR IGNORE INTO email_choices (enrollment_id, step_id, updated_at) VALUES (?, ?, ?)", enrollmentId, stepId, now());
    patchRow<ChoiceRow>(this.sql, "email_choices", { ...patch, updated_at: now() }, { enrollment_id: enrollmentId, step_id: stepId });
  }

  /** Why this scheduled email can't be acted on now (read inside a transaction: ordered with claims), or null. */
  private scheduledBlock(cfg: SequenceConfig, enrollmentId: string, stepId: string, sending: boolean): ScheduledActionResult | null {
    const e = this.row(enrollmentId);
    if (!e) return scheduledFail("not_found");
    const step = cfg.steps.find((s) => s.id === stepId);
    if (!step || !isEmailStep(step.type)) return scheduledFail("not_email");
    // Its step turned off: the mailbox won't send it (step_disabled), so no action may promise it will.
    if (!step.enabled) return scheduledFail("step_off");
    const done = this.sql
      .exec<{ outcome: string }>("SELECT outcome FROM results WHERE enrollment_id = ? AND step_id = ?", enrollmentId, stepId)
      .toArray()[0];
    if (done && WENT_OUT.has(done.outcome)) return scheduledFail("already_sent");
    if (e.status !== "active" && e.status !== "paused" && e.status !== "held") return scheduledFail("closed", e.status, e.reason);
    if (e.step_id !== stepId) return scheduledFail("not_next");
    if (!sending) return null;
    if (e.status === "paused") return scheduledFail("paused", e.status, e.reason);
    if (e.status === "held" || !cfg.active || cfg.archived)
      return scheduledFail("held", e.status, cfg.archived ? "sequence_archived" : !cfg.active ? "sequence_inactive" : e.reason);
    if (!e.mailbox_id) return scheduledFail("no_mailbox", e.status, "no_mailbox");
    return null;
  }

  /**
   * The sequence was deleted for good (services/sequences.ts, deleteSequence: only one nobody was ever added
   * to). Everything this object kept of it goes with it (its meta: the sequence and team it is bound to, the
   * steps' places; its alarm). A run here refuses it (false): D1's check before the deletion rules one out,
   * and one D1 lacked must not be lost.
   */
  async forget(sequenceId: string): Promise<boolean> {
    const bound = this.meta("sequence_id");
    if (bound !== null && bound !== sequenceId) return false;
    if (this.sql.exec("SELECT 1 FROM enrollments LIMIT 1").toArray().length) return false;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    // The instance may live on in memory: its tables come back empty and its counters start again, as a new object's.
    migrate(this.sql, MIGRATIONS);
    this.rev = this.mirrored = this.savedMirrored = this.timerSeq = 0;
    this.flushAt = null;
    this.stepPlaces = null;
    this.places = null;
    this.lastConfig = null;
    // A config load started before now (waiting on D1) must not apply its steps' places when it answers: it
    // would write them back into the storage just emptied (config applies only loads newer than placesLoad).
    this.placesLoad = this.loadsStarted;
    this.owing = false;
    return true;
  }

  /** Snapshot for views and tests. */
  async inspect(): Promise<{
    enrollments: Row[];
    timers: { enrollment_id: string; run_at: number }[];
    handovers: { rev_from: number; rev_to: number; run_at: number }[];
    alarm: number | null;
  }> {
    return {
      // `dirty` as a reader expects it: the row's revision while D1 does not have it yet, else 0.
      enrollments: (
        this.sql.exec("SELECT * FROM enrollments ORDER BY created_at, id").toArray() as unknown as (Row & { dirty: number })[]
      ).map((e) => ({ ...e, dirty: e.dirty > this.mirrored ? e.dirty : 0 })),
      timers: this.sql
        .exec<{ enrollment_id: string; run_at: number }>("SELECT enrollment_id, run_at FROM timers ORDER BY run_at, seq")
        .toArray(),
      handovers: this.sql.exec<{ rev_from: number; rev_to: number; run_at: number }>("SELECT * FROM handovers ORDER BY run_at").toArray(),
      alarm: await this.ctx.storage.getAlarm(),
    };
  }

  override async alarm(): Promise<void> {
    // Alarms are at-least-once: processing only what is due makes a repeated alarm harmless.
    const sequenceId = this.meta("sequence_id");
    if (!sequenceId) return;
    // D1 or a mailbox out of reach: the object tries again itself, ALARM_RETRY_MS later.
    await alarmOrRetry(this.ctx.storage, "sequence", sequenceId, () => this.alarmPass(sequenceId));
  }

  private async alarmPass(sequenceId: string): Promise<void> {
    await this.bind(sequenceId, this.meta("team_id")!);
    // Rows a failed call left to mirror go first; D1 refusing them must not keep the due timers from
    // running (their rows stay to mirror, and processDue's own write reports the failure after its timers
    // and the alarm covering them are stored).
    // Refused, it is tried again later (flush_at), not at once in a loop.
    await this.mirrorNow(this.meta("team_id")!, sequenceId).catch(() => {});
    // An alarm that was only a mirror write (flush_at) reads nothing more: processDue's config load is a D1 round trip.
    const t = now();
    const due = this.sql
      .exec<{ due: number }>(
        "SELECT EXISTS (SELECT 1 FROM timers WHERE run_at <= ?) OR EXISTS (SELECT 1 FROM handovers WHERE run_at <= ?) AS due",
        t,
        t,
      )
      .one().due;
    if (due) await this.processDue(sequenceId);
    else await this.rearm();
  }

  // ---------------------------------------------------------------- engine

  /**
   * One alarm's work: at most DUE_BATCH due timers. A timer is either a step falling due (waiting
   * "timer") or a check on a step handed to a mailbox or a task (the reconciler, invariant 10).
   */
  private async processDue(sequenceId: string, loaded?: SequenceConfig, limit = DUE_BATCH) {
    const t = now();
    const cfg = loaded ?? (await this.config(sequenceId));
    if (!cfg) return;
    const teamId = cfg.teamId;
    const due = this.sql.exec(DUE_ROWS, t, limit).toArray() as unknown as Row[];
    // Only steps falling due need the contact's facts; a check on a step already handed over does not.
    const stepping = due.filter((e) => !(e.status === "active" && (e.waiting === "mailbox" || e.waiting === "task")));
    const contacts = await loadContactStates(this.d, teamId, [...new Set(stepping.map((e) => e.contact_id))]);
    const emails = new Map<string, QueuedEmail[]>();
    const tasks: NewTask[] = [];
    const checks: Row[] = [];
    let handOver: HandOver | null = null;
    this.ctx.storage.transactionSync(() => {
      // A hand-over whose answers never came (HandOver), one per alarm, claimed like a timer: its rows are
      // checked now. They keep their own (daily) check timers, so a probe that fails or a restart before the
      // answers leaves each of them checked later (invariant 10).
      const [unanswered] = this.sql
        .exec<{ rev_from: number; rev_to: number }>(
          "DELETE FROM handovers WHERE rev_from = (SELECT rev_from FROM handovers WHERE run_at <= ? ORDER BY run_at LIMIT 1) RETURNING rev_from, rev_to",
          t,
        )
        .toArray();
      if (unanswered) {
        const dueIds = new Set(due.map((e) => e.id));
        for (const e of this.sql.exec(HANDED_OVER_IN, unanswered.rev_from, unanswered.rev_to) as unknown as Iterable<Row>)
          if (!dueIds.has(e.id)) checks.push(e);
      }
      // Claim the timers and re-read the rows, the batch at once: a pause, removal or reschedule may have
      // landed while we awaited D1 above (other calls interleave with outbound I/O). Each step below
      // changes only its own enrollment, so the rows read here stay current for it.
      const ids = JSON.stringify(due.map((e) => e.id));
      const claimed = new Set(
        this.sql
          .exec<{ enrollment_id: string }>(
            "DELETE FROM timers WHERE run_at <= ? AND enrollment_id IN (SELECT value FROM json_each(?)) RETURNING enrollment_id",
            t,
            ids,
          )
          .toArray()
          .map((r) => r.enrollment_id),
      );
      const current = this.rowsById(ids);
      // The batch's choices and recorded outcomes, read once: each step below writes only its own
      // enrollment's results (never a choice), and only after its own reads. Only a step falling due
      // reads them: a check on a step handed to a mailbox or a task (most of a backlog's timers) does not.
      const falling = JSON.stringify([...current.values()].filter((e) => e.waiting !== "mailbox" && e.waiting !== "task").map((e) => e.id));
      const choices = this.choicesOf(falling);
      const outcomes = new Map<string, string>();
      const done = new Map<string, Set<string>>();
      for (const r of this.sql.exec<{ enrollment_id: string; step_id: string; outcome: string }>(
        "SELECT enrollment_id, step_id, outcome FROM results WHERE enrollment_id IN (SELECT value FROM json_each(?))",
        falling,
      )) {
        outcomes.set(`${r.enrollment_id}:${r.step_id}`, r.outcome);
        addTo(done, r.enrollment_id, r.step_id);
      }
      const owed = this.owedOf(falling);
      // Timers set in this loop, written at its end in one statement: nothing in the loop reads another
      // enrollment's timer, and an enrollment's own timer is set as its last effect.
      const timers: [string, number][] = [];
      // Hand-overs likewise (each row's revision taken in loop order, as update() would).
      const handed: [string, number, Waiting, ReasonCode][] = [];
      for (const stale of due) {
        let e = current.get(stale.id);
        if (!claimed.has(stale.id) || !e) continue;
        if (e.status === "paused") {
          // A paused enrollment has a timer only when it was paused until a date (out of office, or a
          // user's "pause until"): back then, it carries on with its step, after that step's wait (below).
          const waiting: Waiting = e.waiting === "mailbox" || e.waiting === "task" ? e.waiting : "timer";
          this.update(e.id, { status: "active", waiting, reason: WAITING_REASON[waiting] });
          e = this.row(e.id)!;
        }
        if (e.status !== "active") continue;
        if (e.waiting === "mailbox" || e.waiting === "task") {
          checks.push(e);
          // The claimed check timer is replaced at once by the next recheck: a probe that fails or a restart
          // before the answer is applied must not leave the enrollment waiting on the mailbox with nothing
          // left to check it (invariant 10). It is the recheck a "still queued" answer sets (the common
          // answer, applyMailboxStates), so that answer finds it in place and writes nothing: each recheck
          // of a backlog's email wrote its timer twice (`BENCH_DO_SQL`, full size: 2.3 timer writes per email).
          // A probe that fails therefore waits for that recheck too (up to RECHECK_MAX_MS), not a day.
          timers.push([e.id, e.waiting === "mailbox" ? recheckQueued(t, e.due_at) : checkAt(t, RECHECK_TASK_MS)]);
          continue;
        }
        if (!cfg.active && !cfg.archived && this.activatedSince(cfg)) {
          // Turned on while this batch read D1: looked at again, with the config as it is now.
          timers.push([e.id, t]);
          continue;
        }
        if (!cfg.active || cfg.archived) {
          // Invariant 7/10: nothing goes out of an inactive sequence; each held enrollment says why.
          this.update(
            e.id,
            cfg.archived
              ? { status: "finished", reason: "sequence_archived", waiting: "none", finished_at: t }
              : { status: "held", reason: "sequence_inactive", waiting: "none" },
          );
          continue;
        }
        let step = stepOfEnrollment(cfg, e.step_id, e.step_pos);
        // A step toggled off is skipped: the step now next is due after ITS wait (checked below).
        if (step && !step.enabled) step = nextEnabledStep(cfg, step.id, 0, { done: done.get(e.id), owed: owed.get(e.id) });
        if (!step) {
          // Every step off in a sequence that is on (the writes refuse that, services/state-preconditions.ts;
          // this is the engine's own guard): held, saying why, never finished "completed all steps" unemailed.
          // The cron's repair (repairSequenceEngines) releases it once a step is on.
          const none = !cfg.steps.some((s) => s.enabled);
          this.update(
            e.id,
            none
              ? { status: "held", reason: "no_step_on", waiting: "none" }
              : { status: "finished", reason: "completed_all_steps", waiting: "none", finished_at: t },
          );
          continue;
        }
        if (step.id !== e.step_id) this.update(e.id, { step_id: step.id, step_pos: this.placeOf(step) });
        // Invariant 2 whatever led here (out of office, a resume, a skipped or edited step): the step
        // is due only once its wait from the last step done has passed.
        // A user's "send now" or "reschedule" (scheduled-email.ts) is the step's due time instead.
        const choice = choices.get(`${e.id}:${step.id}`);
        const dueAt = choice?.send_at != null ? choice.send_at : e.last_at !== null ? this.dueAfterWait(e.last_at, step, cfg) : t;
        if (dueAt > t) {
          this.update(e.id, { due_at: dueAt, waiting: "timer", reason: "waiting_for_step" });
          timers.push([e.id, dueAt]);
          continue;
        }
        // A step this enrollment already went through (the steps were reordered): never again (invariant 4).
        const went = outcomes.get(`${e.id}:${step.id}`);
        if (went && ADVANCING.has(went)) {
          this.applyResult(cfg, { enrollmentId: e.id, stepId: step.id, outcome: went as StepResult["outcome"], at: t }, true);
          continue;
        }
        // A user's skip cut off by a restart (skipEmail marks it first): it takes effect now, never a send.
        if (choice?.skip) {
          this.applyResult(cfg, { enrollmentId: e.id, stepId: step.id, outcome: "skipped", at: t });
          continue;
        }
        const next = this.stepDue(cfg, e, step, contacts.get(e.contact_id), choice, t);
        if ("stop" in next) {
          this.update(e.id, next.stop);
          continue;
        }
        const waiting: Waiting = "email" in next ? "mailbox" : "task";
        const rev = ++this.rev;
        handed.push([e.id, rev, waiting, WAITING_REASON[waiting]]);
        // The check timer goes in the same transaction as the hand-off: a restart before the mailbox
        // or the task table has it is found and repaired by the reconciler (invariant 10). An email's
        // first check is its batch's (HandOver).
        if ("email" in next) {
          pushTo(emails, next.mailboxId, next.email);
          handOver = withRev(handOver, rev);
          timers.push([e.id, checkAt(t, RECHECK_MAILBOX_MS)]);
        } else {
          tasks.push(next.task);
          timers.push([e.id, checkAt(t, CHECK_AFTER_MS)]);
        }
      }
      if (handed.length)
        this.sql.exec(
          // Only the reason of these rows reaches D1 (waiting is the object's own), so a row D1 has in full
          // (not dirty) sends just its reason; one with other changes still pending stays as it is.
          `UPDATE enrollments SET waiting = h.waiting, reason = h.reason, reason_only = CASE WHEN dirty <= ? THEN 1 ELSE reason_only END, dirty = h.rev
           FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS rev, json_extract(value, '$[2]') AS waiting,
                        json_extract(value, '$[3]') AS reason FROM json_each(?)) AS h
           WHERE enrollments.id = h.id`,
          this.mirrored,
          JSON.stringify(handed),
        );
      this.setTimers(timers);
      guardHandOver(this.sql, handOver, t);
    });
    const failed = await this.deliver(cfg, t, emails, tasks, checks, handOver);
    if (failed) console.error(`sequence ${cfg.id}: a mailbox did not take its hand-over (its check timer repairs it)`, failed);
  }

  /**
   * What becomes of a step due now for an active enrollment: it stops there (invariant 5 on the contact as
   * read now, or no mailbox for an email), or it goes to its mailbox or to the task list. The one decision
   * for a step falling due (processDue) and a first step due at once when enrolling (enroll).
   */
  private stepDue(
    cfg: SequenceConfig,
    e: Pick<Row, "id" | "contact_id" | "mailbox_id" | "due_at" | "score" | "zone" | "thread_msg" | "thread_subject">,
    step: StepConfig,
    contact: ContactState | undefined,
    choice: ChoiceRow | undefined,
    t: number,
  ):
    | { stop: { status: Status; reason: ReasonCode; waiting: Waiting; finished_at?: number } }
    | { mailboxId: string; email: QueuedEmail }
    | { task: NewTask } {
    // A manual email its rep chose to send (sendTaskEmail) goes as an email when it is handed over again
    // (its hand-over lost, or withdrawn by a pause and resumed): not as a task a second time.
    const email = isEmailStep(step.type) || (step.type === "manual_email" && !!choice?.send_now);
    const block = blockingReason(contact, email);
    if (block) return { stop: { status: "finished", reason: block, waiting: "none", finished_at: t } };
    const base = {
      enrollmentId: e.id,
      stepId: step.id,
      sequenceId: cfg.id,
      teamId: cfg.teamId,
      contactId: e.contact_id,
      dueAt: e.due_at ?? t,
    };
    if (!email) return { task: { ...base, type: step.type, note: step.note, mailboxId: e.mailbox_id, ownerId: cfg.ownerId } };
    if (!e.mailbox_id) return { stop: { status: "held", reason: "no_mailbox", waiting: "none" } };
    const item: QueuedEmail = {
      ...base,
      score: contact?.score ?? e.score,
      window: cfg.window,
      zone: sendingZone(cfg, contact?.timeZone, e.zone),
      thread: step.threadReply && e.thread_msg ? { messageId: e.thread_msg, subject: e.thread_subject ?? "" } : null,
    };
    return { mailboxId: e.mailbox_id, email: withChoice(item, choice) };
  }

  /**
   * The second half of handing steps over, once their rows and check timers are stored: the mailboxes
   * take their emails, the task table its tasks, and the reconciler's checks are asked and applied.
   */
  private async deliver(
    cfg: SequenceConfig,
    t: number,
    emails: Map<string, QueuedEmail[]>,
    tasks: NewTask[],
    checks: Row[],
    handOver: HandOver | null,
  ) {
    const { teamId, id: sequenceId } = cfg;
    // The alarm covers the check timers before anything leaves this object: a restart from here on
    // is repaired by the reconciler. Hand-offs are idempotent on (enrollment, step): if this alarm
    // runs again after a crash, the mailbox and the task table ignore the repeat.
    await this.rearm();
    // D1 gets the hand-overs while the mailboxes take their emails (the rows stay to mirror until D1
    // has them; D1 and the mailboxes do not wait on each other).
    const mirrored = this.mirrorNow(teamId, sequenceId);
    mirrored.catch(() => {}); // awaited below; a failure reaches the caller from there
    if (tasks.length) await createTasks(this.d, tasks);
    // The mailboxes are separate objects: they take their emails at the same time, then the reconciler
    // asks them about the checks due, also at the same time. Their answers are applied together, in one
    // transaction (each concerns only its own mailbox's keys, and applying re-reads each row): one write
    // of this object's storage for the whole alarm instead of one per mailbox answering.
    const delivered = await Promise.allSettled(
      [...emails].map(async ([mb, items]) => ({ items, res: await engine.mailbox(this.env, mb).enqueue(teamId, items) })),
    );
    const probed = checks.length ? await this.probeMailboxes(checks) : [];
    this.ctx.storage.transactionSync(() => {
      for (const d of delivered) if (d.status === "fulfilled") this.applyMailboxStates(cfg, d.value.res.existing);
      for (const p of probed) if (p.status === "fulfilled") this.applyMailboxStates(cfg, p.value);
      // Every mailbox has its emails (or said what became of them): the batch needs no first check.
      if (handOver && delivered.every((d) => d.status === "fulfilled"))
        this.sql.exec("DELETE FROM handovers WHERE rev_from = ?", handOver.from);
    });
    // The answers' timers (a lost hand-over due again now, the rechecks) are covered by the alarm before
    // anything else is awaited: a failed mirror write below must not leave them without one.
    await this.rearm();
    // The answers are applied first: a failed mirror write leaves the rows to mirror, not the mailboxes' answers unapplied.
    await mirrored;
    if (checks.length) {
      await this.reconcileTasks(cfg, checks);
      await this.rearm();
    }
    await this.mirrorNow(teamId, sequenceId);
    const failed = [...delivered, ...probed].find((r) => r.status === "rejected");
    // A hand-over that failed is repaired by its check timer (set above); the caller decides whether to hear
    // of it: enroll's does (a job's chunk is tried again), an alarm's doesn't (one mailbox out of reach must
    // not hold the sequence's other hand-overs back to the alarm's retry).
    return failed ? (failed.reason as unknown) : null;
  }

  /**
   * The reconciler (invariant 10), for steps handed to a mailbox: asks each mailbox, all at the same
   * time, what became of them. The caller applies the answers (applyMailboxStates): lost or withdrawn →
   * handed over again; settled → applied; still waiting → checked again later. A step that names no
   * mailbox is answered "missing" here (handed over again, and held there for want of a mailbox).
   */
  private probeMailboxes(checks: Row[]): Promise<PromiseSettledResult<MailboxItemState[]>[]> {
    return Promise.allSettled(
      [
        ...groupBy(
          checks.filter((e) => e.waiting === "mailbox"),
          (e) => e.mailbox_id ?? "",
        ),
      ].map(async ([mb, rows]) => {
        const keys = rows.map((e) => ({ enrollmentId: e.id, stepId: e.step_id ?? "" }));
        if (!mb)
          return keys.map((k): MailboxItemState => ({
            ...k,
            state: "missing",
            reported: false,
            settledAt: null,
            reason: null,
            messageId: null,
            subject: null,
          }));
        return engine.mailbox(this.env, mb).probe(keys);
      }),
    );
  }

  /**
   * The reconciler for steps that became tasks: asks D1's task table what became of them and repairs
   * (done but unreported → applied; missing → created again; open → checked again later). A task whose
   * step was deleted or turned off since is cancelled in the same D1 batch (nobody works a step that is
   * gone, and the Tasks page stops listing it) and its contact goes on to the step then next, as for an
   * email whose step went while it waited (step_disabled). Both halves are idempotent: a restart between
   * them leaves the row waiting on the task, and its check timer runs this again.
   */
  private async reconcileTasks(cfg: SequenceConfig, checks: Row[]) {
    const taskRows = checks.filter((e) => e.waiting === "task");
    if (!taskRows.length) return;
    const t = now();
    const d1 = this.d.$client;
    const dead = taskRows.filter((e) => !liveStep(cfg, e.step_id));
    const [, read] = await d1.batch<{
      id: string;
      enrollment_id: string;
      step_id: string;
      status: string;
      outcome: string | null;
      completed_at: number | null;
    }>([
      d1
        .prepare(
          `UPDATE tasks SET status = 'cancelled', completed_at = ? WHERE +team_id = ? AND status = 'open'
             AND (enrollment_id, step_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`,
        )
        .bind(t, cfg.teamId, JSON.stringify(dead.map((e) => [e.id, e.step_id]))),
      d1
        .prepare(
          "SELECT id, enrollment_id, step_id, status, outcome, completed_at FROM tasks WHERE +team_id = ? AND enrollment_id IN (SELECT value FROM json_each(?))",
        )
        .bind(cfg.teamId, JSON.stringify(taskRows.map((e) => e.id))),
    ]);
    const byKey = new Map(read!.results.map((r) => [`${r.enrollment_id}:${r.step_id}`, r]));
    // A call that booked a meeting, whose sequence was never told, never reached the meetings path either:
    // the meeting is written here, before the run ends below, so the Meetings report counts it. Keyed as
    // the task path books it (external_id task:<id>), so a restart between this and the transaction, or the
    // user's retry of the task, writes it once. created_by stays null: the task doesn't record who logged
    // the call (anyone who may work the sequence's tasks can), and the reports attribute a meeting to the run.
    const meetings = taskRows.flatMap((stale) => {
      const e = this.row(stale.id);
      const task = byKey.get(`${stale.id}:${stale.step_id}`);
      const ends = e?.waiting === "task" && e.step_id === stale.step_id && task?.status === "completed";
      return ends && runEnding(task.outcome) === "meeting_booked"
        ? [[newId(), e.contact_id, task.completed_at ?? t, `task:${task.id}`]]
        : [];
    });
    if (meetings.length)
      await d1
        .prepare(
          `INSERT INTO meetings (id, team_id, contact_id, booked_at, source, external_id, created_by, created_at)
           SELECT json_extract(value, '$[0]'), ?, json_extract(value, '$[1]'), json_extract(value, '$[2]'), 'user', json_extract(value, '$[3]'), NULL, ?
             FROM json_each(?) WHERE true
           ON CONFLICT DO NOTHING`,
        )
        .bind(cfg.teamId, t, JSON.stringify(meetings))
        .run();
    const missing: NewTask[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const stale of taskRows) {
        const e = this.row(stale.id);
        if (!e || e.waiting !== "task" || e.step_id !== stale.step_id) continue;
        const task = byKey.get(`${e.id}:${e.step_id}`);
        const status = task?.status;
        const ends = status === "completed" ? runEnding(task!.outcome) : null;
        if (ends) {
          // Completed with a call that booked a meeting or heard a no, and the sequence was never told: the
          // run ends as the call said (as the task's own finish would have), never moved on to more emails.
          this.sql.exec("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", e.id, e.step_id, "completed");
          this.update(e.id, { status: "finished", reason: ends, waiting: "none", finished_at: t });
          this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", e.id);
          continue;
        }
        if (status === "completed" || status === "skipped") {
          // Done in D1 but the report never arrived (done before its step went: it counts).
          this.applyResult(cfg, { enrollmentId: e.id, stepId: e.step_id!, outcome: status, at: t });
          continue;
        }
        const step = liveStep(cfg, e.step_id);
        if (!step) {
          // Its step was deleted or turned off: due again now, where processDue moves it to the step then next.
          this.requeue(e.id);
          continue;
        }
        // Never made (a restart before the task table had it), or cancelled while this run still waits on it
        // (a restart between the cancel above and the move, and the step turned on again since): made (again).
        if (!status || status === "cancelled")
          missing.push({
            enrollmentId: e.id,
            stepId: step.id,
            sequenceId: cfg.id,
            teamId: cfg.teamId,
            contactId: e.contact_id,
            type: step.type,
            note: step.note,
            dueAt: e.due_at ?? t,
            mailboxId: e.mailbox_id,
            ownerId: cfg.ownerId,
          });
        if (e.status === "active") this.setTimers([[e.id, checkAt(t, RECHECK_TASK_MS)]]);
      }
    });
    if (missing.length) await createTasks(this.d, missing);
  }

  /**
   * Tasks of steps deleted or turned off (an edit of the steps): cancelled, and their contacts moved on, at
   * once (reconcileTasks) instead of at their next daily check. PAGE rows at a time, in id order.
   */
  private async settleDeadTasks(cfg: SequenceConfig) {
    const live = JSON.stringify(cfg.steps.filter((s) => s.enabled).map((s) => s.id));
    let changed = false;
    for (let after = ""; ;) {
      const rows = this.sql
        .exec(
          `SELECT * FROM enrollments WHERE id > ? AND status IN ${OPEN} AND waiting = 'task'
             AND (step_id IS NULL OR step_id NOT IN (SELECT value FROM json_each(?))) ORDER BY id LIMIT ?`,
          after,
          live,
          PAGE,
        )
        .toArray() as unknown as Row[];
      if (!rows.length) break;
      await this.reconcileTasks(cfg, rows);
      changed = true;
      after = rows.at(-1)!.id;
      if (rows.length < PAGE) break;
    }
    if (changed) await this.armAndMirror(cfg.teamId, cfg.id);
  }

  /** What a mailbox says about steps handed to it; applied only to enrollments still waiting on that step there. */
  private applyMailboxStates(cfg: SequenceConfig, states: MailboxItemState[]) {
    if (!states.length) return;
    const t = now();
    // The common answer (still queued there) only moves a timer: the rows are read in one statement and
    // the timers written in one. A row changed by an earlier answer in this loop is read again.
    const rows = this.rowsById(JSON.stringify(states.map((s) => s.enrollmentId)));
    const touched = new Set<string>();
    const rechecks = new Map<string, number>();
    for (const s of states) {
      const e = touched.has(s.enrollmentId) ? this.row(s.enrollmentId) : rows.get(s.enrollmentId);
      if (!e || e.waiting !== "mailbox" || e.step_id !== s.stepId) continue;
      if (s.state === "queued" || s.state === "sending" || (!s.reported && s.state !== "missing")) {
        // Still in the mailbox's hands (or its report is on the way): look again later.
        if (e.status === "active") rechecks.set(e.id, s.state === "queued" ? recheckQueued(t, e.due_at) : checkAt(t, RECHECK_MAILBOX_MS));
        continue;
      }
      touched.add(e.id);
      rechecks.delete(e.id);
      if (s.state === "missing" || (s.state === "cancelled" && s.reported)) {
        // Lost on the way (a restart before the enqueue) or withdrawn: hand it over again.
        this.requeue(e.id);
      } else {
        // Settled and reported before (e.g. the step came round again after a reorder): apply it now.
        const outcome = outcomeOfMailboxState(s.state);
        this.applyResult(
          cfg,
          {
            enrollmentId: e.id,
            stepId: s.stepId,
            outcome,
            at: s.settledAt ?? t,
            reason: s.reason ?? undefined,
            messageId: s.messageId ?? undefined,
            subject: s.subject ?? undefined,
          },
          true,
        );
      }
    }
    // Only the rechecks that move a timer: the alarm that asked set each to the "still queued" recheck.
    if (rechecks.size) {
      const set = new Map(
        this.sql
          .exec<{ enrollment_id: string; run_at: number }>(
            "SELECT enrollment_id, run_at FROM timers WHERE enrollment_id IN (SELECT value FROM json_each(?))",
            JSON.stringify([...rechecks.keys()]),
          )
          .toArray()
          .map((r) => [r.enrollment_id, r.run_at]),
      );
      this.setTimers([...rechecks].filter(([id, at]) => set.get(id) !== at));
    }
  }

  /** Back to the step's timer, due now: the next alarm hands the step over again (after its wait). */
  private requeue(id: string) {
    const e = this.row(id);
    if (!e) return;
    this.update(id, { waiting: e.status === "held" ? "none" : "timer", reason: e.status === "active" ? "waiting_for_step" : e.reason });
    if (e.status === "active") this.setTimers([[id, now()]]);
  }

  /** Applies one step outcome. `force`: apply even if this outcome was recorded before (reconciler). */
  private applyResult(cfg: SequenceConfig, r: StepResult, force = false) {
    const e = this.row(r.enrollmentId);
    if (!e) return;
    if (e.step_id !== r.stepId) {
      // A report for a step the enrollment is not on (it moved on, or the steps were reordered):
      // remember what went out so that step is never handed over again (invariant 4).
      if (r.outcome === "sent" || r.outcome === "unknown" || r.outcome === "bounced") {
        this.sql.exec("INSERT OR IGNORE INTO results VALUES (?, ?, ?)", r.enrollmentId, r.stepId, r.outcome);
      }
      return;
    }
    const seen = this.sql.exec("SELECT 1 FROM results WHERE enrollment_id = ? AND step_id = ?", r.enrollmentId, r.stepId).toArray().length;
    // A repeat is ignored, unless the enrollment is (again) waiting on exactly this step.
    if (seen && !force && e.waiting !== "mailbox" && e.waiting !== "task") return;
    this.sql.exec("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", r.enrollmentId, r.stepId, r.outcome);
    const open = e.status === "active" || e.status === "paused" || e.status === "held";
    if (!open) return;

    if (r.outcome === "cancelled" && r.reason === "sequence_inactive") {
      // Withdrawn at send time because the sequence was turned off: hold on this step. Unless it was
      // turned on again since the mailbox looked: then it is due again now.
      this.sql.exec("DELETE FROM results WHERE enrollment_id = ? AND step_id = ?", r.enrollmentId, r.stepId);
      if ((cfg.active && !cfg.archived) || this.activatedSince(cfg)) {
        this.requeue(e.id);
        return;
      }
      this.update(e.id, { status: "held", reason: "sequence_inactive", waiting: "none" });
      this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", e.id);
      return;
    }
    if (r.outcome === "cancelled" && r.reason === "step_disabled") {
      // Its step was turned off or deleted while the email waited in the mailbox: not sent. Due again now,
      // where processDue moves it to the step then next, after that step's own wait (as for any step found
      // off when it falls due); a step turned on again meanwhile is handed over again.
      this.sql.exec("DELETE FROM results WHERE enrollment_id = ? AND step_id = ?", r.enrollmentId, r.stepId);
      this.requeue(e.id);
      return;
    }
    if (r.outcome === "cancelled" && pausesOnStep(r.reason)) {
      // The email can't go as written for this contact (a variable it has no value for, no variant on:
      // compose.ts refused it): paused on its step saying why, neither sent nor finished. Resuming, once
      // the contact or the step is fixed, hands the step over again, composed anew. A run already paused
      // or held keeps its state, reason and timers (an out-of-office return date): only the email is due
      // again, and its next hand-over, once the run goes on, says again what is missing.
      this.sql.exec("DELETE FROM results WHERE enrollment_id = ? AND step_id = ?", r.enrollmentId, r.stepId);
      if (e.status !== "active") {
        this.requeue(e.id);
        return;
      }
      this.update(e.id, { status: "paused", reason: r.reason, waiting: "timer" });
      this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", e.id);
      return;
    }
    if (r.outcome === "bounced" || r.outcome === "cancelled") {
      this.update(e.id, {
        status: "finished",
        reason: r.reason ?? (r.outcome === "bounced" ? "bounced" : "suppressed"),
        waiting: "none",
        finished_at: r.at,
      });
      this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", e.id);
      return;
    }
    if (r.outcome === "failed") {
      this.update(e.id, { status: "failed", reason: r.reason ?? "send_failed", waiting: "none", finished_at: r.at });
      this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", e.id);
      return;
    }
    // sent, unknown (never resent: invariant 4), completed, skipped → the next step, after its wait (invariant 2).
    const current = cfg.steps.find((s) => s.id === r.stepId);
    if (startsThread(r, e, current)) this.update(e.id, { thread_msg: r.messageId!, thread_subject: r.subject ?? "" });
    const next = nextEnabledStep(cfg, r.stepId, current?.position ?? e.step_pos, this.behind(e.id));
    if (!next) {
      this.update(e.id, {
        status: "finished",
        waiting: "none",
        finished_at: r.at,
        reason: r.outcome === "unknown" ? "delivery_unknown" : "completed_all_steps",
      });
      this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", e.id);
      return;
    }
    const dueAt = this.dueAfterWait(r.at, next, cfg);
    this.update(e.id, {
      step_id: next.id,
      step_pos: this.placeOf(next),
      due_at: dueAt,
      last_at: r.at,
      waiting: "timer",
      reason: e.status === "active" ? "waiting_for_step" : e.reason,
    });
    // A paused enrollment keeps its own timer (an out-of-office return date) or none until resumed.
    if (e.status === "active") this.setTimers([[e.id, dueAt]]);
  }

  /** When a step falls due: its wait after `from`; email steps also move into the sending window. */
  private dueAfterWait(from: number, step: StepConfig, cfg: SequenceConfig): number {
    const at = addWait(from, step.waitAmount, step.waitUnit, step.businessDays, cfg.window);
    return isEmailStep(step.type) ? at : (nextWindowStart(at, cfg.window) ?? at);
  }

  private row(id: string): Row | undefined {
    return this.sql.exec("SELECT * FROM enrollments WHERE id = ?", id).toArray()[0] as unknown as Row | undefined;
  }

  /** One enrollment's steps done and owed (nextEnabledStep). */
  private behind(id: string): StepsBehind {
    const done = new Set(
      this.sql
        .exec<{ step_id: string }>("SELECT step_id FROM results WHERE enrollment_id = ?", id)
        .toArray()
        .map((r) => r.step_id),
    );
    return { done, owed: this.owedOf(JSON.stringify([id])).get(id) };
  }

  /**
   * Sets (or moves) the timers of a batch, [enrollment id, run at] each, in one statement; "keep" leaves
   * a timer the row already has as it is. Each gets a `seq` above every one given before, so among the
   * timers due at the same instant processDue takes the one set last, last (as a new rowid did when a
   * move was a REPLACE; taken in id order instead, the sending bench's alarms went from 449 to 609).
   */
  private setTimers(timers: readonly (readonly [string, number])[], existing: "move" | "keep" = "move") {
    if (!timers.length) return;
    // The sequence only orders ties, so it needs no storage of its own: it starts from the clock (in
    // microseconds, well inside 2^53) and never goes back within this instance.
    const seq = Math.max(this.timerSeq + 1, Date.now() * 1000);
    this.timerSeq = seq + timers.length - 1;
    this.sql.exec(
      `INSERT INTO timers (enrollment_id, run_at, seq)
       SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? + key FROM json_each(?) WHERE true
       ON CONFLICT (enrollment_id) DO ${existing === "keep" ? "NOTHING" : "UPDATE SET run_at = excluded.run_at, seq = excluded.seq"}`,
      seq,
      JSON.stringify(timers),
    );
  }

  /** A batch's rows by id, in one statement (`ids`: a JSON array). */
  private rowsById(ids: string): Map<string, Row> {
    const rows = this.sql.exec("SELECT * FROM enrollments WHERE id IN (SELECT value FROM json_each(?))", ids).toArray() as unknown as Row[];
    return new Map(rows.map((e) => [e.id, e]));
  }

  /** The users' choices about a batch's emails, by "enrollment:step", in one statement (`ids`: a JSON array). */
  private choicesOf(ids: string): Map<string, ChoiceRow> {
    const rows = this.sql
      .exec("SELECT * FROM email_choices WHERE enrollment_id IN (SELECT value FROM json_each(?))", ids)
      .toArray() as unknown as ChoiceRow[];
    return new Map(rows.map((c) => [`${c.enrollment_id}:${c.step_id}`, c]));
  }

  /** Every change of a row marks it dirty with a new revision: flush() mirrors it to D1. */
  private update(id: string, patch: Partial<Row>) {
    if (Object.keys(patch).length) patchRow(this.sql, "enrollments", patch, { id }, { dirty: ++this.rev, reason_only: 0 });
  }

  /**
   * After a call's changes are stored: the alarm covers their timers (a resume's, due now) before anything
   * leaves this object, then D1 gets them (mirrorNow).
   */
  private async armAndMirror(teamId: string, sequenceId: string): Promise<void> {
    await this.rearm();
    await this.mirrorNow(teamId, sequenceId);
  }

  /**
   * A call's changes, stored and covered by the alarm, reach D1 now. Refused, they are written by the
   * alarm ALARM_RETRY_MS later (flush_at) and the call still fails: its changes are kept, and D1's copy
   * follows them instead of waiting for some later write of this sequence.
   */
  private async mirrorNow(teamId: string, sequenceId: string): Promise<void> {
    try {
      await this.flush(teamId, sequenceId);
    } catch (err) {
      this.setFlushAt(now() + ALARM_RETRY_MS);
      await this.rearm();
      throw err;
    }
  }

  /**
   * Mirror changed enrollments to D1 (D1 is what lists and searches read), a page at a time in revision
   * order. Revisions only grow and a page is every row changed after `mirrored` up to its last revision,
   * so once D1 has the page, `mirrored` moves up to it: a row changed again while D1 was being written
   * has a newer revision and goes next time, and a crash before the move sends the page again.
   */
  private async flush(teamId: string, sequenceId: string): Promise<void> {
    // One mirror writer at a time, so pages reach D1 in revision order: a call arriving while another
    // call's pages are on their way waits for them, then sends what is left.
    while (this.flushing) await this.flushing.catch(() => {});
    if (this.rev <= this.mirrored) {
      // Nothing to write (the revisions a stored flush_at was for went with a rolled-back transaction, or
      // another call wrote them): no longer due, or each alarm would find it in the past and fire again at once.
      if (this.flushAt !== null) this.setFlushAt(null);
      return;
    }
    this.flushing = this.flushPages(teamId, sequenceId).finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async flushPages(teamId: string, sequenceId: string) {
    await this.writePages(teamId, sequenceId);
    // Everything is in D1: no mirror write is due any more (a "soon" report's, a retry's).
    if (this.flushAt !== null) this.setFlushAt(null);
  }

  private async writePages(teamId: string, sequenceId: string) {
    while (this.rev > this.mirrored) {
      const after = this.mirrored;
      const last = this.rev;
      let page = readMirrorPage(this.sql, after, FLUSH_ROWS);
      if (page && page.json.length > MIRROR_MAX_CHARS) page = readMirrorPage(this.sql, after, FLUSH_ROWS_LONG);
      if (!page) {
        // The revisions above `after` went with transactions that were rolled back: no row has them.
        this.mirrored = Math.max(this.mirrored, last);
        return;
      }
      const top = page.top;
      await writeMirrorPage(this.d, teamId, sequenceId, page, now());
      this.mirrored = top;
      // Kept in storage every MIRRORED_SAVE_EVERY revisions, not after every page (a write of its own
      // after each D1 call): after a restart D1 gets again at most that many revisions' rows, which it
      // already has (an upsert of the same values; a reason-only row only ever names a row D1 has).
      if (this.mirrored - this.savedMirrored >= MIRRORED_SAVE_EVERY) {
        this.setMeta("mirrored", String(this.mirrored));
        this.savedMirrored = this.mirrored;
      }
    }
  }

  private async rearm() {
    // The next timer, or a hand-over's first check (HandOver), or a mirror write due (flush_at), if sooner.
    const next =
      this.sql
        .exec<{ at: number | null }>(
          `SELECT min(at) AS at FROM (SELECT min(run_at) AS at FROM timers UNION ALL SELECT min(run_at) FROM handovers
             UNION ALL SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'flush_at')`,
        )
        .toArray()[0]?.at ?? null;
    await armAlarm(this.ctx.storage, "sequence", this.meta("sequence_id") ?? "", next);
  }
}

/** The step `stepId` names if it is still there and on: a task or email of any other step is not worked. */
const liveStep = (cfg: SequenceConfig, stepId: string | null) => cfg.steps.find((s) => s.id === stepId && s.enabled);

/** A refusal of compose.ts (ComposedEmail.refused): the contact is paused on its step until a user fixes it and resumes. */
const pausesOnStep = (reason: string | undefined) => reason === "no_variant" || !!reason?.startsWith("missing_variables:");

/** States (and step outcomes) in which an email went out or may have: an action on it comes too late. */
const WENT_OUT = new Set<string>(["sending", "sent", "unknown", "bounced"]);

const scheduledFail = (
  code: Extract<ScheduledActionResult, { ok: false }>["code"],
  status: string | null = null,
  reason: string | null = null,
): ScheduledActionResult => ({ ok: false, code, status, reason });

const WAITING_REASON: Record<Waiting, ReasonCode> = {
  timer: "waiting_for_step",
  mailbox: "queued_for_mailbox",
  task: "task_open",
  none: "waiting_for_step",
};

/** Appends to the list kept under `key` (in place: a batch adds thousands to one mailbox). */
function pushTo<K, T>(m: Map<K, T[]>, key: K, item: T) {
  const list = m.get(key);
  if (list) list.push(item);
  else m.set(key, [item]);
}

/** Adds to the set kept under `key`. */
function addTo<K, T>(m: Map<K, Set<T>>, key: K, item: T) {
  const set = m.get(key);
  if (set) set.add(item);
  else m.set(key, new Set([item]));
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const l = m.get(k) ?? [];
    l.push(x);
    m.set(k, l);
  }
  return m;
}
