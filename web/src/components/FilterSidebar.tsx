import { createEffect, createResource, For, Show, type JSX } from "solid-js";
import type { EmailStatusValue, Facet } from "../api";
import { Icon } from "./Icon";
import { TagInput } from "./TagInput";
import { formatNumber } from "../format";
import { getPeopleFacets } from "../queries/people";
import { FieldError } from "./FieldError";
import {
  activeFilterCount,
  EMPLOYEE_RANGES,
  emptyFilters,
  facetLabel,
  scoreRangeActive,
  scoreRangeProblem,
  type Filters,
} from "../people-filters";
import "./FilterSidebar.css";

const EMAIL_STATUS_VALUES: readonly string[] = ["verified", "unverified", "guessed", "unavailable"] satisfies EmailStatusValue[];

/** Checkbox options from a facet: the values people really have, each with its count. */
const facetOptions = <V extends string = string>(facet: Facet[] | undefined, keep?: (v: string) => boolean) =>
  (facet ?? [])
    .filter((f) => f.value && (!keep || keep(f.value)))
    .map((f) => ({ value: f.value as V, label: facetLabel(f.value), count: f.count }));

/** "Banking (1,204 people)" for a datalist option; the map is built once per facets answer. */
const countLabels = (facet: Facet[] | undefined) => {
  const m = new Map((facet ?? []).map((f) => [f.value, f.count]));
  return (v: string) => (m.has(v) ? `${formatNumber(m.get(v)!)} people` : undefined);
};

/** A collapsible group of the sidebar; the count of chosen values shows even when it's closed. */
function Section(props: { title: string; count: number; open?: boolean; children: JSX.Element }) {
  return (
    <details class="filter-section" open={props.open || props.count > 0}>
      <summary>
        <span>{props.title}</span>
        <Show when={props.count > 0}>
          <span class="filter-count" aria-label={`${props.count} selected`}>
            {props.count}
          </span>
        </Show>
        <Icon name="chevronRight" size={14} class="filter-chevron" />
      </summary>
      <div class="filter-body">{props.children}</div>
    </details>
  );
}

/** Checkboxes over a fixed set of values (seniority, department, company size, email status). */
function CheckList<V extends string>(props: {
  legend: string;
  name: string;
  options: { value: V; label: string; count?: number }[];
  values: V[];
  onChange: (v: V[]) => void;
}) {
  const toggle = (v: V, on: boolean) => props.onChange(on ? [...props.values, v] : props.values.filter((x) => x !== v));
  return (
    <fieldset class="check-list">
      <legend class="sr-only">{props.legend}</legend>
      <For each={props.options}>
        {(o) => (
          <label class="check">
            <input
              type="checkbox"
              name={props.name}
              value={o.value}
              checked={props.values.includes(o.value)}
              onChange={(e) => toggle(o.value, e.currentTarget.checked)}
            />
            {o.label}
            <Show when={o.count !== undefined}>
              <span class="check-count tabular">{formatNumber(o.count!)}</span>
            </Show>
          </label>
        )}
      </For>
    </fieldset>
  );
}

/**
 * The Prospect Searcher's filters. Every change applies at once; values within a filter are OR, filters AND.
 * `netNewOnly` hides the Everyone / Net new / Saved choice for callers that only ever look for net-new
 * people (workflows).
 */
