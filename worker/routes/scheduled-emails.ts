import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { EpochMs, errorResponses, json, jsonBody } from "../lib/schemas";
import {
  actOnScheduledEmail,
  listScheduledEmails,
  previewScheduledEmail,
  SCHEDULED_SORTS,
  SEND_SORT_MAX,
} from "../services/scheduled-emails";
import { EmailBody, EmailSubject, EMPTY_BODY } from "../services/steps";

/**
 * Scheduled emails (issue 12 item 8): the one way in to list the automatic emails not sent yet (of a
 * sequence, a contact or a mailbox), preview one as the contact will get it, and act on it.
 */

const ScheduledEmailSchema = z
  .object({
    enrollment_id: z.string(),
    step: z.object({ id: z.string(), position: z.number(), thread_reply: z.boolean() }),
    from_task: z.boolean().openapi({
      description:
        "A manual email its rep sent from its task (POST /api/tasks/{id}/send), waiting in the mailbox first in line (at its daily or hourly limit): shown with when it goes; its actions are refused (409). A pause of the contact or of the sequence takes it back from the mailbox: it stays listed, status paused or held, with no send_at, and goes once the pause ends",
    }),
    contact: z.object({ id: z.string(), name: z.string(), email: z.string().nullable() }),
    sequence: z.object({ id: z.string(), name: z.string() }),
    mailbox: z.object({ id: z.string(), email: z.string(), status: z.string() }).nullable(),
    status: z.enum(["active", "paused", "held"]).openapi({ description: "The contact's status in the sequence" }),
    state: z.enum(["queued", "waiting", "held"]).openapi({
      description: "queued: in the mailbox now; waiting: its step's wait has not passed; held: it won't go as things are (reason says why)",
    }),
    due_at: z.number().nullable().openapi({
      description:
        "When its step falls due (epoch ms): its wait from the step before has passed then. The list's order with sort=due_at; null while the contact is paused or held",
    }),
    send_at: z.number().nullable().openapi({
      description:
        "When it will go out as the mailbox plans it now (epoch ms); later than due_at when the sending window or the mailbox's limits hold it; null when it won't",
    }),
    reason: z.string().nullable().openapi({ description: "Why it goes at send_at rather than its step's time, or why it won't go" }),
    reason_text: z.string().nullable().openapi({
      description:
        "The reason in words; a wait on the mailbox in its plan's numbers: how many emails go first (to higher-scored contacts, or scored the same and due earlier) and the limit that binds (so many a day, an hour, or the spacing)",
    }),
    paused_until: z.number().nullable(),
    edited: z.boolean().openapi({ description: "Edited for this one contact" }),
    send_now: z.boolean(),
    rescheduled_to: z.number().nullable(),
    can_edit: z
      .boolean()
      .openapi({ description: "May the caller act on it (edit the sequence, and not an email sent from its task)? Else preview only" }),
  })
  .openapi("ScheduledEmail");

const Key = z.object({
  enrollment_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "enrollment_id", in: "path" } }),
  step_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "step_id", in: "path" } }),
});

const ActionResult = z
  .object({
    enrollment_id: z.string(),
    step_id: z.string(),
    action: z.enum(["edit", "send-now", "skip", "reschedule"]),
    send_at: z.number().nullable().openapi({
      description:
        "send-now and reschedule: when it will go as the mailbox plans it (later than asked when the mailbox's limits are full); skip: when the next step falls due",
    }),
  })
  .openapi("ScheduledEmailAction");

const actionResponses = {
  200: json(ActionResult),
  403: errorResponses[403],
  404: errorResponses[404],
  409: errorResponses[409],
  422: errorResponses[422],
} as const;

