import { Show } from "solid-js";

import "./Toggle.css";
/**
 * An on/off switch: a real button with role="switch", so Space and Enter toggle it and screen readers
 * announce "on"/"off". The visible label is optional; the accessible name never is.
 */
export function Toggle(props: {
  checked: boolean;
  onChange: (next: boolean) => void;
  label: string;
  showLabel?: boolean;
  onText?: string;
  offText?: string;
  disabled?: boolean;
  busy?: boolean;
  title?: string;
  size?: "sm" | "md";
  describedBy?: string;
  testId?: string;
}) {
  return (
    <button
      type="button"
      role="switch"
      class={`switch switch-${props.size ?? "md"}`}
      classList={{ "switch-busy": props.busy }}
      aria-checked={props.checked}
      aria-label={props.showLabel ? undefined : props.label}
      aria-describedby={props.describedBy}
      aria-busy={props.busy || undefined}
      title={props.title}
      disabled={props.disabled}
      data-testid={props.testId}
      onClick={() => props.onChange(!props.checked)}
    >
      <span class="switch-track" aria-hidden="true">
        <span class="switch-thumb" />
      </span>
      <Show when={props.showLabel}>
        <span class="switch-label">{props.label}</span>
      </Show>
      <Show when={props.onText || props.offText}>
        <span class="switch-state" aria-hidden="true">
          {props.checked ? props.onText : props.offText}
        </span>
      </Show>
    </button>
  );
}
