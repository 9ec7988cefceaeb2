import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, idList, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { isValidTimeZone } from "../services/schedule-time";
import {
  BULK_TASKS_MAX,
  bulkFinishTasks,
  CALL_OUTCOMES,
  finishTask,
  listTasks,
  logCall,
  sendTaskEmail,
  TASK_TYPE_FILTERS,
  TASK_VIEWS,
  updateTask,
} from "../services/tasks";

export const TaskSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    note: z.string(),
    status: z
      .enum(["open", "completed", "skipped", "cancelled"])
      .openapi({ description: "cancelled: its contact left the sequence, or its step was deleted or turned off, before it was done" }),
    due_at: z.number(),
    completed_at: z.number().nullable(),
    assignee_id: z.string(),
    assignee_name: z.string().nullable(),
    contact: z
      .object({
        id: z.string(),
        name: z.string(),
        email: z.string().nullable(),
        title: z.string().nullable(),
        company: z.string().nullable(),
        phone: z.string().nullable(),
        linkedin_url: z.string().nullable(),
        do_not_email: z.string().nullable().openapi({
          description: "Why this contact may not be emailed (suppressed, unsubscribed, bounced), in words; null: they may",
        }),
        deleted: z
          .boolean()
          .openapi({ description: "The contact was deleted: named 'Deleted contact', with no details (its page is gone)" }),
      })
      .nullable(),
    cancelled_because: z.enum(["left_sequence", "step_removed"]).nullable().openapi({
      description:
        "Why a cancelled task was: its contact left the sequence, or its step was deleted or turned off; null when the task is not cancelled or neither shows now",
    }),
    sequence: z.object({ id: z.string(), name: z.string() }).nullable(),
    draft: z
      .object({
        subject: z.string(),
        body: z.string(),
        reply_in_thread: z.boolean().openapi({ description: "The contact has a thread from this sequence: send it as a reply there" }),
        missing: z.array(z.string()).openapi({ description: "Variables with no value for this contact (they render empty)" }),
      })
      .nullable()
      .openapi({
        description:
          "A manual email's draft for this contact (the variant they get, rendered with their values, as the automatic email would be); null for other tasks and for a contact who may not be emailed",
      }),
    warning: z.string().nullable().openapi({
      description:
        "What stands in the way: a call task whose contact has no phone number, a manual email to a contact who may not be emailed (then draft is null)",
    }),
    run_paused: z.boolean().openapi({
      description:
        "The contact's run in the sequence is paused: completing the task records the step; the next one waits until it is resumed",
    }),
    overdue: z.boolean(),
    assignable_ids: z.array(z.string()).openapi({
      description:
        "Users an open task may be reassigned to (active, and may edit its sequence; for a task of no sequence, anyone active in the team: PATCH refuses others with 422); empty for a task that is done",
    }),
    can_work: z.boolean().openapi({
      description:
        "Whether you may complete, skip, log, reschedule or reassign this task (its assignee, the sequence's editors, admins; a task of no sequence: its assignee, admins). Acting on one you may not answers 403",
    }),
  })
  .openapi("Task");

const TaskQuery = Pagination.extend({
  view: z.enum(TASK_VIEWS).default("open"),
  assignee: z.enum(["me", "all"]).default("me"),
  time_zone: z
    .string()
    .max(64)
    .refine(isValidTimeZone, "Unknown IANA time zone")
    .default("UTC")
    .openapi({ description: "The caller's IANA zone: what 'today' means" }),
  type: z
    .enum(Object.keys(TASK_TYPE_FILTERS) as [keyof typeof TASK_TYPE_FILTERS, ...(keyof typeof TASK_TYPE_FILTERS)[]])
    .optional()
    .openapi({
      description:
        "Only tasks of this kind: call, linkedin (connect, message and profile visit), task (a to-do) or manual_email. The counts are of these too",
    }),
  sequence_id: z.string().min(1).max(64).optional().openapi({
    description: "Only this sequence's tasks (404 for a sequence you may not see). The counts are of these too",
  }),
});

