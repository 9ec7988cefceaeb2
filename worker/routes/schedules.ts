import { createRoute, z } from "@hono/zod-openapi";
import { now } from "../lib/clock";
import { router } from "../lib/openapi";
import { CalendarDate, errorResponses, IdParam, json, jsonBody } from "../lib/schemas";
import type { Caller } from "../env";
import { scheduleAllows } from "../services/access";
import { createSchedule, deleteSchedule, listSchedules, updateSchedule, type Schedule } from "../services/schedules";
import {
  holidayCalendars,
  holidaysFor,
  isHolidayCalendar,
  isValidTimeZone,
  NO_CALENDAR,
  nextWindowStart,
  windowEnd,
} from "../services/schedule-time";
import { scheduleToWindow } from "../../durable-objects/sequence-config";

const Windows = z.record(z.string(), z.array(z.tuple([z.string(), z.string()])).max(6)).openapi({
  description: 'ISO weekday ("1" = Monday … "7" = Sunday) → sending windows as ["HH:MM", "HH:MM"] local times',
  example: {
    "1": [
      ["09:00", "12:00"],
      ["13:00", "17:00"],
    ],
  },
});

const ScheduleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    time_zone: z.string(),
    windows: z.record(z.string(), z.array(z.tuple([z.string(), z.string()]))),
    holidays: z.array(z.string()),
    holiday_calendar: z.string(),
    use_contact_time_zone: z.boolean(),
    is_default: z.boolean(),
    sequences: z.number(),
    next_window_at: z.number().nullable().openapi({ description: "When its sending window next opens; now while it is open" }),
    window_open_until: z
      .number()
      .nullable()
      .openapi({ description: "While its sending window is open: when that window closes; null while it is closed" }),
    can_edit: z.boolean().openapi({ description: "Whether you may change or delete it (its creator and admins)" }),
    created_at: z.number(),
  })
  .openapi("Schedule");

const UNKNOWN_CALENDAR = `Not a holiday calendar: use "${NO_CALENDAR}", a country code such as "DE" or a state code such as "DE-BY" (GET /api/schedules/holiday-calendars lists them)`;
const HolidayCalendar = z
  .string()
  // Checked first and alone: a long string never reaches the calendar lookup (and its memo).
  .max(16, { message: UNKNOWN_CALENDAR, abort: true })
  .refine(isHolidayCalendar, UNKNOWN_CALENDAR)
  .openapi({
    description: `"${NO_CALENDAR}", a country ("DE") or a country's state or region ("DE-BY") from GET /schedules/holiday-calendars: its public holidays are skipped`,
    example: "DE-BY",
  });

const ScheduleFields = z.object({
  name: z.string().trim().min(1).max(80),
  time_zone: z.string().refine(isValidTimeZone, "Unknown IANA time zone"),
  windows: Windows,
  holidays: z.array(CalendarDate).max(366),
  holiday_calendar: HolidayCalendar,
  use_contact_time_zone: z.boolean(),
  is_default: z.boolean(),
});

/** A new schedule: what it leaves out takes the defaults. */
const ScheduleInput = ScheduleFields.extend({
  holidays: ScheduleFields.shape.holidays.default([]),
  holiday_calendar: ScheduleFields.shape.holiday_calendar.default(NO_CALENDAR),
  use_contact_time_zone: ScheduleFields.shape.use_contact_time_zone.default(false),
  is_default: ScheduleFields.shape.is_default.default(false),
}).openapi("ScheduleInput");

// A change: only the fields sent. Never built from ScheduleInput: zod fills a .default() in for an
// absent optional key, so a rename would reset the holidays, the calendar and the default.
const SchedulePatch = ScheduleFields.partial().openapi("SchedulePatch");

function present(r: Schedule, count: number, caller: Caller) {
  const t = now();
  const window = scheduleToWindow({ time_zone: r.timeZone, windows: r.windows, holidays: r.holidays, holiday_calendar: r.holidayCalendar });
  return {
    id: r.id,
    name: r.name,
    time_zone: r.timeZone,
    windows: r.windows,
    holidays: r.holidays,
    holiday_calendar: r.holidayCalendar,
    use_contact_time_zone: r.useContactTimeZone,
    is_default: r.isDefault,
    sequences: count,
    can_edit: scheduleAllows(caller, "schedule.manage", r.createdBy) && (!r.isDefault || scheduleAllows(caller, "schedule.default", null)),
    next_window_at: nextWindowStart(t, window),
    window_open_until: windowEnd(t, window),
    created_at: r.createdAt,
  };
}

export const scheduleRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/schedules",
      tags: ["Schedules"],
      summary: "The team's sending schedules",
      responses: { 200: json(z.object({ schedules: z.array(ScheduleSchema) })) },
    }),
    async (c) => {
      const caller = c.get("caller");
      const rows = await listSchedules(c.var.db, caller);
      return c.json({ schedules: rows.map((r) => present(r.schedule, r.sequences, caller)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/schedules/holiday-calendars",
      tags: ["Schedules"],
      summary: "The built-in holiday calendars a schedule can pick: countries and their states or regions (public holidays only)",
      responses: {
        200: json(
          z.object({
            calendars: z.array(
              z.object({
                code: z.string(),
                name: z.string(),
                whole: z
                  .string()
                  .openapi({ description: 'What the country\'s code alone covers: "All of Germany", "England & Wales" for GB' }),
                regions: z.array(z.object({ code: z.string(), name: z.string() })),
              }),
            ),
          }),
        ),
      },
    }),
    (c) => c.json({ calendars: holidayCalendars() }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/schedules/holidays",
      tags: ["Schedules"],
      summary: "A built-in holiday calendar's public holidays in a year",
      request: { query: z.object({ calendar: HolidayCalendar, year: z.coerce.number().int().min(2000).max(2100) }) },
      responses: {
        200: json(z.object({ holidays: z.array(z.object({ date: z.string(), name: z.string() })) })),
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      return c.json({ holidays: holidaysFor(q.calendar, q.year) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/schedules",
      tags: ["Schedules"],
      summary: "Create a schedule",
      request: { body: jsonBody(ScheduleInput) },
      responses: {
        201: json(z.object({ schedule: ScheduleSchema }), "Created"),
        403: errorResponses[403],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const row = await createSchedule(c.env, c.var.db, caller, c.req.valid("json"));
      return c.json({ schedule: present(row, 0, caller) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/schedules/{id}",
      tags: ["Schedules"],
      summary: "Change a schedule; sequences using it follow from their next send",
      request: { params: IdParam, body: jsonBody(SchedulePatch) },
      responses: {
        200: json(z.object({ schedule: ScheduleSchema })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const r = await updateSchedule(c.env, c.var.db, caller, c.req.valid("param").id, c.req.valid("json"));
      return c.json({ schedule: present(r.schedule, r.sequences, caller) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/schedules/{id}",
      tags: ["Schedules"],
      summary: "Delete a schedule no sequence uses (the team's default can't be: make another schedule the default first)",
      request: { params: IdParam },
      responses: { 200: json(z.object({ ok: z.boolean() })), 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      await deleteSchedule(c.var.db, c.get("caller"), c.req.valid("param").id);
      return c.json({ ok: true }, 200);
    },
  );
