import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env";
import { armAlarm } from "../worker/lib/alarms";
import { now } from "../worker/lib/clock";
import { mailboxStub } from "../worker/lib/stubs";
import type { QueuedEmail, ReasonCode, StepResult } from "../worker/services/engine-types";
import { blockingReason, loadContactStates } from "../worker/services/eligibility";
import { flushEnrollmentMirror, type MirrorRow } from "../worker/services/enrollment-mirror";
import { isEmailStep, loadSequenceConfig, nextEnabledStep, type SequenceConfig, type StepConfig } from "../worker/services/sequence-config";
import { addWait, nextWindowStart } from "../worker/services/schedule-time";
import { createTasks } from "../worker/services/tasks";

/** One contact to enroll (the add-contacts pipeline has already validated it). */
export interface EnrollItem {
  enrollmentId: string;
  contactId: string;
  mailboxId: string | null;
  score: number;
  timeZone: string | null;
  jobId?: string | null;
  addedBy?: string | null;
}

type Status = "active" | "paused" | "held" | "finished" | "failed" | "removed";
type Waiting = "timer" | "mailbox" | "task" | "none";

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

/**
 * SequenceDO — one per sequence. The single writer of its enrollments' transitions: enroll
 * (deduplicated: invariant 1), advance step by step (invariant 2), pause, resume, finish, remove.
 * Keeps a timer table of due steps behind one alarm, re-checks eligibility when a step falls due
 * (invariant 5) and mirrors every change to D1 through a dirty flag, so a crash between the two
 * writes is repaired by the next call.
 */
