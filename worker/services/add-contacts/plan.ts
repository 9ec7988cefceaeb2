import { and, eq, sql } from "drizzle-orm";
import { batchSql, type Db } from "../../db/client";
import { inList } from "../../db/in-list";
import { mailboxes } from "../../db/schema";
import type { Caller, Env } from "../../env";
import { now } from "../../lib/clock";
import { ApiError, type ErrorCode } from "../../lib/errors";
import { jobWithAccess, sendableMailboxes, sequenceFor, teamUser } from "../access";
import { importReady } from "../imports/imports";
import { variableUses } from "../templates";
import { configFromRow, configStatement, type ConfigRow, type SequenceConfig } from "../../../durable-objects/sequence-config";
import { assignFrom, forecastMailbox, loadPlanStart, roomOf, type Forecast, type MailboxLoad } from "./capacity";
import {
  candidatePage,
  checkLists,
  listsOfTeamSql,
  countCandidates,
  cursorAfter,
  loadFacts,
  isContactVariable,
  MAX_COUNTED_VARIABLES,
  rulesOf,
  type Candidate,
  type CandidateCursor,
  type Facts,
} from "./candidates";
import { OUTCOME_REASONS, PLAN_PAGE, WARNING_CATEGORIES, type AddContactsRequest, type WarningCategory } from "./request";
import { evaluateAll, foundAddress, validationFor, type Evaluation, type ValidationOptions } from "./validate";

// Planning: what an add-contacts request would do, one page of candidates at a time. The preview,
// the commit of a small selection and the queued plan pages of a large one all go through
// `planPage`, so they validate, rotate mailboxes and add up credits the same way.

export interface Precondition {
  code: Extract<
    ErrorCode,
    | "sequence_archived"
    | "sequence_inactive"
    | "no_enabled_steps"
    | "mailbox_not_connected"
    | "no_connected_mailbox"
    | "insufficient_credits"
  >;
  message: string;
  fix: string;
  details?: Record<string, unknown>;
}

export interface PlannedContact {
  facts: Facts;
  evaluation: Evaluation;
  mailboxId: string | null;
}

/** What a page of candidates is planned against: the same for every page of one request or job. */
export interface PlanContext {
  teamId: string;
  sequenceId: string;
  validation: ValidationOptions;
  /** Mailboxes to rotate over, in rotation order. */
  mailboxIds: string[];
  at: number;
  /** Contact template variables whose empty values are counted (a preview's; see `templateUses`). */
  variables?: readonly string[];
}

/**
 * The running state of a plan from page to page: room left per mailbox (continued by `assignFrom`),
 * contacts assigned per mailbox, credit sums, and the largest prefix the balance covers. A queued
 * plan page carries `left` and `maximum` in its message.
 */
export interface PlanRun {
  left: number[];
  assigned: Map<string, number>;
  exact: number;
  maximum: number;
  balance: number;
  fitting: number;
  fits: number;
  open: boolean;
}

export const newRun = (left: number[], balance: number, maximum = 0): PlanRun => ({
  left,
  assigned: new Map(),
  exact: 0,
  maximum,
  balance,
  fitting: 0,
  fits: 0,
  open: true,
});

/** One page of candidates, in priority order: facts, evaluation, mailbox; `run` moves on. */
export async function planPage(d: Db, ctx: PlanContext, cands: readonly Candidate[], run: PlanRun): Promise<PlannedContact[]> {
  const facts = await loadFacts(d, ctx.teamId, ctx.sequenceId, cands, ctx.at, null, ctx.variables);
  const evaluations = await evaluateAll(d, ctx.teamId, facts, ctx.validation);
  const enrolledAt = evaluations.flatMap((e, i) => (e.outcome === "enrolled" ? [i] : []));
  const assigned = ctx.mailboxIds.length ? assignFrom(ctx.mailboxIds, run.left, enrolledAt.length) : [];
  const mailboxOf = new Map(enrolledAt.map((i, k) => [i, assigned[k] ?? null]));
  for (const m of assigned) run.assigned.set(m, (run.assigned.get(m) ?? 0) + 1);
  for (const e of evaluations) {
    run.exact += e.cost;
    run.maximum += e.maxCost;
    if (run.open && run.fitting + e.maxCost <= run.balance) {
      run.fitting += e.maxCost;
      run.fits++;
    } else run.open = false;
  }
  return facts.map((f, i) => ({ facts: f, evaluation: evaluations[i]!, mailboxId: mailboxOf.get(i) ?? null }));
}

