import { createSignal, For } from "solid-js";
import { Icon } from "./Icon";

import "./Toast.css";
type Toast = { id: number; message: string; tone: "success" | "danger" | "info" };
const [toasts, setToasts] = createSignal<Toast[]>([]);
let nextId = 1;

/** Brief feedback after an action ("Task completed"). Announced politely; errors assertively. */
export function notify(message: string, tone: Toast["tone"] = "success") {
  const id = nextId++;
  setToasts((t) => [...t.slice(-3), { id, message, tone }]);
  setTimeout(() => dismiss(id), tone === "danger" ? 8000 : 4500);
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
