import { action, query } from "@solidjs/router";
import {
  bulkContacts,
  fetchContact,
  fetchContactSequences,
  fetchContactStages,
  fetchContactTimeline,
  fetchContacts,
  removeFromList,
  updateContact,
  type ContactQuery,
} from "../api";

export const getContacts = query((q: ContactQuery) => fetchContacts(q), "contacts");
/** The team's contact stages (the stage picker, a workflow's change trigger). */
export const getContactStages = query(() => fetchContactStages(), "contactStages");

/** One contact, and the sequences it is in with its status in each (the contact page). */
export const getContact = query((id: string) => fetchContact(id), "contact");
export const getContactSequences = query((id: string) => fetchContactSequences(id), "contactSequences");

/** A contact's timeline (emails, tasks, calls, replies, status changes), newest first. */
export const getContactTimeline = query((id: string, page: number) => fetchContactTimeline(id, page, 50), "contactTimeline");

// Writes (actions.ts).
export const bulkContactsAction = action(bulkContacts, "bulkContacts");
export const removeFromListAction = action(removeFromList, "removeFromList");
export const updateContactAction = action(updateContact, "updateContact");
