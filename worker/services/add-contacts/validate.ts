import type { Db } from "../../db/client";
import { suppressionReasons } from "../suppressions";
import { DEFAULT_WATERFALL, maxEnrichmentCost, runWaterfall, type EnrichmentProvider, type WaterfallResult } from "../enrichment";
import type { Facts } from "./candidates";
import type { AddContactsRequest, SkipReason, WarningCategory } from "./request";

export interface ValidationOptions {
  callerId: string;
  /**
   * May contacts owned by other users of the team be added? The sequence's setting, narrowed by the request's
   * `allow_other_owners: false` (Apollo's `contacts_without_ownership_permission: false`): a request never widens it.
   */
  allowOtherOwners: boolean;
  skipValidation: boolean;
  overrides: Partial<Record<WarningCategory, boolean>>;
  enrich: boolean;
  providers: EnrichmentProvider[];
  /** In a preview only deterministic providers are asked (nothing is charged or stored). */
  preview: boolean;
}

export interface Evaluation {
  outcome: "enrolled" | "warned" | "skipped";
  skips: SkipReason[];
  warnings: WarningCategory[];
  /** Credits this contact costs if added as evaluated. */
  cost: number;
  /** The most it could cost (what a job holds up front). */
  maxCost: number;
  email: string | null;
  emailStatus: string;
  enrichment: WaterfallResult | null;
  /** Owned by another user of the team (whatever the outcome): the preview counts those added (`owned_by_teammates`). */
  ownedByTeammate: boolean;
}

/** The validation options of a request (or of a job, from its stored request), for a sequence's settings. */
export function validationFor(
  callerId: string,
  sequenceSettings: unknown,
  req: Pick<AddContactsRequest, "skip_validation" | "overrides" | "enrich" | "allow_other_owners">,
  preview: boolean,
): ValidationOptions {
  return {
    callerId,
    allowOtherOwners:
      ((sequenceSettings ?? {}) as { allow_other_owners?: boolean }).allow_other_owners !== false && req.allow_other_owners !== false,
    skipValidation: req.skip_validation,
    overrides: req.overrides ?? {},
    enrich: req.enrich,
    providers: DEFAULT_WATERFALL,
    preview,
  };
}

const hasEmail = (f: { email: string | null; emailStatus: string }) => !!f.email && f.emailStatus !== "unavailable";

/**
 * The add-contacts rules for one candidate (DESIGN.md "Add contacts" step 3): skips always apply;
 * warnings hold a contact back unless its category is overridden or validation is skipped.
 * Credits: 1 for a net-new person saved with a verified email (invariant 6), plus the enrichment
 * provider's cost when the waterfall finds the email.
 */
export async function evaluate(f: Facts, o: ValidationOptions): Promise<Evaluation> {
  const skips: SkipReason[] = [];
  const warnings: WarningCategory[] = [];
  if (!f.found) skips.push("not_found");
  if (f.unsubscribed) skips.push("unsubscribed");
  if (f.bounced) skips.push("bounced");
  if (f.stageCategory === "dnc") skips.push("do_not_contact");
  if (f.suppressed) skips.push("suppressed");
  if (f.inSequence) skips.push("already_in_sequence");
  if (f.duplicateEmail) skips.push("duplicate_email");
  if (f.sameCompany) skips.push("same_company");
  // A teammate's contact is the sequence's call: allowed means added like any other, not held back.
  const ownedByTeammate = !!f.ownerId && f.ownerId !== o.callerId;
  if (ownedByTeammate && !o.allowOtherOwners) skips.push("ownership_not_permitted");

  const netNew = !f.contactId;
  const enrichable = o.enrich && !hasEmail(f) && !!f.domain;
  const maxCost = skips.length
    ? 0
    : (netNew && (f.emailStatus === "verified" || enrichable) ? 1 : 0) + (enrichable ? maxEnrichmentCost(o.providers) : 0);
  let email = f.email;
  let emailStatus = f.emailStatus;
  let enrichment: WaterfallResult | null = null;
  if (!skips.length && enrichable) {
    const providers = o.preview ? o.providers.filter((p) => p.deterministic) : o.providers;
    enrichment = await runWaterfall(providers, {
      firstName: f.firstName,
      lastName: f.lastName,
      domain: f.domain,
      company: f.company,
      key: f.contactId ?? f.personId ?? "",
    });
    if (enrichment.email) {
      email = enrichment.email;
      emailStatus = enrichment.status ?? "unverified";
    }
  }

  if (f.activeElsewhere) warnings.push("active_in_other_sequence");
  if (f.finishedElsewhere) warnings.push("finished_in_other_sequence");
  if (f.repliedHere) warnings.push("replied_in_sequence");
  if (!hasEmail({ email, emailStatus })) warnings.push("no_email");
  else if (emailStatus === "unverified" || emailStatus === "guessed") warnings.push("unverified_email");
  if (f.jobChanged) warnings.push("job_change");
  if (f.stageCategory === "blocked") warnings.push("blocked_stage");

  const outcome = skips.length ? "skipped" : o.skipValidation || warnings.every((w) => o.overrides[w]) ? "enrolled" : "warned";
  const cost = outcome === "enrolled" ? (netNew && emailStatus === "verified" ? 1 : 0) + (enrichment?.cost ?? 0) : 0;
  return { outcome, skips, warnings, cost, maxCost, email, emailStatus, enrichment, ownedByTeammate };
}

/**
 * `evaluate` for a page of candidates, then invariant 5 for the addresses the enrichment found among them
 * (skipSuppressedFinds): the one way the preview, the plan pages and the job's chunks evaluate, so they agree.
 */
export async function evaluateAll(d: Db, teamId: string, facts: readonly Facts[], o: ValidationOptions): Promise<Evaluation[]> {
  const evaluations = await Promise.all(facts.map((f) => evaluate(f, o)));
  await skipSuppressedFinds(d, teamId, evaluations);
  return evaluations;
}

/** The address the enrichment found that this contact is added with (none for a skip: a suppressed find is one). */
export const foundAddress = (e: Evaluation): string | null => (e.outcome !== "skipped" && e.enrichment?.email) || null;

/**
 * Invariant 5 for the addresses the enrichment just found: the facts' suppression is the contact's (or the
 * person's) own address's, so a found address the team suppressed (it opted out or bounced under another
 * contact) is read here, in one read for the page, and its contact is skipped like any suppressed one:
 * not enrolled, charged or held nothing, its address not saved.
 */
async function skipSuppressedFinds(d: Db, teamId: string, evaluations: Evaluation[]): Promise<void> {
  const emails = evaluations.flatMap((e) => foundAddress(e) ?? []);
  if (!emails.length) return;
  const suppressed = await suppressionReasons(d, teamId, emails);
  for (const e of evaluations) {
    const email = foundAddress(e);
    if (!email || !suppressed.has(email.trim().toLowerCase())) continue;
    e.skips.push("suppressed");
    e.outcome = "skipped";
    // Nothing held for it either, as for any skip: the hold follows the facts as planned (a chunk that finds
    // the address no longer suppressed adds the contact, like one whose address turned verified meanwhile).
    e.cost = 0;
    e.maxCost = 0;
  }
}
