import { action, query } from "@solidjs/router";
import {
  createWorkflow,
  deleteWorkflow,
  fetchWorkflowRuns,
  fetchWorkflows,
  runWorkflowNow,
  updateWorkflow,
  type Workflow,
  type WorkflowInput,
  type WorkflowPatch,
} from "../api";

/** The team's workflows with their last run (the list, and each workflow's page). */
export const getWorkflows = query(() => fetchWorkflows(), "workflows");
export const getWorkflowRuns = query((id: string, q: { page: number; per_page: number }) => fetchWorkflowRuns(id, q), "workflowRuns");

// Writes (run them with useWrite; the router re-reads the list, the run log and the balance after each).
// The switch, Run now and Delete take the workflow itself: their toasts name it and the switch reads the value on its way.
export const setWorkflowActiveAction = action((w: Workflow, active: boolean) => updateWorkflow(w.id, { active }), "setWorkflowActive");
export const runWorkflowNowAction = action((w: Workflow) => runWorkflowNow(w.id), "runWorkflowNow");
export const deleteWorkflowAction = action((w: Workflow) => deleteWorkflow(w.id), "deleteWorkflow");
export const createWorkflowAction = action((input: WorkflowInput) => createWorkflow(input), "createWorkflow");
export const updateWorkflowAction = action((id: string, patch: WorkflowPatch) => updateWorkflow(id, patch), "updateWorkflow");
