import { For, type JSX } from "solid-js";

/**
 * A select's options read from the API, each saying itself whether it is the chosen one. The select's own
 * `value` is set when it is drawn; options that arrive after it (a fresh page opened with a filter in its
 * address, a dialog opened before its lists loaded) would leave it on its first option while the choice
 * stands, so the screen said "Any stage" of a list filtered by stage. MailboxOptions and SequenceOptions do
 * the same for their lists.
 */
export function Options<T>(props: {
  each: readonly T[] | undefined;
  value: string | null | undefined;
  id: (item: T) => string;
  children: (item: T) => JSX.Element;
}) {
  return (
    <For each={props.each ?? []}>
      {(item) => (
        <option value={props.id(item)} selected={props.id(item) === props.value}>
          {props.children(item)}
        </option>
      )}
    </For>
  );
}
