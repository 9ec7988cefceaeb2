import { query } from "@solidjs/router";
import { fetchAllLists, fetchLists, type ListQuery } from "../api";

/** Every list by name (pickers, name lookups); the Lists page reads one page at a time. */
export const getLists = query(() => fetchAllLists(), "lists");
export const getListsPage = query((q: ListQuery) => fetchLists(q), "listsPage");
