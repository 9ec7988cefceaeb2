import { onCleanup, Show } from "solid-js";
import type { FormErrors } from "../forms";
import { Icon } from "./Icon";

/**
 * The API's message for one field, under that field. Give the input `aria-describedby={id}`.
 * With `form` and `name` it shows that form's refusal of the named field(s) and claims them, so
 * the form's summary doesn't repeat them; with `message` it shows a message computed elsewhere.
 */
export function FieldError(props: { id: string; message?: string; form?: FormErrors; name?: string | string[] }) {
  const names = () => (props.name === undefined ? [] : Array.isArray(props.name) ? props.name : [props.name]);
  if (props.form && props.name !== undefined) onCleanup(props.form.claim(names()));
  const message = () => props.message ?? (props.form ? props.form.message(...names()) : undefined);
  return (
    <Show when={message()}>
      <p id={props.id} class="field-error" role="alert">
        <Icon name="alert" size={14} />
        <span>{message()}</span>
      </p>
    </Show>
  );
}
