import type { JSX } from "solid-js";
import "./CardGrid.css";

/** A grid of cards (mailboxes, workflows): each card a column of sections, its actions along the bottom (`.card-actions`). */
export function CardGrid(props: { children: JSX.Element; testId?: string }) {
  return (
    <div class="card-grid" data-testid={props.testId}>
      {props.children}
    </div>
  );
}
