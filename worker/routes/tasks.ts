import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gte, isNull, lt, or, sql } from "drizzle-orm";
import { db } from "../db/client";
import { contacts, sequences, tasks, users } from "../db/schema";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { engine } from "../../durable-objects/engine";
import { taskFor, visibleSequence } from "../services/access";
import { isValidTimeZone, windowEnd } from "../services/schedule-time";

export const TaskSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    note: z.string(),
    status: z.enum(["open", "completed", "skipped"]),
    due_at: z.number(),
    completed_at: z.number().nullable(),
    assignee_id: z.string(),
    assignee_name: z.string().nullable(),
    contact: z.object({ id: z.string(), name: z.string(), email: z.string().nullable(), title: z.string().nullable(), company: z.string().nullable(), phone: z.string().nullable(), linkedin_url: z.string().nullable() }).nullable(),
    sequence: z.object({ id: z.string(), name: z.string() }).nullable(),
    overdue: z.boolean(),
  })
  .openapi("Task");

const TaskQuery = Pagination.extend({
  view: z.enum(["due_today", "overdue", "upcoming", "open", "done"]).default("open"),
  assignee: z.enum(["me", "all"]).default("me"),
  time_zone: z.string().refine(isValidTimeZone, "Unknown IANA time zone").default("UTC").openapi({ description: "The caller's IANA zone: what 'today' means" }),
});

const ALL_DAY = { timeZone: "UTC", windows: Object.fromEntries(["1", "2", "3", "4", "5", "6", "7"].map((d) => [d, [["00:00", "24:00"]]])) as Record<string, [string, string][]>, holidays: [], holidayCalendar: "none" };

/** Start and end of the local calendar day containing `t` in `zone` (the end is DST-exact). */
function localDayBounds(t: number, zone: string): [number, number] {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).formatToParts(t).map((p) => [p.type, p.value]));
  const start = t - ((Number(parts.hour) * 60 + Number(parts.minute)) * 60 + Number(parts.second)) * 1000 - (t % 1000);
  return [start, windowEnd(t, { ...ALL_DAY, timeZone: zone }) ?? start + 86_400_000];
}

export const taskRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/tasks",
      tags: ["Tasks"],
      summary: "Tasks: due today, overdue, upcoming, open or done",
      request: { query: TaskQuery },
      responses: { 200: json(z.object({ tasks: z.array(TaskSchema), pagination: PaginationMeta, counts: z.object({ due_today: z.number(), overdue: z.number(), upcoming: z.number(), open: z.number() }) })) },
    }),
    async (c) => {
      const caller = c.get("caller");
      const q = c.req.valid("query");
      const d = db(c.env.DB);
      const t = now();
      const [startOfDay, endOfDay] = localDayBounds(t, q.time_zone);
      // Tasks of sequences the caller can't see stay hidden, except the ones assigned to them.
      const seen = visibleSequence(caller, tasks.sequenceId);
      const base = [
        eq(tasks.teamId, caller.teamId),
        ...(q.assignee === "me" ? [eq(tasks.assigneeId, caller.userId)] : []),
        ...(seen ? [or(eq(tasks.assigneeId, caller.userId), isNull(tasks.sequenceId), seen)!] : []),
      ];
      const open = eq(tasks.status, "open");
      const view = {
        due_today: and(open, gte(tasks.dueAt, startOfDay), lt(tasks.dueAt, endOfDay)),
        overdue: and(open, lt(tasks.dueAt, startOfDay)),
        upcoming: and(open, gte(tasks.dueAt, endOfDay)),
        open,
        done: sql`${tasks.status} <> 'open'`,
      }[q.view];
      const where = and(...base, view);
      const [rows, total, counts] = await Promise.all([
        d
          .select({ t: tasks, c: contacts, s: { id: sequences.id, name: sequences.name }, assignee: users.name })
          .from(tasks)
          .leftJoin(contacts, and(eq(contacts.id, tasks.contactId), eq(contacts.teamId, tasks.teamId)))
          .leftJoin(sequences, eq(sequences.id, tasks.sequenceId))
          .leftJoin(users, eq(users.id, tasks.assigneeId))
          .where(where)
          .orderBy(q.view === "done" ? desc(tasks.completedAt) : asc(tasks.dueAt), asc(tasks.id))
          .limit(q.per_page)
          .offset((q.page - 1) * q.per_page),
        d.select({ n: sql<number>`count(*)` }).from(tasks).where(where),
        d.select({
          due_today: sql<number>`sum(case when ${tasks.dueAt} >= ${startOfDay} and ${tasks.dueAt} < ${endOfDay} then 1 else 0 end)`,
          overdue: sql<number>`sum(case when ${tasks.dueAt} < ${startOfDay} then 1 else 0 end)`,
          upcoming: sql<number>`sum(case when ${tasks.dueAt} >= ${endOfDay} then 1 else 0 end)`,
          open: sql<number>`count(*)`,
        }).from(tasks).where(and(...base, open)),
      ]);
      return c.json({
        tasks: rows.map((r) => ({
          id: r.t.id, type: r.t.type, note: r.t.note, status: r.t.status, due_at: r.t.dueAt, completed_at: r.t.completedAt,
          assignee_id: r.t.assigneeId, assignee_name: r.assignee,
          contact: r.c ? { id: r.c.id, name: `${r.c.firstName} ${r.c.lastName}`.trim(), email: r.c.email, title: r.c.title, company: r.c.company, phone: r.c.phone, linkedin_url: r.c.linkedinUrl } : null,
          sequence: r.s?.id ? { id: r.s.id, name: r.s.name } : null,
          overdue: r.t.status === "open" && r.t.dueAt < startOfDay,
        })),
        pagination: paginationMeta(q.page, q.per_page, total[0]?.n ?? 0),
        counts: { due_today: counts[0]?.due_today ?? 0, overdue: counts[0]?.overdue ?? 0, upcoming: counts[0]?.upcoming ?? 0, open: counts[0]?.open ?? 0 },
      }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/tasks/{id}/{action}",
      tags: ["Tasks"],
      summary: "Complete or skip a task; its contact moves on to the next step",
      request: {
        params: IdParam.extend({ action: z.enum(["complete", "skip"]).openapi({ param: { name: "action", in: "path" } }) }),
        body: { content: { "application/json": { schema: z.object({ note: z.string().max(2000).optional() }) } } },
      },
      responses: { 200: json(z.object({ task: z.object({ id: z.string(), status: z.string(), completed_at: z.number().nullable() }) })), 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id, action } = c.req.valid("param");
      const d = db(c.env.DB);
      const task = await taskFor(d, caller, id);
      if (task.status !== "open") throw new ApiError("conflict", `This task is already ${task.status}`);
      const t = now();
      const status = action === "complete" ? "completed" : "skipped";
      const note = (c.req.valid("json") ?? {}).note;
      const [row] = await d.update(tasks).set({ status, completedAt: t, ...(note && { note: `${task.note}\n${note}`.trim() }) })
        .where(and(eq(tasks.id, task.id), eq(tasks.status, "open"))).returning();
      if (!row) throw new ApiError("conflict", "This task was just completed by someone else");
      if (task.sequenceId && task.enrollmentId && task.stepId) {
        await engine.sequence(c.env, task.sequenceId, task.teamId).stepsDone([{ enrollmentId: task.enrollmentId, stepId: task.stepId, outcome: status, at: t }]);
      }
      return c.json({ task: { id: row.id, status: row.status, completed_at: row.completedAt } }, 200);
    },
  );
