import { createSignal } from "solid-js";
import { Icon } from "./Icon";
import "./CopyField.css";

/**
 * A secret shown once (a new API key, a webhook secret, an invite link): its text, all selected when it
 * takes focus, and a Copy button. Where the clipboard is blocked (plain http, permissions) the button
 * selects the text instead, so Ctrl/Cmd+C works. Text, not an <input>: inputs clip the underscores of
 * some monospace fonts. No aria-label on it: that would replace the secret itself for a screen reader.
 */
export function CopyField(props: { text: string; testId: string; copyLabel?: string; copiedMessage: string }) {
  const [copied, setCopied] = createSignal(false);
  let el!: HTMLElement;
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      select();
    }
  };
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
