import { onMount } from "solid-js";

/** Sets the tab title for the current page. */
export function usePageTitle(title: string) {
  onMount(() => {
    document.title = `${title} · Seqflare`;
  });
}
