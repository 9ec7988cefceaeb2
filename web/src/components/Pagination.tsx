import { useIsRouting, useSearchParams } from "@solidjs/router";
import { Show } from "solid-js";
import { formatNumber } from "../format";
import { Icon } from "./Icon";
import "./Pagination.css";

/** The API's `pagination` object, as every list endpoint answers it. */
export type PageMeta = { page: number; per_page: number; total_entries: number; total_pages: number };

/**
 * The footer of every paged list: "1–25 of 1,234" with previous / next. Pages are 1-based, as the
 * API's. By default the page lives in the URL (`?page=`, absent for page 1) and the buttons wait
 * while the router loads; pass `onPage` / `busy` for a list that keeps its page elsewhere.
 */
export function Pagination(props: { meta: PageMeta; onPage?: (page: number) => void; busy?: boolean }) {
  const [, setParams] = useSearchParams();
  const routing = useIsRouting();
  const busy = () => props.busy ?? routing();
  const go = (page: number) => (props.onPage ? props.onPage(page) : setParams({ page: page === 1 ? undefined : String(page) }));
  const m = () => props.meta;
  const first = () => (m().total_entries === 0 ? 0 : (m().page - 1) * m().per_page + 1);
  const last = () => Math.min(m().page * m().per_page, m().total_entries);
  return (
    <nav class="pagination" aria-label="Pagination">
      <p class="pagination-summary" aria-live="polite">
        <Show when={m().total_entries > 0} fallback="No results">
          <strong>{formatNumber(first())}</strong>–<strong>{formatNumber(last())}</strong> of{" "}
          <strong>{formatNumber(m().total_entries)}</strong>
        </Show>
      </p>
      <div class="pagination-controls">
        <span class="muted small">
          Page {formatNumber(m().page)} of {formatNumber(m().total_pages)}
        </span>
        <button
          type="button"
          class="btn btn-secondary btn-sm btn-icon"
          aria-label="Previous page"
          disabled={m().page <= 1 || busy()}
          onClick={() => go(m().page - 1)}
        >
          <Icon name="chevronLeft" size={16} />
        </button>
        <button
          type="button"
          class="btn btn-secondary btn-sm btn-icon"
          aria-label="Next page"
          disabled={m().page >= m().total_pages || busy()}
          onClick={() => go(m().page + 1)}
        >
          <Icon name="chevronRight" size={16} />
        </button>
      </div>
    </nav>
  );
}
