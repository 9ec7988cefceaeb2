import { action, query } from "@solidjs/router";
import { changeEnrollments, fetchEnrollmentJob, fetchEnrollmentJobOutcomes, fetchEnrollments } from "../api";

/** The contacts in a sequence, one page at a time, with their counts per status. */
export const getEnrollments = query((id: string, q: Parameters<typeof fetchEnrollments>[1]) => fetchEnrollments(id, q), "enrollments");

/** An action on a large filter running as a job (polled while it runs). */
export const getEnrollmentJob = query((id: string, jobId: string) => fetchEnrollmentJob(id, jobId), "enrollmentJob");

/** Each enrollment's outcome in such a job, a page at a time (by cursor). */
export const getEnrollmentJobOutcomes = query(
  (id: string, jobId: string, limit: number, cursor?: string) => fetchEnrollmentJobOutcomes(id, jobId, limit, cursor),
  "enrollmentJobOutcomes",
);

// Writes (actions.ts): pause, resume, finish, remove, restart, move, change the mailbox.
export const changeEnrollmentsAction = action(changeEnrollments, "changeEnrollments");
