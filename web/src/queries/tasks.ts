import { action, query } from "@solidjs/router";
import { bulkTasks, fetchTasks, finishTask, logCall, updateTask, type Task, type TaskQuery } from "../api";

export const getTasks = query((q: TaskQuery) => fetchTasks(q), "tasks");
/** The signed-in user's task counts (due today, overdue, ...): the badge in the sidebar. */
export const getTaskCounts = query(
  async () => (await fetchTasks({ page: 1, per_page: 1, view: "due_today", assignee: "me" })).counts,
  "taskCounts",
);

/** Logs a call on a call task (and completes it unless told not to). */
export const logCallAction = action(logCall, "logCall");
/** Completes or skips a task (its contact moves on to the next step); takes the task so the toast can name its contact. */
export const finishTaskAction = action((t: Task, how: "complete" | "skip") => finishTask(t.id, how), "finishTask");
/** Reschedules and/or reassigns an open task. */
export const updateTaskAction = action(updateTask, "updateTask");
/** Bulk complete / skip of the selected tasks; the router re-reads the list after it. */
export const bulkTasksAction = action(bulkTasks, "bulkTasks");