const TaskDone = z.object({
  task: z.object({
    id: z.string(),
    status: z.string(),
    completed_at: z.number().nullable(),
    due_at: z.number().openapi({ description: "When the task is due (a call to call back: the new time)" }),
    run: z.enum(["moved_on", "finished", "paused", "sequence_off", "unchanged", "none"]).openapi({
      description:
        "What became of the contact's run: moved on to the next step, finished (reason says why; null: that was its last step), paused (the step is recorded; the next waits until the run is resumed), sequence_off (the step is recorded; nothing more goes until the sequence is turned on), unchanged (the task stays open, or the run had already left its step), none (a task of no sequence)",
    }),
    reason: z
      .enum(["meeting_booked", "not_interested"])
      .nullable()
      .openapi({ description: "Why the run finished: the call's outcome (a meeting booked is also recorded as the contact's meeting)" }),
  }),
});
const CallBody = z
  .object({
    outcome: z.enum(CALL_OUTCOMES).openapi({ description: "How the call went" }),
    notes: z.string().max(5000).optional().openapi({ description: "What was said: shown on the contact's timeline" }),
    complete: z.boolean().optional().openapi({
      description:
        "Complete the task too (the default without callback_at), moving the contact on; meeting_booked and not_interested finish the contact's run instead (they can't keep the task open: 422)",
    }),
    callback_at: z.number().int().optional().openapi({
      description:
        "Call back then (milliseconds since 1970, UTC; from now on, within a year, as PATCH /tasks/{id}'s due_at): the task stays open and is due at that time, moved in the same write that logs the call (both on the contact's timeline). Not with complete true, meeting_booked or not_interested (422 naming the field); call_back_later needs it unless complete is false (422). A task that is not a call: 409",
    }),
  })
  .openapi("CallLog");

const SendBody = z
  .object({
    subject: z.string().max(998).optional().openapi({
      description:
        "The subject as the rep edited it (variables allowed, checked as a step's are); left out: the draft's. Not for a reply in the contact's thread (422): it goes under the thread's subject",
    }),
    body: z.string().max(100_000).optional().openapi({
      description: "The body as the rep edited it (variables allowed, checked as a step's are; empty: 422); left out: the draft's",
    }),
  })
  .openapi("TaskEmailSend");

const TaskSent = z.object({
  task: TaskDone.shape.task.extend({
    run: z.enum(["queued"]).openapi({
      description: "The email is the mailbox's: the contact's run moves on to the next step once it is sent, not before",
    }),
    send_at: z.number().nullable().openapi({
      description:
        "When the mailbox will send it (milliseconds since 1970): now, or later when its daily or hourly limit is reached (it goes first once there is room); null: not planned yet",
    }),
  }),
});

const TaskPatch = z
  .object({
    due_at: z
      .number()
      .int()
      .optional()
      .openapi({ description: "When the task is due, in milliseconds since 1970 (UTC): from now on, within a year" }),
    assignee_id: Id.optional().openapi({
      description:
        "Who does it: an active user of the team who may edit the task's sequence (an admin, its owner or an editor); a task of no sequence: anyone active in the team",
    }),
  })
  .refine((b) => b.due_at !== undefined || b.assignee_id !== undefined, { message: "Send due_at, assignee_id or both", path: ["due_at"] })
  .openapi("TaskPatch");

const BulkBody = z
  .object({
    action: z.enum(["complete", "skip"]),
    task_ids: idList(BULK_TASKS_MAX, { tooMany: `At most ${BULK_TASKS_MAX} tasks at a time` }).openapi({
      description: `The tasks (at most ${BULK_TASKS_MAX} different ones; an id repeated counts once and is acted on once)`,
    }),
  })
  .strict()
  .openapi("TaskBulk");

