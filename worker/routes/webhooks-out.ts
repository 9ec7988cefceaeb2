import { createRoute, z } from "@hono/zod-openapi";
import { WEBHOOK_EVENT_TYPES } from "../db/schema";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody } from "../lib/schemas";
import { SECRET_ANSWER } from "../middleware/idempotency";
import {
  createSubscription,
  deleteSubscription,
  listSubscriptions,
  recentDeliveries,
  rotateSubscriptionSecret,
  sendTestEvent,
  SUBSCRIPTIONS_PER_TEAM,
  TEST_EVENTS_PER_HOUR,
  updateSubscription,
} from "../services/webhooks-out";

const EventTypes = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1, "Choose at least one event").max(WEBHOOK_EVENT_TYPES.length).openapi({
  description:
    "reply.received (a person's reply matched to a run; not an out-of-office), email.bounced (a hard bounce), contact.unsubscribed, meeting.booked, run.finished (a run ended, with its status and reason)",
});

const Url = z.string().trim().url("Give the full address of the receiver, starting with https://").max(2000).openapi({
  description:
    "https:// only, to a public host: local and private network addresses, names that can't be public (one label, .internal, .local …, a private address written into the name) and names whose DNS answers are such addresses are refused",
});

const Subscription = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
    enabled: z.boolean(),
    secret_hint: z.string().openapi({ description: "The signing secret's first characters (never the secret)" }),
    previous_secret_hint: z.string().nullable().openapi({
      description:
        "The rotated-out secret's first characters while it still signs beside the new one (24 hours after a rotation); else null",
    }),
    previous_secret_until: z
      .number()
      .nullable()
      .openapi({ description: "When the rotated-out secret stops signing (ms since epoch); null when there is none" }),
    disabled_reason: z.string().nullable().openapi({
      description: "Why Seqflare turned it off: 20 deliveries in a row failed every retry. Null when on, or turned off by a person",
    }),
    failures_in_row: z
      .number()
      .openapi({ description: "Deliveries given up in a row since the last one delivered (test events are not counted)" }),
    created_at: z.number(),
    updated_at: z.number(),
  })
  .openapi("WebhookSubscription");

const WithSecret = z
  .object({
    subscription: Subscription,
    secret: z.string().openapi({
      description: "The signing secret, in this answer only (an Idempotency-Key replay answers 409 without it). Stored sealed.",
    }),
  })
  .openapi("WebhookSubscriptionSecret");

const Delivery = z
  .object({
    id: z.string(),
    event_id: z.string().openapi({ description: "The event's id: the Seqflare-Delivery header, the same on every retry" }),
    type: z.string().openapi({ description: "The event type, or ping for a test event" }),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number(),
    last_status: z.number().nullable().openapi({ description: "The receiver's HTTP status on the last attempt (null: no answer)" }),
    last_error: z.string().nullable(),
    last_attempt_at: z.number().nullable(),
    next_attempt_at: z.number().nullable().openapi({ description: "When a pending delivery is tried next" }),
    created_at: z.number(),
  })
  .openapi("WebhookDelivery");

const CreateSubscription = z.object({ url: Url, events: EventTypes, enabled: z.boolean().optional() }).openapi("CreateWebhookSubscription");

const UpdateSubscription = z
  .object({
    url: Url.optional(),
    events: EventTypes.optional(),
    enabled: z.boolean().optional().openapi({
      description: "false stops sending: its pending deliveries are given up; true sends again and clears the run of failures",
    }),
  })
  .refine((b) => b.url !== undefined || b.events !== undefined || b.enabled !== undefined, {
    message: "Change something: url, events or enabled",
    path: ["url"],
  })
  .openapi("UpdateWebhookSubscription");

const tags = ["Outgoing webhooks"];

export const outgoingWebhookRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/webhooks/outgoing",
      tags,
      summary: "The team's outgoing webhook subscriptions (admins; never their secrets)",
      responses: {
        200: json(
          z.object({
            subscriptions: z.array(Subscription),
            limit: z.number().openapi({ description: `Subscriptions a team may have (${SUBSCRIPTIONS_PER_TEAM})` }),
            event_types: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
          }),
        ),
        403: errorResponses[403],
      },
    }),
    async (c) => c.json(await listSubscriptions(c.var.db, c.get("caller")), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/webhooks/outgoing",
      tags,
      summary: "Subscribe a URL to events (admins): the signing secret is in this answer only",
      description: `At most ${SUBSCRIPTIONS_PER_TEAM} per team (422 beyond). Each delivery is a JSON POST signed with the secret: Seqflare-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> (for 24 hours after a rotation a second v1=, with the previous secret). See the README's "Outgoing webhooks".`,
      request: { body: jsonBody(CreateSubscription) },
      responses: { 201: json(WithSecret, "Created"), 403: errorResponses[403], 422: errorResponses[422] },
    }),
    async (c) => {
      const r = await createSubscription(c.env, c.var.db, c.get("caller"), c.req.valid("json"));
      // The secret is in this answer only: never stored for an idempotent replay.
      return c.json(r, 201, { [SECRET_ANSWER]: "1" });
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/webhooks/outgoing/{id}",
      tags,
      summary: "Change a subscription's URL or events, or turn it off or on",
      request: { params: IdParam, body: jsonBody(UpdateSubscription) },
      responses: {
        200: json(z.object({ subscription: Subscription })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) =>
      c.json(
        { subscription: await updateSubscription(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json")) },
        200,
      ),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/webhooks/outgoing/{id}/secret",
      tags,
      summary:
        "Rotate a subscription's signing secret: the new one is in this answer only and signs every delivery from now; the old one signs beside it (a second v1=) for 24 hours",
      request: { params: IdParam },
      responses: { 201: json(WithSecret, "Rotated"), 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const r = await rotateSubscriptionSecret(c.env, c.var.db, c.get("caller"), c.req.valid("param").id);
      return c.json(r, 201, { [SECRET_ANSWER]: "1" });
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/webhooks/outgoing/{id}",
      tags,
      summary: "Delete a subscription and its deliveries (pending ones are not sent)",
      request: { params: IdParam },
      responses: { 200: json(z.object({ deleted: z.literal(true) })), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      await deleteSubscription(c.var.db, c.get("caller"), c.req.valid("param").id);
      return c.json({ deleted: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/webhooks/outgoing/{id}/deliveries",
      tags,
      summary: "A subscription's latest 20 deliveries, newest first: event, status, the receiver's answer, attempts",
      request: { params: IdParam },
      responses: { 200: json(z.object({ deliveries: z.array(Delivery) })), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => c.json(await recentDeliveries(c.var.db, c.get("caller"), c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/webhooks/outgoing/{id}/test",
      tags,
      summary: "Send the subscription a test event (type ping) now; its delivery is listed like any other",
      description: `Tried once (no retries), and its outcome never counts toward turning the subscription off. At most ${TEST_EVENTS_PER_HOUR} an hour per subscription.`,
      request: { params: IdParam },
      responses: {
        202: json(z.object({ delivery: Delivery }), "Queued"),
        403: errorResponses[403],
        404: errorResponses[404],
        409: errorResponses[409],
        429: {
          ...errorResponses[422],
          description: `This subscription was sent ${TEST_EVENTS_PER_HOUR} test events in the last hour: wait retry-after seconds`,
        },
      },
    }),
    async (c) => c.json({ delivery: await sendTestEvent(c.env, c.var.db, c.get("caller"), c.req.valid("param").id) }, 202),
  );