/** The credits of a finished run, and the precondition that refuses it when the balance can't cover the maximum. */
export function creditsOf(run: PlanRun) {
  const short = run.maximum > run.balance;
  const credits = { balance: run.balance, exact: run.exact, maximum: run.maximum, fits: short ? run.fits : null };
  const problem: Precondition | null = short
    ? {
        code: "insufficient_credits",
        message: `This batch can cost up to ${run.maximum} credits; your balance is ${run.balance}`,
        fix:
          run.fits > 0
            ? `Add at most ${run.fits} contacts in this batch, turn off enrichment, or buy credits`
            : "Buy credits or turn off enrichment",
        details: { balance: run.balance, maximum: run.maximum, fits: run.fits },
      }
    : null;
  return { credits, problem };
}

const mailboxColumns = { id: mailboxes.id, email: mailboxes.email, status: mailboxes.status, userId: mailboxes.userId };
type MailboxRow = { id: string; email: string; status: string; userId: string };

/** The mailboxes `chooseMailboxes` decides on: the chosen ones, or the team's connected ones (a query for a batch). */
function mailboxesQuery(d: Db, caller: Caller, ids: string[] | undefined) {
  return ids?.length
    ? d
        .select(mailboxColumns)
        .from(mailboxes)
        .where(and(eq(mailboxes.teamId, caller.teamId), inList(mailboxes.id, [...new Set(ids)])))
    : d
        .select(mailboxColumns)
        .from(mailboxes)
        .where(and(eq(mailboxes.teamId, caller.teamId), eq(mailboxes.status, "connected")))
        .orderBy(mailboxes.email);
}

/**
 * The mailboxes a request sends from (`rows` from `mailboxesQuery`): the chosen ones, or by default
 * every connected mailbox of the caller's own (an admin's sequence never rotates into a teammate's
 * personal inbox unless chosen). Choosing another user's mailbox needs an admin.
 */
function chooseMailboxes(caller: Caller, ids: string[] | undefined, rows: MailboxRow[]): { ids: string[]; problems: Precondition[] } {
  if (ids?.length) {
    const unique = [...new Set(ids)];
    const missing = unique.filter((id) => !rows.some((r) => r.id === id));
    if (missing.length) throw new ApiError("not_found", "Mailbox not found", { mailbox_ids: missing });
    const allowed = new Set(sendableMailboxes(caller, rows).map((r) => r.id));
    const refused = rows.filter((r) => !allowed.has(r.id));
    if (refused.length) {
      throw new ApiError(
        "forbidden",
        `You can't send from ${refused.map((r) => r.email).join(", ")}: only a mailbox's owner or an admin can`,
        { fields: [{ field: "mailbox_ids", message: "Pick one of your own mailboxes" }], mailbox_ids: refused.map((r) => r.id) },
      );
    }
    const down = rows.filter((r) => r.status !== "connected");
    return {
      ids: unique,
      problems: down.length
        ? [
            {
              code: "mailbox_not_connected",
              message: `${down.map((m) => m.email).join(", ")} ${down.length > 1 ? "are" : "is"} not connected`,
              fix: "Reconnect the mailbox on the Mailboxes page, or pick another one",
              details: { mailbox_ids: down.map((m) => m.id) },
            },
          ]
        : [],
    };
  }
  const mine = sendableMailboxes(caller, rows).filter((r) => r.userId === caller.userId);
  return {
    ids: mine.map((r) => r.id),
    problems: mine.length
      ? []
      : [
          {
            code: "no_connected_mailbox",
            message: rows.length ? "You have no connected mailbox of your own" : "Your team has no connected mailbox",
            fix: rows.length
              ? "Pick a mailbox in the options step, or connect one of your own on the Mailboxes page"
              : "Connect a mailbox on the Mailboxes page",
          },
        ],
  };
}

