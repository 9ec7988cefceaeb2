import type { Db } from "../../db/client";
import type { Caller, Env } from "../../env";
import { now } from "../../lib/clock";
import { ApiError, type ErrorCode } from "../../lib/errors";
import { sendableMailboxes, sequenceFor } from "../access";
import { balanceOf } from "../credits";
import { DEFAULT_WATERFALL } from "../enrichment";
import { importReady } from "../imports/imports";
import { loadSequenceConfig, type SequenceConfig } from "../sequence-config";
import { assignFrom, assignMailboxes, forecastMailbox, loadMailboxLoads, roomOf, type Forecast, type MailboxLoad } from "./capacity";
import { candidatePage, countCandidates, keyOf, loadFacts, resolveSource, type CandidateCursor, type Facts } from "./candidates";
import { OUTCOME_REASONS, PLAN_PAGE, WARNING_CATEGORIES, type AddContactsRequest, type WarningCategory } from "./request";
import { evaluate, type Evaluation, type ValidationOptions } from "./validate";

export interface Precondition {
  code: Extract<ErrorCode, "sequence_archived" | "sequence_inactive" | "no_enabled_steps" | "mailbox_not_connected" | "no_connected_mailbox" | "insufficient_credits">;
  message: string;
  fix: string;
  details?: Record<string, unknown>;
}

export interface PlannedContact {
  facts: Facts;
  evaluation: Evaluation;
  mailboxId: string | null;
}

export interface Plan {
  sequence: SequenceConfig;
  contacts: PlannedContact[];
  preconditions: Precondition[];
  mailboxes: MailboxLoad[];
  forecast: Forecast[];
  credits: { balance: number; exact: number; maximum: number; fits: number | null };
  validation: ValidationOptions;
  /** A large selection's preview, tallied page by page: `contacts` then holds only the page shown. */
  tally?: Tally;
}

/** Which page of contacts a preview shows. */
export interface PreviewView {
  page: number;
  perPage: number;
  outcome: "enrolled" | "warned" | "skipped" | "all";
}

/** What a preview shows, added up one page of candidates at a time (never every candidate at once). */
export interface Tally {
  candidates: number;
  by: { enrolled: number; warned: number; skipped: number };
  reasons: Record<string, number>;
  /** Contacts counted under more than one reason (so reason counts can add up to more than a total). */
  severalReasons: number;
  warnCounts: Map<WarningCategory, { total: number; blocking: number }>;
  enriched: number;
  /** Candidates matching the view's outcome filter, and the ones on the page shown. */
  filtered: number;
  rows: PlannedContact[];
}

const newTally = (): Tally => ({ candidates: 0, by: { enrolled: 0, warned: 0, skipped: 0 }, reasons: {}, severalReasons: 0, warnCounts: new Map(), enriched: 0, filtered: 0, rows: [] });

function addToTally(t: Tally, contacts: PlannedContact[], view: PreviewView, overrides: ValidationOptions["overrides"]) {
  for (const c of contacts) {
    t.candidates++;
    t.by[c.evaluation.outcome]++;
    const reasons = [...c.evaluation.skips, ...c.evaluation.warnings];
    for (const r of reasons) t.reasons[r] = (t.reasons[r] ?? 0) + 1;
    if (reasons.length > 1) t.severalReasons++;
    if (c.evaluation.outcome !== "skipped") {
      for (const w of c.evaluation.warnings) {
        const x = t.warnCounts.get(w) ?? { total: 0, blocking: 0 };
        x.total++;
        if (c.evaluation.outcome === "warned" && !overrides[w]) x.blocking++;
        t.warnCounts.set(w, x);
      }
    }
    if (c.evaluation.enrichment?.email) t.enriched++;
    if (view.outcome === "all" || c.evaluation.outcome === view.outcome) {
      if (t.filtered >= (view.page - 1) * view.perPage && t.filtered < view.page * view.perPage) t.rows.push(c);
      t.filtered++;
    }
  }
}

/**
 * The mailboxes a request sends from: the chosen ones, or by default every connected mailbox of the
 * caller's own (an admin's sequence never rotates into a teammate's personal inbox unless chosen).
 * Choosing another user's mailbox needs an admin.
 */
