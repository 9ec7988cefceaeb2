import { query } from "@solidjs/router";
import { fetchTasks, type TaskQuery } from "../api";

export const getTasks = query((q: TaskQuery) => fetchTasks(q), "tasks");
/** Tasks due today for the signed-in user: the badge in the sidebar. */
export const getTaskCounts = query(
  async () => (await fetchTasks({ page: 1, per_page: 1, view: "due_today", assignee: "me" })).counts,
  "taskCounts",
);
