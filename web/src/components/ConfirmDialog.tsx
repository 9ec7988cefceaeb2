import { createEffect, createUniqueId, type JSX } from "solid-js";

/**
 * A modal confirmation on the native <dialog>: focus is trapped and restored by the browser, Esc
 * cancels. The confirm button is focused first only for non-destructive actions.
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
  onConfirm: () => void;
  onCancel: () => void;
}) {
  let dialog!: HTMLDialogElement;
  // Unique per instance: a page may hold several (one per step card), each named by its own title.
  const titleId = createUniqueId();
  createEffect(() => {
    if (props.open && !dialog.open) dialog.showModal();
    else if (!props.open && dialog.open) dialog.close();
  });
  return (
    <dialog
      ref={dialog}
      class="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
      onClick={(e) => {
        if (e.target === dialog) props.onCancel();
      }}
    >
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
          disabled={props.busy}
          onClick={() => props.onConfirm()}
        >
          {props.busy ? "Working…" : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
