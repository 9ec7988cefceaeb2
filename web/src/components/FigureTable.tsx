import { For, Show, type JSX } from "solid-js";

/** A column of figures: right-aligned numbers unless `text`; `over` marks a figure past its limit (red). */
export type FigureColumn<T> = {
  label: JSX.Element;
  value: (row: T) => JSX.Element;
  over?: (row: T) => boolean;
  /** Words or markup, not a number: left-aligned. */
  text?: boolean;
  /** The header is read by screen readers only (an actions column). */
  srOnly?: boolean;
};

/**
 * A table of figures with a row header per row (a step, a mailbox, a user, a chart's day): the report
 * tables, a chart's "Show as table", an A/B test, the capacity forecast.
 */
export function FigureTable<T>(props: {
  caption?: string;
  /** The row headers' column ("Step", "Mailbox"). */
  nameLabel: string;
  name: (row: T, index: number) => JSX.Element;
  rows: readonly T[];
  columns: FigureColumn<T>[];
  testId?: string;
  class?: string;
  wrapClass?: string;
  rowClass?: (row: T) => string | undefined;
}) {
  return (
    <div class={`table-wrap ${props.wrapClass ?? ""}`}>
      <table class={`table ${props.class ?? ""}`} data-testid={props.testId}>
        <Show when={props.caption}>
          <caption class="sr-only">{props.caption}</caption>
        </Show>
        <thead>
          <tr>
            <th scope="col">{props.nameLabel}</th>
            <For each={props.columns}>
              {(c) => (
                <th scope="col" class={c.text ? undefined : "num"}>
                  {c.srOnly ? <span class="sr-only">{c.label}</span> : c.label}
                </th>
              )}
            </For>
          </tr>
        </thead>
        <tbody>
          <For each={props.rows}>
            {(row, i) => (
              <tr class={props.rowClass?.(row)}>
                <th scope="row">{props.name(row, i())}</th>
                <For each={props.columns}>
                  {(c) => (
                    <td class={c.text ? undefined : "num"} classList={{ "text-danger": !!c.over?.(row) }}>
                      {c.value(row)}
                    </td>
                  )}
                </For>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </div>
  );
}
