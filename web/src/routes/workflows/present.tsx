import { A } from "@solidjs/router";
import { Show } from "solid-js";
import type { WarningOverrides, Workflow, WorkflowRun } from "../../api";
import { Badge, type Tone } from "../../components/Badge";
import { formatDay, formatFull, formatNumber } from "../../format";
import { isFinished, JOB_STATUS, type JobStatus } from "../../jobs";
import { emptyFilters, EMPLOYEE_RANGES, facetLabel, type Filters } from "../../people-filters";
import { reasonText, retryText, runReasonFix, runReasonLabel, TRIED_AGAIN } from "./run-reason";

export { reasonText, retryText };

/** How often a workflow can run: the choices of the editor (the API takes 15 minutes to 30 days). */
export const INTERVALS: { minutes: number; label: string }[] = [
  { minutes: 15, label: "Every 15 minutes" },
  { minutes: 60, label: "Every hour" },
  { minutes: 360, label: "Every 6 hours" },
  { minutes: 1440, label: "Every day" },
  { minutes: 10080, label: "Every week" },
];

/** "Every day", "Every 6 hours", "Every 90 minutes". */
export function scheduleLabel(minutes: number) {
  const known = INTERVALS.find((i) => i.minutes === minutes);
  if (known) return known.label;
  if (minutes % 1440 === 0) return `Every ${minutes / 1440} days`;
  if (minutes % 60 === 0) return `Every ${minutes / 60} hours`;
  return `Every ${minutes} minutes`;
}

/** The warning categories a workflow can add anyway (WARNING_CATEGORIES in the API; the type keeps them in step). */
export const OVERRIDES: { key: keyof WarningOverrides; label: string; help: string }[] = [
  { key: "unverified_email", label: "Unverified or guessed email", help: "Riskier to send to; may bounce." },
  { key: "no_email", label: "No email address", help: "They get the sequence's non-email steps only (or an email found by enrichment)." },
  { key: "job_change", label: "Changed jobs recently", help: "Their title and company may be out of date." },
  { key: "active_in_other_sequence", label: "Active in another sequence", help: "They'd get emails from two sequences at once." },
  { key: "finished_in_other_sequence", label: "Finished another sequence", help: "They already heard from you." },
  { key: "replied_in_sequence", label: "Replied to this sequence before", help: "They answered it once already." },
  { key: "blocked_stage", label: "In a blocked stage", help: "The contact's stage normally keeps them out of sequences." },
];

/** A workflow's stored filters back into the sidebar's shape (unknown keys ignored). */
export function toFilters(stored: Record<string, unknown>): Filters {
  const f = emptyFilters();
  const arr = (k: string) => (Array.isArray(stored[k]) ? (stored[k] as string[]).filter((v) => typeof v === "string") : []);
  const num = (k: string) => (typeof stored[k] === "number" ? (stored[k] as number) : null);
  return {
    ...f,
    q: typeof stored.q === "string" ? stored.q : "",
    titles: arr("titles"),
    seniorities: arr("seniorities"),
    departments: arr("departments"),
    industries: arr("industries"),
    employee_ranges: arr("employee_ranges") as Filters["employee_ranges"],
    countries: arr("countries"),
    cities: arr("cities"),
    email_statuses: arr("email_statuses") as Filters["email_statuses"],
    score_min: num("score_min"),
    score_max: num("score_max"),
  };
}

/**
 * A workflow's stored filters the editor doesn't edit (a schedule's companies, a change trigger's lists,
 * countries and email statuses, set through the API): the editor keeps them as they are on save (the API
 * replaces filters and trigger whole, so left out they were dropped, and the workflow matched more people).
 */
export function keptFilters(stored: Record<string, unknown> | undefined, edited: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(stored ?? {}).filter(([k, v]) => !edited.includes(k) && v !== undefined));
}

/** The schedule filters the editor's sidebar edits (the others are kept: keptFilters). */
export const EDITED_SCHEDULE_FILTERS = [...Object.keys(emptyFilters())];
/** The change-trigger filters the editor edits (the others are kept: keptFilters). */
export const EDITED_CHANGE_FILTERS = ["stage_ids", "owner_ids", "titles"];

const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
/** Titles may hold commas ("VP, Sales"): each in quotes. */
const quoted = (titles: string[]) => titles.map((t) => `“${t}”`).join(" or ");

