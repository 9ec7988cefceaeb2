import { query } from "@solidjs/router";
import { fetchContactTimeline, fetchContacts, type ContactQuery } from "../api";

export const getContacts = query((q: ContactQuery) => fetchContacts(q), "contacts");

/** A contact's timeline (emails, tasks, calls, replies, status changes), newest first. */
export const getContactTimeline = query((id: string, page: number) => fetchContactTimeline(id, page, 50), "contactTimeline");
