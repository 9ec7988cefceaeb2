import type { JSX } from "solid-js";
import { Card } from "./Card";
import { Chart } from "./Chart";
import { FigureTable, type FigureColumn } from "./FigureTable";
import "./Report.css";

/** A figure of a report's table (FigureTable's column). */
export type StatColumn<T> = FigureColumn<T>;

/** A report's table in its card: one row per step, mailbox, user or sequence, with its figures. */
export function StatsTable<T>(props: {
  title: string;
  /** The card's id (its heading is `${id}-title`) and the table's test id. */
  id: string;
  /** The first column's header ("Step", "Mailbox", "Name"). */
  nameLabel: string;
  name: (row: T, index: number) => JSX.Element;
  rows: readonly T[];
  columns: StatColumn<T>[];
}) {
  return (
    <Card title={props.title} titleId={`${props.id}-title`} flush>
      <FigureTable testId={props.id} nameLabel={props.nameLabel} name={props.name} rows={props.rows} columns={props.columns} />
    </Card>
  );
}

/**
 * Bars per category (a step, a status, a user), nested widest first, in a report's card; the table
 * behind the chart is built from the same rows, so the picture and the figures can't disagree.
 */
export function BarsChart<T>(props: {
  testId: string;
  title: string;
  summary: string;
  rows: readonly T[];
  /** The category under its bars ("Step 2"). */
  category: (row: T) => string;
  /** The category's header and its name in the table ("Step", "2. Phone call"), when they say more than the axis. */
  tableLabel: string;
  tableCategory?: (row: T, index: number) => string;
  series: { label: string; color: string; value: (row: T) => number }[];
}) {
  return (
    <section class="card report-section">
      <Chart
        testId={props.testId}
        title={props.title}
        summary={props.summary}
        x={props.rows.map((_, i) => i)}
        categories={props.rows.map(props.category)}
        categoryLabel={props.tableLabel}
        categoryNames={props.rows.map((r, i) => (props.tableCategory ?? props.category)(r, i))}
        series={props.series.map((s) => ({ label: s.label, color: s.color, bars: true, values: props.rows.map(s.value) }))}
        table={[
          { label: props.tableLabel, values: props.rows.map((r, i) => (props.tableCategory ?? props.category)(r, i)) },
          ...props.series.map((s) => ({ label: s.label, values: props.rows.map(s.value) })),
        ]}
      />
    </section>
  );
}

/** A report's date range: From and To, each kept by the page (in its URL). */
export function DateRange(props: { from?: string; to?: string; onChange: (range: { from?: string; to?: string }) => void }) {
  const field = (label: string, key: "from" | "to") => (
    <label>
      <span>{label}</span>
      <input
        type="date"
        class="input-sm"
        value={props[key] ?? ""}
        min={key === "to" ? props.from : undefined}
        max={key === "from" ? props.to : undefined}
        onChange={(e) => props.onChange({ from: props.from, to: props.to, [key]: e.currentTarget.value || undefined })}
      />
    </label>
  );
  return (
    <>
      {/* Reports count by UTC day (the rollup's day): said here, so a team far from UTC reads them right. */}
      {field("From (UTC)", "from")}
      {field("To (UTC)", "to")}
    </>
  );
}
