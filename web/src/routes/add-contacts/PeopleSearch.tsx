import { A } from "@solidjs/router";
import { batch, createEffect, createMemo, For, Show } from "solid-js";
import type { SetStoreFunction } from "solid-js/store";
import { searchPeople, type Person } from "../../api";
import { Badge } from "../../components/Badge";
import { EmailStatusBadge } from "../../components/EmailStatus";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { DataTable } from "../../components/DataTable";
import { Score } from "../../components/Score";
import { ErrorPanel } from "../../components/Status";
import { formatNumber, formatRelative, plural } from "../../format";
import { createLiveFetch } from "../../live";
import { FilterSidebar } from "../../components/FilterSidebar";
import { scoreRangeProblem, toApiFilters } from "../../people-filters";
import { SORTS, type Wizard } from "./state";
import { SearchField } from "../../components/SearchField";

const PER_PAGE = 25;
/** The last page the API answers (MAX_PEOPLE_PAGE): past it a search must be narrowed. */
const MAX_PAGE = 500;
/** Most candidates one job takes (MAX_JOB_CANDIDATES in the API). */
const MAX_JOB = 200_000;
const JOB_CHANGE_RECENT_MS = 90 * 86_400_000;

const personName = (p: Person) => `${p.first_name} ${p.last_name}`.trim();
const employeesText = (n: number) => (n >= 10_000 ? "10,000+ employees" : plural(n, "employee"));

/** What a search shows: its filters, its order and its page. */
export type SearchQuery = Pick<Wizard, "filters" | "sort" | "page">;

/** How many of a person's sequences a row names; the rest are counted ("+2"). */
const SEQUENCES_SHOWN = 2;

/**
 * The Prospect Searcher: keyword box, filter sidebar, and a results table to pick people from, or
 * "select all N results" to add the whole search. Picks survive paging and new searches.
 * `onQuery`: the caller keeps the search (the People page, in its URL) and passes it back in `w`; each
 * change goes to it whole, `replace` for typing (one history entry per search, not per pause), a new
 * entry for a filter, an order or a page. Without it the search lives in `w` alone.
 */
