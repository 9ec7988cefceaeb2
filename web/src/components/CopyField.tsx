import { createSignal } from "solid-js";
import { Icon } from "./Icon";
import "./CopyField.css";

/**
 * Copying a text shown on the page: `copied` for two seconds after it worked; where the clipboard is
 * blocked (plain http, permissions) it selects `target`'s text instead, so Ctrl/Cmd+C works.
 */
export function useCopy(text: () => string, target: () => HTMLElement) {
  const [copied, setCopied] = createSignal(false);
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(target());
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
  return { copied, copy, select };
}

/**
 * A secret shown once (a new API key, a webhook secret, an invite link): its text, all selected when it
 * takes focus, and a Copy button. Where the clipboard is blocked (plain http, permissions) the button
 * selects the text instead, so Ctrl/Cmd+C works. Text, not an <input>: inputs clip the underscores of
 * some monospace fonts. No aria-label on it: that would replace the secret itself for a screen reader.
 */
export function CopyField(props: { text: string; testId: string; copyLabel?: string; copiedMessage: string }) {
  let el!: HTMLElement;
  const { copied, copy, select } = useCopy(
    () => props.text,
    () => el,
  );
  return (
    <>
      <div class="copy-field">
        <code ref={el} class="copy-field-value" tabindex="0" onFocus={select} data-testid={props.testId}>
          {props.text}
        </code>
        <button type="button" class="btn btn-secondary" onClick={copy}>
          <Icon name={copied() ? "check" : "copy"} size={16} />
          {copied() ? "Copied" : (props.copyLabel ?? "Copy")}
        </button>
      </div>
      <span class="sr-only" role="status">
        {copied() ? props.copiedMessage : ""}
      </span>
    </>
  );
}
