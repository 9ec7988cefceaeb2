import { createSignal } from "solid-js";

/**
 * Copying a secret shown once (a new API key, an invite link): `copy` puts the text on the clipboard
 * and `copied` is true for two seconds; where the clipboard is blocked (plain http, permissions) the
 * element's text is selected instead, so Ctrl/Cmd+C works. `select` also serves the element's focus.
 */
export function useCopy(text: () => string) {
  const [copied, setCopied] = createSignal(false);
  let el: HTMLElement | undefined;
  const select = () => {
    if (!el) return;
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text());
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      select();
    }
  };
  return { copied, copy, select, ref: (e: HTMLElement) => (el = e) };
}
