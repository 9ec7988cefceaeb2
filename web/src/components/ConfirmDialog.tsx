import { createUniqueId, type JSX } from "solid-js";
import { Modal } from "./Dialog";

/**
 * A modal confirmation (Modal: Esc or the backdrop cancels). The confirm button is focused first only for non-destructive actions.
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: JSX.Element;
  confirmLabel: string;
  /** Label of the way out, when "Cancel" would be ambiguous (cancelling a job). */
  cancelLabel?: string;
  danger?: boolean;
  busy?: boolean;
  /** The confirm button is off until what it asks is answered (a checkbox ticked), without saying "Working…". */
  confirmDisabled?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  // Unique per instance: a page may hold several (one per step card), each named by its own title.
  const titleId = createUniqueId();
  return (
    <Modal open={props.open} onClose={props.onCancel} class="dialog" labelledBy={titleId}>
      <div class="dialog-body">
        <h2 id={titleId} class="dialog-title">
          {props.title}
        </h2>
        <div class="dialog-text">{props.children}</div>
      </div>
      <div class="dialog-actions">
        <button type="button" class="btn btn-secondary" autofocus={props.danger} onClick={() => props.onCancel()}>
          {props.cancelLabel ?? "Cancel"}
        </button>
        <button
          type="button"
          class={props.danger ? "btn btn-danger" : "btn btn-primary"}
          disabled={props.busy || props.confirmDisabled}
          onClick={() => props.onConfirm()}
        >
          {props.busy ? "Working…" : props.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