export function PeopleSearch(props: {
  w: Wizard;
  setW: SetStoreFunction<Wizard>;
  version?: number;
  onQuery?: (query: SearchQuery, replace: boolean) => void;
}) {
  const w = () => props.w;
  const setQuery = (change: Partial<SearchQuery>, replace = false) => {
    const next = { filters: w().filters, sort: w().sort, page: w().page, ...change };
    if (props.onQuery) return props.onQuery(next, replace);
    props.setW("filters", next.filters);
    props.setW("sort", next.sort);
    props.setW("page", next.page);
  };
  // A score range that holds no score is said at its fields (FilterSidebar); no search is made for it.
  const emptyRange = () => scoreRangeProblem(w().filters) !== null;
  const search = createLiveFetch(
    // `version`: the page asks for the same search again (rows saved meanwhile show Saved).
    () =>
      emptyRange()
        ? null
        : { body: { ...toApiFilters(w().filters), sort: w().sort, page: w().page, per_page: PER_PAGE }, v: props.version ?? 0 },
    (k) => searchPeople(k.body),
    150,
  );
  // The last search failed and what is on screen answers older filters: say so, never pass it off as current.
  const failed = () => !!search.error() && !search.loading() && !search.fresh();
  const rows = () => search.data()?.people ?? [];
  const total = () => search.data()?.pagination.total_entries ?? 0;
  createEffect(() => {
    const r = search.data();
    if (r) props.setW("searchTotal", r.pagination.total_entries);
  });
  // "All results" of a range no score is in is nobody: the selection says so (the counts, the summary and
  // the request then never carry the whole search), and people checked one by one stay checked.
  createEffect(() => {
    if (!emptyRange()) return;
    props.setW("allResults", false);
    props.setW("searchTotal", 0);
  });

  const isPicked = (p: Person) => w().allResults || !!w().picked[p.id];
  const allOnPage = createMemo(() => rows().length > 0 && rows().every(isPicked));
  const pickedOnPage = createMemo(
    () =>
      new Set(
        rows()
          .filter(isPicked)
          .map((p) => p.id),
      ),
  );
  const pickedCount = () => Object.keys(w().picked).length;

  const pick = (p: Person, on: boolean) => props.setW("picked", p.id, on ? { ...p } : undefined!);
  // One update for the whole page: unbatched, every pick re-ran the page's picked set and every row's box, so
  // checking a page of n people cost n² (1,001 rows: 8 to 13 s of a frozen tab, near the browser test's 15 s).
  const pickPage = (on: boolean) => {
    if (!on && w().allResults) return props.setW("allResults", false);
    batch(() => {
      for (const p of rows()) pick(p, on);
    });
  };
  const selectAll = () => {
    props.setW("allResults", true);
  };
  const clearSelection = () => {
    props.setW("allResults", false);
    // Setting a store key to undefined deletes it (setting {} would merge and keep them); batched like pickPage.
    batch(() => {
      for (const id of Object.keys(w().picked)) props.setW("picked", id, undefined!);
    });
  };

  return (
    <div class="searcher">
      <FilterSidebar
        filters={w().filters}
        onChange={(patch) => {
          setQuery({ filters: { ...w().filters, ...patch }, page: 1 });
          props.setW("allResults", false);
        }}
      />
      <div class="searcher-main">
        <div class="toolbar" role="search">
          <SearchField
            id="people-search"
            label="Search people"
            placeholder="Search name, title, company, industry or city"
            value={w().filters.q}
            maxLength={200}
            wide
            onSearch={(v) => {
              // Typing pauses fire this with the same words too: only a change of them is a new search.
              // Compared trimmed: the URL keeps the words trimmed, so "cto " is still the search "cto"
              // (typing the space must not send the reader back to page 1).
              if (v.trim() === w().filters.q.trim()) return;
              setQuery({ filters: { ...w().filters, q: v }, page: 1 }, true);
              props.setW("allResults", false);
            }}
          />
          <div class="toolbar-right">
            <Show when={search.loading()}>
              <span class="toolbar-busy" role="status">
                <span class="spinner" aria-hidden="true" /> <span class="sr-only">Searching</span>
              </span>
            </Show>
            <label class="inline-select">
              <span>Sort</span>
              <select value={w().sort} onChange={(e) => setQuery({ sort: e.currentTarget.value as Wizard["sort"], page: 1 })}>
                <For each={SORTS}>{(s) => <option value={s.value}>{s.label}</option>}</For>
              </select>
            </label>
          </div>
        </div>

        <Show
          when={!emptyRange() && !(search.error() && !search.data())}
          fallback={
            emptyRange() ? (
              <EmptyState icon="search" title="Nobody can match this score range">
                The score's Min is above its Max. Lower the Min or raise the Max in the filters.
              </EmptyState>
            ) : (
              <ErrorPanel error={search.error()} title="Couldn't search people" onRetry={search.refetch} />
            )
          }
        >
          <Show when={failed()}>
            <div data-testid="people-search-error">
              <ErrorPanel
                error={search.error()}
                title="Couldn't search with these filters: the results below are from before your last change"
                onRetry={search.refetch}
              />
            </div>
          </Show>
          <DataTable
            caption={`People matching the search, page ${search.data()?.pagination.page ?? 1} of ${search.data()?.pagination.total_pages ?? 1}`}
            columns={[
              { label: "Name" },
              { label: "Company" },
              { label: "Location", class: "col-location" },
              { label: "Email" },
              { label: "Score", class: "num" },
            ]}
            rows={search.data()?.people}
            pagination={search.data()?.pagination}
            onPage={(p) => setQuery({ page: p })}
            busy={search.loading()}
            loading="Searching people…"
            skeletonRows={8}
            testId="people-table"
            wrapClass="table-wrap-free"
            select={{
              key: (p) => p.id,
              selected: pickedOnPage,
              toggle: (id, on) => {
                const p = rows().find((r) => r.id === id);
                if (p) pick(p, on);
              },
              label: (p) => `Select ${personName(p)}`,
              pageLabel: "Select everyone on this page",
              disabled: () => w().allResults,
              togglePage: pickPage,
            }}
            rowProps={(p) => ({
              classList: { "row-selected": isPicked(p) },
              "data-person-id": p.id,
              style: failed() ? { opacity: 0.5 } : undefined,
              title: failed() ? "From before your last change: this search failed" : undefined,
            })}
            empty={
              <EmptyState icon="search" title="Nobody matches these filters">
                Remove a filter or two, or search for a broader title such as “Sales” instead of “VP Sales EMEA”.
              </EmptyState>
            }
            header={
              <>
                <div class="table-toolbar">
                  <p class="results-count" aria-live="polite" data-testid="people-total">
                    <strong>{formatNumber(total())}</strong> {total() === 1 ? "person" : "people"}
                    <Show when={failed()}>
                      <span class="muted"> before your last change</span>
                    </Show>
                    <Show when={pickedCount() > 0 && !w().allResults}>
                      <span class="muted"> · {formatNumber(pickedCount())} picked</span>
                    </Show>
                  </p>
                  <Show when={!w().allResults && total() > 0 && !failed()}>
                    <button
                      type="button"
                      class="btn btn-ghost btn-sm"
                      disabled={total() > MAX_JOB || !search.fresh()}
                      title={total() > MAX_JOB ? `One job takes at most ${formatNumber(MAX_JOB)}; narrow the search` : undefined}
                      onClick={selectAll}
                    >
                      Select all {formatNumber(total())} results
                    </button>
                  </Show>
                </div>
                <Show when={total() > MAX_PAGE * PER_PAGE && !failed()}>
                  <p class="muted small" data-testid="people-page-cap">
                    Pages stop at {formatNumber(MAX_PAGE)} ({formatNumber(MAX_PAGE * PER_PAGE)} people): narrow the search to page through
                    the rest.
                  </p>
                </Show>
                <Show when={w().allResults}>
                  <div class="select-banner" role="status" data-testid="all-results-banner">
                    <Icon name="check" size={15} />
                    <span>
                      All <strong>{formatNumber(total())}</strong> results of this search are selected. Changing a filter clears this
                      selection, so what is added is always the search you see.
                    </span>
                    <button type="button" class="btn btn-ghost btn-xs" onClick={clearSelection}>
                      Clear selection
                    </button>
                  </div>
                </Show>
                <Show when={!w().allResults && allOnPage() && total() > rows().length && !failed()}>
                  <div class="select-banner" role="status">
                    <span>All {formatNumber(rows().length)} people on this page are selected.</span>
                    <button type="button" class="btn btn-ghost btn-xs" disabled={total() > MAX_JOB || !search.fresh()} onClick={selectAll}>
                      Select all {formatNumber(total())} results of this search
                    </button>
                  </div>
                </Show>
              </>
            }
          >
            {(p) => {
              const recentMove = () => p.job_changed_at !== null && Date.now() - p.job_changed_at < JOB_CHANGE_RECENT_MS;
              return (
                <>
                  <td>
                    <div class="person-name">
                      <span class="cell-strong">{personName(p)}</span>
                      <Show when={p.contact_id}>
                        <Badge tone="accent" title="Already a contact of your team: no credit is charged">
                          Saved
                        </Badge>
                      </Show>
                      <Show when={recentMove()}>
                        <Badge tone="warning" title={`Changed jobs ${formatRelative(p.job_changed_at!)}`}>
                          Job change
                        </Badge>
                      </Show>
                    </div>
                    <div class="muted small cell-clip-wide" title={p.title}>
                      {p.title}
                    </div>
                    <Show when={p.sequences.length > 0}>
                      <div
                        class="muted small cell-clip-wide"
                        title={`In ${p.sequences.map((s) => `“${s.name}”`).join(", ")}`}
                        data-testid="person-sequences"
                      >
                        In{" "}
                        <For each={p.sequences.slice(0, SEQUENCES_SHOWN)}>
                          {(s, i) => (
                            <>
                              {i() > 0 ? ", " : ""}
                              <A href={`/sequences/${s.id}`}>{s.name}</A>
                            </>
                          )}
                        </For>
                        <Show when={p.sequences.length > SEQUENCES_SHOWN}> +{p.sequences.length - SEQUENCES_SHOWN}</Show>
                      </div>
                    </Show>
                  </td>
                  <td>
                    <div class="cell-clip" title={p.company}>
                      {p.company}
                    </div>
                    <div class="muted small cell-clip" title={`${p.industry} · ${employeesText(p.employees)}`}>
                      {p.industry} · {employeesText(p.employees)}
                    </div>
                  </td>
                  <td class="cell-nowrap small col-location">
                    {p.city}
                    <div class="muted">{p.country}</div>
                  </td>
                  <td>
                    <div class="cell-email">
                      <Show when={p.email} fallback={<span class="muted">No email</span>}>
                        <span class="email-text small" title={p.email ?? undefined}>
                          {p.email}
                        </span>
                      </Show>
                    </div>
                    <EmailStatusBadge status={p.email_status} />
                  </td>
                  <td class="num">
                    <Score value={p.score} />
                  </td>
                </>
              );
            }}
          </DataTable>
        </Show>
      </div>
    </div>
  );
}