export interface Prepared {
  sequence: SequenceConfig;
  preconditions: Precondition[];
  mailboxIds: string[];
  /** The request's planning context (validation as a preview sees it). */
  ctx: PlanContext;
  /** The contact variables the emails use (a preview's: `withTemplates`). */
  variables: VariableUse[];
}

/**
 * A job whose contacts not processed may be added again: one the caller can see (404 otherwise), an add-contacts
 * job, and ended. A job still running has contacts with no outcome yet that its own chunks are about to add; a
 * cancelled one processed nobody (add its source again instead).
 */
async function jobToRetry(d: Db, caller: Caller, jobId: string) {
  const { job } = await jobWithAccess(d, caller, jobId);
  if (job.kind !== "add_contacts") throw new ApiError("not_found", "Job not found", { field: "source.not_processed_of_job" });
  if (job.status !== "completed" && job.status !== "failed")
    throw new ApiError(
      "conflict",
      job.status === "cancelled"
        ? "This job was cancelled before it started: add its contacts again from where you picked them"
        : "This job is still adding its contacts: retry the ones not processed when it has finished",
      { job_id: jobId, status: job.status },
    );
}

/**
 * The checks that need no candidate (DESIGN.md "Add contacts" step 2, except credits), run once per
 * request: the caller may edit the sequence, it is active with a step on, the mailboxes are
 * connected, the owner exists, the lists and the import are the caller's to use.
 */
export async function checkPreconditions(
  d: Db,
  caller: Caller,
  sequenceId: string,
  req: AddContactsRequest,
  /** A preview's: read the contact variables the emails use (templateUses) in the same round trip. */
  withTemplates = false,
): Promise<Prepared> {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.edit");
  if (req.source.import_id) await importReady(d, caller, req.source.import_id);
  if (req.source.not_processed_of_job) await jobToRetry(d, caller, req.source.not_processed_of_job);
  // The sequence's config, the mailboxes and the lists in one D1 round trip; their checks in the order they always ran.
  const listIds = req.source.list_ids ?? [];
  const [configRes, mailboxRes, templatesRes, listRes] = await batchSql(d, [
    configStatement(seq.id, caller.teamId),
    mailboxesQuery(d, caller, req.mailbox_ids),
    withTemplates ? templatesSql(caller.teamId, seq.id) : sql`SELECT 1 WHERE false`,
    ...(listIds.length ? [listsOfTeamSql(caller.teamId, listIds)] : []),
  ]);
  checkLists(listIds, (listRes?.results ?? []) as { id: string }[]);
  const mailboxRows = (mailboxRes!.results as { id: string; email: string; status: string; user_id: string }[]).map((r) => ({
    id: r.id,
    email: r.email,
    status: r.status,
    userId: r.user_id,
  }));
  // Deleted between its access check and this read (a DELETE racing the add): gone, as if never found.
  const configRow = configRes!.results[0] as ConfigRow | undefined;
  if (!configRow) throw new ApiError("not_found", "Sequence not found");
  const sequence = configFromRow(configRow);
  const preconditions: Precondition[] = [];
  if (sequence.archived)
    preconditions.push({ code: "sequence_archived", message: "This sequence is archived", fix: "Unarchive it, or pick another sequence" });
  else if (!sequence.active)
    preconditions.push({ code: "sequence_inactive", message: "This sequence is inactive", fix: "Turn the sequence on, then add contacts" });
  if (!sequence.steps.some((s) => s.enabled))
    preconditions.push({
      code: "no_enabled_steps",
      message: "Every step of this sequence is turned off",
      fix: "Add a step or turn one on in the sequence editor",
    });
  const chosen = chooseMailboxes(caller, req.mailbox_ids, mailboxRows);
  preconditions.push(...chosen.problems);
  if (req.owner_id !== undefined) await teamUser(d, caller, req.owner_id, "owner_id");
  const ctx: PlanContext = {
    teamId: caller.teamId,
    sequenceId: seq.id,
    validation: validationFor(caller.userId, seq.settings, req, true),
    mailboxIds: chosen.ids,
    at: now(),
  };
  const variables = withTemplates ? templateUses(templatesRes!.results as Parameters<typeof templateUses>[0]) : [];
  return { sequence, preconditions, mailboxIds: chosen.ids, ctx, variables };
}

