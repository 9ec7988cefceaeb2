import { createEffect, createSignal, on, onCleanup } from "solid-js";
import { Icon } from "./Icon";
import "./SearchField.css";

/**
 * A search box: the icon, a label for screen readers, and `onSearch` once typing pauses (`delay` ms,
 * 300 by default; 0 for a filter of what is already on screen). `onInput` hears every keystroke.
 */
export function SearchField(props: {
  id: string;
  label: string;
  placeholder: string;
  value: string;
  onSearch: (value: string) => void;
  onInput?: (value: string) => void;
  delay?: number;
  maxLength?: number;
  wide?: boolean;
}) {
  const [draft, setDraft] = createSignal(props.value);
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));
  // What this box last asked for: its echo in `value` may arrive after more typing (the router commits
  // the new URL once the page has loaded) and must not overwrite it.
  let sent = props.value;
  // Any other change of `value` comes from outside (a sidebar link, Back, a cleared filter): the box
  // shows what is searched now, and a search still waiting to be sent would undo it.
  createEffect(
    on(
      () => props.value,
      (v) => {
        if (v.trim() === sent.trim()) return;
        clearTimeout(timer);
        sent = v;
        setDraft(v);
      },
      { defer: true },
    ),
  );
  const search = (v: string) => {
    sent = v;
    props.onSearch(v);
  };
  const input = (v: string) => {
    setDraft(v);
    props.onInput?.(v);
    clearTimeout(timer);
    const delay = props.delay ?? 300;
    if (delay) timer = setTimeout(() => search(v), delay);
    else search(v);
  };
  return (
    <div class="search-field" classList={{ "search-field-wide": props.wide }}>
      <Icon name="search" size={16} />
      <label for={props.id} class="sr-only">
        {props.label}
      </label>
      <input
        id={props.id}
        type="search"
        placeholder={props.placeholder}
        maxLength={props.maxLength}
        value={draft()}
        onInput={(e) => input(e.currentTarget.value)}
        autocomplete="off"
      />
    </div>
  );
}