async function chooseMailboxes(env: Env, caller: Caller, ids: string[] | undefined): Promise<{ ids: string[]; problems: Precondition[] }> {
  if (ids?.length) {
    const unique = [...new Set(ids)];
    const { results } = await env.DB.prepare("SELECT id, email, status, user_id AS userId FROM mailboxes WHERE team_id = ? AND id IN (SELECT value FROM json_each(?))").bind(caller.teamId, JSON.stringify(unique)).all<{ id: string; email: string; status: string; userId: string }>();
    const missing = unique.filter((id) => !results.some((r) => r.id === id));
    if (missing.length) throw new ApiError("not_found", "Mailbox not found", { mailbox_ids: missing });
    const allowed = new Set(sendableMailboxes(caller, results).map((r) => r.id));
    const refused = results.filter((r) => !allowed.has(r.id));
    if (refused.length) {
      throw new ApiError("forbidden", `You can't send from ${refused.map((r) => r.email).join(", ")}: only a mailbox's owner or an admin can`, { fields: [{ field: "mailbox_ids", message: "Pick one of your own mailboxes" }], mailbox_ids: refused.map((r) => r.id) });
    }
    const down = results.filter((r) => r.status !== "connected");
    return {
      ids: unique,
      problems: down.length
        ? [{ code: "mailbox_not_connected", message: `${down.map((d) => d.email).join(", ")} ${down.length > 1 ? "are" : "is"} not connected`, fix: "Reconnect the mailbox on the Mailboxes page, or pick another one", details: { mailbox_ids: down.map((d) => d.id) } }]
        : [],
    };
  }
  const { results } = await env.DB.prepare("SELECT id, user_id AS userId FROM mailboxes WHERE team_id = ? AND status = 'connected' ORDER BY email").bind(caller.teamId).all<{ id: string; userId: string }>();
  const mine = sendableMailboxes(caller, results).filter((r) => r.userId === caller.userId);
  return {
    ids: mine.map((r) => r.id),
    problems: mine.length ? [] : [{ code: "no_connected_mailbox", message: results.length ? "You have no connected mailbox of your own" : "Your team has no connected mailbox", fix: results.length ? "Pick a mailbox in the options step, or connect one of your own on the Mailboxes page" : "Connect a mailbox on the Mailboxes page" }],
  };
}

/**
 * The checks that need no candidate (DESIGN.md "Add contacts" step 2, except credits): the caller
 * may edit the sequence, it is active with a step on, the mailboxes are connected, the owner exists.
 */
export async function checkPreconditions(env: Env, d: Db, caller: Caller, sequenceId: string, req: AddContactsRequest) {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.edit");
  if (req.source.import_id) await importReady(env.DB, caller, req.source.import_id);
  const sequence = (await loadSequenceConfig(env.DB, seq.id))!;
  const preconditions: Precondition[] = [];
  if (sequence.archived) preconditions.push({ code: "sequence_archived", message: "This sequence is archived", fix: "Unarchive it, or pick another sequence" });
  else if (!sequence.active) preconditions.push({ code: "sequence_inactive", message: "This sequence is inactive", fix: "Turn the sequence on, then add contacts" });
  if (!sequence.steps.some((s) => s.enabled)) preconditions.push({ code: "no_enabled_steps", message: "Every step of this sequence is turned off", fix: "Add a step or turn one on in the sequence editor" });
  const chosen = await chooseMailboxes(env, caller, req.mailbox_ids);
  preconditions.push(...chosen.problems);
  if (req.owner_id) {
    const u = await env.DB.prepare("SELECT 1 FROM users WHERE id = ? AND team_id = ?").bind(req.owner_id, caller.teamId).first();
    if (!u) throw new ApiError("validation_failed", "Owner not found", { fields: [{ field: "owner_id", message: "No such user in your team" }] });
  }
  return { seq, sequence, preconditions, mailboxIds: chosen.ids };
}

/**
 * Everything an add-contacts request would do, computed without writing or charging anything:
 * the preview answers with it, and a commit writes exactly it. Deterministic for the same state.
 */
