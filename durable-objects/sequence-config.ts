import type { Db } from "../worker/db/client";
import { IN_LIST, listParam } from "../worker/db/in-list";
import type { WindowSpec } from "../worker/services/schedule-time";

export interface StepConfig {
  id: string;
  position: number;
  type: string;
  waitAmount: number;
  waitUnit: "minutes" | "hours" | "days";
  businessDays: boolean;
  enabled: boolean;
  threadReply: boolean;
  note: string;
}

export interface SequenceConfig {
  id: string;
  teamId: string;
  ownerId: string;
  active: boolean;
  archived: boolean;
  window: WindowSpec;
  useContactTimeZone: boolean;
  steps: StepConfig[];
  /** Deleted steps' places: each one's id to the step that came after it when it was deleted (null: none did). */
  deleted: Record<string, string | null>;
  /** D1's `config_rev` when this was read: the same number later means the same config (migration 0033's triggers). */
  rev: number;
}

/** Sending at any time: used when a sequence has no schedule and the team has no default one. */
export const ALWAYS_OPEN: WindowSpec = {
  timeZone: "UTC",
  windows: Object.fromEntries(["1", "2", "3", "4", "5", "6", "7"].map((d) => [d, [["00:00", "24:00"]]])) as WindowSpec["windows"],
  holidays: [],
  holidayCalendar: "none",
};

/**
 * The zone an enrollment's emails are sent in (its window's zone): the contact's when the schedule sends in
 * the contact's time zone (the contact's zone now, else the one it had when added), else the schedule's
 * own (null). The engine hands emails over with it; the screens that say when an email goes, and the
 * reschedule check, use the same rule so they never disagree with the send (invariant 7/10).
 */
export function sendingZone(
  cfg: Pick<SequenceConfig, "useContactTimeZone">,
  contactZone: string | null | undefined,
  addedZone: string | null = null,
) {
  return cfg.useContactTimeZone ? (contactZone ?? addedZone) : null;
}

export const EMAIL_STEP_TYPES = new Set(["auto_email"]);
export const isEmailStep = (type: string) => EMAIL_STEP_TYPES.has(type);

/**
 * The schedule a sequence sends by, as one JSON array [time_zone, windows, holidays, holiday_calendar,
 * use_contact_time_zone]: its own, else the team's default, else none (NULL). `seq` names the outer
 * query's sequences row; every reader of "which window does this sequence send in" uses this.
 */
export const scheduleTupleSql = (
  seq: string,
) => `(SELECT json_array(c.time_zone, c.windows, c.holidays, c.holiday_calendar, c.use_contact_time_zone)
        FROM schedules c
        WHERE c.team_id = ${seq}.team_id
          AND (c.id = ${seq}.schedule_id OR (${seq}.schedule_id IS NULL AND c.is_default = 1))
        ORDER BY c.id = ${seq}.schedule_id DESC LIMIT 1)`;

/** The window and zone rule of scheduleTupleSql's answer (none: always open, in the schedule's zone). */
export function scheduleFromTuple(text: string | null): Pick<SequenceConfig, "window" | "useContactTimeZone"> {
  if (text === null) return { window: ALWAYS_OPEN, useContactTimeZone: false };
  const [time_zone, windows, holidays, holiday_calendar, useContact] = JSON.parse(text) as ScheduleTuple;
  return { window: scheduleToWindow({ time_zone, windows, holidays, holiday_calendar }), useContactTimeZone: useContact === 1 };
}

/**
 * The one order of a sequence's steps, for the engine and the editor (worker/services/steps.ts reads them
 * by these columns): by position, then id. Two steps at one position (written by adds that raced before
 * their writes were guarded) came back to the engine in whichever order D1 read them, so it could run
 * them in another order than the editor showed.
 */
export const STEP_ORDER = ["position", "id"] as const;

/** STEP_ORDER as the ORDER BY list of the steps under `alias`, for every query that reads steps in order. */
export const stepOrderBy = (alias: string) => STEP_ORDER.map((c) => `${alias}.${c}`).join(", ");

