import { action, query } from "@solidjs/router";
import { createList, deleteList, fetchAllLists, fetchLists, renameList, type ListQuery } from "../api";

/** Every list by name (pickers, name lookups); the Lists page reads one page at a time. */
export const getLists = query(() => fetchAllLists(), "lists");
export const getListsPage = query((q: ListQuery) => fetchLists(q), "listsPage");

// Writes (actions.ts).
export const createListAction = action(createList, "createList");
export const renameListAction = action(renameList, "renameList");
export const deleteListAction = action(deleteList, "deleteList");
