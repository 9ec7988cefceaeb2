import { useSearchParams } from "@solidjs/router";
import { createEffect, For, Show, Suspense, type Accessor, type JSX } from "solid-js";
import { formatNumber } from "../format";
import { EmptyState } from "./EmptyState";
import { Pagination, type PageMeta } from "./Pagination";
import { TableSkeleton } from "./Status";
import "./DataTable.css";

export type Column = {
  /** The header's text (or markup). */
  label: JSX.Element;
  /** `num` right-aligns a number column; any other cell class the column's header needs. */
  class?: string;
  /** Read by screen readers only (an actions column). */
  srOnly?: boolean;
};

/** Checkbox selection: a box per row and one for the page. The page keeps the set (it may span pages). */
export type Selection<T> = {
  key: (row: T) => string;
  selected: Accessor<ReadonlySet<string>>;
  toggle: (key: string, on: boolean) => void;
  /** The row's name for its checkbox ("Select Ada Lovelace"). */
  label: (row: T) => string;
  /** The header checkbox's name ("Select every contact on this page"). */
  pageLabel: string;
  /** The rows' boxes can't change now (a whole search is selected). */
  disabled?: Accessor<boolean>;
  /** What the header checkbox does, when it is more than toggling each row of the page. */
  togglePage?: (on: boolean) => void;
};

/** What every paged list shares, table or not: how its rows load, what it says when empty, its pager. */
type FrameProps<T> = {
  rows: readonly T[] | undefined;
  empty: JSX.Element;
  pagination?: PageMeta;
  onPage?: (page: number) => void;
  /** A newer page is on its way: the rows dim and the pager waits. */
  busy?: boolean;
  loading?: string;
  skeletonRows?: number;
  /** Between the card's top and the rows: a bulk-action bar, a summary line. */
  header?: JSX.Element;
  /** Inside a card already: no card of its own. */
  flush?: boolean;
  /** More classes for the card (a page's own layout of it). */
  cardClass?: string;
};

/**
 * A page past the last one (an old link, or the last row of the last page deleted): the list is not
 * empty, so its "nothing yet" message would be false. Says so and offers the last page.
 */
function PastTheEnd(props: { meta: PageMeta; onPage?: (page: number) => void }) {
  const [, setParams] = useSearchParams();
  const last = () => Math.max(1, props.meta.total_pages);
  const go = () => (props.onPage ? props.onPage(last()) : setParams({ page: last() === 1 ? undefined : String(last()) }));
  return (
    <EmptyState
      icon="lists"
      title="Nothing on this page"
      actions={
        <button type="button" class="btn btn-secondary" onClick={go} data-testid="go-to-last-page">
          Go to the last page
        </button>
      }
    >
      {`There ${last() === 1 ? "is 1 page" : `are ${formatNumber(last())} pages`} of results; this link points past the last one.`}
    </EmptyState>
  );
}

/**
 * The card of a paged list whose rows are not table rows (the task list): the same loading / empty
 * tail and pager as DataTable, around the page's own markup for the rows.
 */
export function DataFrame<T>(props: FrameProps<T> & { skeletonColumns: number; children: (rows: Accessor<readonly T[]>) => JSX.Element }) {
  const skeleton = () => (
    <TableSkeleton columns={props.skeletonColumns} rows={props.skeletonRows ?? 5} label={props.loading ?? "Loading…"} />
  );
  return (
    <Suspense fallback={skeleton()}>
      <Show when={props.rows} fallback={skeleton()}>
        {(rows) => (
          <Show
            when={rows().length > 0}
            fallback={
              (props.pagination?.total_entries ?? 0) > 0 ? <PastTheEnd meta={props.pagination!} onPage={props.onPage} /> : props.empty
            }
          >
            <div class={props.cardClass} classList={{ "table-card": !props.flush, "data-table": true }} aria-busy={props.busy || undefined}>
              {props.header}
              {props.children(rows)}
              <Show when={props.pagination}>
                {(m) => <Pagination meta={m()} onPage={props.onPage} busy={props.onPage ? props.busy : undefined} />}
              </Show>
            </div>
          </Show>
        )}
      </Show>
    </Suspense>
  );
}

/**
 * The one list table of the app: a card with the table, its pager and the loading / empty tail.
 * `rows` is read inside the table's own Suspense, so a page passes its `createAsync` straight through
 * (`rows={result()?.contacts}`): skeleton rows while it loads, `empty` when it has none, otherwise the
 * rows, then "1–25 of 1,234" with previous / next when `pagination` is given (the page lives in the
 * URL's `?page=` unless `onPage` keeps it elsewhere).
 */
export function DataTable<T>(
  props: FrameProps<T> & {
    caption: string;
    columns: Column[];
    /** The row's cells (`<td>`s); the row itself is DataTable's. */
    children: (row: T, index: Accessor<number>) => JSX.Element;
    /** Attributes of a row's `<tr>` (`data-*`, `classList`, `aria-selected`...). */
    rowProps?: (row: T) => JSX.HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string | undefined>;
    select?: Selection<T>;
    testId?: string;
    class?: string;
    /** `table-wrap-free`: the table grows with its rows instead of scrolling inside the page. */
    wrapClass?: string;
  },
) {
  const columnCount = () => props.columns.length + (props.select ? 1 : 0);
  const pageKeys = () => (props.select ? (props.rows ?? []).map((r) => props.select!.key(r)) : []);
  const allOnPage = () => pageKeys().length > 0 && pageKeys().every((k) => props.select!.selected().has(k));
  const someOnPage = () => !allOnPage() && pageKeys().some((k) => props.select!.selected().has(k));
  return (
    <DataFrame
      rows={props.rows}
      empty={props.empty}
      pagination={props.pagination}
      onPage={props.onPage}
      busy={props.busy}
      loading={props.loading}
      skeletonRows={props.skeletonRows}
      skeletonColumns={columnCount()}
      header={props.header}
      flush={props.flush}
    >
      {(rows) => (
        <div class={`table-wrap ${props.wrapClass ?? ""}`}>
          <table class={`table ${props.class ?? ""}`} data-testid={props.testId}>
            <caption class="sr-only">{props.caption}</caption>
            <thead>
              <tr>
                <Show when={props.select}>
                  {(s) => (
                    <th scope="col" class="cell-check">
                      <input
                        type="checkbox"
                        aria-label={s().pageLabel}
                        checked={allOnPage()}
                        ref={(el) => createEffect(() => (el.indeterminate = someOnPage()))}
                        onChange={(e) => {
                          const on = e.currentTarget.checked;
                          if (s().togglePage) s().togglePage!(on);
                          else for (const k of pageKeys()) s().toggle(k, on);
                        }}
                      />
                    </th>
                  )}
                </Show>
                <For each={props.columns}>
                  {(c) => (
                    <th scope="col" class={c.class}>
                      {c.srOnly ? <span class="sr-only">{c.label}</span> : c.label}
                    </th>
                  )}
                </For>
              </tr>
            </thead>
            <tbody>
              <For each={rows()}>
                {(row, i) => (
                  <tr {...(props.rowProps?.(row) ?? {})}>
                    <Show when={props.select}>
                      {(s) => (
                        <td class="cell-check">
                          <input
                            type="checkbox"
                            aria-label={s().label(row)}
                            checked={s().selected().has(s().key(row))}
                            disabled={s().disabled?.()}
                            onChange={(e) => s().toggle(s().key(row), e.currentTarget.checked)}
                          />
                        </td>
                      )}
                    </Show>
                    {props.children(row, i)}
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      )}
    </DataFrame>
  );
}
