import type { Tone } from "./components/Badge";

export type ReasonMap = Record<string, { label: string; fix: string }>;

/**
 * Reason codes that mean "can't be added" (SKIP_REASONS in worker/services/add-contacts/request.ts).
 * Labels and fixes come from the API (`reasons` on the preview and on job outcomes); only the badge
 * tone is decided here.
 */
const SKIP_CODES = new Set([
  "unsubscribed",
  "bounced",
  "do_not_contact",
  "suppressed",
  "already_in_sequence",
  "duplicate_email",
  "ownership_not_permitted",
  "not_found",
  "not_processed",
  "sequence_archived",
  "caller_not_permitted",
  "api_key_revoked",
  "caller_disabled",
  "mailbox_not_connected",
  "same_company",
]);

export const isSkipReason = (code: string) => SKIP_CODES.has(code);

/** Label, fix and badge tone of a reason code, from the map the API answered with. */
export function reasonInfo(code: string, api?: ReasonMap): { label: string; fix: string; tone: Tone } {
  const label = api?.[code]?.label ?? code.replace(/_/g, " ");
  const fix = api?.[code]?.fix ?? "";
  const tone: Tone = SKIP_CODES.has(code) ? "danger" : code === "enriched" ? "info" : "warning";
  return { label, fix, tone };
}

export type Outcome = "enrolled" | "warned" | "skipped";

/** How each outcome is named to people: "warned" contacts are held back, not failed. */
export const OUTCOMES: Record<Outcome, { label: string; tone: Tone; hint: string }> = {
  enrolled: { label: "Added", tone: "success", hint: "Added to the sequence" },
  warned: { label: "Held back", tone: "warning", hint: "Held back by a warning; add anyway to include them" },
  skipped: { label: "Skipped", tone: "danger", hint: "Can't be added (opted out, bounced, already here…)" },
};
