import { and, asc, eq, ne, sql } from "drizzle-orm";
import { batchSql, isUniqueViolation, type Db } from "../db/client";
import { engine } from "../../durable-objects/engine";
import { auditLog, mailboxes, schedules, sequences } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { authorize, scheduleFor } from "./access";
import { auditEntry } from "./audit";
import { validateWindows } from "./schedule-time";

/** Sending schedules: a team's named windows, holidays and time zone, shared by its sequences. */

export type Schedule = typeof schedules.$inferSelect;

export interface ScheduleFields {
  name: string;
  time_zone: string;
  windows: Record<string, [string, string][]>;
  holidays: string[];
  /** "none" or a code `holidayCalendars` lists (the route checks it). */
  holiday_calendar: string;
  use_contact_time_zone: boolean;
  is_default: boolean;
}

/**
 * Sequences (not archived) that send on a schedule: those that name it and, for the team's default,
 * those that name none (sequence-config.ts scheduleTupleSql times them by it). Table-qualified: inside
 * the subquery a bare "id" would be the sequence's.
 */
const inUse = sql<number>`(select count(*) from sequences q where q.team_id = "schedules"."team_id" and q.archived_at is null
  and (q.schedule_id = "schedules"."id" or (q.schedule_id is null and "schedules"."is_default" = 1)))`;

/**
 * The default can't be taken away, only handed to another schedule: without one, every sequence that
 * has no schedule of its own would send at any hour, in UTC (sequence-config.ts ALWAYS_OPEN).
 */
const DEFAULT_STAYS =
  "This is the team's default schedule: sequences without a schedule of their own send by it. Make another schedule the default first.";

function checkWindows(windows: Record<string, [string, string][]>) {
  const problems = validateWindows(windows);
  // A schedule with no window would hold every email of its sequences forever.
  if (!problems.length && !Object.values(windows).some((list) => list.length))
    problems.push("Add at least one sending window: with none, nothing is ever sent");
  if (problems.length)
    throw new ApiError("validation_failed", "The sending windows are invalid", {
      fields: problems.map((m) => ({ field: "windows", message: m })),
    });
}

/** Names are unique in a team. */
async function checkName(d: Db, teamId: string, name: string, exceptId?: string) {
  const clash = await d.query.schedules.findFirst({
    where: and(eq(schedules.teamId, teamId), eq(schedules.name, name), exceptId ? ne(schedules.id, exceptId) : undefined),
  });
  if (clash) throw nameTaken();
}

const nameTaken = () =>
  new ApiError("validation_failed", "A schedule with this name exists", {
    fields: [{ field: "name", message: "Pick another name" }],
  });

/**
 * A write naming a schedule: checkName's read lets two requests take one name at once, and the team's
 * unique index (schedules_team_name_uq) refuses the second, which answers as checkName does, not 500.
 */
const namedBatch = (d: Db, stmts: Parameters<typeof batchSql>[1]) =>
  batchSql(d, stmts).catch((err) => {
    throw isUniqueViolation(err) ? nameTaken() : err;
  });

/** One default per team: making one the default unsets the other (in the same batch; only the row that is it, so no other is rewritten). */
const unsetDefault = (d: Db, teamId: string) =>
  d
    .update(schedules)
    .set({ isDefault: false })
    .where(and(eq(schedules.teamId, teamId), eq(schedules.isDefault, true)));

export async function listSchedules(d: Db, caller: Caller): Promise<{ schedule: Schedule; sequences: number }[]> {
  const rows = await d
    .select({ s: schedules, n: inUse })
    .from(schedules)
    .where(eq(schedules.teamId, caller.teamId))
    .orderBy(asc(schedules.name));
  return rows.map((r) => ({ schedule: r.s, sequences: r.n }));
}

/**
 * Emails already queued follow a schedule change now (invariant 7 holds at the send anyway, see
 * MailboxDO.inCurrentWindows): each of the team's mailboxes moves them to their sequences' windows.
 */
export async function rewindowTeam(env: Env, d: Db, teamId: string): Promise<void> {
  const rows = await d.select({ id: mailboxes.id }).from(mailboxes).where(eq(mailboxes.teamId, teamId));
  // The change is committed: a mailbox that can't be reached now still holds its emails to the new
  // window when it next sends (MailboxDO.inCurrentWindows), so its failure must not fail the request.
  const results = await Promise.allSettled(rows.map((m) => engine.mailbox(env, m.id).rewindow()));
  for (const [i, r] of results.entries())
    if (r.status === "rejected") console.error(`rewindow of mailbox ${rows[i]!.id} failed; it applies the window when it sends`, r.reason);
}

/** The default times every sequence without a schedule of its own, others' included: admins only. */
const DEFAULT_IS_ADMINS = "Only an admin can set, change or delete the team's default schedule";

