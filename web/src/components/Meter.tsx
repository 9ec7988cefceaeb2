import { formatNumber } from "../format";

/** Used out of a limit as a bar; turns amber at 80% and red when full. */
export function Meter(props: { used: number; limit: number; label: string; size?: "sm" | "md" }) {
  const pct = () => (props.limit > 0 ? Math.min(100, (props.used / props.limit) * 100) : 0);
  const tone = () => (pct() >= 100 ? "full" : pct() >= 80 ? "high" : "ok");
  return (
    <span
      class={`meter meter-${props.size ?? "md"} meter-${tone()}`}
      role="meter"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={props.limit}
      aria-valuenow={Math.min(props.used, props.limit)}
      aria-valuetext={`${formatNumber(props.used)} of ${formatNumber(props.limit)}`}
    >
      <span style={{ width: `${pct()}%` }} />
    </span>
  );
}