/** Throws the first precondition (422 with all of them and its fix). */
export function refuse(preconditions: Precondition[]): void {
  const first = preconditions[0];
  if (first) throw new ApiError(first.code, first.message, { fix: first.fix, preconditions, ...first.details }, 422);
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
  /** Contacts to be added (enrolled) that another user of the team owns: the sequence takes teammates' contacts. */
  ownedByTeammates: number;
  warnCounts: Map<WarningCategory, { total: number; blocking: number }>;
  enriched: number;
  /** Per variable of `templateUses` (by its place), the contacts not skipped that have no value for it. */
  emptyVariables: number[];
  /** Candidates matching the view's outcome filter, and the ones on the page shown. */
  filtered: number;
  rows: PlannedContact[];
}

const newTally = (variables: number): Tally => ({
  candidates: 0,
  by: { enrolled: 0, warned: 0, skipped: 0 },
  reasons: {},
  severalReasons: 0,
  ownedByTeammates: 0,
  warnCounts: new Map(),
  enriched: 0,
  emptyVariables: new Array<number>(variables).fill(0),
  filtered: 0,
  rows: [],
});

function addToTally(t: Tally, contacts: PlannedContact[], view: PreviewView, overrides: ValidationOptions["overrides"]) {
  for (const c of contacts) {
    t.candidates++;
    t.by[c.evaluation.outcome]++;
    const reasons = [...c.evaluation.skips, ...c.evaluation.warnings];
    for (const r of reasons) t.reasons[r] = (t.reasons[r] ?? 0) + 1;
    if (reasons.length > 1) t.severalReasons++;
    if (c.evaluation.outcome === "enrolled" && c.evaluation.ownedByTeammate) t.ownedByTeammates++;
    // Only the contacts that will be added get these emails: not the skipped, nor those a warning holds back.
    if (c.evaluation.outcome === "enrolled")
      for (let v = c.facts.emptyVariables, k = 0; v; v = Math.floor(v / 2), k++) if (v % 2) t.emptyVariables[k]!++;
    if (c.evaluation.outcome !== "skipped") {
      for (const w of c.evaluation.warnings) {
        const x = t.warnCounts.get(w) ?? { total: 0, blocking: 0 };
        x.total++;
        if (c.evaluation.outcome === "warned" && !overrides[w]) x.blocking++;
        t.warnCounts.set(w, x);
      }
    }
    if (foundAddress(c.evaluation)) t.enriched++;
    if (view.outcome === "all" || c.evaluation.outcome === view.outcome) {
      if (t.filtered >= (view.page - 1) * view.perPage && t.filtered < view.page * view.perPage) t.rows.push(c);
      t.filtered++;
    }
  }
}

/** How one step's email treats a contact without a value for a variable, variant by variant (pickVariant gives each contact one). */
export interface StepUse {
  /** The step (1-based, as the editor numbers it). */
  step: number;
  /** Labels of its enabled variants with a use without a fallback: a contact given one of them pauses there. */
  pausing: string[];
  /** Labels of the others: their email is sent. */
  sending: string[];
  /** What the sending variants say instead (their fallbacks, each once; "": nothing). */
  said: string[];
}

/** How the sequence's automatic emails use one contact variable: where, and what they do for a contact without a value. */
export interface VariableUse {
  variable: string;
  /** The steps (1-based, in order) whose emails use it. */
  steps: number[];
  /**
   * The steps where a contact without a value may pause: every variant of the step, or some (the contacts given
   * one of those). None after the first step where every variant pauses: a paused contact doesn't reach them.
   */
  pauseSteps: number[];
  /** What the emails such a contact is sent say instead (the fallbacks of the steps reached), each once. */
  fallbacks: string[];
  /** Each step that uses it, in order. */
  uses: StepUse[];
}

