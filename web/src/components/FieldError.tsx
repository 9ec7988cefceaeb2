import { Show } from "solid-js";
import { Icon } from "./Icon";

/** The API's message for one field, under that field. Give the input `aria-describedby={id}`. */
export function FieldError(props: { id: string; message?: string }) {
  return (
    <Show when={props.message}>
      <p id={props.id} class="field-error" role="alert">
        <Icon name="alert" size={14} />
        <span>{props.message}</span>
      </p>
    </Show>
  );
}
