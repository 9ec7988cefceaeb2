import { createAsync } from "@solidjs/router";
import { createMemo, createSignal, For, Show, Suspense } from "solid-js";
import { fetchSequences, type SequenceSummary } from "../../api";
import { Dialog } from "../../components/Dialog";
import { Spinner } from "../../components/Status";
import "./SequencePicker.css";

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
  const all = createAsync(() =>
    props.open ? fetchSequences({ page: 1, per_page: 100, status: "all" }).catch(() => undefined) : Promise.resolve(undefined),
  );
  const matches = createMemo(() => {
    const needle = q().trim().toLowerCase();
    return (all()?.sequences ?? []).filter((s) => s.id !== props.exclude && (!needle || s.name.toLowerCase().includes(needle)));
  });
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
          onInput={(e) => setQ(e.currentTarget.value)}
          placeholder="Sequence name"
          data-testid="sequence-search"
        />
      </label>
      <Suspense fallback={<Spinner label="Loading sequences…" />}>
        <Show
          when={usable().length > 0}
          fallback={<p class="card-empty">No active sequence you can edit{q() ? ` matches “${q()}”` : ""}.</p>}
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
      </Suspense>
    </Dialog>
  );
}
