import type { WindowSpec } from "./schedule-time";

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

export const EMAIL_STEP_TYPES = new Set(["auto_email"]);
export const isEmailStep = (type: string) => EMAIL_STEP_TYPES.has(type);

/** Everything the engine needs about a sequence, in one D1 round trip. */
export async function loadSequenceConfig(d1: D1Database, sequenceId: string): Promise<SequenceConfig | null> {
  const [seqs, steps, schedules] = await d1.batch<Record<string, any>>([
    d1.prepare("SELECT id, team_id, owner_id, active, archived_at, schedule_id FROM sequences WHERE id = ?").bind(sequenceId),
    d1.prepare("SELECT * FROM steps WHERE sequence_id = ? ORDER BY position").bind(sequenceId),
    // The sequence's schedule, else the team's default one.
    d1.prepare(
      `SELECT sc.* FROM sequences q JOIN schedules sc ON sc.team_id = q.team_id AND (sc.id = q.schedule_id OR (q.schedule_id IS NULL AND sc.is_default = 1))
        WHERE q.id = ? ORDER BY (sc.id = q.schedule_id) DESC LIMIT 1`,
    ).bind(sequenceId),
  ]);
  const seq = seqs!.results[0];
  if (!seq) return null;
  const schedule = schedules!.results[0];
  return {
    id: seq.id,
    teamId: seq.team_id,
    ownerId: seq.owner_id,
    active: !!seq.active,
    archived: seq.archived_at !== null,
    window: schedule ? scheduleToWindow(schedule) : ALWAYS_OPEN,
    useContactTimeZone: schedule ? !!schedule.use_contact_time_zone : false,
    steps: steps!.results.map((s) => ({
      id: s.id,
      position: s.position,
      type: s.type,
      waitAmount: s.wait_amount,
      waitUnit: s.wait_unit,
      businessDays: !!s.business_days,
      enabled: !!s.enabled,
      threadReply: !!s.thread_reply,
      note: s.note,
    })),
  };
}

export function scheduleToWindow(row: Record<string, any>): WindowSpec {
  return {
    timeZone: row.time_zone,
    windows: typeof row.windows === "string" ? JSON.parse(row.windows) : row.windows,
    holidays: typeof row.holidays === "string" ? JSON.parse(row.holidays) : row.holidays,
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
