import { createRoute, z } from "@hono/zod-openapi";
import { listMessages, rawMessage } from "../services/messages";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";

const MessageSchema = z
  .object({
    id: z.string(),
    status: z.enum(["scheduled", "sending", "sent", "failed", "bounced", "unknown", "cancelled"]),
    to_email: z.string(),
    subject: z.string(),
    body: z.string(),
    message_id: z.string(),
    in_reply_to: z.string().nullable(),
    error: z.string().nullable(),
    sent_at: z.number().nullable(),
    replied_at: z.number().nullable().openapi({
      description:
        "When the contact replied to this email or to a later one of the same run (an out-of-office is not a reply); null when they haven't",
    }),
    mailbox: z.object({ id: z.string(), email: z.string() }).nullable(),
    sequence: z.object({ id: z.string(), name: z.string() }).nullable(),
    contact: z.object({ id: z.string(), name: z.string() }).nullable(),
    step_id: z.string(),
    enrollment_id: z.string(),
  })
  .openapi("Message");

const MessageQuery = Pagination.extend({
  mailbox_id: z.string().optional(),
  sequence_id: z.string().optional(),
  contact_id: z.string().optional(),
  status: z
    .enum(["sent", "failed", "bounced", "unknown", "sent_or_bounced", "replied"])
    .optional()
    .openapi({
      description:
        "sent: accepted by the transport and not bounced; bounced: went out and came back (the address is suppressed); " +
        "sent_or_bounced: both, every email that went out, as the sequence list and report count sent; " +
        "unknown: the server may have accepted it but didn't confirm; failed: sending failed; " +
        "replied: the contact answered it or a later email of the same run (an out-of-office is not a reply), as replied_at says, whatever its status",
    }),
});

export const messageRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/messages",
      tags: ["Outbox"],
      summary: "Emails sent (the Outbox), newest first",
      description:
        "A sequence, mailbox or contact filter you can't see (another team's, deleted, or a sequence not shared with you) answers 404.",
      request: { query: MessageQuery },
      responses: {
        200: json(z.object({ messages: z.array(MessageSchema), pagination: PaginationMeta })),
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await listMessages(c.var.db, c.get("caller"), q);
      return c.json({ messages: page.messages, pagination: paginationMeta(q.page, q.per_page, page.total) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/messages/{id}/raw",
      tags: ["Outbox"],
      summary: "The exact RFC 5322 message as handed to the transport",
      request: { params: IdParam },
      responses: {
        200: { description: "message/rfc822", content: { "message/rfc822": { schema: z.string() } } },
        404: errorResponses[404],
      },
    }),
    async (c) =>
      c.body(await rawMessage(c.var.db, c.get("caller"), c.req.valid("param").id), 200, {
        "content-type": "message/rfc822; charset=utf-8",
      }),
  );