export async function planAddContacts(env: Env, d: Db, caller: Caller, sequenceId: string, req: AddContactsRequest, o: { preview: boolean; view?: PreviewView }): Promise<Plan> {
  const { seq, sequence, preconditions, mailboxIds } = await checkPreconditions(env, d, caller, sequenceId, req);
  const chosen = { ids: mailboxIds };
  const t = now();
  if (o.view && (await countCandidates(env.DB, caller.teamId, req.source)) > PLAN_PAGE) {
    return previewInPages(env, caller, seq, sequence, preconditions, mailboxIds, req, o.view, t);
  }
  const candidates = await resolveSource(env.DB, caller.teamId, req.source);
  const facts = await loadFacts(env.DB, caller.teamId, seq.id, candidates, t);
  const validation: ValidationOptions = {
    callerId: caller.userId,
    allowOtherOwners: (seq.settings as { allow_other_owners?: boolean }).allow_other_owners !== false,
    skipValidation: req.skip_validation,
    overrides: req.overrides ?? {},
    enrich: req.enrich,
    providers: DEFAULT_WATERFALL,
    preview: o.preview,
  };
  const evaluations = await Promise.all(facts.map((f) => evaluate(f, validation)));

  const loads = await loadMailboxLoads(env, caller.teamId, chosen.ids, t);
  const enrolledIdx = evaluations.map((e, i) => (e.outcome === "enrolled" ? i : -1)).filter((i) => i >= 0);
  const assignment = loads.length ? assignMailboxes(loads, enrolledIdx.length, req.rotation) : [];
  const mailboxOf = new Map<number, string>();
  enrolledIdx.forEach((i, k) => assignment[k] && mailboxOf.set(i, assignment[k]!));
  const assignedCount = new Map<string, number>();
  for (const m of assignment) assignedCount.set(m, (assignedCount.get(m) ?? 0) + 1);
  const forecast = loads.map((m) => forecastMailbox(m, assignedCount.get(m.id) ?? 0, sequence.window, Math.max(t, req.add_at ?? t)));

  const balance = await balanceOf(env.DB, caller.teamId);
  const exact = evaluations.reduce((a, e) => a + e.cost, 0);
  const maximum = evaluations.reduce((a, e) => a + e.maxCost, 0);
  let fits: number | null = null;
  if (maximum > balance) {
    // The largest prefix of the batch, in priority order, whose maximum spend the balance covers.
    let sum = 0;
    fits = 0;
    for (const e of evaluations) {
      if (sum + e.maxCost > balance) break;
      sum += e.maxCost;
      fits++;
    }
    preconditions.push({
      code: "insufficient_credits",
      message: `This batch can cost up to ${maximum} credits; your balance is ${balance}`,
      fix: fits > 0 ? `Add at most ${fits} contacts in this batch, turn off enrichment, or buy credits` : "Buy credits or turn off enrichment",
      details: { balance, maximum, fits },
    });
  }
  return {
    sequence,
    contacts: facts.map((f, i) => ({ facts: f, evaluation: evaluations[i]!, mailboxId: mailboxOf.get(i) ?? null })),
    preconditions,
    mailboxes: loads,
    forecast,
    credits: { balance, exact, maximum, fits },
    validation,
  };
}

/**
 * The preview of a selection larger than one page: the same answer as planAddContacts, computed over
 * pages of candidates in priority order (D1 orders them, keyset paging), keeping only the totals,
 * the running mailbox rotation and credit sums, and the contacts of the page shown.
 */