/**
 * The contact variables the sequence's automatic emails use (enabled auto_email steps, their enabled variants),
 * as the send reads them (compose.ts): a same-thread reply goes under the thread's subject, so only its body
 * counts. At most MAX_COUNTED_VARIABLES, in the order the emails first use them. Steps are numbered in STEP_ORDER
 * (position, then id), the engine's: by position alone two tied steps shared a number and read as one step's variants.
 */
const templatesSql = (teamId: string, sequenceId: string) => sql`
    SELECT (SELECT count(*) FROM steps o WHERE o.sequence_id = s.sequence_id AND (o.position, o.id) <= (s.position, s.id)) AS n, s.thread_reply,
           v.label, v.subject, v.body
      FROM steps s JOIN step_variants v ON v.step_id = s.id AND v.enabled = 1
     WHERE s.sequence_id = ${sequenceId} AND s.team_id = ${teamId} AND s.enabled = 1 AND s.type = 'auto_email'
     ORDER BY s.position, s.id, v.label, v.id`;

/** The rows of `templatesSql`, as the variables they use. */
function templateUses(rows: { n: number; thread_reply: number; label: string; subject: string; body: string }[]): VariableUse[] {
  // Each step's variants with their variable tags: a contact gets one variant per step (pickVariant), so whether the
  // step pauses them depends on which one.
  const byStep = new Map<number, { label: string; tags: ReturnType<typeof variableUses> }[]>();
  for (const r of rows) {
    const variants = byStep.get(r.n) ?? [];
    variants.push({ label: r.label, tags: variableUses(`${r.thread_reply ? "" : r.subject}\n${r.body}`) });
    byStep.set(r.n, variants);
  }
  const uses = new Map<string, StepUse[]>();
  for (const [step, variants] of byStep) {
    const names = new Set(variants.flatMap((v) => v.tags.map((t) => t.name)).filter(isContactVariable));
    for (const name of names) {
      let list = uses.get(name);
      if (!list) {
        if (uses.size === MAX_COUNTED_VARIABLES) continue;
        uses.set(name, (list = []));
      }
      const mine = variants.map((v) => ({ label: v.label, fallbacks: v.tags.filter((t) => t.name === name).map((t) => t.fallback) }));
      const pauses = (v: (typeof mine)[number]) => v.fallbacks.includes(null);
      list.push({
        step,
        pausing: mine.filter(pauses).map((v) => v.label),
        sending: mine.filter((v) => !pauses(v)).map((v) => v.label),
        said: [...new Set(mine.filter((v) => !pauses(v)).flatMap((v) => v.fallbacks as string[]))],
      });
    }
  }
  return [...uses.entries()].map(([variable, list]) => {
    const reached = reachedUses(list);
    return {
      variable,
      steps: list.map((u) => u.step),
      pauseSteps: reached.filter((u) => u.pausing.length).map((u) => u.step),
      fallbacks: [...new Set(reached.flatMap((u) => u.said))],
      uses: list,
    };
  });
}

/** The uses a contact without the value can reach: up to the first step where every variant pauses them (engine order). */
function reachedUses(list: StepUse[]): StepUse[] {
  const stop = list.findIndex((u) => !u.sending.length);
  return stop < 0 ? list : list.slice(0, stop + 1);
}

export interface Preview {
  preconditions: Precondition[];
  /** The contact variables the emails use, and (tally.emptyVariables) how many contacts lack each. */
  variables: VariableUse[];
  forecast: Forecast[];
  credits: ReturnType<typeof creditsOf>["credits"];
  validation: ValidationOptions;
  tally: Tally;
}

const forecastOf = (loads: MailboxLoad[], run: PlanRun, sequence: SequenceConfig, from: number) =>
  loads.map((m) => forecastMailbox(m, run.assigned.get(m.id) ?? 0, sequence.window, from));

/**
 * The dry run of an add-contacts request, computed without writing or charging anything: pages of
 * candidates in priority order (D1 orders them, keyset paging) through `planPage`, keeping only the
 * totals, the running rotation and credit sums, and the contacts of the page shown. Deterministic
 * for the same state.
 */
