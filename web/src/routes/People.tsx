import { useNavigate, useSearchParams } from "@solidjs/router";
import { createComputed, createSignal, Show, untrack } from "solid-js";
import { reconcile } from "solid-js/store";
import type { PeopleSort, Person } from "../api";
import { PageHeader } from "../components/PageHeader";
import { formatNumber, plural } from "../format";
import { filtersFromQuery, filtersToQuery, toApiFilters, type QueryParams } from "../people-filters";
import { usePageTitle } from "../title";
import { PeopleSearch, type SearchQuery } from "./add-contacts/PeopleSearch";
import { createWizard, handOffSelection, pickedIds, SORTS } from "./add-contacts/state";
import { SaveToListDialog } from "./people/SaveToListDialog";
import { SequencePicker } from "./people/SequencePicker";

/**
 * People: the Prospect Searcher outside any sequence. Filter, check people (or every result), then
 * "Add to sequence": pick the sequence and continue in its add-contacts flow with them picked, so
 * the same checks, warnings, credits and mailboxes apply. Or "Save to list" (checked people, no
 * sequence): they become contacts and join a list.
 */
/** Most people one Save to list takes (MAX_SAVE in the API). */
const MAX_SAVE = 1000;
/** The last page the API answers (MAX_PEOPLE_PAGE). */
const MAX_PAGE = 500;

/** The search a URL's query holds: filters (people-filters.ts), `sort` (score unless said) and `page`. */
function queryFromParams(p: QueryParams): SearchQuery {
  const sort = typeof p.sort === "string" && SORTS.some((s) => s.value === p.sort) ? (p.sort as PeopleSort) : "score";
  const page = typeof p.page === "string" && /^\d{1,3}$/.test(p.page) ? Math.min(Math.max(Number(p.page), 1), MAX_PAGE) : 1;
  return { filters: filtersFromQuery(p), sort, page };
}

/** The search as a URL's query: defaults left out, so a fresh search is a bare /people. */
const queryToParams = (q: SearchQuery) => ({
  ...filtersToQuery(q.filters),
  sort: q.sort === "score" ? undefined : q.sort,
  page: q.page === 1 ? undefined : String(q.page),
});

export default function People() {
  usePageTitle("People");
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const [w, setW] = createWizard();
  // The search lives in the URL (a reload, a shared link and Back show the same search, as Apollo's
  // does): the wizard follows it, from before the first render on. Picks stay in the wizard only.
  createComputed(() => {
    const q = queryFromParams(params);
    untrack(() => {
      // Other filters (Back, a link) are another search: "all results" meant the one before.
      if (JSON.stringify(toApiFilters(q.filters)) !== JSON.stringify(toApiFilters(w.filters))) setW("allResults", false);
      setW("filters", reconcile(q.filters));
      setW("sort", q.sort);
      setW("page", q.page);
    });
  });
  const [picking, setPicking] = createSignal(false);
  /** The people the Save to list dialog saves, taken when it opens (the picks are cleared once saved). */
  const [saving, setSaving] = createSignal<Person[]>();
  /** Bumped to read the results again (after a save, rows show Saved). */
  const [version, setVersion] = createSignal(0);
  const count = () => (w.allResults ? w.searchTotal : pickedIds(w).length);
  // One save takes at most MAX_SAVE people (one transaction): past it the button says so, never drops the rest.
  const overSave = () => (w.allResults ? 0 : Math.max(0, pickedIds(w).length - MAX_SAVE));
  return (
    <div class="page">
      <PageHeader
        title="People"
        description="Search the prospect database by title, keywords, company and more. Net-new people cost a credit when they are saved with a verified email."
        actions={
          <>
            <button
              type="button"
              class="btn"
              disabled={w.allResults || pickedIds(w).length === 0 || overSave() > 0}
              title={w.allResults ? "Save to list takes the people you check (up to 1,000), not every result" : undefined}
              aria-describedby={overSave() > 0 ? "people-save-limit" : undefined}
              onClick={() => setSaving(Object.values(w.picked).map((p) => ({ ...p })))}
              data-testid="people-save-to-list"
            >
              Save to list
            </button>
            <button
              type="button"
              class="btn btn-primary"
              disabled={count() === 0}
              onClick={() => setPicking(true)}
              data-testid="people-add-to-sequence"
            >
              Add to sequence
              <Show when={count() > 0}> ({formatNumber(count())})</Show>
            </button>
          </>
        }
      />
      <p class="muted small" aria-live="polite" data-testid="people-selection">
        {count() === 0
          ? "Check people to add them to a sequence or save them to a list."
          : `${plural(count(), "person", "people")} selected.`}
      </p>
      <Show when={overSave() > 0}>
        <p class="field-help" id="people-save-limit" role="status" data-testid="people-save-limit">
          Save to list takes at most {formatNumber(MAX_SAVE)} people at once: uncheck {formatNumber(overSave())} to save the rest, or add
          them all to a sequence.
        </p>
      </Show>
      <PeopleSearch w={w} setW={setW} version={version()} onQuery={(q, replace) => setParams(queryToParams(q), { replace })} />
      <SaveToListDialog
        open={!!saving()}
        people={saving() ?? []}
        onClose={() => setSaving(undefined)}
        onSaved={() => {
          // Saved people are contacts now: their picks end, and the rows are read again to say Saved.
          setW("picked", reconcile({}));
          setVersion((v) => v + 1);
        }}
      />
      <SequencePicker
        open={picking()}
        title={`Add ${plural(count(), "person", "people")} to a sequence`}
        onClose={() => setPicking(false)}
        onPick={(s) => {
          handOffSelection(w, s.id);
          setPicking(false);
          navigate(`/sequences/${s.id}/add?step=options`);
        }}
      />
    </div>
  );
}
