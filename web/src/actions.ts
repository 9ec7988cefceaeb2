import { useAction, useSubmission, useSubmissions, type Action } from "@solidjs/router";
import { errorMessage } from "./components/Status";
import { notify } from "./components/Toast";
import { createFormErrors } from "./forms";

/**
 * The one way the web app writes.
 *
 * Each write is a Solid Router `action`, defined once beside its resource's queries
 * (`web/src/queries/<resource>.ts`, e.g. `createSequenceAction = action(createSequence, "createSequence")`).
 * When it succeeds the router revalidates every query on screen, so lists, counts and the sidebar badge
 * follow without hand-written `revalidate` calls; when it fails nothing is re-read.
 *
 * A component runs it through `useWrite`:
 *
 *   const create = useWrite(createSequenceAction, { form: "new-sequence-form" });
 *   const seq = await create.run(name, scheduleId);   // undefined when refused
 *   <button disabled={create.pending()}>…</button>
 *   <FieldError form={create.errors} name="name" />  <FormProblems form={create.errors} />
 *
 * The refusal lands in `errors` (shown under the fields by forms.tsx), or in a toast when `failed` is
 * given (writes with no form: a switch, a row's button). `done` toasts the success.
 */
export function useWrite<T extends unknown[], U>(
  act: Action<T, U>,
  opts: {
    /** The form's id: focus moves to its first refused input. */
    form?: string;
    /** Toast after success, in words ("“Q1 outbound” is now active"). */
    done?: (result: U | undefined, ...args: T) => string | undefined;
    /** Toast after a refusal, before the API's reason ("Couldn't turn “Q1” on"). Without it the refusal stays in `errors`. */
    failed?: (...args: T) => string;
  } = {},
) {
  // useAction's parameter type is spelled for form actions too; for ours it is exactly T.
  const call = useAction(act) as (...args: T) => Promise<U>;
  const submission = useSubmission(act);
  const submissions = useSubmissions(act);
  const errors = createFormErrors(() => submission.error);
  return {
    /** Runs the write; resolves to its answer, or undefined when it was refused (the refusal is shown). */
    async run(...args: T): Promise<U | undefined> {
      errors.clear();
      try {
        const result: U | undefined = await call(...args);
        const message = opts.done?.(result, ...args);
        if (message) notify(message);
        return result;
      } catch (err) {
        if (opts.failed) notify(`${opts.failed(...args)}: ${errorMessage(err)}`, "danger");
        else if (opts.form) errors.focusFirst(opts.form);
        return undefined;
      }
    },
    /** A submission of this write is on its way. */
    // Not `submissions.pending`: that counts a refused submission (no result) as pending until it is cleared.
    pending: () => [...submissions].some((s) => s.pending),
    /** The inputs of the submissions still on their way: optimistic values and per-row spinners read them. */
    inFlight: (): T[] => [...submissions].filter((s) => s.pending).map((s) => s.input),
    /** What the API refused, for FieldError / FormProblems; `errors.set` takes a check of the form's own. */
    errors,
    /** Forget the last answer and refusal (a dialog opening afresh). */
    clear: () => {
      errors.clear();
      submission.clear?.();
    },
  };
}

export type Write<T extends unknown[], U> = ReturnType<typeof useWrite<T, U>>;
