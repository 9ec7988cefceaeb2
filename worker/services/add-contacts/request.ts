import { z } from "@hono/zod-openapi";
import { now } from "../../lib/clock";
import { Id, idList } from "../../lib/schemas";
import { PeopleFilters } from "../people-search";

/** Most candidates one add-contacts job takes (lists have no limit of their own; a job does). */
export const MAX_JOB_CANDIDATES = 200_000;
/**
 * Candidates per queue chunk: the chunk message carries an index range, never the ids. A chunk's fixed
 * costs (its reads, the SequenceDO call and its config read, the outcome batch) are shared by this
 * many contacts; its rows stay a few hundred KB.
 */
export const CHUNK_SIZE = 2000;
/**
 * Most candidates a request, a plan page or a preview page holds at a time (the Worker's 128 MB are
 * shared): a larger selection is previewed page by page and committed through queued plan pages.
 */
export const PLAN_PAGE = 5000;
/** Furthest ahead a job may be scheduled to start. */
export const MAX_ADD_AHEAD_MS = 365 * 24 * 60 * 60 * 1000;

export const WARNING_CATEGORIES = [
  "active_in_other_sequence",
  "finished_in_other_sequence",
  "replied_in_sequence",
  "unverified_email",
  "no_email",
  "job_change",
  "blocked_stage",
] as const;
export type WarningCategory = (typeof WARNING_CATEGORIES)[number];

export const SKIP_REASONS = [
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
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** Every reason code a contact's outcome can carry, in words, with how to resolve it. */
export const OUTCOME_REASONS: Record<WarningCategory | SkipReason | "enriched", { label: string; fix: string }> = {
  unsubscribed: { label: "Unsubscribed", fix: "Never emailed again; remove them from the selection." },
  bounced: { label: "Email bounced before", fix: "Find a new address for the contact." },
  do_not_contact: { label: "Do Not Contact stage", fix: "Change the contact's stage if this is a mistake." },
  // Also a whole domain's block (a suppression stored as `@domain`), which no address of it opted out of or bounced from.
  suppressed: {
    label: "On the suppression list",
    fix: "The address, or its whole domain, is on your team's Do not email list (Settings → Do not email); it can't be emailed.",
  },
  already_in_sequence: { label: "Already in this sequence", fix: "Nothing to do: they are already here." },
  duplicate_email: {
    label: "Same email as another contact",
    fix: "Another contact with this address is in this sequence or this selection; one person gets one run.",
  },
  ownership_not_permitted: { label: "Owned by another user", fix: "This sequence only takes contacts you own (sequence settings)." },
  not_found: {
    label: "Not found",
    fix: "The contact was deleted or the id is not in your team. A person whose contact was deleted stays out when added from People: save them to a list there to bring the contact back, then add them.",
  },
  not_processed: {
    label: "Could not be processed",
    fix: "Adding them failed several times: retry them from the job's page (Retry the ones not processed), or add them again; nobody is added or charged twice.",
  },
  sequence_archived: { label: "Sequence archived", fix: "The sequence was archived before they were added; unarchive it to add them." },
  caller_not_permitted: {
    label: "Its requester can no longer add",
    fix: "The user or API key that asked for this job lost the right to add to the sequence before they were added (edit rights on it, or the key's creator was disabled or, for a master key, is no longer an admin); add them again as someone who may.",
  },
  api_key_revoked: {
    label: "Its API key was revoked",
    fix: "The API key that asked for this job was revoked before they were added; add them again with a key that works (Settings → API keys).",
  },
  caller_disabled: {
    label: "Its user was disabled",
    fix: "The user this job acts for (who asked for it, or the user_id an API key acted for) was disabled or removed before they were added; enable them, or add them again as another user.",
  },
  mailbox_not_connected: {
    label: "No connected mailbox to send from",
    fix: "Every mailbox this add was to send from was removed or disconnected before they were added; reconnect one, or add them again from another mailbox.",
  },
  same_company: {
    label: "Someone of their company is in this sequence",
    fix: 'You asked to add one contact per company: a colleague (same company domain, else company name) is open in this sequence or comes first in this add. Turn off "One contact per company" to add them too.',
  },
  active_in_other_sequence: { label: "Active in another sequence", fix: "Add anyway, or wait until the other sequence finishes." },
  finished_in_other_sequence: { label: "Finished another sequence", fix: "Add anyway if a new touch is welcome." },
  replied_in_sequence: {
    label: "Replied to this sequence before",
    fix: "They answered it once: add anyway only if they asked to hear from it again.",
  },
  unverified_email: { label: "Unverified or guessed email", fix: "Add anyway, or verify the address first." },
  no_email: { label: "No email address", fix: "Turn on enrichment, or add anyway for the non-email steps." },
  job_change: { label: "Changed jobs recently", fix: "Check the contact's new company and title." },
  blocked_stage: { label: "In a blocked stage", fix: "Change the contact's stage, or add anyway." },
  enriched: { label: "Email found by enrichment", fix: "" },
};

export const Source = z
  .object({
    // idList: an id repeated counts once against the maximum (README's limits), as in every other list of ids.
    people_ids: idList(10_000, { min: 0 })
      .optional()
      .openapi({ description: "People picked in the Prospect Searcher (at most 10,000 different ones); net-new ones become contacts" }),
    contact_ids: idList(10_000, { min: 0 }).optional().openapi({ description: "Contacts (at most 10,000 different ones)" }),
    list_ids: idList(100, { min: 0 }).optional().openapi({ description: "Saved lists (at most 100 different ones): every member" }),
    search: PeopleFilters.optional().openapi({ description: "All results of this people search" }),
    import_id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: "An uploaded CSV whose contacts are saved (POST /imports/{id}/save): every contact it saved" }),
    // A job's failures are read where they are kept (job_candidates, job_outcomes): a 100,000-contact job's could
    // not be carried as contact_ids (10,000 at most), and the page would have to download its outcomes to list them.
    not_processed_of_job: z.string().min(1).max(64).optional().openapi({
      description:
        "An earlier add-contacts job (GET /jobs/{id}): its contacts that were not processed, those skipped as not_processed and those a failed job never reached",
    }),
  })
  // Strict like the request around it: a misspelt source would otherwise read as "pick something".
  .strict()
  .refine(
    (s) => !!(s.people_ids?.length || s.contact_ids?.length || s.list_ids?.length || s.search || s.import_id || s.not_processed_of_job),
    {
      message: "Pick people, contacts, lists, a search, a CSV import or a job to retry",
      path: [],
    },
  )
  .openapi("AddContactsSource");

