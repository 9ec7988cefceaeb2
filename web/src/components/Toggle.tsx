import { createUniqueId, Show } from "solid-js";

import "./Toggle.css";
/**
 * An on/off switch: a real button with role="switch", so Space and Enter toggle it and screen readers
 * announce "on"/"off". The visible label is optional; the accessible name never is.
 *
 * Disabled with a `why`, it stays focusable (aria-disabled) and is described by the reason, so
 * keyboard and screen-reader users learn why too, not only those who hover it.
 */
export function Toggle(props: {
  checked: boolean;
  onChange: (next: boolean) => void;
  label: string;
  showLabel?: boolean;
  onText?: string;
  offText?: string;
  disabled?: boolean;
  why?: string | null;
  busy?: boolean;
  title?: string;
  size?: "sm" | "md";
  describedBy?: string;
  testId?: string;
}) {
  const whyId = createUniqueId();
  const locked = () => !!props.disabled && !!props.why;
  return (
    <>
      <button
        type="button"
        role="switch"
        class={`switch switch-${props.size ?? "md"}`}
        classList={{ "switch-busy": props.busy }}
        aria-checked={props.checked}
        aria-label={props.showLabel ? undefined : props.label}
        aria-describedby={[props.describedBy, locked() ? whyId : undefined].filter(Boolean).join(" ") || undefined}
        aria-busy={props.busy || undefined}
        aria-disabled={locked() || undefined}
        title={props.title ?? (locked() ? props.why! : undefined)}
        disabled={props.disabled && !locked()}
        data-testid={props.testId}
        onClick={() => !props.disabled && props.onChange(!props.checked)}
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
      <Show when={locked()}>
        <span id={whyId} class="sr-only">
          {props.why}
        </span>
      </Show>
    </>
  );
}
