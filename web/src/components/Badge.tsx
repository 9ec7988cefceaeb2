import type { JSX } from "solid-js";

import "./Badge.css";
export type Tone = "neutral" | "accent" | "success" | "warning" | "danger" | "info";

/** A small status pill. The text carries the meaning; the colour only repeats it. */
export function Badge(props: { tone?: Tone; dot?: boolean; title?: string; children: JSX.Element }) {
  return (
    <span class={`badge badge-${props.tone ?? "neutral"}`} title={props.title}>
      {props.dot && <span class="badge-dot" aria-hidden="true" />}
      {props.children}
    </span>
  );
}