export const Overrides = z
  .object(
    Object.fromEntries(WARNING_CATEGORIES.map((c) => [c, z.boolean().default(false)])) as Record<
      WarningCategory,
      z.ZodDefault<z.ZodBoolean>
    >,
  )
  .partial()
  .strict()
  .openapi("WarningOverrides");

export const AddContactsRequest = z
  .object({
    source: Source,
    mailbox_ids: idList(50, { min: 0 }).optional().openapi({
      description: "One mailbox, or several (at most 50 different ones) to rotate over; none = every connected mailbox of your own",
    }),
    rotation: z.enum(["capacity", "even"]).optional().openapi({
      description:
        "Over several mailboxes: each contact to the one with the most remaining daily capacity (capacity, the default), or the batch split evenly in turn (even)",
    }),
    skip_validation: z.boolean().default(false).openapi({ description: "Enroll every eligible contact at once; skips still apply" }),
    overrides: Overrides.optional().openapi({ description: "Warning categories to add anyway" }),
    enrich: z.boolean().default(false).openapi({ description: "Look up missing emails through the enrichment waterfall" }),
    // Optional (absent = false) rather than defaulted, so the requests the code builds (workflows, Apollo) stay as they are.
    skip_same_company: z.boolean().optional().openapi({
      description:
        "One contact per company: skip (same_company) a contact whose company already has someone open in this sequence, or has a contact earlier in this add (priority order). A company is its domain, else its lowercased name; free-mail domains are no company",
    }),
    // Optional (absent = the sequence's setting): a request may only narrow what the sequence allows.
    allow_other_owners: z.boolean().optional().openapi({
      description:
        "Contacts owned by another user of the team: false leaves them out of this add (ownership_not_permitted) even where the sequence takes them; true or absent: as the sequence's setting says (true never adds them to a sequence that takes only your own)",
    }),
    add_at: z
      .number()
      .int()
      .min(0)
      .refine((t) => t <= now() + MAX_ADD_AHEAD_MS, "Start time can be at most a year from now")
      .optional()
      .openapi({ description: "Start at this instant (epoch ms, at most a year ahead); cancellable until then" }),
    // Id: never empty (an empty owner was accepted and saved net-new contacts owned by nobody).
    owner_id: Id.optional().openapi({ description: "Owner of net-new contacts (default: you)" }),
  })
  // A field this doesn't know is refused, not ignored: this request spends credits, and a misplaced option
  // (`options: { enrich: true }`, an override misspelt) would otherwise run a different add than the one asked for.
  .strict()
  .openapi("AddContactsRequest");

export type AddContactsRequest = z.infer<typeof AddContactsRequest>;

export const PreviewQuery = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  per_page: z.coerce.number().int().min(1).max(500).default(50),
  outcome: z.enum(["enrolled", "warned", "skipped", "all"]).default("all"),
});