async function previewInPages(
  env: Env, caller: Caller, seq: { id: string; settings: unknown }, sequence: SequenceConfig, preconditions: Precondition[], mailboxIds: string[],
  req: AddContactsRequest, view: PreviewView, t: number,
): Promise<Plan> {
  const validation: ValidationOptions = {
    callerId: caller.userId,
    allowOtherOwners: (seq.settings as { allow_other_owners?: boolean }).allow_other_owners !== false,
    skipValidation: req.skip_validation,
    overrides: req.overrides ?? {},
    enrich: req.enrich,
    providers: DEFAULT_WATERFALL,
    preview: true,
  };
  const loads = await loadMailboxLoads(env, caller.teamId, mailboxIds, t);
  const ids = loads.map((m) => m.id);
  const left = roomOf(loads, req.rotation);
  const assignedCount = new Map<string, number>();
  const balance = await balanceOf(env.DB, caller.teamId);
  const tally = newTally();
  let exact = 0;
  let maximum = 0;
  let fitting = 0;
  let fits = 0;
  let open = true;
  let after: CandidateCursor | null = null;
  for (;;) {
    const page = await candidatePage(env.DB, caller.teamId, req.source, after, PLAN_PAGE);
    if (!page.length) break;
    after = { score: page[page.length - 1]!.score, k: page[page.length - 1]!.k };
    const facts = await loadFacts(env.DB, caller.teamId, seq.id, page.map((r) => ({ personId: r.person_id, contactId: r.contact_id })), t);
    const byKey = new Map(facts.map((f) => [keyOf(f), f]));
    const ordered = page.map((r) => byKey.get(r.k)!);
    const evaluations = await Promise.all(ordered.map((f) => evaluate(f, validation)));
    const enrolledAt = evaluations.flatMap((e, i) => (e.outcome === "enrolled" ? [i] : []));
    const assigned = ids.length ? assignFrom(ids, left, enrolledAt.length) : [];
    const mailboxOf = new Map(enrolledAt.map((i, k) => [i, assigned[k] ?? null]));
    for (const m of assigned) assignedCount.set(m, (assignedCount.get(m) ?? 0) + 1);
    for (const e of evaluations) {
      exact += e.cost;
      maximum += e.maxCost;
      if (open && fitting + e.maxCost <= balance) {
        fitting += e.maxCost;
        fits++;
      } else open = false;
    }
    addToTally(tally, ordered.map((f, i) => ({ facts: f, evaluation: evaluations[i]!, mailboxId: mailboxOf.get(i) ?? null })), view, validation.overrides);
    if (page.length < PLAN_PAGE) break;
  }
  const forecast = loads.map((m) => forecastMailbox(m, assignedCount.get(m.id) ?? 0, sequence.window, Math.max(t, req.add_at ?? t)));
  const short = maximum > balance;
  if (short) {
    preconditions.push({
      code: "insufficient_credits",
      message: `This batch can cost up to ${maximum} credits; your balance is ${balance}`,
      fix: fits > 0 ? `Add at most ${fits} contacts in this batch, turn off enrichment, or buy credits` : "Buy credits or turn off enrichment",
      details: { balance, maximum, fits },
    });
  }
  return { sequence, contacts: tally.rows, preconditions, mailboxes: loads, forecast, credits: { balance, exact, maximum, fits: short ? fits : null }, validation, tally };
}

/** The preview body: totals, warnings grouped by category, credits, capacity and one page of contacts. */
export function presentPlan(plan: Plan, page: number, perPage: number, outcome: "enrolled" | "warned" | "skipped" | "all") {
  let tally = plan.tally;
  if (!tally) {
    tally = newTally();
    addToTally(tally, plan.contacts, { page, perPage, outcome }, plan.validation.overrides);
  }
  const { by, reasons, warnCounts, enriched } = tally;
  const pageRows = tally.rows;
  const filtered = { length: tally.filtered };
  return {
    preconditions: plan.preconditions,
    totals: { candidates: tally.candidates, ...by, enriched, reasons, with_several_reasons: tally.severalReasons },
    warnings: WARNING_CATEGORIES.filter((w) => warnCounts.has(w)).map((w) => ({
      category: w,
      label: OUTCOME_REASONS[w].label,
      fix: OUTCOME_REASONS[w].fix,
      count: warnCounts.get(w)!.total,
      held_back: warnCounts.get(w)!.blocking,
      overridden: !!plan.validation.overrides[w] || plan.validation.skipValidation,
    })),
    credits: plan.credits,
    mailboxes: plan.forecast,
    contacts: pageRows.map((c) => ({
      contact_id: c.facts.contactId,
      person_id: c.facts.personId,
      name: `${c.facts.firstName} ${c.facts.lastName}`.trim(),
      email: c.evaluation.email,
      email_status: c.evaluation.emailStatus,
      company: c.facts.company,
      score: c.facts.score,
      net_new: !c.facts.contactId,
      outcome: c.evaluation.outcome,
      reasons: [...c.evaluation.skips, ...c.evaluation.warnings, ...(c.evaluation.enrichment?.email ? ["enriched" as const] : [])],
      credit_cost: c.evaluation.cost,
      mailbox_id: c.mailboxId,
    })),
    pagination: { page, per_page: perPage, total_entries: filtered.length, total_pages: Math.max(1, Math.ceil(filtered.length / perPage)) },
    reasons: OUTCOME_REASONS,
  };
}
