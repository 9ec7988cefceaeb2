import { Show } from "solid-js";
import { formatNumber } from "../format";
import { Icon } from "./Icon";

/** "1–25 of 1,234" with previous / next. Pages are 1-based, as the API's. */
export function Pagination(props: {
  page: number;
  perPage: number;
  totalEntries: number;
  totalPages: number;
  onPage: (page: number) => void;
  busy?: boolean;
}) {
  const first = () => (props.totalEntries === 0 ? 0 : (props.page - 1) * props.perPage + 1);
  const last = () => Math.min(props.page * props.perPage, props.totalEntries);
  return (
    <nav class="pagination" aria-label="Pagination">
      <p class="pagination-summary" aria-live="polite">
        <Show when={props.totalEntries > 0} fallback="No results">
          <strong>{formatNumber(first())}</strong>–<strong>{formatNumber(last())}</strong> of{" "}
          <strong>{formatNumber(props.totalEntries)}</strong>
        </Show>
      </p>
      <div class="pagination-controls">
        <span class="muted small">
          Page {formatNumber(props.page)} of {formatNumber(props.totalPages)}
        </span>
        <button
          type="button"
          class="btn btn-secondary btn-sm btn-icon"
          aria-label="Previous page"
          disabled={props.page <= 1 || props.busy}
          onClick={() => props.onPage(props.page - 1)}
        >
          <Icon name="chevronLeft" size={16} />
        </button>
        <button
          type="button"
          class="btn btn-secondary btn-sm btn-icon"
          aria-label="Next page"
          disabled={props.page >= props.totalPages || props.busy}
          onClick={() => props.onPage(props.page + 1)}
        >
          <Icon name="chevronRight" size={16} />
        </button>
      </div>
    </nav>
  );
}