export async function previewAddContacts(
  env: Env,
  d: Db,
  caller: Caller,
  sequenceId: string,
  req: AddContactsRequest,
  view: PreviewView,
): Promise<Preview> {
  const { sequence, preconditions, ctx, variables } = await checkPreconditions(d, caller, sequenceId, req, true);
  const { loads, balance } = await loadPlanStart(env, d, caller.teamId, ctx.mailboxIds, ctx.at);
  ctx.mailboxIds = loads.map((m) => m.id);
  ctx.variables = variables.map((v) => v.variable);
  const run = newRun(roomOf(loads, req.rotation), balance);
  const tally = newTally(variables.length);
  let after: CandidateCursor | null = null;
  for (let n = 0; ; n++) {
    const page = await candidatePage(d, caller.teamId, req.source, after, PLAN_PAGE, rulesOf(ctx.sequenceId, req));
    // A full first page: the selection may pass the job limit (413 before walking it).
    if (n === 0 && page.length === PLAN_PAGE) await countCandidates(d, caller.teamId, req.source);
    if (!page.length) break;
    after = cursorAfter(page);
    addToTally(
      tally,
      await planPage(
        d,
        ctx,
        page.map((r) => ({ personId: r.person_id, contactId: r.contact_id, duplicate: r.duplicate })),
        run,
      ),
      view,
      ctx.validation.overrides,
    );
    if (page.length < PLAN_PAGE) break;
  }
  const { credits, problem } = creditsOf(run);
  return {
    preconditions: problem ? [...preconditions, problem] : preconditions,
    variables,
    forecast: forecastOf(loads, run, sequence, Math.max(ctx.at, req.add_at ?? ctx.at)),
    credits,
    validation: ctx.validation,
    tally,
  };
}

/**
 * The plan of a selection of at most PLAN_PAGE candidates, for a commit in the request: every
 * contact with its evaluation and mailbox, and the credits (with the precondition that refuses them).
 */
export async function planSmall(env: Env, d: Db, caller: Caller, prepared: Prepared, req: AddContactsRequest) {
  const { ctx } = prepared;
  const { loads, balance } = await loadPlanStart(env, d, caller.teamId, ctx.mailboxIds, ctx.at);
  ctx.mailboxIds = loads.map((m) => m.id);
  const run = newRun(roomOf(loads, req.rotation), balance);
  const page = await candidatePage(d, caller.teamId, req.source, null, PLAN_PAGE, rulesOf(ctx.sequenceId, req));
  const contacts = await planPage(
    d,
    ctx,
    page.map((r) => ({ personId: r.person_id, contactId: r.contact_id, duplicate: r.duplicate })),
    run,
  );
  return { contacts, mailboxIds: ctx.mailboxIds, ...creditsOf(run) };
}

/** The preview body: totals, warnings grouped by category, credits, capacity and one page of contacts. */
export function presentPreview(p: Preview, view: PreviewView) {
  const { by, reasons, warnCounts, enriched, filtered } = p.tally;
  return {
    preconditions: p.preconditions,
    totals: {
      candidates: p.tally.candidates,
      ...by,
      enriched,
      reasons,
      with_several_reasons: p.tally.severalReasons,
      owned_by_teammates: p.tally.ownedByTeammates,
    },
    warnings: WARNING_CATEGORIES.filter((w) => warnCounts.has(w)).map((w) => ({
      category: w,
      label: OUTCOME_REASONS[w].label,
      fix: OUTCOME_REASONS[w].fix,
      count: warnCounts.get(w)!.total,
      held_back: warnCounts.get(w)!.blocking,
      overridden: !!p.validation.overrides[w] || p.validation.skipValidation,
    })),
    missing_variables: p.variables.flatMap((v, k) => {
      const count = p.tally.emptyVariables[k] ?? 0;
      return count
        ? [
            {
              variable: v.variable,
              count,
              steps: v.steps,
              pause_steps: v.pauseSteps,
              pauses: v.pauseSteps.length > 0,
              fallbacks: v.fallbacks,
              message: missingMessage(v, count),
            },
          ]
        : [];
    }),
    credits: p.credits,
    mailboxes: p.forecast,
    contacts: p.tally.rows.map((c) => ({
      contact_id: c.facts.contactId,
      person_id: c.facts.personId,
      name: `${c.facts.firstName} ${c.facts.lastName}`.trim(),
      email: c.evaluation.email,
      email_status: c.evaluation.emailStatus,
      company: c.facts.company,
      score: c.facts.score,
      net_new: !c.facts.contactId,
      outcome: c.evaluation.outcome,
      reasons: [...c.evaluation.skips, ...c.evaluation.warnings, ...(foundAddress(c.evaluation) ? ["enriched" as const] : [])],
      credit_cost: c.evaluation.cost,
      mailbox_id: c.mailboxId,
    })),
    pagination: {
      page: view.page,
      per_page: view.perPage,
      total_entries: filtered,
      total_pages: Math.max(1, Math.ceil(filtered / view.perPage)),
    },
    reasons: OUTCOME_REASONS,
  };
}

