import type { Tone } from "./components/Badge";

/**
 * What an add-contacts outcome's reason codes mean, in words. A copy of OUTCOME_REASONS
 * (worker/services/add-contacts/request.ts) for the preview, whose body carries codes only; job
 * outcomes come with the API's own map, which wins when present.
 */
export const OUTCOME_REASONS: Record<string, { label: string; fix: string; kind: "skip" | "warning" | "info" }> = {
  unsubscribed: { label: "Unsubscribed", fix: "Never emailed again; remove them from the selection.", kind: "skip" },
  bounced: { label: "Email bounced before", fix: "Find a new address for the contact.", kind: "skip" },
  do_not_contact: { label: "Do Not Contact stage", fix: "Change the contact's stage if this is a mistake.", kind: "skip" },
  suppressed: { label: "On the suppression list", fix: "The address opted out or bounced; it can't be emailed.", kind: "skip" },
  already_in_sequence: { label: "Already in this sequence", fix: "Nothing to do: they are already here.", kind: "skip" },
  ownership_not_permitted: { label: "Owned by another user", fix: "This sequence only takes contacts you own (sequence settings).", kind: "skip" },
  not_found: { label: "Not found", fix: "The contact was deleted or the id is not in your team.", kind: "skip" },
  active_in_other_sequence: { label: "Active in another sequence", fix: "Add anyway, or wait until the other sequence finishes.", kind: "warning" },
  finished_in_other_sequence: { label: "Finished another sequence", fix: "Add anyway if a new touch is welcome.", kind: "warning" },
  unverified_email: { label: "Unverified or guessed email", fix: "Add anyway, or verify the address first.", kind: "warning" },
  no_email: { label: "No email address", fix: "Turn on enrichment, or add anyway for the non-email steps.", kind: "warning" },
  job_change: { label: "Changed jobs recently", fix: "Check the contact's new company and title.", kind: "warning" },
  owned_by_other: { label: "Owned by another user", fix: "Add anyway if you coordinate with the owner.", kind: "warning" },
  blocked_stage: { label: "In a blocked stage", fix: "Change the contact's stage, or add anyway.", kind: "warning" },
  enriched: { label: "Email found by enrichment", fix: "", kind: "info" },
};

export type ReasonMap = Record<string, { label: string; fix: string }>;

/** Label, fix and badge tone of a reason code; `api` is the map a job's outcomes came with. */
export function reasonInfo(code: string, api?: ReasonMap): { label: string; fix: string; tone: Tone } {
  const local = OUTCOME_REASONS[code];
  const label = api?.[code]?.label ?? local?.label ?? code.replace(/_/g, " ");
  const fix = api?.[code]?.fix ?? local?.fix ?? "";
  const tone: Tone = local?.kind === "skip" ? "danger" : local?.kind === "info" ? "info" : "warning";
  return { label, fix, tone };
}

export type Outcome = "enrolled" | "warned" | "skipped";

/** How each outcome is named to people: "warned" contacts are held back, not failed. */
export const OUTCOMES: Record<Outcome, { label: string; tone: Tone; hint: string }> = {
  enrolled: { label: "Added", tone: "success", hint: "Added to the sequence" },
  warned: { label: "Held back", tone: "warning", hint: "Held back by a warning; add anyway to include them" },
  skipped: { label: "Skipped", tone: "danger", hint: "Can't be added (opted out, bounced, already here…)" },
};
