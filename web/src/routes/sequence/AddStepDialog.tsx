import { createSignal, For, Show } from "solid-js";
import { useWrite } from "../../actions";
import type { Sequence, StepType } from "../../api";
import { Dialog } from "../../components/Dialog";
import { FieldError } from "../../components/FieldError";
import { Icon } from "../../components/Icon";
import { isEmailType, STEP_TYPES, StepIcon } from "../../components/StepType";
import { Claim, FormProblems, MAX_WAIT } from "../../forms";
import { createStepAction } from "../../queries/sequences";
import { warnOnNewStep } from "./StepCard";
import { TemplateFields } from "./TemplateFields";
import { TemplateTools } from "./TemplateTools";

/** "Add step": type, the wait before it, and for emails the first variant's subject and body. */
export function AddStepDialog(props: {
  open: boolean;
  sequenceId: string;
  stepCount: number;
  onClose: () => void;
  onApply: (s: Sequence) => void;
}) {
  const first = () => props.stepCount === 0;
  const [type, setType] = createSignal<StepType>("auto_email");
  const [amount, setAmount] = createSignal(first() ? 0 : 2);
  const [unit, setUnit] = createSignal<"minutes" | "hours" | "days">("days");
  const [business, setBusiness] = createSignal(false);
  const [subject, setSubject] = createSignal("");
  const [body, setBody] = createSignal("");
  const [thread, setThread] = createSignal(false);
  const [note, setNote] = createSignal("");
  const create = useWrite(createStepAction, { form: "add-step-form", done: (r) => r && `Step ${r.sequence.steps.length} added` });
  const form = create.errors;
  const err = form.message;

  const reset = () => {
    setType("auto_email");
    setAmount(props.stepCount === 0 ? 0 : 2);
    setUnit("days");
    setBusiness(false);
    setSubject("");
    setBody("");
    setThread(false);
    setNote("");
    create.clear();
  };
  const close = () => {
    reset();
    props.onClose();
  };

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const email = isEmailType(type());
    const seq = await create.run(props.sequenceId, {
      type: type(),
      wait_amount: amount(),
      wait_unit: unit(),
      business_days: unit() === "days" && business(),
      thread_reply: email && !first() && thread(),
      note: email ? "" : note(),
      ...(email && { variants: [{ subject: thread() && !first() ? "" : subject(), body: body() }] }),
    });
    if (!seq) return;
    // Saved, but likely a typo ({{custom.compnay}}) that pauses contacts: a warning on the new step's card (added
    // last), as an edit's are, not an info toast that passes. Handed over before the card is drawn.
    const added = seq.sequence.steps.at(-1);
    if (added)
      warnOnNewStep(
        added.id,
        seq.warnings.map((w) => w.message),
      );
    props.onApply(seq.sequence);
    close();
  };

  return (
    <Dialog
      open={props.open}
      onClose={close}
      size="lg"
      title={`Add step ${props.stepCount + 1}`}
      description="Steps run in order. Each waits after the one before it; manual steps become tasks for the owner of the contact's sending mailbox (else the sequence's owner, else the team's first admin)."
      testId="add-step-dialog"
      footer={
        <>
          <button type="button" class="btn btn-secondary" onClick={close}>
            Cancel
          </button>
          <button type="submit" form="add-step-form" class="btn btn-primary" disabled={create.pending()}>
            {create.pending() ? "Adding…" : "Add step"}
          </button>
        </>
      }
    >
      <form id="add-step-form" class="form" onSubmit={submit}>
        <fieldset class="type-grid">
          <legend class="field-legend">Step type</legend>
          <For each={STEP_TYPES}>
            {(t) => (
              <label class="type-option" classList={{ selected: type() === t.type }}>
                <input
                  type="radio"
                  name="type"
                  value={t.type}
                  checked={type() === t.type}
                  onChange={() => setType(t.type)}
                  class="option-input"
                />
                <StepIcon type={t.type} />
                <span class="type-text">
                  <strong>{t.label}</strong>
                  <span>{t.hint}</span>
                </span>
              </label>
            )}
          </For>
        </fieldset>

        <fieldset class="wait-row wait-row-form">
          <legend class="sr-only">Wait before this step</legend>
          <span class="wait-title" aria-hidden="true">
            <Icon name="clock" size={15} /> Wait
          </span>
          <label for="add-step-wait" class="sr-only">
            Wait amount
          </label>
          <input
            id="add-step-wait"
            type="number"
            aria-invalid={form.invalid("wait_amount")}
            class="input-sm wait-amount"
            min={0}
            max={MAX_WAIT[unit()]}
            value={amount()}
            onInput={(e) => setAmount(Math.max(0, Math.floor(Number(e.currentTarget.value) || 0)))}
            aria-describedby="add-step-wait-error"
          />
          <label for="add-step-unit" class="sr-only">
            Wait unit
          </label>
          <select
            id="add-step-unit"
            class="input-sm"
            value={unit()}
            onChange={(e) => setUnit(e.currentTarget.value as "minutes" | "hours" | "days")}
          >
            <option value="minutes">minutes</option>
            <option value="hours">hours</option>
            <option value="days">days</option>
          </select>
          <Show when={unit() === "days"}>
            <label class="check">
              <input type="checkbox" checked={business()} onChange={(e) => setBusiness(e.currentTarget.checked)} />
              business days only
            </label>
          </Show>
          <span class="muted">{first() ? "after a contact is added" : "after the previous step"}</span>
          <FieldError id="add-step-wait-error" form={form} name={["wait_amount", "wait_unit", "business_days"]} />
        </fieldset>

        <Show
          when={isEmailType(type())}
          fallback={
            <div class="field">
              <label for="add-step-note">{type() === "task" ? "What to do" : "Instructions"}</label>
              <textarea
                id="add-step-note"
                class="textarea"
                rows={3}
                maxlength={2000}
                value={note()}
                onInput={(e) => setNote(e.currentTarget.value)}
                aria-invalid={form.invalid("note")}
                aria-describedby="add-step-note-help add-step-note-error"
              />
              <p id="add-step-note-help" class="field-help">
                Variables like <code>{"{{first_name}}"}</code> are filled in with each contact's values on their task; one with no value and
                no fallback shows as “[first name missing]”.
              </p>
              <FieldError id="add-step-note-error" form={form} name="note" />
            </div>
          }
        >
          <Show when={!first()}>
            <label class="check">
              <input type="checkbox" checked={thread()} onChange={(e) => setThread(e.currentTarget.checked)} />
              Reply in the same thread as the previous email (no new subject)
            </label>
            <FieldError id="add-step-thread-error" form={form} name="thread_reply" />
          </Show>
          <Claim form={form} names={["variants.0.subject", "variant.subject", "variants.0.body", "variant.body"]} />
          <TemplateTools
            idPrefix="add-step"
            subject={thread() && !first() ? "" : subject()}
            body={body()}
            onFill={(sub, b) => {
              setSubject(sub);
              setBody(b);
            }}
          />
          <TemplateFields
            idPrefix="add-step"
            subject={subject()}
            body={body()}
            onSubject={setSubject}
            onBody={setBody}
            threadReply={thread() && !first()}
            subjectError={err("variants.0.subject", "variant.subject")}
            bodyError={err("variants.0.body", "variant.body")}
          />
          <Show when={type() === "manual_email"}>
            <p class="field-help">
              Manual emails become a task on the Tasks page with this draft filled in for each contact: whoever gets the task reviews it and
              sends it with Edit and send, from the mailbox the contact is sent from, or marks it sent if they sent it themselves.
            </p>
          </Show>
        </Show>

        <FormProblems form={form} />
      </form>
    </Dialog>
  );
}
