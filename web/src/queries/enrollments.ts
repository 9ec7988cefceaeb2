import { action, query } from "@solidjs/router";
import { changeEnrollments, fetchEnrollmentJob, fetchEnrollments } from "../api";

/** The contacts in a sequence, one page at a time, with their counts per status. */
export const getEnrollments = query((id: string, q: Parameters<typeof fetchEnrollments>[1]) => fetchEnrollments(id, q), "enrollments");

/** An action on a large filter running as a job (polled while it runs). */
export const getEnrollmentJob = query((id: string, jobId: string) => fetchEnrollmentJob(id, jobId), "enrollmentJob");

// Writes (actions.ts): pause, resume, finish, remove, restart, move, change the mailbox.
export const changeEnrollmentsAction = action(changeEnrollments, "changeEnrollments");
