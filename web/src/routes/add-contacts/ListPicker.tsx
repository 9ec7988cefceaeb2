import { A, createAsync } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import type { SetStoreFunction } from "solid-js/store";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { TableSkeleton } from "../../components/Status";
import { formatDate, formatNumber } from "../../format";
import { getLists } from "../../queries/lists";
import { getUsersWithDisabled, userLabel } from "../../queries/users";
import type { Wizard } from "./state";
import { SearchField } from "../../components/SearchField";

/** Saved lists with their sizes; any number can be ticked (members of several are added once). */
export function ListPicker(props: { w: Wizard; setW: SetStoreFunction<Wizard> }) {
  const lists = createAsync(() => getLists());
  // A list made by someone since disabled is still the team's: named with the rest.
  const users = createAsync(() => getUsersWithDisabled().catch(() => undefined));
  const ownerName = (id: string) => {
    const u = users()?.find((x) => x.id === id);
    return u && userLabel(u);
  };
  const [filter, setFilter] = createSignal("");
  const shown = () => (lists()?.lists ?? []).filter((l) => l.name.toLowerCase().includes(filter().trim().toLowerCase()));
  const toggle = (id: string, on: boolean) => props.setW("listIds", (ids) => (on ? [...ids, id] : ids.filter((x) => x !== id)));

  return (
    <Suspense fallback={<TableSkeleton columns={3} rows={5} label="Loading lists…" />}>
      <Show when={lists()}>
        {(r) => (
          <Show
            when={r().lists.length > 0}
            fallback={
              <EmptyState
                icon="lists"
                title="No saved lists yet"
                actions={
                  <A href="/lists" class="btn btn-secondary">
                    Go to Lists
                  </A>
                }
              >
                Save contacts to a list from search or an import, then add the whole list here in one step.
              </EmptyState>
            }
          >
            <div class="list-picker">
              <Show when={r().lists.length > 8}>
                <SearchField
                  id="list-filter"
                  label="Filter lists"
                  placeholder="Filter lists by name"
                  value={filter()}
                  onSearch={setFilter}
                  delay={0}
                />
              </Show>
              <fieldset>
                <legend class="sr-only">Lists to add</legend>
                <ul class="list-options" data-testid="list-options">
                  <For each={shown()}>
                    {(l) => (
                      <li>
                        <label class="list-option" classList={{ selected: props.w.listIds.includes(l.id) }}>
                          <input
                            type="checkbox"
                            checked={props.w.listIds.includes(l.id)}
                            onChange={(e) => toggle(l.id, e.currentTarget.checked)}
                          />
                          <span class="list-option-icon" aria-hidden="true">
                            <Icon name="lists" size={16} />
                          </span>
                          <span class="list-option-text">
                            <strong>{l.name}</strong>
                            <span class="muted small">
                              <Show when={ownerName(l.owner_id)}>{(n) => <>{n()} · </>}</Show>
                              created {formatDate(l.created_at)}
                            </span>
                          </span>
                          <span class="list-option-size">
                            <strong class="tabular">{formatNumber(l.contact_count)}</strong>
                            <span class="muted small">{l.contact_count === 1 ? "contact" : "contacts"}</span>
                          </span>
                        </label>
                      </li>
                    )}
                  </For>
                </ul>
              </fieldset>
              <p class="field-help">Contacts on more than one of the chosen lists are added once.</p>
            </div>
          </Show>
        )}
      </Show>
    </Suspense>
  );
}
