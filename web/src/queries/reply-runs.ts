import { action, query } from "@solidjs/router";
import { api, data } from "../api";

/** Whether a reply is held for review (several open runs, none answered by its subject), and the runs it may answer. */
function fetchHeldReplyRuns(id: string) {
  return data(api.replies[":id"].runs.$get({ param: { id } }));
}

/** Applies a held reply to the run picked, as a reply matched when it came in would be. */
function applyReplyToRun(id: string, enrollmentId: string) {
  return data(api.replies[":id"]["apply-to-run"].$post({ param: { id }, json: { enrollment_id: enrollmentId } }));
}

export type HeldReplyRuns = Awaited<ReturnType<typeof fetchHeldReplyRuns>>;

export const getHeldReplyRuns = query((id: string) => fetchHeldReplyRuns(id), "heldReplyRuns");
export const applyReplyToRunAction = action(applyReplyToRun, "applyReplyToRun");
