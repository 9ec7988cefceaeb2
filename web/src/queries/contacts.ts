import { query } from "@solidjs/router";
import { fetchContacts, type ContactQuery } from "../api";

export const getContacts = query((q: ContactQuery) => fetchContacts(q), "contacts");
