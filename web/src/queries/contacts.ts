import { action, query } from "@solidjs/router";
import { bulkContacts, fetchContactStages, fetchContactTimeline, fetchContacts, removeFromList, type ContactQuery } from "../api";

export const getContacts = query((q: ContactQuery) => fetchContacts(q), "contacts");
/** The team's contact stages (the stage picker, a workflow's change trigger). */
export const getContactStages = query(() => fetchContactStages(), "contactStages");

/** A contact's timeline (emails, tasks, calls, replies, status changes), newest first. */
export const getContactTimeline = query((id: string, page: number) => fetchContactTimeline(id, page, 50), "contactTimeline");

// Writes (actions.ts).
export const bulkContactsAction = action(bulkContacts, "bulkContacts");
export const removeFromListAction = action(removeFromList, "removeFromList");
