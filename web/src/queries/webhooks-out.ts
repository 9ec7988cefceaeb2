import { action, query } from "@solidjs/router";
import { api, data } from "../api";

function fetchOutgoingWebhooks() {
  return data(api.webhooks.outgoing.$get());
}
export type OutgoingWebhooks = Awaited<ReturnType<typeof fetchOutgoingWebhooks>>;
export type OutgoingWebhook = OutgoingWebhooks["subscriptions"][number];
export type WebhookEventType = OutgoingWebhooks["event_types"][number];

/** The team's outgoing webhook subscriptions (never their secrets). Admins only. */
export const getOutgoingWebhooks = query(() => fetchOutgoingWebhooks(), "outgoingWebhooks");

function fetchDeliveries(id: string) {
  return data(api.webhooks.outgoing[":id"].deliveries.$get({ param: { id } }));
}
export type WebhookDelivery = Awaited<ReturnType<typeof fetchDeliveries>>["deliveries"][number];
/** A subscription's latest 20 deliveries, newest first. */
export const getWebhookDeliveries = query((id: string) => fetchDeliveries(id), "outgoingWebhookDeliveries");

// Writes (actions.ts). Creating and rotating answer the secret: shown once by the page, never stored.
export const createOutgoingWebhookAction = action(
  (url: string, events: WebhookEventType[]) => data(api.webhooks.outgoing.$post({ json: { url, events } })),
  "createOutgoingWebhook",
);
export const updateOutgoingWebhookAction = action(
  (id: string, json: { url?: string; events?: WebhookEventType[]; enabled?: boolean }) =>
    data(api.webhooks.outgoing[":id"].$patch({ param: { id }, json })),
  "updateOutgoingWebhook",
);
export const rotateOutgoingWebhookAction = action(
  (id: string) => data(api.webhooks.outgoing[":id"].secret.$post({ param: { id } })),
  "rotateOutgoingWebhook",
);
export const deleteOutgoingWebhookAction = action(
  (id: string) => data(api.webhooks.outgoing[":id"].$delete({ param: { id } })),
  "deleteOutgoingWebhook",
);
export const testOutgoingWebhookAction = action(
  (id: string) => data(api.webhooks.outgoing[":id"].test.$post({ param: { id } })),
  "testOutgoingWebhook",
);
