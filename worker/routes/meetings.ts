import { createRoute, z } from "@hono/zod-openapi";
import { ApiError, validationError } from "../lib/errors";
import { router } from "../lib/openapi";
import { EpochMs, errorResponses, Id, IdParam, json } from "../lib/schemas";
import { requireSession } from "../middleware/auth";
import { SECRET_ANSWER } from "../middleware/idempotency";
import {
  bookMeeting,
  bookMeetingFromWebhook,
  contactMeetings,
  meetingWebhookFailed,
  meetingSecretInfo,
  rotateMeetingSecret,
  SIGNATURE_HEADER,
  TEAM_HEADER,
  verifyMeetingWebhook,
} from "../services/meetings";

const Booked = z
  .object({
    meeting_id: z.string(),
    contact_id: z.string(),
    booked_at: z.number(),
    finished: z.array(z.string()).openapi({ description: "Enrollments finished with reason meeting_booked" }),
    duplicate: z.boolean().openapi({
      description:
        "The same meeting was recorded before: the same event_id, or, without an event_id, a booking of this contact within 24 hours of this booked_at. No second meeting is recorded (reports count it once); only open runs it left as they were (an earlier attempt that failed, or a caller who couldn't edit them) are finished now, in finished",
    }),
    left_open: z
      .number()
      .openapi({ description: "Open enrollments left as they are: in sequences you can't edit (the signed webhook finishes them all)" }),
  })
  .openapi("MeetingBooked");

const BookMeeting = z
  .object({
    booked_at: EpochMs.optional().openapi({ description: "When the meeting was booked (ms since the epoch); now by default" }),
    event_id: z.string().trim().min(1).max(200).optional().openapi({
      description:
        "The scheduling tool's event id: booking the same one again records nothing twice. Without it, a booking of this contact within 24 hours of one already recorded is the same meeting (duplicate: true)",
    }),
  })
  .openapi("BookMeeting");

const WebhookBody = z
  .object({
    contact_id: Id.optional(),
    email: z.string().trim().email().max(320).optional(),
    booked_at: EpochMs.optional(),
    event_id: z.string().trim().min(1).max(200).optional(),
  })
  .refine((b) => !!b.contact_id || !!b.email, { message: "Name the contact: contact_id or email", path: ["contact_id"] })
  .openapi("MeetingWebhook");

const SecretBase = z.object({
  configured: z.boolean(),
  hint: z.string().nullable(),
  created_at: z.number().nullable(),
  team_id: z.string(),
  previous_valid_until: z
    .number()
    .nullable()
    .openapi({ description: "The secret replaced by the last rotation is still accepted until then (24 hours after it)" }),
});

const SecretInfo = SecretBase.extend({
  deliveries: z
    .array(
      z.object({
        id: z.string(),
        received_at: z.number(),
        named: z.string().nullable().openapi({ description: "The contact_id or email the body named" }),
        event_id: z.string().nullable(),
        contact_id: z.string().nullable().openapi({ description: "The contact the meeting was recorded on; null when none matched" }),
        result: z.enum(["booked", "duplicate", "no_contact", "invalid", "failed"]),
        status: z.number(),
      }),
    )
    .openapi({ description: "The last 20 signed requests, latest first (unsigned ones are refused and not kept)" }),
}).openapi("MeetingWebhookSecretInfo");

const WebhookAnswer = z
  .union([
    Booked.extend({ matched: z.literal(true) }),
    z.object({
      matched: z.literal(false).openapi({ description: "No contact of the team has this contact_id or email: nothing was booked" }),
      message: z.string(),
    }),
  ])
  .openapi("MeetingWebhookAnswer");

/**
 * The signed webhook: public (a scheduling tool has no session), so it is mounted before the auth
 * middleware; the HMAC under the team's secret is its authentication. See the README for the format.
 */
