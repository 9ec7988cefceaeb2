import { For } from "solid-js";

/**
 * A segmented control: a WAI-ARIA radio group of buttons. One tab stop (the checked option); the arrow
 * keys, Home and End move the choice and focus with it, as native radio buttons do.
 */
export function Segmented<T extends string | number>(props: {
  label: string;
  options: readonly { value: T; label: string }[];
  value: T;
  onChange: (value: T) => void;
}) {
  let group!: HTMLDivElement;
  const move = (e: KeyboardEvent) => {
    const n = props.options.length;
    const i = props.options.findIndex((o) => o.value === props.value);
    const next =
      e.key === "ArrowRight" || e.key === "ArrowDown"
        ? (i + 1) % n
        : e.key === "ArrowLeft" || e.key === "ArrowUp"
          ? (i - 1 + n) % n
          : e.key === "Home"
            ? 0
            : e.key === "End"
              ? n - 1
              : -1;
    if (next < 0) return;
    e.preventDefault();
    props.onChange(props.options[next]!.value);
    group.querySelectorAll<HTMLElement>('[role="radio"]')[next]?.focus();
  };
  return (
    <div ref={group} class="segmented" role="radiogroup" aria-label={props.label} onKeyDown={move}>
      <For each={props.options}>
        {(o, i) => (
          <button
            type="button"
            role="radio"
            class="segment"
            aria-checked={props.value === o.value}
            // Nothing checked (a value not offered): the first option takes the tab stop.
            tabindex={props.value === o.value || (i() === 0 && !props.options.some((x) => x.value === props.value)) ? 0 : -1}
            onClick={() => props.onChange(o.value)}
          >
            {o.label}
          </button>
        )}
      </For>
    </div>
  );
}
