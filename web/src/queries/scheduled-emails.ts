import { action, query } from "@solidjs/router";
import { api, data } from "../api";

/** Scheduled emails (issue 12 item 8): the list of a sequence, a contact or a mailbox, one email's preview, and the four actions. */

export type ScheduledScope = { sequence_id?: string; contact_id?: string; mailbox_id?: string };
export type ScheduledKey = { enrollmentId: string; stepId: string };

const scopeQuery = (scope: ScheduledScope, cursor: string | null, limit: number) => {
  const q: Record<string, string> = { limit: String(limit) };
  if (scope.sequence_id) q.sequence_id = scope.sequence_id;
  if (scope.contact_id) q.contact_id = scope.contact_id;
  if (scope.mailbox_id) q.mailbox_id = scope.mailbox_id;
  if (cursor) q.cursor = cursor;
  return q;
};

async function fetchScheduledEmails(scope: ScheduledScope, cursor: string | null, limit: number) {
  return data(api["scheduled-emails"].$get({ query: scopeQuery(scope, cursor, limit) }));
}

async function fetchScheduledPreview(k: ScheduledKey) {
  return data(api["scheduled-emails"][":enrollment_id"][":step_id"].$get({ param: { enrollment_id: k.enrollmentId, step_id: k.stepId } }));
}

export type ScheduledEmailRow = Awaited<ReturnType<typeof fetchScheduledEmails>>["scheduled"][number];
export type ScheduledPreview = Awaited<ReturnType<typeof fetchScheduledPreview>>;

export const getScheduledEmails = query(fetchScheduledEmails, "scheduledEmails");
export const getScheduledPreview = query(fetchScheduledPreview, "scheduledPreview");

const param = (k: ScheduledKey) => ({ enrollment_id: k.enrollmentId, step_id: k.stepId });

// Writes (actions.ts): each answers when the email will go (send now, reschedule) or when the next step falls due (skip).
export const editScheduledAction = action(
  (k: ScheduledKey, edit: { subject?: string | null; body?: string | null }) =>
    data(api["scheduled-emails"][":enrollment_id"][":step_id"].$patch({ param: param(k), json: edit })),
  "editScheduledEmail",
);
export const sendNowAction = action(
  (k: ScheduledKey) => data(api["scheduled-emails"][":enrollment_id"][":step_id"]["send-now"].$post({ param: param(k) })),
  "sendScheduledNow",
);
export const skipScheduledAction = action(
  (k: ScheduledKey) => data(api["scheduled-emails"][":enrollment_id"][":step_id"].skip.$post({ param: param(k) })),
  "skipScheduledEmail",
);
export const rescheduleAction = action(
  (k: ScheduledKey, at: number) =>
    data(api["scheduled-emails"][":enrollment_id"][":step_id"].reschedule.$post({ param: param(k), json: { at } })),
  "rescheduleEmail",
);
