import { For } from "solid-js";

import "./Tabs.css";
export type TabItem = { id: string; label: string };

/**
 * WAI-ARIA tabs: one tab stop; arrow keys, Home and End move between tabs. The owner renders the
 * panel with `id={tabPanelId(id, scope)}`, `role="tabpanel"` and `aria-labelledby={tabId(id, scope)}`.
 * Tabs shown inside another page's tabs pass a `scope`, so their ids don't repeat the outer ones
 * (a sequence's "Scheduled" tab and its contacts' "Scheduled" filter).
 */
export function Tabs(props: { label: string; tabs: TabItem[]; selected: string; onSelect: (id: string) => void; scope?: string }) {
  let list!: HTMLDivElement;
  const move = (e: KeyboardEvent) => {
    const i = props.tabs.findIndex((t) => t.id === props.selected);
    const n = props.tabs.length;
    const next =
      e.key === "ArrowRight" ? (i + 1) % n : e.key === "ArrowLeft" ? (i - 1 + n) % n : e.key === "Home" ? 0 : e.key === "End" ? n - 1 : -1;
    if (next < 0) return;
    e.preventDefault();
    props.onSelect(props.tabs[next]!.id);
    list.querySelectorAll<HTMLElement>('[role="tab"]')[next]?.focus();
  };
  return (
    <div ref={list} class="tabs" role="tablist" aria-label={props.label} onKeyDown={move}>
      <For each={props.tabs}>
        {(t) => (
          <button
            type="button"
            role="tab"
            id={tabId(t.id, props.scope)}
            class="tab"
            aria-selected={props.selected === t.id}
            aria-controls={tabPanelId(t.id, props.scope)}
            tabindex={props.selected === t.id ? 0 : -1}
            onClick={() => props.onSelect(t.id)}
          >
            {t.label}
          </button>
        )}
      </For>
    </div>
  );
}

export const tabId = (id: string, scope?: string) => (scope ? `tab-${scope}-${id}` : `tab-${id}`);
export const tabPanelId = (id: string, scope?: string) => (scope ? `tabpanel-${scope}-${id}` : `tabpanel-${id}`);