export class SequenceDO extends DurableObject<Env> {
  private sql: SqlStorage;
  /** Change counter: `dirty` holds the revision of a row's last change, 0 once mirrored to D1. */
  private rev = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.migrate();
      this.rev = this.sql.exec<{ r: number | null }>("SELECT max(dirty) AS r FROM enrollments").toArray()[0]?.r ?? 0;
    });
  }

  private migrate() {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    const v = Number(this.meta("schema") ?? 0);
    if (v < 1) {
      this.sql.exec(`
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
      `);
      this.setMeta("schema", "1");
    }
    if (v < 2) {
      this.sql.exec("ALTER TABLE enrollments ADD COLUMN last_at INTEGER");
      this.setMeta("schema", "2");
    }
  }

  private meta(key: string): string | null {
    const r = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return r?.value ?? null;
  }
  private setMeta(key: string, value: string) {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value);
  }

  /** Bind this object to its sequence and take over enrollments that exist only in D1 (seeded or imported). */
  private async bind(sequenceId: string, teamId: string) {
    if (this.meta("sequence_id")) return;
    this.setMeta("sequence_id", sequenceId);
    this.setMeta("team_id", teamId);
    const { results } = await this.env.DB.prepare("SELECT * FROM enrollments WHERE sequence_id = ?").bind(sequenceId).all<Record<string, any>>();
    const t = now();
    this.ctx.storage.transactionSync(() => {
      for (const e of results) {
        this.sql.exec(
          `INSERT OR IGNORE INTO enrollments (id, contact_id, mailbox_id, status, step_pos, waiting, due_at, reason, job_id, added_by, created_at, finished_at, dirty)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
          e.id, e.contact_id, e.mailbox_id, e.status, e.current_step, e.status === "active" ? "timer" : "none",
          e.next_due_at, e.reason, e.job_id, e.added_by, e.created_at, e.finished_at,
        );
        if (e.status === "active") this.sql.exec("INSERT OR IGNORE INTO timers VALUES (?, ?)", e.id, e.next_due_at ?? t);
      }
    });
  }

  // ---------------------------------------------------------------- RPC verbs

  /**
   * Enroll contacts. Deduplicated by contact (invariant 1): a contact already here is "already";
   * `alreadyOther` lists those enrolled under a different enrollment id (not a repeat of this call).
   */
  async enroll(sequenceId: string, teamId: string, items: EnrollItem[]): Promise<{ enrolled: string[]; already: string[]; alreadyOther: string[] }> {
    await this.bind(sequenceId, teamId);
    const cfg = await loadSequenceConfig(this.env.DB, sequenceId);
    if (!cfg) throw new Error(`sequence ${sequenceId} not found`);
    const t = now();
    const first = nextEnabledStep(cfg.steps, null);
    const enrolled: string[] = [];
    const already: string[] = [];
    const alreadyOther: string[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const it of items) {
        const existing = this.sql.exec<{ id: string }>("SELECT id FROM enrollments WHERE contact_id = ?", it.contactId).toArray()[0];
        if (existing) {
          already.push(it.contactId);
          if (existing.id !== it.enrollmentId) alreadyOther.push(it.contactId);
          continue;
        }
        const dueAt = first ? this.dueAfterWait(t, first, cfg) : t;
        const status: Status = cfg.active ? "active" : "held";
        this.sql.exec(
          `INSERT INTO enrollments (id, contact_id, mailbox_id, status, step_id, step_pos, waiting, due_at, reason, score, zone, job_id, added_by, created_at, last_at, dirty)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          it.enrollmentId, it.contactId, it.mailboxId, status, first?.id ?? null, first?.position ?? 0,
          cfg.active ? "timer" : "none", dueAt, cfg.active ? "waiting_for_step" : "sequence_inactive",
          it.score, it.timeZone, it.jobId ?? null, it.addedBy ?? null, t, t, ++this.rev,
        );
        if (cfg.active) this.sql.exec("INSERT INTO timers VALUES (?, ?)", it.enrollmentId, dueAt);
        enrolled.push(it.contactId);
      }
    });
    await this.flush(cfg.teamId, sequenceId);
    await this.rearm();
    return { enrolled, already, alreadyOther };
  }

  /** Reports from MailboxDOs and tasks. Idempotent: a repeated report for a step changes nothing. */
  async stepsDone(sequenceId: string, teamId: string, results: StepResult[]): Promise<void> {
    await this.bind(sequenceId, teamId);
    const cfg = await loadSequenceConfig(this.env.DB, sequenceId);
    if (!cfg) return;
    this.ctx.storage.transactionSync(() => {
      for (const r of results) this.applyResult(cfg, r);
    });
    await this.flush(cfg.teamId, sequenceId);
    await this.rearm();
  }

  /**
   * Pause, resume, finish or remove enrollments by id. Returns the ids that changed. A pause with
   * `resumeAt` (out of office) resumes by itself then.
   */
  async transition(sequenceId: string, teamId: string, ids: string[], action: "pause" | "resume" | "finish" | "remove", reason?: ReasonCode, resumeAt?: number): Promise<string[]> {
    await this.bind(sequenceId, teamId);
    const t = now();
    const changed: string[] = [];
    const withdraw: { mailboxId: string; enrollmentId: string; stepId: string }[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const id of ids) {
        const e = this.row(id);
        if (!e) continue;
        const open = e.status === "active" || e.status === "paused" || e.status === "held";
        if (action === "pause" && (e.status === "active" || e.status === "held")) {
          this.update(id, { status: "paused", reason: reason ?? "paused_by_user", ...(resumeAt ? { due_at: resumeAt } : {}) });
          this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", id);
          if (resumeAt) this.sql.exec("INSERT INTO timers VALUES (?, ?)", id, resumeAt);
        } else if (action === "resume" && e.status === "paused") {
          const waiting = e.waiting === "mailbox" || e.waiting === "task" ? e.waiting : "timer";
          this.update(id, { status: "active", waiting, reason: waiting === "timer" ? "waiting_for_step" : e.reason });
          if (waiting === "timer") this.sql.exec("INSERT OR REPLACE INTO timers VALUES (?, ?)", id, Math.max(t, e.due_at ?? t));
        } else if ((action === "finish" || action === "remove") && (open || action === "remove") && e.status !== "removed") {
          this.update(id, { status: action === "remove" ? "removed" : "finished", reason: reason ?? (action === "remove" ? "removed_by_user" : "marked_finished"), finished_at: t, waiting: "none" });
          this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", id);
        } else continue;
        if (action !== "resume" && e.waiting === "mailbox" && e.mailbox_id && e.step_id) withdraw.push({ mailboxId: e.mailbox_id, enrollmentId: id, stepId: e.step_id });
        changed.push(id);
      }
    });
    // Emails already queued in a mailbox are withdrawn; one already being sent reports back as usual.
    const byMailbox = groupBy(withdraw, (w) => w.mailboxId);
    for (const [mb, items] of byMailbox) {
      const pulled = await mailboxStub(this.env, mb).withdraw(mb, items.map((i) => ({ enrollmentId: i.enrollmentId, stepId: i.stepId })));
      this.ctx.storage.transactionSync(() => {
        for (const p of pulled) {
          const e = this.row(p.enrollmentId);
          if (e && e.waiting === "mailbox") this.update(p.enrollmentId, { waiting: "timer" });
        }
      });
    }
    await this.flush(teamId, sequenceId);
    await this.rearm();
    return changed;
  }

  /** The sequence was turned on: held enrollments continue where they stopped. */
  async activate(sequenceId: string, teamId: string): Promise<number> {
    await this.bind(sequenceId, teamId);
    const t = now();
    let n = 0;
    this.ctx.storage.transactionSync(() => {
      const held = this.sql.exec<{ id: string; due_at: number | null }>("SELECT id, due_at FROM enrollments WHERE status = 'held'").toArray();
      for (const h of held) {
        this.update(h.id, { status: "active", waiting: "timer", reason: "waiting_for_step" });
        this.sql.exec("INSERT OR REPLACE INTO timers VALUES (?, ?)", h.id, Math.max(t, h.due_at ?? t));
        n++;
      }
    });
    await this.flush(teamId, sequenceId);
    await this.rearm();
    return n;
  }

  /** Snapshot for views and tests. */
  async inspect(): Promise<{ enrollments: Row[]; timers: { enrollment_id: string; run_at: number }[]; alarm: number | null }> {
    return {
      enrollments: this.sql.exec("SELECT * FROM enrollments ORDER BY created_at, id").toArray() as unknown as Row[],
      timers: this.sql.exec<{ enrollment_id: string; run_at: number }>("SELECT * FROM timers ORDER BY run_at").toArray(),
      alarm: await this.ctx.storage.getAlarm(),
    };
  }

  override async alarm(): Promise<void> {
    // Alarms are at-least-once: processing only what is due makes a repeated alarm harmless.
    const sequenceId = this.meta("sequence_id");
    if (!sequenceId) return;
    await this.flush(this.meta("team_id")!, sequenceId);
    await this.processDue(sequenceId);
  }

  // ---------------------------------------------------------------- engine

  private async processDue(sequenceId: string) {
    const t = now();
    const cfg = await loadSequenceConfig(this.env.DB, sequenceId);
    const due = this.sql
      .exec<{ enrollment_id: string }>("SELECT enrollment_id FROM timers WHERE run_at <= ? ORDER BY run_at LIMIT ?", t, DUE_BATCH)
      .toArray()
      .map((r) => this.row(r.enrollment_id))
      .filter((r): r is Row => !!r);
    if (!cfg) return;
    const teamId = cfg.teamId;

    if (!cfg.active || cfg.archived) {
      // Invariant 7/10: nothing goes out of an inactive sequence; each held enrollment says why.
      this.ctx.storage.transactionSync(() => {
        for (const e of due) {
          this.update(e.id, cfg.archived
            ? { status: "finished", reason: "sequence_archived", waiting: "none", finished_at: t }
            : { status: "held", reason: "sequence_inactive", waiting: "none" });
          this.sql.exec("DELETE FROM timers WHERE enrollment_id = ?", e.id);
        }
      });
      await this.flush(teamId, sequenceId);
      await this.rearm();
      return;
    }

    const contacts = await loadContactStates(this.env.DB, teamId, due.map((e) => e.contact_id));
    const emails = new Map<string, QueuedEmail[]>();
    const tasks: Parameters<typeof createTasks>[1] = [];
    this.ctx.storage.transactionSync(() => {
      for (const stale of due) {
        // Claim the timer and re-read the row: a pause, removal or reschedule may have landed while
        // we awaited D1 above (other calls interleave with outbound I/O).
        const claimed = this.sql.exec("DELETE FROM timers WHERE enrollment_id = ? AND run_at <= ?", stale.id, t).rowsWritten;
        let e = this.row(stale.id);
        if (claimed && e?.status === "paused" && e.reason === "out_of_office") {
          // Back from out of office: carry on with the step it was on.
          this.update(e.id, { status: "active", reason: "waiting_for_step", waiting: "timer" });
          e = this.row(e.id);
        }
        if (!claimed || !e || e.status !== "active") continue;
        let step = cfg.steps.find((s) => s.id === e.step_id) ?? nextEnabledStep(cfg.steps, null, e.step_pos - 1);
        if (step && !step.enabled) {
          // Toggled off → skipped. The step now next is due after ITS wait from the last step done
          // (invariant 2), not at the skipped step's time: wait for it if that is still ahead.
          step = nextEnabledStep(cfg.steps, step.id, step.position);
          const dueAt = step && e.last_at !== null ? this.dueAfterWait(e.last_at, step, cfg) : t;
          if (step && dueAt > t) {
            this.update(e.id, { step_id: step.id, step_pos: step.position, due_at: dueAt, reason: "waiting_for_step" });
            this.sql.exec("INSERT INTO timers VALUES (?, ?)", e.id, dueAt);
            continue;
          }
        }
        if (!step) {
          this.update(e.id, { status: "finished", reason: "completed_all_steps", waiting: "none", finished_at: t });
          continue;
        }
        if (step.id !== e.step_id) this.update(e.id, { step_id: step.id, step_pos: step.position });
        const contact = contacts.get(e.contact_id);
        const block = blockingReason(contact, isEmailStep(step.type));
        if (block) {
          this.update(e.id, { status: "finished", reason: block, waiting: "none", finished_at: t });
          continue;
        }
        if (isEmailStep(step.type)) {
          if (!e.mailbox_id) {
            this.update(e.id, { status: "held", reason: "no_mailbox", waiting: "none" });
            continue;
          }
          const zone = cfg.useContactTimeZone ? contact?.timeZone ?? e.zone : null;
          const item: QueuedEmail = {
            enrollmentId: e.id, stepId: step.id, sequenceId, teamId, contactId: e.contact_id,
            dueAt: e.due_at ?? t, score: contact?.score ?? e.score, window: cfg.window, zone,
            thread: step.threadReply && e.thread_msg ? { messageId: e.thread_msg, subject: e.thread_subject ?? "" } : null,
          };
          const list = emails.get(e.mailbox_id) ?? [];
          list.push(item);
          emails.set(e.mailbox_id, list);
          this.update(e.id, { waiting: "mailbox", reason: "queued_for_mailbox" });
        } else {
          tasks.push({ enrollmentId: e.id, stepId: step.id, sequenceId, teamId, contactId: e.contact_id, type: step.type, note: step.note, dueAt: e.due_at ?? t, mailboxId: e.mailbox_id, ownerId: cfg.ownerId });
          this.update(e.id, { waiting: "task", reason: "task_open" });
        }
      }
    });
    // Hand-offs are idempotent on (enrollment, step): if this alarm runs again after a crash
    // between here and the flush, the mailbox and the task table ignore the repeat.
    await this.flush(teamId, sequenceId);
    if (tasks.length) await createTasks(this.env.DB, tasks);
    for (const [mb, items] of emails) await mailboxStub(this.env, mb).enqueue(mb, teamId, items);
    await this.rearm();
  }

  private applyResult(cfg: SequenceConfig, r: StepResult) {
    const e = this.row(r.enrollmentId);
    if (!e || e.step_id !== r.stepId) return;
    const seen = this.sql.exec("SELECT 1 FROM results WHERE enrollment_id = ? AND step_id = ?", r.enrollmentId, r.stepId).toArray().length;
    if (seen) return;
    this.sql.exec("INSERT INTO results VALUES (?, ?, ?)", r.enrollmentId, r.stepId, r.outcome);
    const open = e.status === "active" || e.status === "paused" || e.status === "held";
    if (!open) return;

    if (r.outcome === "cancelled" && r.reason === "sequence_inactive") {
      // Withdrawn at send time because the sequence was turned off: hold on this step.
      this.sql.exec("DELETE FROM results WHERE enrollment_id = ? AND step_id = ?", r.enrollmentId, r.stepId);
      this.update(e.id, { status: "held", reason: "sequence_inactive", waiting: "none" });
      return;
    }
    if (r.outcome === "bounced" || r.outcome === "cancelled") {
      this.update(e.id, { status: "finished", reason: r.reason ?? (r.outcome === "bounced" ? "bounced" : "suppressed"), waiting: "none", finished_at: r.at });
      return;
    }
    if (r.outcome === "failed") {
      this.update(e.id, { status: "failed", reason: r.reason ?? "send_failed", waiting: "none", finished_at: r.at });
      return;
    }
    // sent, unknown (never resent: invariant 4), completed, skipped → the next step, after its wait (invariant 2).
    if ((r.outcome === "sent" || r.outcome === "unknown") && r.messageId && !e.thread_msg) {
      this.update(e.id, { thread_msg: r.messageId, thread_subject: r.subject ?? "" });
    }
    const current = cfg.steps.find((s) => s.id === r.stepId);
    const next = nextEnabledStep(cfg.steps, r.stepId, current?.position ?? e.step_pos);
    if (!next) {
      this.update(e.id, {
        status: "finished", waiting: "none", finished_at: r.at,
        reason: r.outcome === "unknown" ? "delivery_unknown" : "completed_all_steps",
      });
      return;
    }
    const dueAt = this.dueAfterWait(r.at, next, cfg);
    this.update(e.id, { step_id: next.id, step_pos: next.position, due_at: dueAt, last_at: r.at, waiting: "timer", reason: "waiting_for_step" });
    if (e.status === "active") this.sql.exec("INSERT OR REPLACE INTO timers VALUES (?, ?)", e.id, dueAt);
  }

  /** When a step falls due: its wait after `from`; email steps also move into the sending window. */
  private dueAfterWait(from: number, step: StepConfig, cfg: SequenceConfig): number {
    const at = addWait(from, step.waitAmount, step.waitUnit, step.businessDays, cfg.window);
    return isEmailStep(step.type) ? at : (nextWindowStart(at, cfg.window) ?? at);
  }

  private row(id: string): Row | undefined {
    return this.sql.exec("SELECT * FROM enrollments WHERE id = ?", id).toArray()[0] as unknown as Row | undefined;
  }

  private update(id: string, patch: Partial<Row>) {
    const keys = Object.keys(patch) as (keyof Row)[];
    if (!keys.length) return;
    this.sql.exec(
      `UPDATE enrollments SET ${keys.map((k) => `${k} = ?`).join(", ")}, dirty = ? WHERE id = ?`,
      ...keys.map((k) => patch[k] as SqlStorageValue),
      ++this.rev,
      id,
    );
  }

  /** Mirror changed enrollments to D1 (D1 is what lists and searches read). */
  private async flush(teamId: string, sequenceId: string) {
    for (;;) {
      const rows = this.sql.exec("SELECT * FROM enrollments WHERE dirty > 0 LIMIT 2000").toArray() as unknown as (Row & { dirty: number })[];
      if (!rows.length) return;
      const t = now();
      const mirror: MirrorRow[] = rows.map((r) => ({
        id: r.id, teamId, sequenceId, contactId: r.contact_id, mailboxId: r.mailbox_id, status: r.status,
        currentStep: r.step_pos, nextDueAt: r.status === "active" ? r.due_at : null, reason: r.reason,
        jobId: r.job_id, addedBy: r.added_by, createdAt: r.created_at, updatedAt: t, finishedAt: r.finished_at,
      }));
      await flushEnrollmentMirror(this.env.DB, mirror);
      this.ctx.storage.transactionSync(() => {
        // A row changed again while D1 was being written keeps its newer revision and goes next time.
        for (const r of rows) this.sql.exec("UPDATE enrollments SET dirty = 0 WHERE id = ? AND dirty = ?", r.id, r.dirty);
      });
    }
  }

  private async rearm() {
    const next = this.sql.exec<{ at: number | null }>("SELECT min(run_at) AS at FROM timers").toArray()[0]?.at ?? null;
    await armAlarm(this.ctx.storage, "sequence", this.meta("sequence_id") ?? "", next);
  }
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
