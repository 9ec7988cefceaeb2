import { query } from "@solidjs/router";
import { fetchMailboxes, fetchSchedules, fetchTasks, fetchUsers } from "./api";

/**
 * Router-cached reads shared by several pages. Actions revalidate them, so a change on one page (a new
 * schedule, a completed task) shows everywhere without reloads.
 */
export const getUsers = query(() => fetchUsers(), "users");
export const getSchedules = query(() => fetchSchedules(), "schedules");
export const getMailboxes = query(() => fetchMailboxes(), "mailboxes");

/** Tasks due today for the signed-in user: the badge in the sidebar. */
export const getTaskCounts = query(async () => (await fetchTasks({ page: 1, per_page: 1, view: "due_today", assignee: "me" })).counts, "taskCounts");
