import { createSignal, createUniqueId, For, Show } from "solid-js";
import { Chips } from "./Chips";
import { FieldError } from "./FieldError";

/**
 * Several free-text values as chips: Enter or a comma adds what was typed, Backspace in the empty box
 * removes the last one, each chip has its own remove button. Optional suggestions come from a
 * <datalist>, so the browser's own autocomplete (and its keyboard handling) is used. With `strict`, only
 * a suggestion can be added (matched case-insensitively), so a typo can't become a filter that finds nothing.
 */
export function TagInput(props: {
  id: string;
  label: string;
  values: string[];
  onChange: (values: string[]) => void;
  placeholder?: string;
  suggestions?: string[];
  /** Shown next to a suggestion in the list (e.g. how many people have it). */
  suggestionLabel?: (value: string) => string | undefined;
  strict?: boolean;
  help?: string;
  /** Most values (the people search takes 50 per filter). */
  maxValues?: number;
  /** Longest value, in characters (the people search takes 200). */
  maxLength?: number;
}) {
  const [draft, setDraft] = createSignal("");
  const [error, setError] = createSignal("");
  const listId = createUniqueId();
  const add = (raw: string) => {
    let v = raw.trim().replace(/,$/, "").trim();
    if (!v) return setError("");
    // Over the API's limits a value would be refused with the whole search: say so here instead.
    const maxLength = props.maxLength ?? 200;
    if (v.length > maxLength) {
      setDraft(v);
      return setError(`${props.label} can be at most ${maxLength} characters; this one has ${v.length}.`);
    }
    const maxValues = props.maxValues ?? 50;
    if (props.values.length >= maxValues && !props.values.some((x) => x.toLowerCase() === v.toLowerCase())) {
      setDraft(v);
      return setError(`At most ${maxValues} values here: remove one to add “${v}”.`);
    }
    if (props.strict && props.suggestions?.length) {
      const known = props.suggestions.find((s) => s.toLowerCase() === v.toLowerCase());
      if (!known) {
        setDraft(v);
        return setError(`No ${props.label.toLowerCase()} “${v}”: pick one from the list.`);
      }
      v = known;
    }
    setError("");
    if (!props.values.some((x) => x.toLowerCase() === v.toLowerCase())) props.onChange([...props.values, v]);
    setDraft("");
  };
  const describedBy = () => [error() && `${props.id}-error`, props.help && `${props.id}-help`].filter(Boolean).join(" ") || undefined;
  return (
    <div class="field tag-field">
      <label for={props.id}>{props.label}</label>
      <Chips label={`${props.label}: chosen`} items={props.values} onRemove={(v) => props.onChange(props.values.filter((x) => x !== v))} />
      <input
        id={props.id}
        class="input-sm"
        value={draft()}
        placeholder={props.placeholder}
        list={props.suggestions ? listId : undefined}
        autocomplete="off"
        aria-describedby={describedBy()}
        aria-invalid={error() ? true : undefined}
        onInput={(e) => {
          const v = e.currentTarget.value;
          // Picking a suggestion fires input with the whole value (no keypress): take it at once.
          if (props.suggestions?.includes(v)) return add(v);
          if (v.endsWith(",")) return add(v);
          setDraft(v);
          setError("");
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
          <For each={props.suggestions!.filter((s) => !props.values.includes(s))}>
            {(s) => <option value={s} label={props.suggestionLabel?.(s)} />}
          </For>
        </datalist>
      </Show>
      <FieldError id={`${props.id}-error`} message={error()} />
      <Show when={props.help}>
        <p id={`${props.id}-help`} class="field-help">
          {props.help}
        </p>
      </Show>
    </div>
  );
}
