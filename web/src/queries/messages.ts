import { query } from "@solidjs/router";
import { fetchMessages, fetchRawMessage, type MessageQuery } from "../api";

/** The outbox: sent, failed and bounced emails. */
export const getMessages = query((q: MessageQuery) => fetchMessages(q), "messages");
/** One email as it was sent (headers and MIME body). */
export const getRawMessage = query((id: string) => fetchRawMessage(id), "rawMessage");