/** A variable's name in words: `company` → "company", `custom.deal_size` → "deal size". */
const variableWords = (name: string) => (name.startsWith("custom.") ? name.slice("custom.".length) : name).replace(/_/g, " ");

const quoted = (texts: string[]) => texts.map((f) => `“${f}”`).join(" or ");

/**
 * What the emails of `count` contacts without a value for the variable do, in the order the engine sends them and in
 * the send's terms (compose.ts): a step's email with a use without a fallback isn't sent and pauses the contact there
 * (missing_variables) until a user fills it in and resumes them, so the steps after it aren't reached without it; the
 * other emails are sent, saying the fallback instead (an empty one: nothing). Each contact gets one variant of a step
 * (pickVariant, from the enrollment's id, made only when they are added): where some variants pause and some don't,
 * the words say which, not how many.
 */
function missingMessage(v: VariableUse, count: number): string {
  const who = `${count.toLocaleString("en-US")} ${count === 1 ? "contact has" : "contacts have"} no ${variableWords(v.variable)}`;
  const at = (steps: number[]) => `${steps.length > 1 ? "the emails at steps" : "the email at step"} ${steps.join(", ")}`;
  const variants = (labels: string[]) =>
    `${labels.length > 1 ? "variants" : "variant"} ${labels.length > 1 ? `${labels.slice(0, -1).join(", ")} and ${labels.at(-1)}` : labels[0]}`;
  const say = (said: string[]) => {
    const words = said.filter((f) => f !== "");
    return words.length ? `say ${quoted(words)} instead` : "leave it out";
  };
  const tag = `{{${v.variable}}}`;
  const parts: string[] = [];
  // Sending steps in a row that say the same are told together; after a step where only some pause, the rest are
  // about those who went on.
  let run: { steps: number[]; text: string; lead: string } | null = null;
  const flush = () => {
    if (run) parts.push(`${run.lead}${at(run.steps)} will ${run.text}`);
    run = null;
  };
  let lead = "";
  const reached = reachedUses(v.uses);
  for (const u of reached) {
    if (!u.pausing.length) {
      const text = say(u.said);
      if (run && run.text === text && run.lead === lead) run.steps.push(u.step);
      else {
        flush();
        run = { steps: [u.step], text, lead };
      }
      continue;
    }
    flush();
    if (!u.sending.length) {
      parts.push(
        `${lead}${at([u.step])} uses ${tag} without a fallback, so it won't be sent to them and they pause there until it is filled in and they are resumed`,
      );
      const later = v.uses.slice(reached.length).map((x) => x.step);
      if (later.length) parts.push(`they don't reach ${later.length > 1 ? "steps" : "step"} ${later.join(", ")} before that`);
      break;
    }
    const usedBySending = u.said.length > 0;
    parts.push(
      `${lead}at step ${u.step}, those who get ${variants(u.pausing)} pause there (${u.pausing.length > 1 ? "those variants use" : "it uses"} ${tag} without a fallback, so it isn't sent to them) until it is filled in and they are resumed, and those who get ${variants(u.sending)} ${usedBySending ? `are sent an email that will ${say(u.said)}` : "are sent an email that doesn't use it"}`,
    );
    lead = "for those who go on, ";
  }
  flush();
  return `${who}: ${parts.join("; ")}`;
}
