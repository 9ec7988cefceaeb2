import { action, query } from "@solidjs/router";
import { addContacts, cancelJob, fetchAddPreconditions, fetchJob, fetchJobOutcomes, fetchJobs, type OutcomeFilter } from "../api";

/** Add-contacts jobs, newest first (of one sequence, or the team's). */
export const getJobs = query((q: { page: number; per_page: number; sequence_id?: string }) => fetchJobs(q), "jobs");
export const getJob = query((id: string) => fetchJob(id), "job");
export const getJobOutcomes = query(
  (id: string, q: { page: number; per_page: number; outcome: OutcomeFilter }) => fetchJobOutcomes(id, q),
  "jobOutcomes",
);

/** What stops a sequence from taking contacts now (off, no step on, no mailbox, no credits). */
export const getAddPreconditions = query((sequenceId: string) => fetchAddPreconditions(sequenceId), "addPreconditions");

/** Confirms an add-contacts request: answers the job (the same job again for a retry with the same Idempotency-Key). */
export const addContactsAction = action(addContacts, "addContacts");
/** Cancels a scheduled job before it starts (its credit hold is returned). */
export const cancelJobAction = action(cancelJob, "cancelJob");
