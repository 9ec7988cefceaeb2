import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, json, jsonBody } from "../lib/schemas";
import { applyHeldReply, heldReplyRuns } from "../services/reply-runs";

const RunChoice = z
  .object({
    enrollment_id: z.string(),
    sequence_id: z.string(),
    sequence_name: z.string(),
    status: z.string(),
    email: z
      .object({ id: z.string(), subject: z.string(), sent_at: z.number() })
      .openapi({ description: "The run's newest email from the mailbox the reply came to: the one it is counted as answering" }),
    can_apply: z.boolean().openapi({ description: "Whether you may apply the reply to this run (edit rights on its sequence)" }),
  })
  .openapi("ReplyRunChoice");

const HELD =
  "A reply without In-Reply-To or References from a contact in several open runs from the mailbox it came to, whose subject answers none of them alone, is kept for review with no run stopped (evidence rule sender_match, evidence.held)";

export const replyRunRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/replies/{id}/runs",
      tags: ["Replies"],
      summary: "The runs a reply held for review may answer",
      description: `${HELD}. held says whether it still waits; runs lists the contact's open runs that mailbox emailed, in sequences you can see, newest email first. Visible as the reply is (404 otherwise).`,
      request: { params: IdParam },
      responses: {
        200: json(z.object({ held: z.boolean(), runs: z.array(RunChoice) }).openapi("ReplyRuns")),
        404: errorResponses[404],
      },
    }),
    async (c) => c.json(await heldReplyRuns(c.var.db, c.get("caller"), c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/replies/{id}/apply-to-run",
      tags: ["Replies"],
      summary: "Apply a reply held for review to the run it answers",
      description: `${HELD}. This says which run it answers: the reply is counted as answering that run's newest email from the mailbox and does what a reply matched when it came in does (each of the contact's runs stopped or paused as its sequence says, the email's reply in the reports dated when it came in, the contact's stage, the colleague rule), once, and is marked reviewed. Needs the reply visible and its contact editable (as working it does) and edit rights on the run's sequence (403). A run that is not the contact's open run from that mailbox: 404 when it is not the contact's, 422 naming enrollment_id when it is no longer open. A reply not held (applied already, matched when it came in, or corrected since): 409.`,
      request: {
        params: IdParam,
        body: jsonBody(z.object({ enrollment_id: Id }).openapi("ReplyApplyToRun")),
      },
      responses: {
        200: json(
          z.object({
            reply: z.object({
              id: z.string(),
              enrollment_id: z.string(),
              message_id: z.string(),
              reviewed_at: z.number().nullable(),
              applied_to: z.array(
                z.object({
                  sequence_id: z.string().nullable(),
                  sequence_name: z.string().nullable(),
                  action: z.enum(["finish", "pause"]),
                  enrollments: z.number(),
                }),
              ),
            }),
          }),
        ),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const r = await applyHeldReply(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json").enrollment_id);
      const applied = r.applied_to.map(({ sequence_id, sequence_name, action, enrollments }) => ({
        sequence_id,
        sequence_name,
        action,
        enrollments,
      }));
      return c.json(
        { reply: { id: r.id, enrollment_id: r.enrollment_id, message_id: r.message_id, reviewed_at: r.reviewed_at, applied_to: applied } },
        200,
      );
    },
  );
