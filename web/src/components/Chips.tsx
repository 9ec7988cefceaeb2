import { For, Show, type JSX } from "solid-js";
import { Icon } from "./Icon";
import "./Chips.css";

/**
 * Values as pills: the tags of a filter, a schedule's days off (each with a remove button when
 * `onRemove` is given), or a workflow's filters read back (`plain`, and `empty` when there are none).
 */
export function Chips<T extends string>(props: {
  label: string;
  items: readonly T[];
  text?: (item: T) => JSX.Element;
  onRemove?: (item: T) => void;
  /** Shown as one muted chip when there are no items (otherwise nothing is shown). */
  empty?: string;
  plain?: boolean;
}) {
  return (
    <Show when={props.items.length > 0 || props.empty}>
      <ul class="chips" aria-label={props.label}>
        <For each={props.items} fallback={<li class="chip chip-plain chip-muted">{props.empty}</li>}>
          {(item) => (
            <li class="chip" classList={{ "chip-plain": props.plain }}>
              {props.text ? props.text(item) : item}
              <Show when={props.onRemove}>
                {(remove) => (
                  <button type="button" aria-label={`Remove ${item}`} onClick={() => remove()(item)}>
                    <Icon name="x" size={12} />
                  </button>
                )}
              </Show>
            </li>
          )}
        </For>
      </ul>
    </Show>
  );
}
