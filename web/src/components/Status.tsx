import { For, Show } from "solid-js";
import { ApiError, fieldProblems, problemSentence } from "../api";
import { Icon } from "./Icon";
import "./Status.css";

/** Placeholder rows while a table loads, so the page doesn't jump when data arrives. */
export function TableSkeleton(props: { columns: number; rows?: number; label?: string }) {
  return (
    <div class="table-wrap" role="status" aria-live="polite" aria-busy="true">
      <span class="sr-only">{props.label ?? "Loading…"}</span>
      <table class="table" aria-hidden="true">
        <tbody>
          <For each={Array.from({ length: props.rows ?? 8 })}>
            {() => (
              <tr>
                <For each={Array.from({ length: props.columns })}>
                  {(_, i) => (
                    <td>
                      <span class="skeleton" style={{ width: `${[70, 55, 60, 80, 40, 30][i() % 6]}%` }} />
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

export function Spinner(props: { label?: string }) {
  return (
    <span class="spinner-wrap" role="status">
      <span class="spinner" aria-hidden="true" />
      <span class={props.label ? "" : "sr-only"}>{props.label ?? "Loading…"}</span>
    </span>
  );
}

/** An error in words: a refused form lists every field it names ("Name can't be empty; Daily limit can be at most 5,000"). */
export function errorMessage(err: unknown): string {
  const problems = fieldProblems(err);
  if (problems.length) return problems.map(problemSentence).join("; ");
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return "Something went wrong.";
}

/**
 * A failed load: what went wrong (the API's own message) and a way to try again. A 404 (deleted, another
 * team's, or a sequence not shared with the caller: the API doesn't say which) says so, unless the caller
 * gives its own title, and offers no retry: trying again finds nothing either.
 */
export function ErrorPanel(props: { error: unknown; title?: string; onRetry?: () => void }) {
  const code = () => (props.error instanceof ApiError ? props.error.code : null);
  const missing = () => props.error instanceof ApiError && props.error.status === 404;
  return (
    <div class="error-panel" role="alert">
      <Icon name="alert" size={20} />
      <div class="error-panel-body">
        <strong>{props.title ?? (missing() ? "Not found, or not shared with you" : "Couldn't load this")}</strong>
        <p>{errorMessage(props.error)}</p>
        <Show when={code()}>
          {(c) => (
            <p class="muted small">
              Error code: <code>{c()}</code>
            </p>
          )}
        </Show>
      </div>
      <Show when={props.onRetry && !missing()}>
        <button type="button" class="btn btn-secondary btn-sm" onClick={() => props.onRetry?.()}>
          Try again
        </button>
      </Show>
    </div>
  );
}

/** Inline form error under a form or field group. */
export function FormError(props: { error: unknown }) {
  return (
    <Show when={props.error}>
      <div class="form-error" role="alert">
        <Icon name="alert" size={16} />
        <span>{errorMessage(props.error)}</span>
      </div>
    </Show>
  );
}
