import "./Score.css";

/** Prospect score 0–100 as a number plus a small meter. */
export function Score(props: { value: number }) {
  const v = () => Math.max(0, Math.min(100, Math.round(props.value)));
  const tone = () => (v() >= 70 ? "high" : v() >= 40 ? "mid" : "low");
  return (
    <span class={`score score-${tone()}`}>
      <span class="score-value">{v()}</span>
      <span class="score-meter" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={v()} aria-label="Prospect score">
        <span style={{ width: `${v()}%` }} />
      </span>
    </span>
  );
}