/** STEP_ORDER in JS (ids are lowercase hex, so `<` orders them as SQLite's binary collation does). */
export const inStepOrder = (a: Pick<StepConfig, "position" | "id">, b: Pick<StepConfig, "position" | "id">) =>
  a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A step as the config query packs it: [id, position, type, wait_amount, wait_unit, business_days, enabled, thread_reply, note]. */
type StepTuple = [string, number, string, number, StepConfig["waitUnit"], number, number, number, string];
/** The schedule as the config query packs it: [time_zone, windows, holidays, holiday_calendar, use_contact_time_zone]. */
type ScheduleTuple = [string, string, string, string, number];

/**
 * The sequence, its steps in order and its schedule (else the team's default one) in ONE statement
 * (`?`: the sequence's id). A constant text: building drizzle's SQL anew was most of a load's CPU (each
 * report from a mailbox and each alarm loads the config), and a request can put it in a batch of its
 * own statements (`configStatement`) instead of a round trip of its own.
 */
const CONFIG_SELECT = `SELECT s.id, s.team_id, s.owner_id, s.active, s.archived_at, s.config_rev,
    (SELECT json_group_array(json_array(id, position, type, wait_amount, wait_unit, business_days, enabled, thread_reply, note))
       FROM (SELECT * FROM steps st WHERE st.sequence_id = s.id ORDER BY ${stepOrderBy("st")})) AS steps,
    ${scheduleTupleSql("s")} AS schedule,
    (SELECT json_group_object(ds.id, ds.next_step_id) FROM deleted_steps ds WHERE ds.sequence_id = s.id) AS deleted
  FROM sequences s WHERE s.id`;
const CONFIG_SQL = `${CONFIG_SELECT} = ?`;

/** A row of CONFIG_SQL as D1 answers it. */
export interface ConfigRow {
  id: string;
  team_id: string;
  owner_id: string;
  active: number;
  archived_at: number | null;
  config_rev: number;
  steps: string;
  schedule: string | null;
  deleted: string;
}

/** The config statement of a team's sequence for a `batchSql` of the caller's own (its row goes to `configFromRow`). */
export const configStatement = (sequenceId: string, teamId: string) => ({
  toSQL: () => ({ sql: `${CONFIG_SQL} AND s.team_id = ?`, params: [sequenceId, teamId] }),
});

/** Everything the engine needs about a sequence, from its CONFIG_SQL row. */
export function configFromRow(seq: ConfigRow): SequenceConfig {
  const stepRows = JSON.parse(seq.steps) as StepTuple[];
  return {
    id: seq.id,
    teamId: seq.team_id,
    ownerId: seq.owner_id,
    active: seq.active === 1,
    archived: seq.archived_at !== null,
    ...scheduleFromTuple(seq.schedule),
    steps: stepRows
      .map(([id, position, type, waitAmount, waitUnit, businessDays, enabled, threadReply, note]) => ({
        id,
        position,
        type,
        waitAmount,
        waitUnit,
        businessDays: businessDays === 1,
        enabled: enabled === 1,
        threadReply: threadReply === 1,
        note,
      }))
      // json_group_array keeps no promised order, so the rows are put in order again here.
      .sort(inStepOrder),
    deleted: JSON.parse(seq.deleted) as SequenceConfig["deleted"],
    rev: seq.config_rev,
  };
}

/** Everything the engine needs about a sequence, in one D1 round trip. */
export async function loadSequenceConfig(d: Db, sequenceId: string): Promise<SequenceConfig | null> {
  const row = await d.$client.prepare(CONFIG_SQL).bind(sequenceId).first<ConfigRow>();
  return row ? configFromRow(row) : null;
}

/**
 * The configs of a team's sequences among `sequenceIds`, in ONE statement (the ids as one json_each list, up to
 * LIST_CHUNK of them; reached by id, the team checked on each row): a list over many sequences read one per sequence.
 */
export async function loadSequenceConfigs(d: Db, teamId: string, sequenceIds: readonly string[]): Promise<Map<string, SequenceConfig>> {
  if (!sequenceIds.length) return new Map();
  const { results } = await d.$client
    .prepare(`${CONFIG_SELECT} IN ${IN_LIST} AND +s.team_id = ?`)
    .bind(listParam(sequenceIds), teamId)
    .all<ConfigRow>();
  return new Map(results.map((r) => [r.id, configFromRow(r)]));
}

