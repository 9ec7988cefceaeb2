import { createSignal, createUniqueId, For, Show } from "solid-js";
import { Icon } from "./Icon";

/**
 * Several free-text values as chips: Enter or a comma adds what was typed, Backspace in the empty box
 * removes the last one, each chip has its own remove button. Optional suggestions come from a
 * <datalist>, so the browser's own autocomplete (and its keyboard handling) is used.
 */
export function TagInput(props: {
  id: string;
  label: string;
  values: string[];
  onChange: (values: string[]) => void;
  placeholder?: string;
  suggestions?: string[];
  help?: string;
}) {
  const [draft, setDraft] = createSignal("");
  const listId = createUniqueId();
  const add = (raw: string) => {
    const v = raw.trim().replace(/,$/, "").trim();
    if (!v) return;
    if (!props.values.some((x) => x.toLowerCase() === v.toLowerCase())) props.onChange([...props.values, v]);
    setDraft("");
  };
  return (
    <div class="field tag-field">
      <label for={props.id}>{props.label}</label>
      <Show when={props.values.length > 0}>
        <ul class="chips" aria-label={`${props.label}: chosen`}>
          <For each={props.values}>
            {(v) => (
              <li class="chip">
                {v}
                <button type="button" aria-label={`Remove ${v}`} onClick={() => props.onChange(props.values.filter((x) => x !== v))}>
                  <Icon name="x" size={12} />
                </button>
              </li>
            )}
          </For>
        </ul>
      </Show>
      <input
        id={props.id}
        class="input-sm"
        value={draft()}
        placeholder={props.placeholder}
        list={props.suggestions ? listId : undefined}
        autocomplete="off"
        aria-describedby={props.help ? `${props.id}-help` : undefined}
        onInput={(e) => {
          const v = e.currentTarget.value;
          // Picking a suggestion fires input with the whole value (no keypress): take it at once.
          if (props.suggestions?.includes(v)) return add(v);
          if (v.endsWith(",")) return add(v);
          setDraft(v);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            add(e.currentTarget.value);
          } else if (e.key === "Backspace" && !e.currentTarget.value && props.values.length) {
            props.onChange(props.values.slice(0, -1));
          }
        }}
        onBlur={(e) => add(e.currentTarget.value)}
      />
      <Show when={props.suggestions}>
        <datalist id={listId}>
          <For each={props.suggestions!.filter((s) => !props.values.includes(s))}>{(s) => <option value={s} />}</For>
        </datalist>
      </Show>
      <Show when={props.help}>
        <p id={`${props.id}-help`} class="field-help">{props.help}</p>
      </Show>
    </div>
  );
}
