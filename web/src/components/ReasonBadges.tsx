import { For, Show } from "solid-js";
import { reasonInfo, type ReasonMap } from "../reasons";
import { Badge } from "./Badge";

/** Reason codes as badges; the tooltip says how to resolve each. */
export function ReasonBadges(props: { codes: string[]; api?: ReasonMap }) {
  return (
    <Show when={props.codes.length > 0} fallback={<span class="muted">—</span>}>
      <span class="reason-badges">
        <For each={props.codes}>
          {(code) => {
            const r = reasonInfo(code, props.api);
            return (
              <Badge tone={r.tone} title={r.fix || undefined}>
                {r.label}
              </Badge>
            );
          }}
        </For>
      </span>
    </Show>
  );
}
