import { createUniqueId, type JSX } from "solid-js";
import "./Card.css";

/** A card with its title (and a line under it) over its content; the section is named by its title. */
export function Card(props: {
  title: JSX.Element;
  subtitle?: JSX.Element;
  /** The heading's id, when something else points at it; otherwise a unique one. */
  titleId?: string;
  /** Content runs to the card's edges (a table, a list): the header gets a rule under it. */
  flush?: boolean;
  class?: string;
  testId?: string;
  /** Buttons or a switch at the header's right (Download, New, the period). */
  actions?: JSX.Element;
  children: JSX.Element;
}) {
  const id = props.titleId ?? createUniqueId();
  return (
    <section class={`card ${props.flush ? "card-flush" : ""} ${props.class ?? ""}`} aria-labelledby={id} data-testid={props.testId}>
      <div class="card-header" classList={{ "card-header-row": "actions" in props }}>
        <div>
          <h2 id={id} class="card-title">
            {props.title}
          </h2>
          {/* Checked without reading it: reading markup passed as a prop builds it. */}
          {"subtitle" in props && <p class="card-subtitle">{props.subtitle}</p>}
        </div>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}
