import { createSignal, onMount, Show } from "solid-js";
import type { TemplateVariable } from "../../api";
import { FieldError } from "../../components/FieldError";
import { Icon } from "../../components/Icon";
import { MenuButton } from "../../components/Menu";
import { getTemplateVariables } from "../../queries/sequences";

/**
 * Subject and body of one email variant, with a picker that inserts `{{variable}}` where the cursor
 * was in whichever field was used last. Errors from the API show under their field.
 */
export function TemplateFields(props: {
  idPrefix: string;
  subject: string;
  body: string;
  onSubject: (v: string) => void;
  onBody: (v: string) => void;
  threadReply: boolean;
  subjectError?: string;
  bodyError?: string;
  disabled?: boolean;
}) {
  let subjectEl!: HTMLInputElement;
  let bodyEl!: HTMLTextAreaElement;
  const [target, setTarget] = createSignal<"subject" | "body">("body");
  // The API's own list (the one it checks templates against on save), cached by the router. Loaded
  // into a signal rather than read through createAsync, so opening the menu never suspends the page.
  const [variables, setVariables] = createSignal<TemplateVariable[]>([]);
  onMount(() => void getTemplateVariables().then(setVariables, () => undefined));

  const insert = (name: string) => {
    const useSubject = target() === "subject" && !props.threadReply;
    const el = useSubject ? subjectEl : bodyEl;
    const tag = `{{${name}}}`;
    const start = el.selectionStart ?? el.value.length;
    const end = el.selectionEnd ?? start;
    const next = el.value.slice(0, start) + tag + el.value.slice(end);
    (useSubject ? props.onSubject : props.onBody)(next);
    // Restore the caret after the inserted tag once the value has been written back.
    queueMicrotask(() => {
      el.focus();
      el.setSelectionRange(start + tag.length, start + tag.length);
    });
  };

  return (
    <div class="template-fields">
      <div class="field">
        <label for={`${props.idPrefix}-subject`}>Subject</label>
        <input
          ref={subjectEl}
          id={`${props.idPrefix}-subject`}
          value={props.threadReply ? "" : props.subject}
          placeholder={props.threadReply ? "Re: (the previous email's subject)" : "e.g. {{first_name}}, quick question"}
          disabled={props.disabled || props.threadReply}
          maxlength={300}
          autocomplete="off"
          aria-invalid={!!props.subjectError}
          aria-describedby={props.subjectError ? `${props.idPrefix}-subject-error` : undefined}
          onFocus={() => setTarget("subject")}
          onInput={(e) => props.onSubject(e.currentTarget.value)}
        />
        <FieldError id={`${props.idPrefix}-subject-error`} message={props.subjectError} />
      </div>
      <div class="field">
        <div class="field-label-row">
          <label for={`${props.idPrefix}-body`}>Body</label>
          <Show when={!props.disabled}>
            <MenuButton
              class="btn btn-ghost btn-xs"
              ariaLabel="Insert variable"
              label={
                <>
                  <Icon name="variable" size={14} /> Insert variable
                </>
              }
              align="right"
              items={variables().map((v) => ({ id: v.name, label: `{{${v.name}}}`, hint: v.description }))}
              onSelect={insert}
              footer={
                <>
                  Add a fallback for empty values: <code>{"{{first_name|there}}"}</code>
                </>
              }
            />
          </Show>
        </div>
        <textarea
          ref={bodyEl}
          id={`${props.idPrefix}-body`}
          class="textarea"
          rows={7}
          value={props.body}
          disabled={props.disabled}
          maxlength={20000}
          placeholder={"Hi {{first_name|there}},\n\n…"}
          aria-invalid={!!props.bodyError}
          aria-describedby={`${props.idPrefix}-body-help${props.bodyError ? ` ${props.idPrefix}-body-error` : ""}`}
          onFocus={() => setTarget("body")}
          onInput={(e) => props.onBody(e.currentTarget.value)}
        />
        <FieldError id={`${props.idPrefix}-body-error`} message={props.bodyError} />
        <p id={`${props.idPrefix}-body-help`} class="field-help">
          Variables like <code>{"{{first_name}}"}</code> are filled in per contact; <code>{"{{first_name|there}}"}</code> uses “there” when
          the value is empty. A contact with no value for a variable that has no fallback isn't sent the email: they're paused on the step
          until the value is filled in. The mailbox's signature and an unsubscribe link are added automatically.
        </p>
      </div>
    </div>
  );
}
