import { query } from "@solidjs/router";
import { fetchEnrollments } from "../api";

/** The contacts in a sequence, one page at a time, with their counts per status. */
export const getEnrollments = query((id: string, q: Parameters<typeof fetchEnrollments>[1]) => fetchEnrollments(id, q), "enrollments");
