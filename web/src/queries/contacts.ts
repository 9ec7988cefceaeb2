import { action, query } from "@solidjs/router";
import { bulkContacts, fetchContactTimeline, fetchContacts, removeFromList, type ContactQuery } from "../api";

export const getContacts = query((q: ContactQuery) => fetchContacts(q), "contacts");

/** A contact's timeline (emails, tasks, calls, replies, status changes), newest first. */
export const getContactTimeline = query((id: string, page: number) => fetchContactTimeline(id, page, 50), "contactTimeline");

// Writes (actions.ts).
export const bulkContactsAction = action(bulkContacts, "bulkContacts");
export const removeFromListAction = action(removeFromList, "removeFromList");
