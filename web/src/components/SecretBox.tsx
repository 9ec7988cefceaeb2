import { Show, type JSX } from "solid-js";
import { CopyField } from "./CopyField";
import { Icon } from "./Icon";
import "./SecretBox.css";

/**
 * A secret just made, shown once (the API never returns it again): an API key, an outgoing webhook's
 * signing secret, the meetings webhook's secret. `onDone` adds the "I've saved it" button that puts it away.
 */
export function SecretBox(props: {
  /** The heading's id, which names the region. */
  titleId: string;
  title: JSX.Element;
  /** What to do with it now, beside the warning icon. */
  warning: JSX.Element;
  secret: string;
  testId: string;
  copiedMessage: string;
  onDone?: () => void;
}) {
  return (
    <div class="secret-box" role="region" aria-labelledby={props.titleId}>
      <div class="secret-head">
        <Icon name="key" size={18} />
        <h3 id={props.titleId}>{props.title}</h3>
      </div>
      <p class="secret-warning">
        <Icon name="alert" size={16} />
        {props.warning}
      </p>
      <CopyField text={props.secret} testId={props.testId} copiedMessage={props.copiedMessage} />
      <Show when={props.onDone}>
        {(done) => (
          <div class="secret-actions">
            <button type="button" class="btn btn-primary btn-sm" onClick={() => done()()}>
              I've saved it
            </button>
          </div>
        )}
      </Show>
    </div>
  );
}