export function FilterSidebar(props: { filters: Filters; onChange: (patch: Partial<Filters>) => void; netNewOnly?: boolean }) {
  const f = () => props.filters;
  const rangeProblem = () => scoreRangeProblem(f());
  // Read without suspending: the sidebar shows at once and the options fill in when the facets answer.
  const [facetsRes] = createResource(() => getPeopleFacets());
  const facets = () => (facetsRes.state === "ready" ? facetsRes() : undefined);
  const values = (facet: Facet[] | undefined) => (facet ?? []).map((x) => x.value).filter(Boolean);
  const set = <K extends keyof Filters>(k: K, v: Filters[K]) => props.onChange({ [k]: v } as Partial<Filters>);
  // A country or industry typed before the facets answered went as typed ("germany"); the search compares
  // them exactly (through their indexes), so once the facets are in each takes the spelling people have.
  createEffect(() => {
    const fc = facets();
    if (!fc) return;
    for (const k of ["countries", "industries"] as const) {
      const known = new Map(values(fc[k]).map((v) => [v.toLowerCase(), v]));
      const now = f()[k];
      const fixed = [...new Set(now.map((v) => known.get(v.toLowerCase()) ?? v))];
      if (fixed.length !== now.length || fixed.some((v, i) => v !== now[i])) set(k, fixed);
    }
  });
  const scoreValue = (v: string) => {
    if (v === "") return null;
    const n = Math.round(Number(v));
    return Number.isFinite(n) ? Math.max(0, Math.min(100, n)) : null;
  };
  return (
    <aside class="filter-sidebar" aria-label="Search filters">
      <div class="filter-head">
        <h2 class="filter-title">
          <Icon name="filter" size={15} /> Filters
        </h2>
        <Show when={activeFilterCount(f()) > 0}>
          <button
            type="button"
            class="btn btn-ghost btn-xs"
            onClick={() => props.onChange({ ...emptyFilters(), ...(props.netNewOnly ? {} : { companies: [] }), q: f().q })}
          >
            Clear {activeFilterCount(f())}
          </button>
        </Show>
      </div>

      <Show when={!props.netNewOnly}>
        <div class="filter-saved">
          <span class="filter-label" id="filter-saved-label">
            Show
          </span>
          <div
            class="segmented segmented-block"
            role="radiogroup"
            aria-labelledby="filter-saved-label"
            aria-describedby="filter-saved-help"
          >
            <For
              each={
                [
                  { id: "any", label: "Everyone" },
                  { id: "net_new", label: "Net new" },
                  { id: "saved", label: "Saved" },
                ] as const
              }
            >
              {(o) => (
                <button type="button" role="radio" class="segment" aria-checked={f().saved === o.id} onClick={() => set("saved", o.id)}>
                  {o.label}
                </button>
              )}
            </For>
          </div>
          <p class="field-help" id="filter-saved-help">
            Net new: not yet a contact of your team (1 credit each with a verified email).
          </p>
        </div>
      </Show>

      <Section title="Job titles" count={f().titles.length} open>
        <TagInput
          id="filter-titles"
          label="Job title contains"
          values={f().titles}
          onChange={(v) => set("titles", v)}
          placeholder="e.g. VP Sales, then Enter"
        />
      </Section>
      <Section title="Seniority" count={f().seniorities.length}>
        <CheckList
          legend="Seniority"
          name="seniority"
          options={facetOptions(facets()?.seniorities)}
          values={f().seniorities}
          onChange={(v) => set("seniorities", v)}
        />
      </Section>
      <Section title="Department" count={f().departments.length}>
        <CheckList
          legend="Department"
          name="department"
          options={facetOptions(facets()?.departments)}
          values={f().departments}
          onChange={(v) => set("departments", v)}
        />
      </Section>
      {/* Not in workflows: the editor keeps a schedule's companies as set through the API (keptFilters). */}
      <Show when={!props.netNewOnly}>
        <Section title="Company" count={f().companies?.length ?? 0}>
          <TagInput
            id="filter-companies"
            label="Company"
            values={f().companies ?? []}
            onChange={(v) => set("companies", v)}
            placeholder="e.g. Acme Corp, then Enter"
          />
          <p class="field-help">The company's name as people have it: “Acme Corp” is not “acme”.</p>
        </Section>
      </Show>
      <Section title="Industry" count={f().industries.length}>
        <TagInput
          id="filter-industries"
          label="Industry"
          values={f().industries}
          onChange={(v) => set("industries", v)}
          suggestions={values(facets()?.industries)}
          suggestionLabel={countLabels(facets()?.industries)}
          strict
          placeholder="Type or pick"
        />
      </Section>
      <Section title="Company size" count={f().employee_ranges.length}>
        <CheckList
          legend="Employees"
          name="employees"
          options={EMPLOYEE_RANGES}
          values={f().employee_ranges}
          onChange={(v) => set("employee_ranges", v)}
        />
      </Section>
      <Section title="Location" count={f().countries.length + f().cities.length}>
        <TagInput
          id="filter-countries"
          label="Country"
          values={f().countries}
          onChange={(v) => set("countries", v)}
          suggestions={values(facets()?.countries)}
          suggestionLabel={countLabels(facets()?.countries)}
          strict
          placeholder="Type or pick"
        />
        <TagInput
          id="filter-cities"
          label="City"
          values={f().cities}
          onChange={(v) => set("cities", v)}
          placeholder="e.g. Berlin, then Enter"
        />
      </Section>
      <Section title="Email status" count={f().email_statuses.length}>
        <CheckList
          legend="Email status"
          name="email_status"
          options={facetOptions<EmailStatusValue>(facets()?.email_statuses, (v) => EMAIL_STATUS_VALUES.includes(v))}
          values={f().email_statuses}
          onChange={(v) => set("email_statuses", v)}
        />
      </Section>
      <Section title="Prospect score" count={scoreRangeActive(f()) ? 1 : 0}>
        <div class="score-range">
          <div class="field">
            <label for="filter-score-min">Min</label>
            <input
              id="filter-score-min"
              class="input-sm"
              type="number"
              inputmode="numeric"
              min={0}
              max={100}
              placeholder="0"
              value={f().score_min ?? ""}
              aria-invalid={rangeProblem() ? "true" : undefined}
              aria-describedby={rangeProblem() ? "filter-score-range-error" : undefined}
              onChange={(e) => set("score_min", scoreValue(e.currentTarget.value))}
            />
          </div>
          <span class="score-range-dash" aria-hidden="true">
            –
          </span>
          <div class="field">
            <label for="filter-score-max">Max</label>
            <input
              id="filter-score-max"
              class="input-sm"
              type="number"
              inputmode="numeric"
              min={0}
              max={100}
              placeholder="100"
              value={f().score_max ?? ""}
              aria-invalid={rangeProblem() ? "true" : undefined}
              aria-describedby={rangeProblem() ? "filter-score-range-error" : undefined}
              onChange={(e) => set("score_max", scoreValue(e.currentTarget.value))}
            />
          </div>
        </div>
        <FieldError id="filter-score-range-error" message={rangeProblem() ?? undefined} />
        <p class="field-help">0–100: how well the person fits your ideal customer.</p>
      </Section>
    </aside>
  );
}