/** "VP, Director · United States · 51–200 employees": the filters in one line each, for the list. */
export function filterSummary(stored: Record<string, unknown>): string[] {
  const f = toFilters(stored);
  const out: string[] = [];
  if (f.q) out.push(`“${f.q}”`);
  const companies = strings(stored.companies);
  if (companies.length) out.push(`Company: ${companies.join(", ")}`);
  if (f.titles.length) out.push(`Title: ${quoted(f.titles)}`);
  if (f.seniorities.length) out.push(f.seniorities.map(facetLabel).join(", "));
  if (f.departments.length) out.push(f.departments.map(facetLabel).join(", "));
  if (f.industries.length) out.push(f.industries.join(", "));
  if (f.employee_ranges.length)
    out.push(`${f.employee_ranges.map((r) => EMPLOYEE_RANGES.find((x) => x.value === r)?.label ?? r).join(", ")} employees`);
  if (f.countries.length || f.cities.length) out.push([...f.cities, ...f.countries].join(", "));
  if (f.email_statuses.length) out.push(`Email ${f.email_statuses.join(", ")}`);
  if (f.score_min !== null || f.score_max !== null) out.push(`Score ${f.score_min ?? 0}–${f.score_max ?? 100}`);
  return out;
}

/** Names for the ids a change trigger's filters hold (an id not found, such as a deleted list, reads as such). */
export interface FilterNames {
  stage: (id: string) => string | undefined;
  user: (id: string) => string | undefined;
  list: (id: string) => string | undefined;
}

/** "Stage: Qualified · List: Conference leads · Title: “CTO”": a change trigger's contact filters, one line each. */
export function changeFilterSummary(filters: Record<string, unknown>, names: FilterNames): string[] {
  const out: string[] = [];
  const named = (label: string, key: string, name: (id: string) => string | undefined, gone: string) => {
    const ids = strings(filters[key]);
    if (ids.length) out.push(`${label}: ${ids.map((id) => name(id) ?? gone).join(", ")}`);
  };
  named("Stage", "stage_ids", names.stage, "an unknown stage");
  named("Owner", "owner_ids", names.user, "an unknown user");
  named("List", "list_ids", names.list, "an unknown list");
  const titles = strings(filters.titles);
  if (titles.length) out.push(`Title: ${quoted(titles)}`);
  const countries = strings(filters.countries);
  if (countries.length) out.push(`Country: ${countries.join(", ")}`);
  const statuses = strings(filters.email_statuses);
  if (statuses.length) out.push(`Email ${statuses.join(", ")}`);
  return out;
}

/** The run's headline: running, failed, added nobody, or its job's state. */
export function runStatus(r: WorkflowRun): { label: string; tone: Tone } {
  if (r.status === "running") return { label: "Running", tone: "accent" };
  if (r.status === "failed") return { label: "Failed", tone: "danger" };
  // limited_by_credits is a note on a run that added people (the ones the balance covered), not why it added nobody.
  if (r.reason && r.reason !== "limited_by_credits")
    return { label: "Added nobody", tone: r.reason === "no_new_people" ? "neutral" : "warning" };
  if (r.job_status && !isFinished(r.job_status as JobStatus))
    return { label: JOB_STATUS[r.job_status as JobStatus]?.label ?? "Adding", tone: "info" };
  if (r.job_status === "failed" || r.job_status === "cancelled") return { label: `Job ${r.job_status}`, tone: "danger" };
  return { label: "Completed", tone: "success" };
}

/** "Found 12 · Added 9", with the job link; "Adding…" while its job hasn't enrolled anybody yet. */
export function RunCounts(props: { run: WorkflowRun }) {
  const addedText = () => {
    const r = props.run;
    if (r.added !== null) return formatNumber(r.added);
    if (r.job_id && r.job_status && !isFinished(r.job_status as JobStatus)) return "adding…";
    return "0";
  };
  return (
    <span class="wf-counts">
      <span>
        Found <strong class="tabular">{formatNumber(props.run.found)}</strong>
      </span>
      <span aria-hidden="true">·</span>
      <span>
        Added <strong class="tabular">{addedText()}</strong>
      </span>
      {/* Once its job has finished: what it left out, so a batch's line adds up to what it found. */}
      <Show when={props.run.skipped}>
        {(n) => (
          <>
            <span aria-hidden="true">·</span>
            <span>
              Skipped <strong class="tabular">{formatNumber(n())}</strong>
            </span>
          </>
        )}
      </Show>
      <Show when={props.run.held_back}>
        {(n) => (
          <>
            <span aria-hidden="true">·</span>
            <span>
              Held back <strong class="tabular">{formatNumber(n())}</strong>
            </span>
          </>
        )}
      </Show>
      <Show when={props.run.job_id}>
        {(id) => (
          <A href={`/jobs/${id()}`} class="wf-job-link" data-testid="run-job-link">
            View job
          </A>
        )}
      </Show>
    </span>
  );
}

