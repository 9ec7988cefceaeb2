import type { WorkflowRun } from "../../api";
import { formatNumber } from "../../format";

// A run's reason in words, apart from the run log's components so the API's tests read the same words from a
// real run (test/contacts/workflow-run-words.test.ts).

/** Why a run added nobody, in words, with what to do about it. Unknown codes fall back to their words. */
const REASONS: Record<string, { label: string; fix: string }> = {
  no_new_people: {
    label: "No new people matched",
    fix: "Everyone matching the filters is already a contact. Broaden the filters to reach new people.",
  },
  sequence_inactive: { label: "Sequence is off", fix: "Turn the sequence on; the next run adds people again." },
  sequence_archived: { label: "The sequence is archived", fix: "Unarchive it or pick another sequence, then turn the workflow on." },
  insufficient_credits: { label: "Not enough credits", fix: "Top up credits, or lower the maximum per run." },
  limited_by_credits: {
    label: "Limited by the credit balance",
    fix: "The balance covered only some of the people found: they were added, the others wait for a later run. Top up credits to add more per run.",
  },
  no_connected_mailbox: { label: "No connected mailbox", fix: "Connect a mailbox on the Mailboxes page." },
  mailbox_not_connected: {
    label: "A chosen mailbox isn't connected",
    fix: "Reconnect it on the Mailboxes page, or change the workflow's mailboxes.",
  },
  no_enabled_steps: { label: "The sequence has no enabled steps", fix: "Add a step or turn one on in the sequence editor." },
  empty_score_range: {
    label: "The score range is empty",
    fix: "Edit the workflow: its lowest score is above its highest, so nobody can match.",
  },
  owner_missing: {
    label: "The workflow's owner is no longer on the team",
    fix: "An admin can recreate the workflow under an active user.",
  },
  interrupted: { label: "Interrupted before it finished", fix: "The next run tries again." },
  gave_up: {
    label: "Given up after repeated interruptions",
    fix: "Its run was interrupted on every try, so it added nobody.",
  },
  workflow_off: {
    label: "Interrupted, and the workflow was off when it would have been tried again",
    fix: "The job it had committed was cancelled before adding anyone, its credits returned. Turn the workflow on, or use Run now.",
  },
  job_ended: {
    label: "Its job ended before adding anyone",
    fix: "The job an earlier try of this run committed was cancelled or failed before it started (its credits returned), so the run added nobody.",
  },
  previous_run_in_progress: {
    label: "The last run was still adding its contacts",
    fix: "Nothing to do: the next run picks up once it is done. A shorter interval than a run takes skips slots like this.",
  },
  forbidden: {
    label: "The owner can't add contacts to this sequence",
    fix: "Share the sequence with edit access, or pick another sequence.",
  },
  too_many_contacts: { label: "Too many people for one run", fix: "Lower the maximum per run." },
  internal_error: { label: "Something went wrong on our side", fix: "The next run tries again." },
  // The fixes of these two are a schedule run's: a change run's are said by runReasonFix.
  held_back: {
    label: "Everyone found was held back",
    fix: "A warning (an unverified email, another sequence…) held each back: see the job. Allow that warning in the workflow to add such people; meanwhile the next runs move on to other people (those held back are left out for 30 days).",
  },
  all_skipped: {
    label: "Everyone found was skipped",
    fix: "They can't be added: see the job. The next runs move on to other people.",
  },
  no_longer_matches: {
    label: "The contact no longer matches",
    fix: "It was deleted or no longer matches the workflow's filters by the time the run was tried again, so it wasn't added.",
  },
};

/** Reasons whose fix is "the next run tries again": for a run tried again, what happens next says it exactly (retryText). */
export const TRIED_AGAIN = new Set(["interrupted", "internal_error"]);

/**
 * What happens next to a failed run: tried again on its own (a change run, or a slot's or Run now's run whose tick
 * was interrupted; up to 8 tries within a day), or not. A schedule run that failed on its own leaves its people to
 * the next slot, which its reason's fix says; an interrupted one not tried again (the workflow off, or a day gone)
 * says so rather than promise a retry.
 */
export function retryText(r: Pick<WorkflowRun, "status" | "trigger" | "attempts" | "will_retry" | "reason">): string | null {
  if (r.status !== "failed") return null;
  const tries = `${r.attempts} ${r.attempts === 1 ? "try" : "tries"}`;
  if (r.will_retry) return `Tried again automatically (${tries} so far, up to 8 within a day).`;
  if (r.trigger.kind !== "change") return r.reason === "interrupted" ? "Not tried again automatically: use Run now to run it again." : null;
  return `Not tried again (after ${tries}): this change won't add the contact.`;
}

/**
 * A run's reason as its log line reads it: one given up names how many tries it had (not "interrupted tries": a
 * change run's earlier tries may have failed otherwise, an internal error).
 */
export function runReasonLabel(code: string, attempts: number) {
  return code === "gave_up" ? `Gave up after ${attempts} ${attempts === 1 ? "try" : "tries"}` : reasonText(code).label;
}

/**
 * A run's reason's fix as its log line reads it: a given-up run names the job it cancelled only when it had one (a run
 * whose ticks all died before committing a job has none).
 */
export function runReasonFix(r: Pick<WorkflowRun, "reason" | "job_id" | "trigger" | "skipped_reasons">): string {
  const code = r.reason ?? "";
  if (code === "gave_up" && r.job_id) return `${reasonText(code).fix} The job it had committed was cancelled, its credits returned.`;
  // A change run acts on the contacts whose change started it: no search, no "next people" to move on to, and
  // nobody left out of later runs (nextPeople's 30 days are a schedule's).
  const change = r.trigger.kind === "change";
  if (code === "all_skipped") {
    // Its job's own reasons, counted: "Already in this sequence (3), Unsubscribed (1)", not a list of guesses.
    const why = (r.skipped_reasons ?? []).map((x) => `${x.label} (${formatNumber(x.count)})`).join(", ");
    return `${why ? `${why}: see the job.` : "They can't be added: see the job."}${change ? "" : " The next runs move on to other people."}`;
  }
  if (code === "held_back" && change)
    return "A warning (an unverified email, another sequence…) held each back: see the job. Allow that warning in the workflow to add such people.";
  return reasonText(code).fix;
}

export function reasonText(code: string) {
  return REASONS[code] ?? { label: (code.charAt(0).toUpperCase() + code.slice(1)).replace(/_/g, " "), fix: "" };
}
