import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import { db } from "../db/client";
import { contacts, mailboxes, messages, sequences } from "../db/schema";
import { notFound } from "../lib/errors";
import { messageFor, visibleMessages } from "../services/access";
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
  status: z.enum(["sent", "failed", "bounced", "unknown"]).optional(),
});

export const messageRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/messages",
      tags: ["Outbox"],
      summary: "Emails sent (the Outbox), newest first",
      request: { query: MessageQuery },
      responses: { 200: json(z.object({ messages: z.array(MessageSchema), pagination: PaginationMeta })) },
    }),
    async (c) => {
      const caller = c.get("caller");
      const q = c.req.valid("query");
      const d = db(c.env.DB);
      const where = and(
        eq(messages.teamId, caller.teamId),
        visibleMessages(caller),
        q.mailbox_id ? eq(messages.mailboxId, q.mailbox_id) : undefined,
        q.sequence_id ? eq(messages.sequenceId, q.sequence_id) : undefined,
        q.contact_id ? eq(messages.contactId, q.contact_id) : undefined,
        q.status ? eq(messages.status, q.status) : undefined,
      );
      const [rows, total] = await Promise.all([
        d.select({ m: messages, mb: { id: mailboxes.id, email: mailboxes.email }, s: { id: sequences.id, name: sequences.name }, c: { id: contacts.id, first: contacts.firstName, last: contacts.lastName } })
          .from(messages)
          .leftJoin(mailboxes, eq(mailboxes.id, messages.mailboxId))
          .leftJoin(sequences, eq(sequences.id, messages.sequenceId))
          .leftJoin(contacts, eq(contacts.id, messages.contactId))
          .where(where)
          .orderBy(desc(messages.sentAt), desc(messages.id))
          .limit(q.per_page)
          .offset((q.page - 1) * q.per_page),
        d.select({ n: sql<number>`count(*)` }).from(messages).where(where),
      ]);
      return c.json({
        messages: rows.map((r) => ({
          id: r.m.id, status: r.m.status, to_email: r.m.toEmail, subject: r.m.subject, body: r.m.body, message_id: r.m.messageIdHeader,
          in_reply_to: r.m.inReplyTo, error: r.m.error, sent_at: r.m.sentAt, step_id: r.m.stepId, enrollment_id: r.m.enrollmentId,
          mailbox: r.mb?.id ? r.mb : null,
          sequence: r.s?.id ? r.s : null,
          contact: r.c?.id ? { id: r.c.id, name: `${r.c.first} ${r.c.last}`.trim() } : null,
        })),
        pagination: paginationMeta(q.page, q.per_page, total[0]?.n ?? 0),
      }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/messages/{id}/raw",
      tags: ["Outbox"],
      summary: "The exact RFC 5322 message as handed to the transport",
      request: { params: IdParam },
      responses: { 200: { description: "message/rfc822", content: { "message/rfc822": { schema: z.string() } } }, 404: errorResponses[404] },
    }),
    async (c) => {
      const row = await messageFor(db(c.env.DB), c.get("caller"), c.req.valid("param").id);
      if (!row.raw) throw notFound("Message");
      return c.body(row.raw, 200, { "content-type": "message/rfc822; charset=utf-8" });
    },
  );
