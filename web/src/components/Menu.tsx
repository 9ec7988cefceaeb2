import { createSignal, createUniqueId, For, onCleanup, Show, type JSX } from "solid-js";

import "./Menu.css";
export type MenuItem = { id: string; label: string; hint?: string };

/**
 * A menu button (WAI-ARIA menu pattern): Enter, Space or ArrowDown opens it on the first item; arrows,
 * Home and End move; Enter picks; Esc closes and returns focus to the button; clicks outside close it.
 */
export function MenuButton(props: {
  label: JSX.Element;
  ariaLabel?: string;
  items: MenuItem[];
  onSelect: (id: string) => void;
  class?: string;
  disabled?: boolean;
  align?: "left" | "right";
  footer?: JSX.Element;
}) {
  const [open, setOpen] = createSignal(false);
  const menuId = createUniqueId();
  let button!: HTMLButtonElement;
  let menu: HTMLDivElement | undefined;
  let root!: HTMLDivElement;

  const items = () => Array.from(menu?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? []);
  const focusItem = (i: number) => {
    const all = items();
    if (!all.length) return;
    all[(i + all.length) % all.length]!.focus();
  };
  const show = (at: number) => {
    setOpen(true);
    queueMicrotask(() => focusItem(at));
  };
  const close = (refocus = true) => {
    setOpen(false);
    if (refocus) button.focus();
  };
  const onDocDown = (e: MouseEvent) => {
    if (open() && !root.contains(e.target as Node)) setOpen(false);
  };
  document.addEventListener("mousedown", onDocDown);
  onCleanup(() => document.removeEventListener("mousedown", onDocDown));

  const onMenuKey = (e: KeyboardEvent) => {
    const all = items();
    const i = all.indexOf(document.activeElement as HTMLElement);
    if (e.key === "ArrowDown") focusItem(i + 1);
    else if (e.key === "ArrowUp") focusItem(i - 1);
    else if (e.key === "Home") focusItem(0);
    else if (e.key === "End") focusItem(all.length - 1);
    else if (e.key === "Escape") close();
    else if (e.key === "Tab") setOpen(false);
    else return;
    if (e.key !== "Tab") e.preventDefault();
  };

  return (
    <div ref={root} class="menu-root">
      <button
        ref={button}
        type="button"
        class={props.class ?? "btn btn-secondary btn-sm"}
        aria-haspopup="menu"
        aria-expanded={open()}
        aria-controls={open() ? menuId : undefined}
        aria-label={props.ariaLabel}
        disabled={props.disabled}
        onClick={() => (open() ? close() : show(0))}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            show(0);
          } else if (e.key === "ArrowUp") {
            e.preventDefault();
            show(-1);
          }
        }}
      >
        {props.label}
      </button>
      <Show when={open()}>
        <div
          ref={menu}
          id={menuId}
          class={`menu menu-${props.align ?? "left"}`}
          role="menu"
          aria-label={props.ariaLabel}
          onKeyDown={onMenuKey}
        >
          <For each={props.items}>
            {(item) => (
              <button
                type="button"
                role="menuitem"
                tabindex="-1"
                class="menu-item"
                onClick={() => {
                  close(false);
                  props.onSelect(item.id);
                }}
              >
                <span class="menu-item-label">{item.label}</span>
                <Show when={item.hint}>
                  <span class="menu-item-hint">{item.hint}</span>
                </Show>
              </button>
            )}
          </For>
          <Show when={props.footer}>
            <div class="menu-footer">{props.footer}</div>
          </Show>
        </div>
      </Show>
    </div>
  );
}