/** A schedule's columns as D1 stores them (the windows and holidays as JSON text or already parsed). */
export interface ScheduleColumns {
  time_zone: string;
  windows: string | WindowSpec["windows"];
  holidays: string | WindowSpec["holidays"];
  holiday_calendar: string;
}

export function scheduleToWindow(row: ScheduleColumns): WindowSpec {
  return {
    timeZone: row.time_zone,
    windows: typeof row.windows === "string" ? (JSON.parse(row.windows) as WindowSpec["windows"]) : row.windows,
    holidays: typeof row.holidays === "string" ? (JSON.parse(row.holidays) as WindowSpec["holidays"]) : row.holidays,
    holidayCalendar: row.holiday_calendar,
  };
}

/**
 * The step standing where `stepId` stands: that step, or for a deleted one the step that came after it
 * when it was deleted (itself perhaps deleted since: its own follower, and so on). Null: nothing came
 * after it, or the step is unknown.
 */
export function stepInPlaceOf(cfg: Pick<SequenceConfig, "steps" | "deleted">, stepId: string): StepConfig | null {
  let id: string | null | undefined = stepId;
  // Each deletion names a step present when it was made, so the chain is at most every deletion long.
  for (let hops = 0; id && hops <= Object.keys(cfg.deleted).length; hops++) {
    const step = cfg.steps.find((s) => s.id === id);
    if (step) return step;
    id = cfg.deleted[id];
  }
  return null;
}

/** Whether `stepId` names a step of the sequence, present or deleted. */
const knows = (cfg: Pick<SequenceConfig, "steps" | "deleted">, stepId: string) =>
  stepId in cfg.deleted || cfg.steps.some((s) => s.id === stepId);

/**
 * The step an enrollment is on: its step (stepInPlaceOf: a deleted one's follower, null when none
 * followed). A row bound from D1 has no step id, and one whose step this sequence doesn't know (deleted
 * before deletions were kept) is placed by position: the first step at `stepPos` or after it.
 */
export function stepOfEnrollment(
  cfg: Pick<SequenceConfig, "steps" | "deleted">,
  stepId: string | null,
  stepPos: number,
): StepConfig | null {
  if (stepId !== null && knows(cfg, stepId)) return stepInPlaceOf(cfg, stepId);
  return cfg.steps.find((s) => s.position >= stepPos) ?? null;
}

/**
 * What an enrollment has already been through and what it still owes, for nextEnabledStep: `done`, the
 * steps it has a result for (never again: invariant 4); `owed`, steps a reorder moved from after its
 * step to before it (still to come: SequenceDO.oweStepsMovedAbove).
 */
export interface StepsBehind {
  done?: ReadonlySet<string>;
  owed?: ReadonlySet<string>;
}

/**
 * The next enabled step after `afterStepId`: the first enabled step, in the current order, that this
 * enrollment has no result for and that is still ahead of it: placed after its step, or owed (a reorder
 * moved it above its step before it got there). Every enabled step ahead of a contact is done once,
 * whatever the editor does to the order; a step added above a contact, or turned on after it went past,
 * is behind it and not owed. A deleted step's place is taken by the step that followed it
 * (stepInPlaceOf), which is then the next one if enabled. With no step named, or one this sequence
 * doesn't know, the first enabled step placed after `afterPosition`.
 */
export function nextEnabledStep(
  cfg: Pick<SequenceConfig, "steps" | "deleted">,
  afterStepId: string | null,
  afterPosition = 0,
  behind: StepsBehind = {},
): StepConfig | null {
  const { steps } = cfg;
  let from: number;
  if (afterStepId !== null && knows(cfg, afterStepId)) {
    const i = steps.findIndex((s) => s.id === afterStepId);
    const inPlace = i >= 0 ? null : stepInPlaceOf(cfg, afterStepId);
    from = i >= 0 ? i + 1 : inPlace ? steps.indexOf(inPlace) : steps.length;
  } else {
    from = steps.findIndex((s) => s.position > afterPosition);
    if (from < 0) from = steps.length;
  }
  const { done, owed } = behind;
  return steps.find((s, k) => s.enabled && s.id !== afterStepId && !done?.has(s.id) && (k >= from || (owed?.has(s.id) ?? false))) ?? null;
}
