import { createEffect, onCleanup, onMount } from "solid-js";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { FigureTable } from "./FigureTable";
import "./Chart.css";

const DAY_S = 86_400;

/** Whether a series has a value with no value on either side: a line can't show it. */
/** The indexes of values with no neighbour on either side: a line can't show them, a dot does. */
const isolated = (values: (number | null)[]) =>
  values.flatMap((v, i) => (v != null && values[i - 1] == null && values[i + 1] == null ? [i] : []));

/**
 * Charts drawn by uPlot (small, fast canvas charts; maintained, framework-free, so it works with
 * Solid through a ref). The canvas is decoration for sighted users: every chart carries a summary
 * in its accessible name and the same figures in a table right below it (`<details>` "Show as table").
 */
export type ChartSeries = { label: string; color: string; values: (number | null)[]; dash?: boolean; bars?: boolean };

export type TableColumn = { label: string; values: (string | number)[] };

function ChartTable(props: { caption: string; columns: TableColumn[] }) {
  const rows = () => props.columns[0]?.values.map((_, i) => i) ?? [];
  return (
    <details class="chart-table">
      <summary>Show as table</summary>
      <FigureTable
        caption={props.caption}
        nameLabel={props.columns[0]?.label ?? ""}
        name={(i) => props.columns[0]?.values[i]}
        rows={rows()}
        columns={props.columns.slice(1).map((c) => ({ label: c.label, value: (i: number) => c.values[i] }))}
      />
    </details>
  );
}

/**
 * One chart. `x` is either day timestamps (seconds, `time`) or category labels (bars per step or status).
 * `percent` formats the y axis as percentages of 0..1 values. Under the cursor the legend names the
 * category (`categoryLabel`: `categoryNames[i]`, "Step: 2. Phone call"; uPlot would say "Value:").
 */
export function Chart(props: {
  title: string;
  summary: string;
  x: number[];
  categories?: string[];
  categoryLabel?: string;
  /** A category's full name for the legend, when the axis shows a short one ("Step 2"). */
  categoryNames?: string[];
  series: ChartSeries[];
  percent?: boolean;
  height?: number;
  table: TableColumn[];
  testId?: string;
}) {
  let box!: HTMLDivElement;
  let plot: uPlot | undefined;
  const fmtY = (v: number) => (props.percent ? `${+(v * 100).toFixed(2)}%` : v.toLocaleString());

  const build = () => {
    plot?.destroy();
    const width = Math.max(280, box.clientWidth || 600);
    const cats = props.categories;
    const opts: uPlot.Options = {
      width,
      height: props.height ?? 220,
      legend: { show: true },
      // Days are UTC days (the reports' rollup): the axis says them as the legend and the table do.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: {
          time: !cats,
          range: cats
            ? (_u, min, max) => [min - 0.5, max + 0.5] as uPlot.Range.MinMax
            : // One day (a sequence's first): uPlot's own range around a single time spans years; a week around it reads.
              // (read from the data: uPlot's own min and max for one time are already widened).
              (_u, min, max) => {
                const only = props.x.length > 0 && props.x.every((v) => v === props.x[0]) ? props.x[0]! : null;
                return (only === null ? [min, max] : [only - 3 * DAY_S, only + 3 * DAY_S]) as uPlot.Range.MinMax;
              },
        },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] as uPlot.Range.MinMax },
      },
      axes: [
        cats
          ? {
              values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (cats[t] ?? "") : "")),
              splits: () => cats.map((_, i) => i),
              grid: { show: false },
            }
          : {},
        { values: (_u, ticks) => ticks.map(fmtY), size: 56 },
      ],
      series: [
        {
          label: cats ? (props.categoryLabel ?? "Category") : "Day (UTC)",
          value: (_u, v) =>
            v == null ? "" : cats ? ((props.categoryNames ?? cats)[v] ?? "") : new Date(v * 1000).toISOString().slice(0, 10),
        },
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: s.color,
          width: s.dash ? 1.5 : 2,
          dash: s.dash ? [6, 4] : undefined,
          fill: s.bars ? s.color : undefined,
          // A value with no neighbour (one day of data, or a rate between days without one) draws no line: a dot shows it.
          // Only those values get a dot (a dot on every day hid the line's shape).
          points: { show: !s.bars && isolated(s.values).length > 0, size: 7, fill: s.color, filter: () => isolated(s.values) },
          value: (_u: uPlot, v: number | null) => (v == null ? "" : fmtY(v)),
          // Bars of several series nest (widest first) instead of overlapping: a funnel reads at a glance.
          paths: s.bars
            ? uPlot.paths.bars!({ size: [Math.max(0.25, 0.8 - 0.22 * props.series.slice(0, i).filter((y) => y.bars).length), 80], gap: 0 })
            : undefined,
        })),
      ],
    };
    plot = new uPlot(opts, [props.x, ...props.series.map((s) => s.values)] as uPlot.AlignedData, box);
  };

  onMount(() => {
    build();
    const ro = new ResizeObserver(
      () =>
        plot &&
        Math.abs(plot.width - box.clientWidth) > 8 &&
        plot.setSize({ width: Math.max(280, box.clientWidth), height: props.height ?? 220 }),
    );
    ro.observe(box);
    onCleanup(() => {
      ro.disconnect();
      plot?.destroy();
    });
  });
  createEffect(() => {
    // Rebuild when the data changes (filters).
    void props.x;
    void props.series;
    if (plot) build();
  });

  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption class="chart-title">{props.title}</figcaption>
      <div ref={box} class="chart-canvas" role="img" aria-label={`${props.title}. ${props.summary}`} />
      <ChartTable caption={props.title} columns={props.table} />
    </figure>
  );
}
