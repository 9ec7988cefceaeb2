import { action, query } from "@solidjs/router";
import { api, data } from "../api";

function fetchMeetingsWebhook() {
  return data(api.webhooks.meetings.secret.$get());
}

function rotateMeetingsSecret() {
  return data(api.webhooks.meetings.secret.$post());
}

export type MeetingsWebhook = Awaited<ReturnType<typeof fetchMeetingsWebhook>>;

/** Whether the team has a meetings webhook secret (never the secret itself). Admins only. */
export const getMeetingsWebhook = query(() => fetchMeetingsWebhook(), "meetingsWebhook");

// Writes (see actions.ts). The answer holds the secret: shown once, never stored by the page beyond the dialog.
export const rotateMeetingsSecretAction = action(rotateMeetingsSecret, "rotateMeetingsSecret");

function fetchContactMeetings(contactId: string) {
  return data(api.contacts[":id"].meetings.$get({ param: { id: contactId } }));
}
/** A contact's meetings, latest booking first: the contact page says when one was recorded. */
export const getContactMeetings = query((contactId: string) => fetchContactMeetings(contactId), "contactMeetings");

function markMeetingBooked(contactId: string) {
  return data(api.contacts[":id"]["meeting-booked"].$post({ param: { id: contactId }, json: {} }));
}
/** A contact's meeting is booked: their open enrollments finish with that reason (the timeline shows it). */
export const markMeetingBookedAction = action(markMeetingBooked, "markMeetingBooked");
