import { createSignal, For } from "solid-js";
import { Icon } from "./Icon";

import "./Toast.css";
type Toast = { id: number; message: string; tone: "success" | "danger" | "info" };
const [toasts, setToasts] = createSignal<Toast[]>([]);
let nextId = 1;

/**
 * Brief feedback after an action ("Task completed"). Announced politely; errors assertively, and an
 * error stays until dismissed (one that vanished in seconds could go unread).
 */
export function notify(message: string, tone: Toast["tone"] = "success") {
  const id = nextId++;
  setToasts((t) => {
    const all = [...t, { id, message, tone }];
    if (all.length <= 4) return all;
    // Too many: the oldest that would vanish by itself goes first, an error only when all are errors.
    const drop = all.find((x) => x.tone !== "danger") ?? all[0]!;
    return all.filter((x) => x !== drop);
  });
  if (tone !== "danger") setTimeout(() => dismiss(id), 4500);
}

function dismiss(id: number) {
  setToasts((t) => t.filter((x) => x.id !== id));
}

/** Rendered once, by the app frame. */
export function Toaster() {
  return (
    <div class="toaster" aria-live="polite" aria-relevant="additions">
      <For each={toasts()}>
        {(t) => (
          <div class={`toast toast-${t.tone}`} role={t.tone === "danger" ? "alert" : "status"}>
            <Icon name={t.tone === "danger" ? "alert" : t.tone === "info" ? "info" : "check"} size={16} />
            <span>{t.message}</span>
            <button type="button" class="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
              <Icon name="x" size={14} />
            </button>
          </div>
        )}
      </For>
    </div>
  );
}
