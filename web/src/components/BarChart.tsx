import { createMemo, createSignal, For, onCleanup, onMount, Show } from "solid-js";
import { formatNumber } from "../format";
import "./BarChart.css";
import "./Chart.css";

export type Series = { key: string; label: string; color: string };

/** 1, 2, 5 × 10^n: a tick step that gives about four gridlines. */
function niceStep(max: number) {
  // Whole units only: half a credit means nothing.
  const raw = Math.max(1, max / 4);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
}

const dayLabel = (ymd: string) => {
  const [y, m, d] = ymd.split("-").map(Number);
  return new Date(y!, m! - 1, d!).toLocaleDateString(undefined, { month: "short", day: "numeric" });
};

/**
 * Stacked bars per day, drawn as SVG (no charting library: this is one chart). The picture is for
 * sighted users; the same numbers are in a table for everyone else (`tableCaption`). Each bar has a
 * tooltip with its day's breakdown.
 */
export function StackedBarChart(props: {
  days: string[];
  series: Series[];
  values: Record<string, Record<string, number>>;
  unit: string;
  label: string;
  tableCaption: string;
}) {
  // Drawn at the container's real width, so text and bars stay crisp and unscaled.
  const [W, setW] = createSignal(760);
  let box!: HTMLElement;
  onMount(() => {
    const ro = new ResizeObserver(([e]) => e && setW(Math.max(320, Math.round(e.contentRect.width))));
    ro.observe(box);
    onCleanup(() => ro.disconnect());
  });
  const H = 200;
  const pad = { top: 10, right: 8, bottom: 26, left: 40 };
  const innerW = () => W() - pad.left - pad.right;
  const innerH = H - pad.top - pad.bottom;
  const totals = createMemo(() => props.days.map((d) => props.series.reduce((a, s) => a + (props.values[d]?.[s.key] ?? 0), 0)));
  const max = () => Math.max(0, ...totals());
  const step = () => niceStep(max());
  const top = () => Math.max(step(), Math.ceil(max() / step()) * step());
  const ticks = () => Array.from({ length: Math.round(top() / step()) + 1 }, (_, i) => i * step());
  const y = (v: number) => pad.top + innerH - (v / top()) * innerH;
  const band = () => innerW() / Math.max(1, props.days.length);
  const barW = () => Math.max(2, Math.min(22, band() * 0.62));
  const labelEvery = () => Math.max(1, Math.ceil(props.days.length / Math.max(2, Math.floor(innerW() / 70))));

  return (
    <figure class="chart" ref={box}>
      <svg width={W()} height={H} viewBox={`0 0 ${W()} ${H}`} class="chart-svg" role="img" aria-label={props.label}>
        <For each={ticks()}>
          {(t) => (
            <g>
              <line x1={pad.left} x2={W() - pad.right} y1={y(t)} y2={y(t)} class={t === 0 ? "chart-axis" : "chart-grid"} />
              <text x={pad.left - 8} y={y(t) + 4} text-anchor="end" class="chart-tick">
                {formatNumber(t)}
              </text>
            </g>
          )}
        </For>
        <For each={props.days}>
          {(d, i) => {
            const x = () => pad.left + i() * band() + (band() - barW()) / 2;
            const segments = () => {
              let acc = 0;
              return props.series
                .map((s) => {
                  const v = props.values[d]?.[s.key] ?? 0;
                  const seg = { s, v, y0: acc };
                  acc += v;
                  return seg;
                })
                .filter((x) => x.v > 0);
            };
            return (
              <g class="chart-bar">
                <title>
                  {`${dayLabel(d)}: ${formatNumber(totals()[i()] ?? 0)} ${props.unit}` +
                    segments()
                      .map((x) => `\n${x.s.label}: ${formatNumber(x.v)}`)
                      .join("")}
                </title>
                {/* A full-height hit area, so the tooltip shows over empty days too. */}
                <rect x={pad.left + i() * band()} y={pad.top} width={band()} height={innerH} fill="transparent" />
                <For each={segments()}>
                  {(seg) => (
                    <rect
                      x={x()}
                      width={barW()}
                      y={y(seg.y0 + seg.v)}
                      height={Math.max(1, y(seg.y0) - y(seg.y0 + seg.v))}
                      fill={seg.s.color}
                      rx={2}
                    />
                  )}
                </For>
                <Show when={i() % labelEvery() === 0}>
                  <text x={pad.left + i() * band() + band() / 2} y={H - 8} text-anchor="middle" class="chart-tick">
                    {dayLabel(d)}
                  </text>
                </Show>
              </g>
            );
          }}
        </For>
      </svg>
      <figcaption class="chart-legend">
        <For each={props.series}>
          {(s) => (
            <span class="chart-legend-item">
              <span class="chart-swatch" style={{ background: s.color }} aria-hidden="true" />
              {s.label}
            </span>
          )}
        </For>
      </figcaption>
      <table class="sr-only">
        <caption>{props.tableCaption}</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            <For each={props.series}>{(s) => <th scope="col">{s.label}</th>}</For>
          </tr>
        </thead>
        <tbody>
          <For each={props.days.filter((_, i) => (totals()[i] ?? 0) > 0)}>
            {(d) => (
              <tr>
                <th scope="row">{dayLabel(d)}</th>
                <For each={props.series}>{(s) => <td>{formatNumber(props.values[d]?.[s.key] ?? 0)}</td>}</For>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </figure>
  );
}