export const scheduledEmailRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/scheduled-emails",
      tags: ["Scheduled emails"],
      summary:
        "Automatic emails not sent yet, and manual emails sent from their tasks that their mailbox still holds, of a sequence, a contact or a mailbox (or all you can see), soonest to go first: when each will go, or why it won't",
      request: {
        query: z.object({
          sequence_id: z.string().max(64).optional(),
          contact_id: z.string().max(64).optional(),
          mailbox_id: z.string().max(64).optional(),
          sort: z
            .enum(SCHEDULED_SORTS)
            .optional()
            .openapi({
              description: `send_at (default): by when each goes as its mailbox plans it now (those that won't go last), for a list of up to ${SEND_SORT_MAX} emails; a longer one comes in due_at order, and \`sort\` in the answer says which. due_at: by when each step falls due`,
            }),
          cursor: z.string().max(400).optional().openapi({ description: "next_cursor of the previous page (with the same sort)" }),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
      },
      responses: {
        200: json(
          z.object({
            scheduled: z.array(ScheduledEmailSchema),
            total: z.number().openapi({
              description:
                "How many scheduled emails the filters match over every page (the rows a caller paging to the end gets), counted from D1's open runs",
            }),
            sort: z.enum(SCHEDULED_SORTS).openapi({
              description: `The order of the list: send_at as asked, or due_at (asked, or a list of more than ${SEND_SORT_MAX} emails, too long to sort by send time)`,
            }),
            next_cursor: z.string().nullable(),
          }),
        ),
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => c.json(await listScheduledEmails(c.env, c.var.db, c.get("caller"), c.req.valid("query")), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/scheduled-emails/{enrollment_id}/{step_id}",
      tags: ["Scheduled emails"],
      summary:
        "A scheduled email as the contact will get it: built by the send path's composer (variant, variables and custom fields, this contact's edit, same-thread subject, signature, unsubscribe footer)",
      request: { params: Key },
      responses: {
        200: json(
          z
            .object({
              enrollment_id: z.string(),
              step: z.object({ id: z.string(), position: z.number(), thread_reply: z.boolean() }),
              variant: z.object({ id: z.string(), label: z.string() }).nullable(),
              from: z.object({ email: z.string(), name: z.string() }),
              to: z.string(),
              subject: z.string(),
              body: z.string().openapi({ description: "What the contact reads: the body, the signature and the footer" }),
              in_reply_to: z.string().nullable(),
              template: z
                .object({ subject: z.string(), body: z.string() })
                .openapi({ description: "The text to edit, with its {{variables}}" }),
              edited: z.object({ subject: z.string().nullable(), body: z.string().nullable() }).nullable(),
              missing: z.array(z.string()).openapi({
                description:
                  "Variables this contact has no value for and no fallback, where the email shows them (a same-thread reply's subject is the thread's): the send refuses such an email",
              }),
              refused: z
                .object({
                  reason: z
                    .string()
                    .openapi({ description: "The send path's reason code, e.g. missing_variables: first_name, or no_variant" }),
                  text: z.string(),
                })
                .nullable()
                .openapi({
                  description: "Why this email won't be sent as it is: the contact is paused on this step instead. Null: it goes",
                }),
            })
            .openapi("ScheduledEmailPreview"),
        ),
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const { enrollment_id, step_id } = c.req.valid("param");
      return c.json(await previewScheduledEmail(c.env, c.var.db, c.get("caller"), enrollment_id, step_id), 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/scheduled-emails/{enrollment_id}/{step_id}",
      tags: ["Scheduled emails"],
      summary:
        "Edit a scheduled email for this one contact ({{variables}} still fill in, and are checked as a step's are); a field left out keeps its edit, null restores the step's own text. 409 once it was sent",
      request: {
        params: Key,
        body: jsonBody(
          z
            .object({
              // A step's limits (services/steps.ts): the same email, edited for one contact.
              subject: EmailSubject.trim().min(1, "A subject is required").nullable().optional(),
              body: EmailBody.refine((b) => b.trim() !== "", EMPTY_BODY)
                .nullable()
                .optional(),
            })
            .refine((v) => v.subject !== undefined || v.body !== undefined, { message: "Give a subject or a body", path: ["body"] }),
        ),
      },
      responses: actionResponses,
    }),
    async (c) => {
      const { enrollment_id, step_id } = c.req.valid("param");
      const b = c.req.valid("json");
      return c.json(
        await actOnScheduledEmail(c.env, c.var.db, c.get("caller"), enrollment_id, step_id, {
          kind: "edit",
          subject: b.subject,
          body: b.body,
        }),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/scheduled-emails/{enrollment_id}/{step_id}/send-now",
      tags: ["Scheduled emails"],
      summary:
        "Send now: next in line in its mailbox, outside the sequence's window and ahead of its wait, but never past the mailbox's daily or hourly limit or spacing, and after the same unsubscribe, bounce and reply checks. send_at says when it will go",
      request: { params: Key },
      responses: actionResponses,
    }),
    async (c) => {
      const { enrollment_id, step_id } = c.req.valid("param");
      return c.json(await actOnScheduledEmail(c.env, c.var.db, c.get("caller"), enrollment_id, step_id, { kind: "send-now" }), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/scheduled-emails/{enrollment_id}/{step_id}/skip",
      tags: ["Scheduled emails"],
      summary: "Skip this email: the contact moves on to the next step, whose wait counts from now. 409 if it is already going out",
      request: { params: Key },
      responses: actionResponses,
    }),
    async (c) => {
      const { enrollment_id, step_id } = c.req.valid("param");
      return c.json(await actOnScheduledEmail(c.env, c.var.db, c.get("caller"), enrollment_id, step_id, { kind: "skip" }), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/scheduled-emails/{enrollment_id}/{step_id}/reschedule",
      tags: ["Scheduled emails"],
      summary:
        "Send this email at a chosen instant (in the future and inside the sequence's sending window, else 422 naming the next opening) instead of its step's time",
      request: {
        params: Key,
        body: jsonBody(z.object({ at: EpochMs })),
      },
      responses: actionResponses,
    }),
    async (c) => {
      const { enrollment_id, step_id } = c.req.valid("param");
      const { at } = c.req.valid("json");
      return c.json(await actOnScheduledEmail(c.env, c.var.db, c.get("caller"), enrollment_id, step_id, { kind: "reschedule", at }), 200);
    },
  );
