import { query } from "@solidjs/router";
import { fetchWorkflowRuns, fetchWorkflows } from "../api";

/** The team's workflows with their last run (the list, and each workflow's page). */
export const getWorkflows = query(() => fetchWorkflows(), "workflows");
export const getWorkflowRuns = query((id: string, q: { page: number; per_page: number }) => fetchWorkflowRuns(id, q), "workflowRuns");
