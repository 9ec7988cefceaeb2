import { action, query } from "@solidjs/router";
import {
  bulkContacts,
  fetchContact,
  fetchContactSequences,
  fetchContactStages,
  fetchContactTimeline,
  fetchContacts,
  removeFromList,
  setContactStage,
  updateContact,
  type ContactQuery,
  api,
  data,
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
// Once it succeeds the replies inbox is re-read, so the row shows the contact's new stage.
export const setContactStageAction = action(setContactStage, "setContactStage");
export const removeFromListAction = action(removeFromList, "removeFromList");
export const updateContactAction = action(updateContact, "updateContact");

export type NewContact = Omit<Parameters<typeof api.contacts.$post>[0]["json"], "dedupe">;
/**
 * Creates a contact by hand. Always with dedupe: an address the team already has answers that contact
 * (created: false, 200) instead of making a second one, so the dialog can say so and link to it.
 */
async function createContact(input: NewContact) {
  const res = await api.contacts.$post({ json: { ...input, dedupe: true } });
  return { contact: (await data(res)).contact, created: res.status === 201 };
}
export const createContactAction = action(createContact, "createContact");
