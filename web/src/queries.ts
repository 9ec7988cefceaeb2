import { query } from "@solidjs/router";
import { api, data } from "./api";
import { fetchJobOutcomes, fetchJobs, fetchWorkflowRuns, fetchWorkflows, fetchAllLists, fetchLists, fetchMailboxes, fetchPeopleFacets, fetchSchedules, fetchTasks, fetchTemplateVariables, fetchUsers, type ListQuery, type OutcomeFilter } from "./api";

/**
 * Router-cached reads shared by several pages. Actions revalidate them, so a change on one page (a new
 * schedule, a completed task) shows everywhere without reloads.
 */
export const getUsers = query(() => fetchUsers(), "users");
export const getSchedules = query(() => fetchSchedules(), "schedules");
export const getMailboxes = query(() => fetchMailboxes(), "mailboxes");
export const getTemplateVariables = query(() => fetchTemplateVariables(), "templateVariables");
/** Every list by name (pickers, name lookups); the Lists page reads one page at a time. */
export const getLists = query(() => fetchAllLists(), "lists");
export const getListsPage = query((q: ListQuery) => fetchLists(q), "listsPage");
export const getPeopleFacets = query(() => fetchPeopleFacets(), "peopleFacets");

/** Add-contacts jobs, newest first (of one sequence, or the team's). */
export const getJobs = query((q: { page: number; per_page: number; sequence_id?: string }) => fetchJobs(q), "jobs");
export const getJobOutcomes = query((id: string, q: { page: number; per_page: number; outcome: OutcomeFilter }) => fetchJobOutcomes(id, q), "jobOutcomes");

/** Tasks due today for the signed-in user: the badge in the sidebar. */
export const getTaskCounts = query(async () => (await fetchTasks({ page: 1, per_page: 1, view: "due_today", assignee: "me" })).counts, "taskCounts");

/** The team's workflows with their last run (the list, and each workflow's page). */
export const getWorkflows = query(() => fetchWorkflows(), "workflows");
export const getWorkflowRuns = query((id: string, q: { page: number; per_page: number }) => fetchWorkflowRuns(id, q), "workflowRuns");

/** CSV imports, newest first (a member's own; admins: the team's). */
export const getImports = query((page: number) => data(api.imports.$get({ query: { page: String(page), per_page: "25" } })), "imports");