const BulkOutcome = z.object({
  task_id: z.string(),
  outcome: z.enum(["done", "refused"]),
  task: TaskDone.shape.task.optional().openapi({ description: "done: as POST /tasks/{id}/{action} answers it" }),
  code: z.string().optional().openapi({
    description:
      "refused: not_found (not a task of yours to see), forbidden (you may not work it), conflict (already done or cancelled), manual_email (complete: a manual email is completed by sending it)",
  }),
  reason: z.string().optional().openapi({ description: "refused: why, in words" }),
});

export const taskRoutes = router()
  .openapi(
    createRoute({
      method: "post",
      path: "/tasks/bulk",
      tags: ["Tasks"],
      summary: `Complete or skip up to ${BULK_TASKS_MAX} tasks, each as POST /tasks/{id}/{action} would, answering each one's outcome`,
      request: { body: jsonBody(BulkBody) },
      responses: { 200: json(z.object({ outcomes: z.array(BulkOutcome) })), 422: errorResponses[422] },
    }),
    async (c) => {
      const { action, task_ids } = c.req.valid("json");
      return c.json({ outcomes: await bulkFinishTasks(c.env, c.var.db, c.get("caller"), action, task_ids) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/tasks",
      tags: ["Tasks"],
      summary: "Tasks: due today, overdue, upcoming, open or done",
      request: { query: TaskQuery },
      responses: {
        200: json(
          z.object({
            tasks: z.array(TaskSchema),
            pagination: PaginationMeta,
            counts: z.object({ due_today: z.number(), overdue: z.number(), upcoming: z.number(), open: z.number() }),
          }),
        ),
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await listTasks(c.var.db, c.get("caller"), q);
      return c.json({ tasks: page.tasks, pagination: paginationMeta(q.page, q.per_page, page.total), counts: page.counts }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/tasks/{id}",
      tags: ["Tasks"],
      summary: "Reschedule or reassign an open task (whoever may work it; recorded on the contact's timeline)",
      request: { params: IdParam, body: jsonBody(TaskPatch) },
      responses: {
        200: json(z.object({ task: z.object({ id: z.string(), status: z.string(), due_at: z.number(), assignee_id: z.string() }) })),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const t = await updateTask(c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json"));
      return c.json({ task: { id: t.id, status: t.status, due_at: t.dueAt, assignee_id: t.assigneeId } }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/tasks/{id}/call",
      tags: ["Tasks"],
      summary:
        "Log a call (outcome and notes, on the contact's timeline) and, by default, complete the task: meeting_booked books the meeting and finishes the run, not_interested finishes it, others move the contact on; with callback_at the task stays open and is moved to that time in the same write",
      request: { params: IdParam, body: { required: true, content: { "application/json": { schema: CallBody } } } },
      responses: {
        200: json(TaskDone),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const { outcome, notes, complete, callback_at } = c.req.valid("json");
      const id = c.req.valid("param").id;
      // A call back keeps the task open: without callback_at, logging completes it unless told not to.
      const task = await logCall(
        c.env,
        c.var.db,
        c.get("caller"),
        id,
        { outcome, notes },
        complete ?? callback_at === undefined,
        callback_at,
      );
      return c.json({ task }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/tasks/{id}/send",
      tags: ["Tasks"],
      summary:
        "Send a manual email's task from the contact's mailbox (the draft, or the rep's edit of it): threaded and recorded as the step's email, sent once however often it is asked, then the task is completed and the contact moves on",
      request: { params: IdParam, body: { content: { "application/json": { schema: SendBody } } } },
      responses: {
        200: json(TaskSent),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const body = c.req.valid("json") ?? {};
      const task = await sendTaskEmail(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, body);
      return c.json({ task }, 200);
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
      responses: { 200: json(TaskDone), 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const { id, action } = c.req.valid("param");
      const note = (c.req.valid("json") ?? {}).note;
      return c.json({ task: await finishTask(c.env, c.var.db, c.get("caller"), id, action, { note }) }, 200);
    },
  );
