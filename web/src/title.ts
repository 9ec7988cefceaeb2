import { createEffect } from "solid-js";

/** Sets the tab title for the current page; pass a function when it names something still loading. */
export function usePageTitle(title: string | (() => string)) {
  createEffect(() => {
    document.title = `${typeof title === "function" ? title() : title} · Seqflare`;
  });
}
