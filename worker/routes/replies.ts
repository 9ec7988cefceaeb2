import { createRoute, z } from "@hono/zod-openapi";
import { INBOUND_CLASSIFICATIONS } from "../db/schema";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, idList, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { correctClassification, getReply, listReplies, replyText } from "../services/replies";
import { confirmReplies, MAX_CONFIRM } from "../services/replies-bulk";
import { withContactWork } from "../services/reply-work";
import { ANSWER_BODY_MAX, answerReply } from "../services/reply-answer";

const Classification = z.enum(INBOUND_CLASSIFICATIONS).openapi({
  description:
    "reply; out_of_office (paused until return_at); auto_reply (no effect); bounce_hard (suppressed at once); bounce_soft (sent again after 1 h, 4 h, 24 h, then counted as hard); unsubscribe (asked to be removed: suppressed)",
});

const ReplySchema = z
  .object({
    id: z.string(),
    classification: Classification,
    detected: Classification.openapi({
      description: "What Seqflare classified it as; differs from classification once a user corrected it",
    }),
    corrected: z.boolean(),
    evidence: z
      .object({ rule: z.string(), header: z.string().optional(), phrase: z.string().optional(), status: z.string().optional() })
      .openapi({ description: "What decided the classification: the rule, and the header, phrase or delivery status it read" }),
    from_email: z.string(),
    subject: z.string(),
    snippet: z.string(),
    received_at: z.number(),
    return_at: z.number().nullable(),
    bounce_status: z.string().nullable(),
    retry: z.object({ attempt: z.number(), of: z.number(), next_at: z.number().nullable() }).nullable(),
    reviewed_at: z.number().nullable(),
    reviewed_by: z.string().nullable(),
    message_id: z.string(),
    enrollment_id: z.string(),
    applied_to: z
      .array(
        z.object({
          sequence_id: z.string().nullable(),
          sequence_name: z.string().nullable(),
          action: z.enum(["finish", "pause"]),
          enrollments: z.number(),
          contact: z.object({ id: z.string(), name: z.string() }).optional().openapi({
            description:
              "The other contact record with the address (a duplicate) whose runs these were; absent for the email's own contact",
          }),
        }),
      )
      .openapi({
        description:
          "Where it took effect: per sequence, the runs it finished or paused (a reply stops the contact in every sequence whose 'finish on reply' is on; an out-of-office pauses them all), the address's other contact records' runs too. A sequence you can't see has no id or name.",
      }),
    can_correct: z.boolean().openapi({ description: "Whether you may correct its classification (the sequence's editors and admins)" }),
    can_take_back: z.boolean().openapi({
      description:
        "Whether you may correct it to another classification: taking back an unsubscribe request or a hard bounce lifts the address's suppression, which needs suppressions.manage (team admins); otherwise the same as can_correct",
    }),
    contact: z
      .object({
        id: z.string(),
        name: z.string(),
        email: z.string().nullable(),
        company: z.string().nullable(),
        stage: z
          .object({ id: z.string(), name: z.string(), category: z.string() })
          .nullable()
          .openapi({ description: "The contact's stage now (POST /contacts/stage moves it)" }),
        meeting_booked_at: z
          .number()
          .nullable()
          .openapi({ description: "When its latest meeting was booked (POST /contacts/{id}/meeting-booked marks one); null: none" }),
      })
      .nullable(),
    sequence: z.object({ id: z.string(), name: z.string() }).nullable(),
    answer: z
      .object({
        from: z.object({ id: z.string(), email: z.string() }).nullable(),
        can: z.boolean(),
        why: z.string().nullable(),
      })
      .openapi({
        description:
          "Answering it from the inbox (POST /replies/{id}/reply): the mailbox it came to, which the answer goes from; whether you may (its owner or an admin, a person's email, not a request to be removed), and why not",
      }),
    answered: z
      .object({ subject: z.string(), sent_at: z.number().nullable(), step: z.number().nullable(), mailbox: z.string().nullable() })
      .nullable(),
    enrollment: z
      .object({
        status: z.string(),
        reason: z.string().nullable(),
        reason_text: z.string().nullable().openapi({ description: "The reason in words, as the sequence's contacts tab says it" }),
        current_step: z.number(),
      })
      .nullable(),
  })
  .openapi("Reply");

const Correction = z
  .object({
    classification: Classification,
    confirm: z.boolean().optional().openapi({
      description:
        "true: take back an unsubscribe request (it lifts the person's opt-out, as lifting it on the Do not email list needs confirm=true); without it the answer is 422 naming confirm",
    }),
  })
  .openapi("ReplyCorrection");

