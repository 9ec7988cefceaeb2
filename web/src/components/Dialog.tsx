import { createEffect, createUniqueId, Show, type JSX } from "solid-js";
import { Icon } from "./Icon";

import "./Dialog.css";
/**
 * A modal on the native <dialog>: the browser traps and restores focus, Esc closes. Children render
 * only while open, so forms inside start fresh each time.
 */
export function Dialog(props: {
  open: boolean;
  title: string;
  description?: JSX.Element;
  onClose: () => void;
  children: JSX.Element;
  footer?: JSX.Element;
  size?: "md" | "lg" | "xl";
  testId?: string;
}) {
  let dialog!: HTMLDialogElement;
  const titleId = createUniqueId();
  createEffect(() => {
    if (props.open && !dialog.open) dialog.showModal();
    else if (!props.open && dialog.open) dialog.close();
  });
  return (
    <dialog
      ref={dialog}
      class={`dialog dialog-${props.size ?? "md"}`}
      aria-labelledby={titleId}
      data-testid={props.testId}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
      onMouseDown={(e) => {
        if (e.target === dialog) props.onClose();
      }}
    >
      <Show when={props.open}>
        <div class="dialog-head">
          <div>
            <h2 id={titleId} class="dialog-title">
              {props.title}
            </h2>
            <Show when={props.description}>
              <p class="dialog-subtitle">{props.description}</p>
            </Show>
          </div>
          <button type="button" class="btn btn-ghost btn-sm btn-icon" aria-label="Close" onClick={() => props.onClose()}>
            <Icon name="x" size={16} />
          </button>
        </div>
        <div class="dialog-content">{props.children}</div>
        <Show when={props.footer}>
          <div class="dialog-actions">{props.footer}</div>
        </Show>
      </Show>
    </dialog>
  );
}