export async function createSchedule(env: Env, d: Db, caller: Caller, body: ScheduleFields): Promise<Schedule> {
  authorize(caller, "schedule.create", "You can't create schedules");
  if (body.is_default) authorize(caller, "schedule.default", DEFAULT_IS_ADMINS);
  checkWindows(body.windows);
  await checkName(d, caller.teamId, body.name);
  const row: Schedule = {
    id: newId(),
    teamId: caller.teamId,
    name: body.name,
    timeZone: body.time_zone,
    windows: body.windows,
    holidays: body.holidays,
    holidayCalendar: body.holiday_calendar,
    useContactTimeZone: body.use_contact_time_zone,
    isDefault: body.is_default,
    createdBy: caller.userId,
    createdAt: now(),
  };
  await namedBatch(d, [
    ...(body.is_default ? [unsetDefault(d, caller.teamId)] : []),
    d.insert(schedules).values(row),
    d.insert(auditLog).values(auditEntry(caller, "schedule.create", "schedule", row.id)),
  ]);
  // A new default is the schedule of every sequence without one of its own.
  if (body.is_default) await rewindowTeam(env, d, caller.teamId);
  return row;
}

/** Sequences using the schedule follow the change at once, their queued emails included. */
export async function updateSchedule(
  env: Env,
  d: Db,
  caller: Caller,
  scheduleId: string,
  body: Partial<ScheduleFields>,
): Promise<{ schedule: Schedule; sequences: number }> {
  const s = await scheduleFor(d, caller, scheduleId, "schedule.manage");
  if (s.isDefault || body.is_default) authorize(caller, "schedule.default", DEFAULT_IS_ADMINS);
  if (s.isDefault && body.is_default === false)
    throw new ApiError("validation_failed", DEFAULT_STAYS, { fields: [{ field: "is_default", message: DEFAULT_STAYS }] });
  if (body.windows) checkWindows(body.windows);
  if (body.name && body.name !== s.name) await checkName(d, caller.teamId, body.name, s.id);
  const patch = {
    ...(body.name !== undefined && { name: body.name }),
    ...(body.time_zone !== undefined && { timeZone: body.time_zone }),
    ...(body.windows !== undefined && { windows: body.windows }),
    ...(body.holidays !== undefined && { holidays: body.holidays }),
    ...(body.holiday_calendar !== undefined && { holidayCalendar: body.holiday_calendar }),
    ...(body.use_contact_time_zone !== undefined && { useContactTimeZone: body.use_contact_time_zone }),
    // Only ever set: a default is unset by making another one the default (unsetDefault). Writing
    // `false` could unset a default another request made of this schedule meanwhile.
    ...(body.is_default && { isDefault: true }),
  };
  await namedBatch(d, [
    ...(body.is_default ? [unsetDefault(d, caller.teamId)] : []),
    d.update(schedules).set(patch).where(eq(schedules.id, s.id)),
    d.insert(auditLog).values(auditEntry(caller, "schedule.update", "schedule", s.id, { ...body })),
  ]);
  // A new name changes no window.
  if (Object.keys(patch).some((k) => k !== "name")) await rewindowTeam(env, d, caller.teamId);
  const [fresh] = await d.select({ s: schedules, n: inUse }).from(schedules).where(eq(schedules.id, s.id));
  return { schedule: fresh!.s, sequences: fresh!.n };
}

/**
 * Only a schedule no sequence names (archived ones included: they keep their settings) and that isn't
 * the team's default can go. Both are conditions of the delete itself, so a sequence moved onto it or
 * a default made of it meanwhile keeps it.
 */
export async function deleteSchedule(d: Db, caller: Caller, scheduleId: string): Promise<void> {
  const s = await scheduleFor(d, caller, scheduleId, "schedule.manage");
  // Rights before state: a member touching the default hears 403, as for any change of it.
  if (s.isDefault) authorize(caller, "schedule.default", DEFAULT_IS_ADMINS);
  const usedBy = and(eq(sequences.scheduleId, s.id), eq(sequences.teamId, caller.teamId));
  const refusal = async () => {
    const fresh = await scheduleFor(d, caller, s.id, "schedule.manage");
    if (fresh.isDefault) return new ApiError("conflict", DEFAULT_STAYS);
    const [n] = await d
      .select({ n: sql<number>`count(*)` })
      .from(sequences)
      .where(usedBy);
    return new ApiError("conflict", `${n?.n ?? 0} sequence(s) use this schedule. Move them to another schedule first.`);
  };
  if (s.isDefault) throw await refusal();
  const gone = await d
    .delete(schedules)
    .where(and(eq(schedules.id, s.id), eq(schedules.isDefault, false), sql`not exists (select 1 from ${sequences} where ${usedBy})`))
    .returning({ id: schedules.id });
  if (!gone.length) throw await refusal();
  // No sequence sent by it, so no queued email moves (no rewindow).
  await d.insert(auditLog).values(auditEntry(caller, "schedule.delete", "schedule", s.id));
}
