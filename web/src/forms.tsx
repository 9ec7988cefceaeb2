import { createMemo, createSignal, For, onCleanup, Show, type Accessor } from "solid-js";
import { fieldProblems, problemSentence as sentence } from "./api";
import { Icon } from "./components/Icon";
import { errorMessage } from "./components/Status";

/** `key` names a field exactly, or a group with a trailing `.*` (`variants.*`). */
const matches = (key: string, field: string) =>
  key.endsWith(".*") ? field.startsWith(key.slice(0, -1)) || field === key.slice(0, -2) : field === key;

/**
 * The one way forms show what the API refused. Each input shows its own field's message beside it
 * (`<FieldError form={form} name="daily_limit" />`, `aria-invalid={form.invalid("daily_limit")}`);
 * whatever no visible input claims, and refusals that aren't about a field, show once in
 * `<FormProblems form={form} />`, in the API's words, never a bare "Some fields are invalid".
 */
export function createFormErrors(source?: Accessor<unknown>) {
  // Set by the form's own submit handler, or read from a Solid Router submission (`() => submission.error`).
  const [own, setError] = createSignal<unknown>(null);
  const error = () => own() ?? source?.() ?? null;
  const [claims, setClaims] = createSignal<readonly string[]>([]);
  const problems = createMemo(() => fieldProblems(error()));
  const of = (...keys: string[]) => problems().filter((p) => keys.some((k) => matches(k, p.field)));
  return {
    error: error as Accessor<unknown>,
    set: (e: unknown) => setError(() => e),
    clear: () => setError(null),
    problems,
    /** The message(s) for these fields, joined; undefined when they are fine. */
    message: (...keys: string[]) =>
      of(...keys)
        .map((p) => p.message)
        .join(" · ") || undefined,
    invalid: (...keys: string[]) => (of(...keys).length ? true : undefined),
    /** Called by a mounted FieldError: its fields are shown beside their input, not in the summary. */
    claim(keys: string[]) {
      setClaims((c) => [...c, ...keys]);
      return () =>
        setClaims((c) => {
          const next = [...c];
          for (const k of keys) next.splice(next.indexOf(k), 1);
          return next;
        });
    },
    unclaimed: () => problems().filter((p) => !claims().some((k) => matches(k, p.field))),
    /** Move focus to the first refused input of a form, after the error has rendered. */
    focusFirst(formId: string) {
      queueMicrotask(() => document.querySelector<HTMLElement>(`#${formId} [aria-invalid="true"]`)?.focus());
    },
  };
}

export type FormErrors = ReturnType<typeof createFormErrors>;

/** Under a form: what no input shows. A refusal with no fields shows the API's message. */
export function FormProblems(props: { form: FormErrors }) {
  const rest = () => props.form.unclaimed();
  const plain = () => {
    const e = props.form.error();
    return e && !props.form.problems().length ? errorMessage(e) : null;
  };
  return (
    <>
      <Show when={plain()}>
        {(m) => (
          <div class="form-error" role="alert">
            <Icon name="alert" size={16} />
            <span>{m()}</span>
          </div>
        )}
      </Show>
      <Show when={rest().length}>
        <div class="form-error" role="alert" data-testid="form-problems">
          <Icon name="alert" size={16} />
          <Show when={rest().length > 1} fallback={<span>{sentence(rest()[0]!)}</span>}>
            <ul class="form-error-list">
              <For each={rest()}>{(p) => <li>{sentence(p)}</li>}</For>
            </ul>
          </Show>
        </div>
      </Show>
    </>
  );
}

/** For inputs that show their message through a component of their own (TemplateFields): claims the fields while mounted. */
export function Claim(props: { form: FormErrors; names: string[] }) {
  onCleanup(props.form.claim(props.names));
  return null;
}

/** The API's longest wait before a step: a year, in the unit it is counted in (the input's `max`). */
export const MAX_WAIT = { minutes: 525_600, hours: 8_760, days: 365 } as const;
