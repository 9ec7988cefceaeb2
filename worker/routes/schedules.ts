import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, ne, sql } from "drizzle-orm";
import { db, runBatch } from "../db/client";
import { auditLog, schedules, sequences } from "../db/schema";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody } from "../lib/schemas";
import type { Caller } from "../env";
import { authorize, scheduleAllows, scheduleFor } from "../services/access";
import { auditEntry } from "../services/audit";
import { HOLIDAY_CALENDARS, holidaysFor, isValidTimeZone, nextWindowStart, validateWindows } from "../services/schedule-time";
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
    next_window_at: z.number().nullable(),
    can_edit: z.boolean().openapi({ description: "Whether you may change or delete it (its creator and admins)" }),
    created_at: z.number(),
  })
  .openapi("Schedule");

const ScheduleInput = z
  .object({
    name: z.string().trim().min(1).max(80),
    time_zone: z.string().refine(isValidTimeZone, "Unknown IANA time zone"),
    windows: Windows,
    holidays: z
      .array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "Use YYYY-MM-DD"))
      .max(366)
      .default([]),
    holiday_calendar: z.enum(HOLIDAY_CALENDARS).default("none"),
    use_contact_time_zone: z.boolean().default(false),
    is_default: z.boolean().default(false),
  })
  .openapi("ScheduleInput");

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

function present(r: typeof schedules.$inferSelect, count: number, caller: Caller) {
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
    can_edit: scheduleAllows(caller, "schedule.manage", r.createdBy),
    next_window_at: nextWindowStart(
      now(),
      scheduleToWindow({ time_zone: r.timeZone, windows: r.windows, holidays: r.holidays, holiday_calendar: r.holidayCalendar }),
    ),
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
      const teamId = caller.teamId;
      const d = db(c.env.DB);
      const rows = await d
        // Table-qualified on purpose: inside the subquery a bare "id" would be the sequence's.
        .select({
          s: schedules,
          n: sql<number>`(select count(*) from sequences q where q.schedule_id = "schedules"."id" and q.archived_at is null)`,
        })
        .from(schedules)
        .where(eq(schedules.teamId, teamId))
        .orderBy(asc(schedules.name));
      return c.json({ schedules: rows.map((r) => present(r.s, r.n, caller)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/schedules/holidays",
      tags: ["Schedules"],
      summary: "The built-in holiday calendars and their dates for a year",
      request: { query: z.object({ calendar: z.enum(HOLIDAY_CALENDARS), year: z.coerce.number().int().min(2000).max(2100) }) },
      responses: {
        200: json(z.object({ calendars: z.array(z.string()), holidays: z.array(z.object({ date: z.string(), name: z.string() })) })),
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      return c.json({ calendars: [...HOLIDAY_CALENDARS], holidays: holidaysFor(q.calendar, q.year) }, 200);
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
      authorize(caller, "schedule.create", "You can't create schedules");
      const body = c.req.valid("json");
      checkWindows(body.windows);
      const d = db(c.env.DB);
      const clash = await d.query.schedules.findFirst({ where: and(eq(schedules.teamId, caller.teamId), eq(schedules.name, body.name)) });
      if (clash)
        throw new ApiError("validation_failed", "A schedule with this name exists", {
          fields: [{ field: "name", message: "Pick another name" }],
        });
      const id = newId();
      const row = {
        id,
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
      await runBatch(d, [
        ...(body.is_default ? [d.update(schedules).set({ isDefault: false }).where(eq(schedules.teamId, caller.teamId))] : []),
        d.insert(schedules).values(row),
        d.insert(auditLog).values(auditEntry(caller, "schedule.create", "schedule", id)),
      ]);
      return c.json({ schedule: present(row, 0, caller) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/schedules/{id}",
      tags: ["Schedules"],
      summary: "Change a schedule; sequences using it follow from their next send",
      request: { params: IdParam, body: jsonBody(ScheduleInput.partial()) },
      responses: {
        200: json(z.object({ schedule: ScheduleSchema })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const body = c.req.valid("json");
      const d = db(c.env.DB);
      const s = await scheduleFor(d, caller, c.req.valid("param").id, "schedule.manage");
      if (body.windows) checkWindows(body.windows);
      if (body.name && body.name !== s.name) {
        const clash = await d.query.schedules.findFirst({
          where: and(eq(schedules.teamId, caller.teamId), eq(schedules.name, body.name), ne(schedules.id, s.id)),
        });
        if (clash)
          throw new ApiError("validation_failed", "A schedule with this name exists", {
            fields: [{ field: "name", message: "Pick another name" }],
          });
      }
      const patch = {
        ...(body.name !== undefined && { name: body.name }),
        ...(body.time_zone !== undefined && { timeZone: body.time_zone }),
        ...(body.windows !== undefined && { windows: body.windows }),
        ...(body.holidays !== undefined && { holidays: body.holidays }),
        ...(body.holiday_calendar !== undefined && { holidayCalendar: body.holiday_calendar }),
        ...(body.use_contact_time_zone !== undefined && { useContactTimeZone: body.use_contact_time_zone }),
        ...(body.is_default !== undefined && { isDefault: body.is_default }),
      };
      await runBatch(d, [
        ...(body.is_default ? [d.update(schedules).set({ isDefault: false }).where(eq(schedules.teamId, caller.teamId))] : []),
        d.update(schedules).set(patch).where(eq(schedules.id, s.id)),
        d.insert(auditLog).values(auditEntry(caller, "schedule.update", "schedule", s.id, body as Record<string, unknown>)),
      ]);
      const fresh = (await d.query.schedules.findFirst({ where: eq(schedules.id, s.id) }))!;
      const [n] = await d
        .select({ n: sql<number>`count(*)` })
        .from(sequences)
        .where(eq(sequences.scheduleId, s.id));
      return c.json({ schedule: present(fresh, n?.n ?? 0, caller) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/schedules/{id}",
      tags: ["Schedules"],
      summary: "Delete a schedule no sequence uses",
      request: { params: IdParam },
      responses: { 200: json(z.object({ ok: z.boolean() })), 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const s = await scheduleFor(d, caller, c.req.valid("param").id, "schedule.manage");
      const [n] = await d
        .select({ n: sql<number>`count(*)` })
        .from(sequences)
        .where(and(eq(sequences.scheduleId, s.id), eq(sequences.teamId, caller.teamId)));
      if ((n?.n ?? 0) > 0) throw new ApiError("conflict", `${n!.n} sequence(s) use this schedule. Move them to another schedule first.`);
      await d.batch([
        d.delete(schedules).where(eq(schedules.id, s.id)),
        d.insert(auditLog).values(auditEntry(caller, "schedule.delete", "schedule", s.id)),
      ]);
      return c.json({ ok: true }, 200);
    },
  );
