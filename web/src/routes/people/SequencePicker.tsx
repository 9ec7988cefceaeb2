import { createEffect, createMemo, createSignal, For, on, Show } from "solid-js";
import { fetchSequences, type SequenceSummary } from "../../api";
import { Dialog } from "../../components/Dialog";
import { ErrorPanel, Spinner } from "../../components/Status";
import { createLiveFetch } from "../../live";
import "./SequencePicker.css";

/** Sequences read per page (the API's most). */
const PAGE = 100;

/** Why a sequence can't take contacts from here, or null when it can. */
export function whyNotPickable(s: SequenceSummary): string | null {
  if (!s.can_edit) return "Shared with you to view only: ask its owner for edit access";
  if (s.archived_at) return "Archived: unarchive it first";
  if (!s.active) return "Inactive: turn it on in the sequence editor first";
  return null;
}

/**
 * Choose the sequence to add contacts to: active ones you can edit, searchable. The ones you see but
 * can't use are listed with the reason; sequences not shared with you are not listed (the hint says so).
 */
export function SequencePicker(props: {
  open: boolean;
  title: string;
  onClose: () => void;
  onPick: (s: SequenceSummary) => void;
  /** Not offered (moving contacts: the sequence they are in). */
  exclude?: string;
}) {
  const [q, setQ] = createSignal("");
  const [page, setPage] = createSignal(1);
  // The server searches (a team may have more sequences than one page) and pages; the pages read so
  // far are shown together, "Show more" reads the next.
  const list = createLiveFetch(
    () => (props.open ? { q: q().trim(), page: page() } : null),
    (k) => fetchSequences({ page: k.page, per_page: PAGE, status: "all", ...(k.q ? { q: k.q } : {}) }),
    200,
  );
  const [shown, setShown] = createSignal<SequenceSummary[]>([]);
  createEffect(
    on(list.data, (d) => {
      if (!d) return;
      setShown((prev) =>
        d.pagination.page === 1 ? d.sequences : [...prev, ...d.sequences.filter((s) => !prev.some((p) => p.id === s.id))],
      );
    }),
  );
  const more = () => {
    const p = list.data()?.pagination;
    return !!p && list.fresh() && p.page < p.total_pages;
  };
  const matches = createMemo(() => shown().filter((s) => s.id !== props.exclude));
  const usable = () => matches().filter((s) => !whyNotPickable(s));
  const hidden = () => matches().filter((s) => !!whyNotPickable(s));
  return (
    <Dialog open={props.open} title={props.title} onClose={props.onClose} testId="sequence-picker">
      <label class="field">
        <span class="field-label">Search sequences</span>
        <input
          class="input"
          type="search"
          value={q()}
          onInput={(e) => {
            setQ(e.currentTarget.value);
            setPage(1);
          }}
          placeholder="Sequence name"
          maxlength={120}
          data-testid="sequence-search"
        />
      </label>
      <Show when={list.error() && !list.loading()}>
        <ErrorPanel error={list.error()} title="Couldn't load sequences" onRetry={list.refetch} />
      </Show>
      <Show when={list.data() || !list.loading()} fallback={<Spinner label="Loading sequences…" />}>
        <Show
          when={usable().length > 0}
          fallback={
            // With more pages to read, "none" would be false: it says none among those read so far.
            <p class="card-empty">
              {more()
                ? `None of the first ${shown().length} sequences${q() ? ` matching “${q()}”` : ""} is active and yours to edit: show more to look further.`
                : `No active sequence you can edit${q() ? ` matches “${q()}”` : ""}.`}
            </p>
          }
        >
          <ul class="pick-list" data-testid="sequence-options">
            <For each={usable()}>
              {(s) => (
                <li>
                  <button
                    type="button"
                    class="btn btn-ghost pick-row"
                    onClick={() => props.onPick(s)}
                    data-testid={`pick-sequence-${s.id}`}
                  >
                    <strong>{s.name}</strong>
                  </button>
                </li>
              )}
            </For>
          </ul>
        </Show>
        <Show when={more()}>
          <button type="button" class="btn btn-ghost btn-sm" onClick={() => setPage((p) => p + 1)} data-testid="sequence-more">
            Show more sequences
          </button>
        </Show>
        <Show when={hidden().length > 0}>
          <details class="field-help" data-testid="sequence-hidden">
            <summary>{hidden().length} more can't take contacts now</summary>
            <ul>
              <For each={hidden()}>
                {(s) => (
                  <li>
                    <strong>{s.name}</strong>: {whyNotPickable(s)}
                  </li>
                )}
              </For>
            </ul>
          </details>
        </Show>
        <p class="field-help">
          Don't see a sequence? Only sequences you own or that are shared with you are listed; ask its owner to share it with edit access.
        </p>
      </Show>
    </Dialog>
  );
}