const LeftAlone = z
  .object({
    sequence_id: z.string().nullable(),
    sequence_name: z.string().nullable(),
    action: z.enum(["finish", "pause"]),
    enrollments: z.number(),
  })
  .openapi("ReplyCorrectionLeftAlone");

const ReplyQuery = Pagination.extend({
  classification: Classification.optional(),
  sequence_id: Id.optional(),
  contact_id: Id.optional().openapi({
    description: "Only the inbound emails of this contact and of the address's other contact records (duplicates), whose runs they reach",
  }),
  mailbox_id: Id.optional().openapi({ description: "Only answers to emails sent from this mailbox" }),
  unhandled: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "true: only those nobody has reviewed (confirmed or corrected) yet" }),
  mine: z.enum(["true", "false"]).optional().openapi({
    description: "true: only your own: answers to emails sent from your mailboxes, or in sequences you own (still only those you may see)",
  }),
});

export const replyRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/replies",
      tags: ["Replies"],
      summary: "The replies inbox: inbound emails matched to enrollments, with their classification and evidence, newest first",
      description:
        "A sequence, contact or mailbox filter you can't see (another team's, deleted, or a sequence not shared with you) answers 404.",
      request: { query: ReplyQuery },
      responses: {
        200: json(z.object({ replies: z.array(ReplySchema), pagination: PaginationMeta, counts: z.record(z.string(), z.number()) })),
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const r = await listReplies(c.var.db, c.get("caller"), { ...q, unhandled: q.unhandled === "true", mine: q.mine === "true" });
      const replies = await withContactWork(c.var.db, c.get("caller"), r.replies);
      return c.json({ replies, pagination: paginationMeta(q.page, q.per_page, r.total), counts: r.counts }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/replies/confirm",
      tags: ["Replies"],
      summary: "Confirm several classifications at once: each marked reviewed as it is",
      description: `Up to ${MAX_CONFIRM} ids; each is checked as its own confirm is (edit access to its sequence): one you can't see is skipped as not_found, one you may only view as forbidden, and the others are confirmed. Nothing's effect changes.`,
      request: {
        body: jsonBody(
          z
            .object({
              ids: idList(MAX_CONFIRM, {
                tooMany: `Confirm at most ${MAX_CONFIRM} replies at once`,
                empty: "Choose at least one reply to confirm",
              }).openapi({
                description: `The replies (at most ${MAX_CONFIRM} different ones; an id repeated counts once)`,
              }),
            })
            .openapi("ReplyConfirmMany"),
        ),
      },
      responses: {
        200: json(
          z.object({
            confirmed: z.array(z.string()),
            skipped: z.array(z.object({ id: z.string(), reason: z.enum(["not_found", "forbidden"]) })),
          }),
        ),
        422: errorResponses[422],
      },
    }),
    async (c) => c.json(await confirmReplies(c.var.db, c.get("caller"), c.req.valid("json").ids), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/replies/{id}",
      tags: ["Replies"],
      summary: "One inbound email",
      request: { params: IdParam },
      responses: { 200: json(z.object({ reply: ReplySchema })), 404: errorResponses[404] },
    }),
    async (c) => {
      const [reply] = await withContactWork(c.var.db, c.get("caller"), [
        await getReply(c.var.db, c.get("caller"), c.req.valid("param").id),
      ]);
      return c.json({ reply: reply! }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/replies/{id}/text",
      tags: ["Replies"],
      summary: "The whole text of one inbound email",
      description:
        "Its plain text (its HTML as text when it has no text part), up to 65,536 characters (truncated says when it was longer). text is null for an email stored before Seqflare kept the whole text: only its snippet is known. Visible as the reply is (its sequence's viewers), with the answers sent to it from the inbox.",
      request: { params: IdParam },
      responses: {
        200: json(
          z
            .object({
              text: z.string().nullable(),
              truncated: z.boolean(),
              snippet: z.string(),
              answers: z
                .array(
                  z.object({
                    id: z.string(),
                    status: z.string(),
                    subject: z.string(),
                    body: z.string(),
                    sent_at: z.number().nullable(),
                    mailbox: z.string().nullable(),
                  }),
                )
                .openapi({ description: "The answers sent to it from the inbox (POST /replies/{id}/reply), newest first" }),
            })
            .openapi("ReplyText"),
        ),
        404: errorResponses[404],
      },
    }),
    async (c) => c.json(await replyText(c.var.db, c.get("caller"), c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/replies/{id}/reply",
      tags: ["Replies"],
      summary: "Answer a reply: a plain-text email to the person who wrote it, sent now from the mailbox it came to",
      description:
        "Sent at once, not in the sequence's sending window (a person is answering by hand), but counted against the mailbox's daily and hourly limits. Threaded under their email: In-Reply-To their Message-ID, References the chain, subject \"Re: <their subject>\" unless given; the mailbox's signature, then their email quoted (\"On <date>, <name> wrote:\" and \"> \" lines, its first 40 lines). Recorded as an email of the contact's run with no sequence (step_id reply:<key>): the Outbox and the contact's timeline show it, an answer to it is matched to the run, no report counts it as a step's send, and the run's state doesn't change. Needs the reply visible (404), its contact editable and the mailbox yours or an admin's (403). Refused with 422, nothing recorded, to an address that asked to be removed, bounced, is in a Do Not Contact stage or is suppressed, and for a bounce; with 409 while the mailbox is disconnected, paused, needs a reconnect, is held, or is at its daily or hourly limit. Send an Idempotency-Key: a double click or a retry with the same key sends once (a retry of a request that died after the hand-over is refused with 409, never sent twice).",
      request: {
        params: IdParam,
        body: jsonBody(
          z
            .object({
              body: z
                .string()
                .trim()
                .min(1, "Write your answer: it is empty")
                .max(ANSWER_BODY_MAX, `An answer is at most ${ANSWER_BODY_MAX.toLocaleString("en-US")} characters`)
                .openapi({ description: "Your text (plain text); the signature and the quote are added below it" }),
              subject: z
                .string()
                .max(300, "A subject is at most 300 characters")
                // One line: the header is sent flattened, and the Outbox and the thread show what was stored.
                .refine((v) => !/[\r\n]/.test(v), "A subject is one line: take out the line break")
                .optional()
                .openapi({ description: 'Default: "Re: " and their subject' }),
            })
            .openapi("ReplyAnswer"),
        ),
      },
      responses: {
        200: json(
          z.object({
            sent: z
              .object({
                id: z
                  .string()
                  .nullable()
                  .openapi({ description: "The email's id in the Outbox (GET /messages/{id}); null if not recorded yet" }),
                status: z.enum(["sent", "unknown", "bounced"]).openapi({
                  description: "sent; unknown: the server may have taken it (never sent again); bounced: refused at once for this address",
                }),
                to_email: z.string(),
                subject: z.string(),
                body: z.string(),
                sent_at: z.number(),
                message_id: z.string(),
                error: z.string().nullable(),
                mailbox: z.object({ id: z.string(), email: z.string() }),
              })
              .openapi("ReplyAnswerSent"),
          }),
        ),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) =>
      c.json(
        {
          sent: await answerReply(
            c.env,
            c.var.db,
            c.get("caller"),
            c.req.valid("param").id,
            c.req.valid("json"),
            c.req.header("idempotency-key"),
          ),
        },
        200,
      ),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/replies/{id}/classification",
      tags: ["Replies"],
      summary: "Correct (or confirm) a classification: the old effect is undone and the new one applied",
      description:
        "A reply wrongly finished goes back to active at the same step (its wait re-checked; no step is sent twice); a bounce wrongly suppressed is unsuppressed; an out-of-office taken for a reply is finished. Sending the classification it already has marks it reviewed. Audit-logged. Needs edit access to the sequence. Taking back an unsubscribe request or a hard bounce lifts the address's suppression, so it needs the right to lift one (team admins; 403 otherwise), and an unsubscribe request also confirm=true (422 naming confirm otherwise). Runs the email finished or paused in sequences you can't edit stay as they are: left_alone lists them per sequence (a sequence you can't see has no id or name).",
      request: { params: IdParam, body: jsonBody(Correction) },
      responses: {
        200: json(
          z.object({
            reply: ReplySchema,
            undone: z.array(z.string()),
            applied: z.array(z.string()),
            left_alone: z.array(LeftAlone),
            says: z.string().optional(),
          }),
        ),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const r = await correctClassification(
        c.env,
        c.var.db,
        c.get("caller"),
        c.req.valid("param").id,
        b.classification,
        b.confirm === true,
      );
      const [reply] = await withContactWork(c.var.db, c.get("caller"), [r.reply]);
      return c.json({ ...r, reply: reply! }, 200);
    },
  );
