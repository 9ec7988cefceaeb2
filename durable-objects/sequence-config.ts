import { and, asc, desc, eq, isNull, or, sql } from "drizzle-orm";
import type { Db } from "../worker/db/client";
import { schedules, sequences, steps } from "../worker/db/schema";
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

/** Everything the engine needs about a sequence, in one D1 round trip. */
export async function loadSequenceConfig(d: Db, sequenceId: string): Promise<SequenceConfig | null> {
  const [seqs, stepRows, scheduleRows] = await d.batch([
    d
      .select({
        id: sequences.id,
        teamId: sequences.teamId,
        ownerId: sequences.ownerId,
        active: sequences.active,
        archivedAt: sequences.archivedAt,
      })
      .from(sequences)
      .where(eq(sequences.id, sequenceId)),
    d.select().from(steps).where(eq(steps.sequenceId, sequenceId)).orderBy(asc(steps.position)),
    // The sequence's schedule, else the team's default one.
    d
      .select({ s: schedules })
      .from(sequences)
      .innerJoin(
        schedules,
        and(
          eq(schedules.teamId, sequences.teamId),
          or(eq(schedules.id, sequences.scheduleId), and(isNull(sequences.scheduleId), eq(schedules.isDefault, true))),
        ),
      )
      .where(eq(sequences.id, sequenceId))
      .orderBy(desc(sql`${schedules.id} = ${sequences.scheduleId}`))
      .limit(1),
  ]);
  const seq = seqs[0];
  if (!seq) return null;
  const schedule = scheduleRows[0]?.s;
  return {
    id: seq.id,
    teamId: seq.teamId,
    ownerId: seq.ownerId,
    active: seq.active,
    archived: seq.archivedAt !== null,
    window: schedule
      ? scheduleToWindow({
          time_zone: schedule.timeZone,
          windows: schedule.windows,
          holidays: schedule.holidays,
          holiday_calendar: schedule.holidayCalendar,
        })
      : ALWAYS_OPEN,
    useContactTimeZone: schedule ? schedule.useContactTimeZone : false,
    steps: stepRows.map((s) => ({
      id: s.id,
      position: s.position,
      type: s.type,
      waitAmount: s.waitAmount,
      waitUnit: s.waitUnit,
      businessDays: s.businessDays,
      enabled: s.enabled,
      threadReply: s.threadReply,
      note: s.note,
    })),
  };
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
 * The next enabled step after `afterStepId`, following the current order. When that step no longer
 * exists (deleted), the first step placed after `afterPosition`; with neither, the first enabled step.
 */
export function nextEnabledStep(steps: StepConfig[], afterStepId: string | null, afterPosition = 0): StepConfig | null {
  const i = afterStepId ? steps.findIndex((s) => s.id === afterStepId) : -1;
  const from = i >= 0 ? i + 1 : steps.findIndex((s) => s.position > afterPosition);
  if (from < 0) return null;
  for (let k = from; k < steps.length; k++) if (steps[k]!.enabled) return steps[k]!;
  return null;
}