/** The reason a run added nobody, with its fix as help text (and, for a failed change run, whether it's tried again). */
export function RunReason(props: {
  run: Pick<WorkflowRun, "reason" | "status" | "trigger" | "attempts" | "will_retry" | "job_id" | "skipped_reasons">;
}) {
  const retry = () => retryText(props.run);
  const fix = (c: string) => (retry() && TRIED_AGAIN.has(c) ? "" : runReasonFix(props.run));
  return (
    <Show when={props.run.reason}>
      {(c) => (
        <span class="wf-reason" data-testid="run-reason" data-reason={c()}>
          <strong>{runReasonLabel(c(), props.run.attempts)}</strong>
          <Show when={fix(c())}>
            <span class="muted"> {fix(c())}</span>
          </Show>
          <Show when={retry()}>
            <span class="muted" data-testid="run-retry">
              {" "}
              {retry()}
            </span>
          </Show>
        </span>
      )}
    </Show>
  );
}

export function RunTime(props: { ms: number }) {
  return (
    <time datetime={new Date(props.ms).toISOString()} title={formatFull(props.ms)}>
      {formatDay(props.ms)}
    </time>
  );
}

export function RunBadge(props: { run: WorkflowRun }) {
  return (
    <Badge tone={runStatus(props.run).tone} dot>
      {runStatus(props.run).label}
    </Badge>
  );
}

export const isRunning = (w: Workflow) => w.last_run?.status === "running";

/** Why a run turned the workflow off, in words, with what to do. */
const OFF_REASONS: Record<string, string> = {
  owner_missing: "Turned off: its owner is disabled or no longer on the team. An admin can recreate it under an active user.",
  forbidden:
    "Turned off: its owner can no longer add contacts to this sequence (its share was removed or made view-only). Share the sequence with edit access, then turn the workflow on.",
  not_found:
    "Turned off: its owner can no longer reach its sequence or one of its mailboxes (removed, or no longer shared). Share it again or edit the workflow, then turn it on.",
  sequence_archived: "Turned off: its sequence was archived. Unarchive the sequence or pick another one, then turn the workflow on.",
  check_failed:
    "Turned off: looking for contact changes failed for this workflow (an error on our side), so it stopped rather than hold up other workflows. Turn it on to try again; it acts on changes from then on.",
};

/** The notice on a workflow a run turned off (its owner lost its sequence), saying why: it doesn't run until turned on again. */
export function OffReason(props: { w: Pick<Workflow, "active" | "off_reason"> }) {
  return (
    <Show when={!props.w.active && props.w.off_reason}>
      {(code) => (
        <p class="wf-off-reason text-danger small" role="status" data-testid="workflow-off-reason" data-reason={code()}>
          {OFF_REASONS[code()] ?? `Turned off: ${reasonText(code()).label}.`}
        </p>
      )}
    </Show>
  );
}

/** The contact changes a workflow can run on. */
export const CHANGE_KINDS = [
  { key: "created", label: "is created (saved, imported, added by the API)" },
  { key: "stage", label: "moves to another stage" },
  { key: "field", label: "has a field changed" },
] as const;

/** The fields whose change a workflow can run on (as the API names them). */
export const CHANGE_FIELDS = [
  { key: "title", label: "Title" },
  { key: "company", label: "Company" },
  { key: "email", label: "Email" },
  { key: "email_status", label: "Email status" },
  { key: "owner_id", label: "Owner" },
  { key: "country", label: "Country" },
  { key: "city", label: "City" },
  { key: "phone", label: "Phone" },
  { key: "first_name", label: "First name" },
  { key: "last_name", label: "Last name" },
  { key: "domain", label: "Domain" },
  { key: "linkedin_url", label: "LinkedIn URL" },
  { key: "time_zone", label: "Time zone" },
] as const;

const CHANGE_WORDS: Record<string, string> = { created: "is created", stage: "moves stage", field: "has a field changed" };

/** When a workflow runs, in words: its schedule, or the contact changes it runs on. */
export function triggerLabel(w: Pick<Workflow, "trigger" | "interval_minutes">): string {
  if (w.trigger.kind !== "change") return scheduleLabel(w.interval_minutes);
  return `When a contact ${w.trigger.on.map((k) => CHANGE_WORDS[k] ?? k).join(" or ")}`;
}

/** What started a run: its schedule, Run now, or which contact's change. */
export function RunTrigger(props: { run: WorkflowRun }) {
  const t = () => props.run.trigger;
  return (
    <Show when={t().kind === "change"} fallback={<span class="muted">{t().kind === "manual" ? "Run now" : "Schedule"}</span>}>
      <span data-testid="run-trigger">
        {t().change === "created"
          ? "Created"
          : t().change === "stage"
            ? "Stage changed"
            : t().change === "field"
              ? "Field changed"
              : "Changed"}
        : {/* A run takes the changes one tick found: several contacts are counted, one is named. */}
        <Show
          when={props.run.found > 1}
          fallback={
            <Show when={t().contact_id} fallback="a deleted contact">
              <A href={`/contacts/${t().contact_id}`}>{t().contact_name || "contact"}</A>
            </Show>
          }
        >
          {props.run.found.toLocaleString()} contacts
        </Show>
      </span>
    </Show>
  );
}
