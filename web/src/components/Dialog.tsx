import { createEffect, createUniqueId, onCleanup, Show, Suspense, type JSX } from "solid-js";
import { Icon } from "./Icon";
import { Spinner } from "./Status";

import "./Dialog.css";
/**
 * The native <dialog> every dialog is drawn in: shown modal while `open` (the browser traps focus),
 * Esc and a press on the backdrop close it. Focus goes back to what had it before, also when the
 * dialog is unmounted while open (`<Show when={editing()}>`), which the browser doesn't do.
 */
export function Modal(props: {
  open: boolean;
  onClose: () => void;
  class: string;
  labelledBy: string;
  testId?: string;
  children: JSX.Element;
}) {
  let dialog!: HTMLDialogElement;
  let opener: HTMLElement | null = null;
  const close = () => {
    dialog.close();
    // Only when focus was left inside (or dropped to the page): a close that moved it on keeps it there.
    const at = document.activeElement;
    if (opener?.isConnected && (!at || at === document.body || dialog.contains(at))) opener.focus();
    opener = null;
  };
  createEffect(() => {
    if (props.open && !dialog.open) {
      opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      dialog.showModal();
    } else if (!props.open && dialog.open) close();
  });
  onCleanup(() => dialog.open && close());
  return (
    <dialog
      ref={dialog}
      class={props.class}
      aria-labelledby={props.labelledBy}
      data-testid={props.testId}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
      onMouseDown={(e) => {
        if (e.target === dialog) props.onClose();
      }}
    >
      {props.children}
    </dialog>
  );
}

/**
 * A modal with a title, a close button, its content and a footer. Children render only while open,
 * so forms inside start fresh each time.
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
  const titleId = createUniqueId();
  return (
    <Modal
      open={props.open}
      onClose={props.onClose}
      class={`dialog dialog-${props.size ?? "md"}`}
      labelledBy={titleId}
      testId={props.testId}
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
        {/* What the dialog loads suspends here: the page's own Suspense would blank the page behind it
            (and drop the focus the dialog hands back on close). */}
        <div class="dialog-content">
          <Suspense fallback={<Spinner label="Loading…" />}>{props.children}</Suspense>
        </div>
        <Show when={props.footer}>
          <div class="dialog-actions">{props.footer}</div>
        </Show>
      </Show>
    </Modal>
  );
}
