import { action, query } from "@solidjs/router";
import { api, data } from "../api";

export type ReplyClassification = "reply" | "out_of_office" | "auto_reply" | "bounce_hard" | "bounce_soft" | "unsubscribe";
export type ReplyQuery = {
  page?: number;
  per_page?: number;
  classification?: ReplyClassification;
  sequence_id?: string;
  /** Answers to emails sent from this mailbox (the sequence report's mailbox filter carries over). */
  mailbox_id?: string;
  unhandled?: "true";
  /** Answers to emails sent from my mailboxes, or in sequences I own. */
  mine?: "true";
};

function fetchReplies(q: ReplyQuery) {
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") query[k] = String(v);
  return data(api.replies.$get({ query }));
}

/** `confirm`: taking back an unsubscribe request lifts the person's opt-out, which the API lifts only when confirmed. */
function correctReply(id: string, classification: ReplyClassification, confirm = false) {
  return data(api.replies[":id"].classification.$post({ param: { id }, json: confirm ? { classification, confirm } : { classification } }));
}

/** "Confirm selected": each marked reviewed as it is (up to 100), those the caller may not confirm skipped. */
function confirmReplies(ids: string[]) {
  return data(api.replies.confirm.$post({ json: { ids } }));
}

function fetchReplyText(id: string) {
  return data(api.replies[":id"].text.$get({ param: { id } }));
}

export type Reply = Awaited<ReturnType<typeof fetchReplies>>["replies"][number];
export type ReplyText = Awaited<ReturnType<typeof fetchReplyText>>;
export type Correction = Awaited<ReturnType<typeof correctReply>>;

/** The replies inbox: inbound emails matched to enrollments, newest first, with their counts per classification. */
export const getReplies = query((q: ReplyQuery) => fetchReplies(q), "replies");

/** One inbound email's whole text (the inbox shows a snippet). */
export const getReplyText = query((id: string) => fetchReplyText(id), "replyText");

// Writes (see actions.ts): a correction undoes the old effect and applies the new one.
export const correctReplyAction = action(correctReply, "correctReply");
export const confirmRepliesAction = action(confirmReplies, "confirmReplies");
