import type { JSX } from "solid-js";
import "./PageHeader.css";

/** Title row of every page: the h1, a one-line description, and the page's main actions on the right. */
export function PageHeader(props: { title: string; description?: JSX.Element; actions?: JSX.Element }) {
  return (
    <header class="page-header">
      <div class="page-heading">
        <h1 class="page-title">{props.title}</h1>
        {props.description && <p class="page-description">{props.description}</p>}
      </div>
      {props.actions && <div class="page-actions">{props.actions}</div>}
    </header>
  );
}