export const meetingWebhookRoutes = router().openapi(
  createRoute({
    method: "post",
    path: "/webhooks/meetings",
    tags: ["Meetings"],
    summary: "Signed webhook: a meeting was booked (marks it and finishes the contact's open enrollments)",
    description:
      'Headers: `Seqflare-Team: <team id>` and `Seqflare-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the team\'s meetings webhook secret>`. The timestamp must be within 5 minutes of now and each signature is accepted once (one whose processing failed can be sent again). After a rotation the replaced secret is still accepted for 24 hours. Body (JSON, read only once the signature checks out): `contact_id` or `email` (case-insensitive; when several contacts have that address, all their open runs finish and the meeting is recorded once, on the one emailed last), optional `booked_at` (ms since the epoch) and `event_id` (the same event books nothing twice). A contact_id or email that matches no contact of the team answers 200 with matched: false (nothing is booked); Settings → Meetings webhook lists the last 20 signed requests and what came of each.',
    security: [],
    request: {
      headers: z.object({
        "seqflare-team": z.string().max(64).optional(),
        "seqflare-signature": z.string().max(1000).optional(),
      }),
    },
    responses: {
      200: json(WebhookAnswer),
      401: errorResponses[401],
      409: errorResponses[409],
      422: errorResponses[422],
    },
  }),
  async (c) => {
    // The signature covers the raw bytes, so the body is read (and verified) before it is parsed.
    const raw = await c.req.text();
    const accepted = await verifyMeetingWebhook(c.env, c.var.db, c.req.header(TEAM_HEADER), c.req.header(SIGNATURE_HEADER), raw);
    let body: unknown;
    try {
      try {
        body = JSON.parse(raw);
      } catch {
        throw new ApiError("invalid_json", "The body is not valid JSON");
      }
      const parsed = WebhookBody.safeParse(body);
      if (!parsed.success) throw validationError(parsed.error.issues);
      return c.json(await bookMeetingFromWebhook(c.env, c.var.db, accepted.teamId, parsed.data), 200);
    } catch (err) {
      // Not done, so not accepted: the tool's retry of these same bytes gets in (and completes a booking that failed halfway).
      await meetingWebhookFailed(c.var.db, accepted, body, err);
      throw err;
    }
  },
);

const ContactMeetings = z
  .object({
    meetings: z.array(
      z.object({ id: z.string(), booked_at: z.number(), source: z.enum(["user", "api", "webhook"]), created_at: z.number() }),
    ),
  })
  .openapi("ContactMeetings");

export const meetingRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/contacts/{id}/meetings",
      tags: ["Meetings"],
      summary: "A contact's meetings booked, latest first (up to 20)",
      request: { params: IdParam },
      responses: { 200: json(ContactMeetings), 404: errorResponses[404] },
    }),
    async (c) => c.json(await contactMeetings(c.var.db, c.get("caller"), c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/contacts/{id}/meeting-booked",
      tags: ["Meetings"],
      summary: "Mark a contact's meeting booked: its open enrollments finish with reason meeting_booked",
      description:
        "Marking it again (without event_id, within 24 hours of the booking already recorded; or with the same event_id) records no second meeting and answers duplicate: true.",
      request: { params: IdParam, body: { required: false, content: { "application/json": { schema: BookMeeting } } } },
      responses: { 200: json(Booked), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const b = c.req.valid("json") ?? {};
      return c.json(
        await bookMeeting(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, {
          bookedAt: b.booked_at,
          externalId: b.event_id ?? null,
        }),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/webhooks/meetings/secret",
      tags: ["Meetings"],
      summary: "Whether the team has a meetings webhook secret, and the last 20 signed requests (admins; never the secret)",
      // Signed in, as the rule says: a master key held by an integration must not swap the secret the
      // scheduling tool signs with (or learn it).
      middleware: [requireSession],
      responses: { 200: json(SecretInfo), 403: errorResponses[403] },
    }),
    async (c) => c.json(await meetingSecretInfo(c.var.db, c.get("caller")), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/webhooks/meetings/secret",
      tags: ["Meetings"],
      summary:
        "Create or rotate the team's meetings webhook secret (admins, signed in): shown this once; the replaced one is accepted for 24 more hours",
      // Signed in, as the rule says: a master key held by an integration must not swap the secret the
      // scheduling tool signs with (or learn it).
      middleware: [requireSession],
      responses: { 201: json(SecretBase.extend({ secret: z.string() }).openapi("MeetingWebhookSecret")), 403: errorResponses[403] },
    }),
    async (c) => {
      const r = await rotateMeetingSecret(c.env, c.var.db, c.get("caller"));
      c.header(SECRET_ANSWER, "1");
      return c.json({ ...r, configured: true }, 201);
    },
  );
