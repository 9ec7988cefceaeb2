import { action, query } from "@solidjs/router";
import { api, data } from "../api";

/** The lists a contact is on, by name (the contact page). */
export const getContactLists = query(
  async (id: string) => (await data(api.contacts[":id"].lists.$get({ param: { id } }))).lists,
  "contactLists",
);

/** Puts one contact on a list (already on it: no change); taking it off is removeFromListAction (queries/contacts.ts). */
const addContactToList = (listId: string, contactId: string) =>
  data(api.lists[":id"].members.$post({ param: { id: listId }, json: { contact_ids: [contactId] } }));

// Writes (actions.ts).
export const addContactToListAction = action(addContactToList, "addContactToList");
