import { createEffect, createMemo, createSignal, createUniqueId, For, on, Show } from "solid-js";
import { createStore, reconcile } from "solid-js/store";
import { useWrite } from "../../actions";
import { fieldErrors, type Sequence, type Step, type StepFields } from "../../api";
import { Badge } from "../../components/Badge";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { FieldError } from "../../components/FieldError";
import { Icon } from "../../components/Icon";
import { errorMessage } from "../../components/Status";
import { isEmailType, StepIcon, stepMeta } from "../../components/StepType";
import { notify } from "../../components/Toast";
import { Toggle } from "../../components/Toggle";
import { formatWait } from "../../format";
import { MAX_WAIT } from "../../forms";
import {
  addVariantAction,
  deleteVariantAction,
  setStepEnabledAction,
  setVariantEnabledAction,
  updateStepAction,
  updateVariantAction,
} from "../../queries/sequences";
import { getScheduledEmails } from "../../queries/scheduled-emails";
import { StepPreview } from "./StepPreview";
import { TemplateFields } from "./TemplateFields";
import { TemplateTools } from "./TemplateTools";

/** Template text with each `{{variable}}` drawn as a token, for previews. */
function Highlight(props: { text: string }) {
  const parts = () => props.text.split(/(\{\{[^{}]*\}\})/g);
  return (
    <For each={parts()}>{(p) => (p.startsWith("{{") && p.endsWith("}}") ? <span class="var-token">{p.slice(2, -2).trim()}</span> : p)}</For>
  );
}

type WaitDraft = { amount: number; unit: Step["wait_unit"]; business: boolean };
const NEW = "new";

// What adding a step answered as warnings (AddStepDialog), keyed by the new step's id: its card shows them where an
// edit's show, so they stay until the next save instead of passing in a toast.
const [addedWarnings, setAddedWarnings] = createSignal<Record<string, string[]>>({});
export function warnOnNewStep(stepId: string, messages: string[]) {
  if (messages.length) setAddedWarnings((all) => ({ ...all, [stepId]: messages }));
}

/** Where a field error from the API belongs in this card: `${variantId}.subject`, `thread_reply`, … */
const LAST_ON = "The sequence is on and this is its only step on: turn the sequence off first";

function mapErrors(err: unknown, variantId: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(fieldErrors(err))) {
    const m = /^variants?(?:\.\d+)?\.(subject|body)$/.exec(field);
    if (m && variantId) out[`${variantId}.${m[1]}`] = message;
    else out[field] = message;
  }
  return out;
}

/**
 * One step of the sequence: its type, the wait before it, on/off, order, and for email steps the A/B
 * variants' subject and body. Edits stay local until "Save step"; toggles and moves save at once.
 */
export function StepCard(props: {
  sequenceId: string;
  step: Step;
  index: number;
  count: number;
  day: number;
  readOnly: boolean;
  canMoveUp: boolean;
  canMoveDown: boolean;
  onApply: (s: Sequence) => void;
  onMove: (dir: -1 | 1) => Promise<void>;
  /** A reorder of the steps is on its way. */
  moving: boolean;
  onDelete: () => Promise<void>;
  /** This step's delete is on its way. */
  deleting: boolean;
  /** The sequence is on and this is its only step on: the API refuses turning it off or deleting it. */
  lastOn?: boolean;
}) {
  const uid = createUniqueId();
  const meta = () => stepMeta(props.step.type);
  const email = () => isEmailType(props.step.type);
  const first = () => props.index === 0;

  const [wait, setWait] = createSignal<WaitDraft>();
  const [thread, setThread] = createSignal<boolean>();
  const [note, setNote] = createSignal<string>();
  const [drafts, setDrafts] = createStore<Record<string, { subject?: string; body?: string }>>({});
  const [newVariant, setNewVariant] = createSignal<{ subject: string; body: string } | null>(null);
  const [selected, setSelected] = createSignal<string>();
  const [errors, setErrors] = createSignal<Record<string, string>>({});
  // What the last save went through with but likely didn't mean (custom fields no contact has), until the next save.
  const [warnings, setWarnings] = createSignal<string[]>([]);
  createEffect(() => {
    const added = addedWarnings()[props.step.id];
    if (!added) return;
    setWarnings(added);
    setAddedWarnings(({ [props.step.id]: _, ...rest }) => rest);
  });
  // "Save step" sends the step's fields, then each changed variant, then a new one: three writes, one busy state.
  const stepWrite = useWrite(updateStepAction);
  const variantWrite = useWrite(updateVariantAction);
  const addWrite = useWrite(addVariantAction);
  const saving = () => stepWrite.pending() || variantWrite.pending() || addWrite.pending();
  const stepOn = useWrite(setStepEnabledAction, { failed: () => "Couldn't change the step" });
  const variantOn = useWrite(setVariantEnabledAction, { failed: () => "Couldn't change the variant" });
  const removeVariant = useWrite(deleteVariantAction, { failed: () => "Couldn't delete" });
  const mine = (inFlight: unknown[][]) => inFlight.some((args) => args[1] === props.step.id);
  const variantBusy = (id: string) => variantOn.inFlight().some((args) => args[2] === id);
  const busy = (): "enabled" | "move" | "delete" | null =>
    mine(stepOn.inFlight()) ? "enabled" : props.moving ? "move" : props.deleting || mine(removeVariant.inFlight()) ? "delete" : null;
  const [confirmDelete, setConfirmDelete] = createSignal<"step" | string | null>(null);
  const [editing, setEditing] = createSignal(false);
  const [previewing, setPreviewing] = createSignal(false);

  const w = () => wait() ?? { amount: props.step.wait_amount, unit: props.step.wait_unit, business: props.step.business_days };
  const threadReply = () => thread() ?? props.step.thread_reply;
  const noteValue = () => note() ?? props.step.note;
  const variantIds = () => [...props.step.variants.map((v) => v.id), ...(newVariant() ? [NEW] : [])];
  const current = () => (variantIds().includes(selected() ?? "") ? selected()! : variantIds()[0]);
  const variant = (id: string) => props.step.variants.find((v) => v.id === id);
  const subjectOf = (id: string) => (id === NEW ? newVariant()!.subject : (drafts[id]?.subject ?? variant(id)?.subject ?? ""));
  const bodyOf = (id: string) => (id === NEW ? newVariant()!.body : (drafts[id]?.body ?? variant(id)?.body ?? ""));

  const waitDirty = () => {
    const d = wait();
    return !!d && (d.amount !== props.step.wait_amount || d.unit !== props.step.wait_unit || d.business !== props.step.business_days);
  };
  const variantDirty = (id: string) => {
    const d = drafts[id];
    const v = variant(id);
    return !!d && !!v && ((d.subject !== undefined && d.subject !== v.subject) || (d.body !== undefined && d.body !== v.body));
  };
  const open = () => editing() || dirty() || Object.keys(errors()).length > 0;
  const dirty = createMemo(
    () =>
      waitDirty() ||
      (thread() !== undefined && thread() !== props.step.thread_reply) ||
      (note() !== undefined && note() !== props.step.note) ||
      !!newVariant() ||
      props.step.variants.some((v) => variantDirty(v.id)),
  );

  // An edit of the text reaches the emails already scheduled from this step (the send composes at send time): said
  // before saving, with their number when the scheduled list of the sequence (first 200) holds them all, else only
  // when a run is on this step or before it.
  const textDirty = () => !!newVariant() || props.step.variants.some((v) => variantDirty(v.id));
  const [scheduledHere, setScheduledHere] = createSignal<{ n: number; exact: boolean } | null>(null);
  createEffect(
    on(
      // Read once the text is changed, not on every opening of the form: the list asks the engine about each email.
      () => open() && textDirty() && props.step.type === "auto_email" && props.step.enabled && !props.readOnly,
      (live) => {
        setScheduledHere(null);
        if (!live) return;
        void getScheduledEmails({ sequence_id: props.sequenceId }, null, 200).then(
          (r) => {
            const exact = r.total <= r.scheduled.length;
            const n = r.scheduled.filter((x) => x.step.id === props.step.id).length;
            const onOrBefore = r.scheduled.some((x) => x.step.position <= props.step.position);
            setScheduledHere(exact ? { n, exact } : onOrBefore ? { n, exact } : null);
          },
          () => undefined,
        );
      },
    ),
  );
  const scheduledNote = () => {
    const h = scheduledHere();
    if (!h || !textDirty()) return null;
    if (!h.exact) return "Emails already scheduled from this step will use the new text.";
    return h.n ? `${h.n} email${h.n === 1 ? "" : "s"} already scheduled from this step will use the new text.` : null;
  };

  const discard = () => {
    setEditing(false);
    setWait(undefined);
    setThread(undefined);
    setNote(undefined);
    setDrafts(reconcile({}));
    setNewVariant(null);
    setErrors({});
  };

  const save = async () => {
    setErrors({});
    setWarnings([]);
    const warned: string[] = [];
    let latest: Sequence | undefined;
    // The refusal is shown on the field it names: of the step, or of the variant being sent (`at`).
    const refused = (err: unknown, at: string | null) => {
      const mapped = mapErrors(err, at);
      setErrors(Object.keys(mapped).length ? mapped : { _: errorMessage(err) });
      if (at) setSelected(at);
      queueMicrotask(() => document.querySelector<HTMLElement>(`[aria-labelledby="${uid}-title"] [aria-invalid="true"]`)?.focus());
      if (latest) props.onApply(latest);
    };
    const patch: StepFields = {};
    if (waitDirty()) Object.assign(patch, { wait_amount: w().amount, wait_unit: w().unit, business_days: w().business });
    if (thread() !== undefined && thread() !== props.step.thread_reply) patch.thread_reply = thread();
    if (note() !== undefined && note() !== props.step.note) patch.note = note();
    if (Object.keys(patch).length) {
      latest = await stepWrite.run(props.sequenceId, props.step.id, patch);
      if (!latest) return refused(stepWrite.errors.error(), null);
      setWait(undefined);
      setThread(undefined);
      setNote(undefined);
    }
    for (const v of props.step.variants) {
      if (!variantDirty(v.id)) continue;
      // Only what changed here: a teammate's edit of the other field meanwhile stays.
      const saved = await variantWrite.run(props.sequenceId, props.step.id, v.id, {
        ...(subjectOf(v.id) !== v.subject && { subject: subjectOf(v.id) }),
        ...(bodyOf(v.id) !== v.body && { body: bodyOf(v.id) }),
      });
      if (!saved) return refused(variantWrite.errors.error(), v.id);
      latest = saved.sequence;
      warned.push(...saved.warnings.map((w) => `Variant ${v.label}: ${w.message}`));
      setDrafts(v.id, undefined!);
    }
    const nv = newVariant();
    if (nv) {
      const had = new Set(props.step.variants.map((v) => v.id));
      const saved = await addWrite.run(props.sequenceId, props.step.id, nv);
      if (!saved) return refused(addWrite.errors.error(), NEW);
      latest = saved.sequence;
      setNewVariant(null);
      // The one whose id wasn't there: variants come by label, and a re-used letter (B after B was deleted) isn't last.
      const added = saved.sequence.steps.find((s) => s.id === props.step.id)?.variants.find((v) => !had.has(v.id));
      if (added) setSelected(added.id);
      warned.push(...saved.warnings.map((w) => `Variant ${added?.label ?? ""}: ${w.message}`));
    }
    setWarnings(warned);
    notify(`Step ${props.index + 1} saved`);
    setEditing(false);
    if (latest) props.onApply(latest);
  };
  const apply = (s: Sequence | undefined) => s && props.onApply(s);

  // Reordering moves this card's DOM node, which drops focus; put it back on the button that was used.
  const refocus = (which: "up" | "down") => requestAnimationFrame(() => document.getElementById(`${uid}-${which}`)?.focus());

  const startVariant = () => {
    const from = current();
    setNewVariant({ subject: from ? subjectOf(from) : "", body: from ? bodyOf(from) : "" });
    setSelected(NEW);
  };

  // Problems no input of this card shows (a refusal that isn't about a field, a field it has no input for).
  const PLACED = /^(wait_amount|wait_unit|business_days|note|thread_reply|[^.]+\.(subject|body))$/;
  const unplaced = () =>
    Object.entries(errors())
      .filter(([k]) => !PLACED.test(k))
      .map(([, m]) => m);

  // The API keeps one variant of an email step on: the last one's switch isn't offered.
  const lastVariantOn = (id: string) => !!variant(id)?.enabled && props.step.variants.filter((v) => v.enabled).length === 1;

  // A new variant takes the first free letter, as the server names it.
  const freeLabel = () =>
    Array.from({ length: 26 }, (_, i) => String.fromCharCode(65 + i)).find((l) => !props.step.variants.some((v) => v.label === l)) ?? "?";
  const labelOf = (id: string) => (id === NEW ? freeLabel() : (variant(id)?.label ?? "?"));

  return (
    <article
      class="step-card"
      classList={{ "step-off": !props.step.enabled, "step-dirty": dirty() }}
      aria-labelledby={`${uid}-title`}
      data-testid="step-card"
      data-step-type={props.step.type}
      data-step-id={props.step.id}
    >
      <header class="step-head">
        <StepIcon type={props.step.type} size={18} />
        <div class="step-title-block">
          <h3 id={`${uid}-title`} class="step-title">
            <span class="step-number">Step {props.index + 1}</span>
            <span class="step-type">{meta().label}</span>
          </h3>
          <p class="step-sub">
            Day {props.day}
            <Show when={email() && props.step.thread_reply}>
              <span class="dot-sep" aria-hidden="true">
                ·
              </span>
              <span>Replies in the same thread</span>
            </Show>
            <Show when={email() && props.step.variants.length > 1}>
              <span class="dot-sep" aria-hidden="true">
                ·
              </span>
              <span>
                A/B test: {props.step.variants.filter((v) => v.enabled).length} of {props.step.variants.length} variants on
              </span>
            </Show>
          </p>
        </div>
        <div class="step-controls">
          <Show when={!props.step.enabled}>
            <Badge tone="neutral">Skipped</Badge>
          </Show>
          <Toggle
            label={`Step ${props.index + 1} on`}
            checked={props.step.enabled}
            disabled={props.readOnly || busy() === "enabled" || props.lastOn}
            why={!props.readOnly && props.lastOn ? LAST_ON : null}
            busy={busy() === "enabled"}
            size="sm"
            title={props.lastOn ? LAST_ON : props.step.enabled ? "On: contacts go through this step" : "Off: contacts skip this step"}
            onChange={(v) => void stepOn.run(props.sequenceId, props.step.id, v).then(apply)}
          />
          <Show when={props.step.type === "auto_email"}>
            <button
              type="button"
              class="btn btn-ghost btn-sm"
              data-testid="step-preview-open"
              // The preview composes the step as saved: with edits pending it would show the old text as "exactly as sent".
              disabled={dirty()}
              title={dirty() ? "Save the step to preview it" : "See this email as a contact would get it, and send yourself a test"}
              onClick={() => setPreviewing(true)}
            >
              <Icon name="eye" size={14} /> Preview<span class="sr-only"> step {props.index + 1}</span>
            </button>
          </Show>
          <button
            type="button"
            class="btn btn-secondary btn-sm"
            aria-expanded={open()}
            aria-controls={`${uid}-body`}
            onClick={() => (open() && dirty() ? undefined : setEditing(!open()))}
            disabled={open() && dirty()}
            title={open() && dirty() ? "Save or discard your changes first" : undefined}
          >
            <Icon name={props.readOnly ? "eye" : "pencil"} size={14} />
            {open() ? "Close" : props.readOnly ? "View" : "Edit"}
            <span class="sr-only"> step {props.index + 1}</span>
          </button>
          <Show when={!props.readOnly}>
            <div class="btn-group" role="group" aria-label={`Move step ${props.index + 1}`}>
              <button
                type="button"
                class="btn btn-ghost btn-sm btn-icon"
                aria-label={`Move step ${props.index + 1} up`}
                aria-disabled={!props.canMoveUp || !!busy()}
                title={props.index > 0 && !props.canMoveUp ? "A same-thread reply needs an automatic email step before it" : undefined}
                id={`${uid}-up`}
                onClick={() => props.canMoveUp && !busy() && void props.onMove(-1).then(() => refocus("up"))}
              >
                <Icon name="arrowUp" size={16} />
              </button>
              <button
                type="button"
                class="btn btn-ghost btn-sm btn-icon"
                aria-label={`Move step ${props.index + 1} down`}
                aria-disabled={!props.canMoveDown || !!busy()}
                title={
                  !props.canMoveDown && props.index < props.count - 1
                    ? "A same-thread reply after it would have no automatic email step before it"
                    : undefined
                }
                id={`${uid}-down`}
                onClick={() => props.canMoveDown && !busy() && void props.onMove(1).then(() => refocus("down"))}
              >
                <Icon name="arrowDown" size={16} />
              </button>
            </div>
            <button
              type="button"
              class="btn btn-danger-ghost btn-sm btn-icon"
              aria-label={`Delete step ${props.index + 1}`}
              aria-disabled={props.lastOn || undefined}
              aria-describedby={props.lastOn ? `${uid}-delete-why` : undefined}
              title={props.lastOn ? LAST_ON : undefined}
              onClick={() => !props.lastOn && setConfirmDelete("step")}
            >
              <Icon name="trash" size={16} />
            </button>
            <Show when={props.lastOn}>
              <span id={`${uid}-delete-why`} class="sr-only">
                {LAST_ON}
              </span>
            </Show>
          </Show>
        </div>
      </header>

      <div role="status" data-testid="step-warnings">
        <For each={warnings()}>
          {(w) => (
            <p class="reason reason-warning small">
              <Icon name="alert" size={14} /> {w}
            </p>
          )}
        </For>
      </div>

      <Show when={!open()}>
        <div class="step-preview" onClick={() => setEditing(true)}>
          <Show when={email()} fallback={<p class="preview-note">{props.step.note || <span class="muted">No instructions yet.</span>}</p>}>
            <For each={props.step.variants}>
              {(v) => (
                <div class="preview-variant" classList={{ "variant-off": !v.enabled }}>
                  <Show when={props.step.variants.length > 1}>
                    <span class="variant-letter" title={v.enabled ? `Variant ${v.label}` : `Variant ${v.label} (off)`}>
                      {v.label}
                    </span>
                  </Show>
                  <div class="preview-text">
                    <strong>
                      {props.step.thread_reply ? (
                        <span class="muted">Re: previous subject</span>
                      ) : v.subject ? (
                        <Highlight text={v.subject} />
                      ) : (
                        <span class="muted">(no subject)</span>
                      )}
                    </strong>
                    <span class="preview-body">
                      <Highlight text={v.body.replace(/\s+/g, " ")} />
                    </span>
                  </div>
                </div>
              )}
            </For>
          </Show>
        </div>
      </Show>

      <Show when={open()}>
        <div class="step-body" id={`${uid}-body`}>
          <fieldset class="wait-row" disabled={props.readOnly}>
            <legend class="sr-only">Wait before step {props.index + 1}</legend>
            <Icon name="clock" size={15} />
            <label for={`${uid}-wait`}>Wait</label>
            <input
              id={`${uid}-wait`}
              type="number"
              class="input-sm wait-amount"
              min={0}
              max={MAX_WAIT[w().unit]}
              value={w().amount}
              aria-invalid={errors().wait_amount || errors().wait_unit ? true : undefined}
              aria-describedby={errors().wait_amount ? `${uid}-wait-error` : undefined}
              onInput={(e) => setWait({ ...w(), amount: Math.max(0, Math.floor(Number(e.currentTarget.value) || 0)) })}
            />
            <label for={`${uid}-unit`} class="sr-only">
              Unit
            </label>
            <select
              id={`${uid}-unit`}
              class="input-sm"
              value={w().unit}
              onChange={(e) => setWait({ ...w(), unit: e.currentTarget.value as Step["wait_unit"] })}
            >
              <option value="minutes">minutes</option>
              <option value="hours">hours</option>
              <option value="days">days</option>
            </select>
            <Show when={w().unit === "days"}>
              <label class="check">
                <input type="checkbox" checked={w().business} onChange={(e) => setWait({ ...w(), business: e.currentTarget.checked })} />
                business days only
              </label>
            </Show>
            <span class="muted">{first() ? "after the contact is added" : "after the previous step"}</span>
            <FieldError id={`${uid}-wait-error`} message={errors().wait_amount ?? errors().wait_unit} />
          </fieldset>

          <Show
            when={email()}
            fallback={
              <div class="field">
                <label for={`${uid}-note`}>{props.step.type === "task" ? "What to do" : "Instructions for whoever does this"}</label>
                <textarea
                  id={`${uid}-note`}
                  class="textarea"
                  rows={3}
                  maxlength={2000}
                  disabled={props.readOnly}
                  value={noteValue()}
                  placeholder={
                    props.step.type === "call"
                      ? "e.g. Mention the webinar; ask about their Q4 hiring plans."
                      : "e.g. Personalise with a recent post of theirs."
                  }
                  onInput={(e) => setNote(e.currentTarget.value)}
                  aria-invalid={errors().note ? true : undefined}
                  aria-describedby={`${uid}-note-help${errors().note ? ` ${uid}-note-error` : ""}`}
                />
                <p id={`${uid}-note-help`} class="field-help">
                  Each contact who reaches this step gets a task with these notes, due when the wait is over. Variables like{" "}
                  <code>{"{{first_name}}"}</code> are filled in with the contact's values when the task is made;{" "}
                  <code>{"{{company|their company}}"}</code> uses “their company” when the value is empty, and one with no fallback shows as
                  “[company missing]”.
                </p>
                <FieldError id={`${uid}-note-error`} message={errors().note} />
              </div>
            }
          >
            <div class="variant-bar">
              <div class="variant-tabs" role="tablist" aria-label={`Step ${props.index + 1} variants`}>
                <For each={variantIds()}>
                  {(id) => (
                    <button
                      type="button"
                      role="tab"
                      id={`${uid}-vt-${id}`}
                      aria-selected={current() === id}
                      aria-controls={`${uid}-vp`}
                      tabindex={current() === id ? 0 : -1}
                      class="variant-tab"
                      classList={{
                        "variant-off": id !== NEW && !variant(id)?.enabled,
                        "variant-error": !!(errors()[`${id}.subject`] || errors()[`${id}.body`]),
                      }}
                      onClick={() => setSelected(id)}
                      onKeyDown={(e) => {
                        const ids = variantIds();
                        const i = ids.indexOf(id);
                        const n =
                          e.key === "ArrowRight"
                            ? ids[(i + 1) % ids.length]
                            : e.key === "ArrowLeft"
                              ? ids[(i - 1 + ids.length) % ids.length]
                              : undefined;
                        if (!n) return;
                        e.preventDefault();
                        setSelected(n);
                        document.getElementById(`${uid}-vt-${n}`)?.focus();
                      }}
                    >
                      Variant {labelOf(id)}
                      <Show when={id === NEW}>
                        <span class="muted"> (unsaved)</span>
                      </Show>
                      <Show when={id !== NEW && !variant(id)?.enabled}>
                        <span class="muted"> (off)</span>
                      </Show>
                    </button>
                  )}
                </For>
              </div>
              <Show when={!props.readOnly && !newVariant() && props.step.variants.length < 10}>
                <button type="button" class="btn btn-ghost btn-xs" onClick={startVariant}>
                  <Icon name="plus" size={14} /> Add variant
                </button>
              </Show>
            </div>

            <div id={`${uid}-vp`} role="tabpanel" aria-labelledby={`${uid}-vt-${current()}`} class="variant-panel">
              <Show when={current()} keyed>
                {(id) => (
                  <>
                    <Show when={props.step.variants.length > 1 || id === NEW}>
                      <div class="variant-tools">
                        <Show
                          when={id !== NEW}
                          fallback={
                            <span class="muted small">Starts as a copy of the variant you were on. Change it, then save the step.</span>
                          }
                        >
                          <Toggle
                            label={`Variant ${labelOf(id)} on`}
                            showLabel
                            size="sm"
                            checked={!!variant(id)?.enabled}
                            disabled={props.readOnly || variantBusy(id) || lastVariantOn(id)}
                            title={lastVariantOn(id) ? "An email step needs a variant on: turn another one on first" : undefined}
                            busy={variantBusy(id)}
                            onChange={(v) => void variantOn.run(props.sequenceId, props.step.id, id, v).then(apply)}
                          />
                          <span class="muted small">Contacts are split evenly across the variants that are on.</span>
                        </Show>
                        <Show when={!props.readOnly}>
                          <button
                            type="button"
                            class="btn btn-danger-ghost btn-xs"
                            disabled={id !== NEW && (props.step.variants.length <= 1 || lastVariantOn(id))}
                            title={
                              id === NEW
                                ? undefined
                                : props.step.variants.length <= 1
                                  ? "An email step keeps at least one variant"
                                  : lastVariantOn(id)
                                    ? "This is the only variant on: turn another one on before deleting it"
                                    : undefined
                            }
                            onClick={() => (id === NEW ? (setNewVariant(null), setSelected(undefined)) : setConfirmDelete(id))}
                          >
                            <Icon name="trash" size={14} /> {id === NEW ? "Discard variant" : `Delete variant ${labelOf(id)}`}
                          </button>
                        </Show>
                      </div>
                    </Show>
                    <Show when={!props.readOnly}>
                      <TemplateTools
                        idPrefix={`step-${props.index + 1}`}
                        subject={threadReply() ? "" : subjectOf(id)}
                        body={bodyOf(id)}
                        onFill={(subject, body) =>
                          id === NEW ? setNewVariant({ subject, body }) : setDrafts(id, (d) => ({ ...d, subject, body }))
                        }
                      />
                    </Show>
                    <TemplateFields
                      idPrefix={`${uid}-${id}`}
                      subject={subjectOf(id)}
                      body={bodyOf(id)}
                      threadReply={threadReply()}
                      disabled={props.readOnly}
                      subjectError={errors()[`${id}.subject`]}
                      bodyError={errors()[`${id}.body`]}
                      onSubject={(v) =>
                        id === NEW ? setNewVariant((n) => ({ ...n!, subject: v })) : setDrafts(id, (d) => ({ ...d, subject: v }))
                      }
                      onBody={(v) => (id === NEW ? setNewVariant((n) => ({ ...n!, body: v })) : setDrafts(id, (d) => ({ ...d, body: v })))}
                    />
                  </>
                )}
              </Show>
            </div>
            <Show when={props.step.type === "auto_email"}>
              <p class="muted small" data-testid="step-plain-text">
                Sent as a plain-text email: what you type is what the contact reads, without formatting; a link shows as its address.
              </p>
            </Show>

            <Show when={!first()}>
              <label class="check">
                <input
                  type="checkbox"
                  checked={threadReply()}
                  disabled={props.readOnly}
                  onChange={(e) => setThread(e.currentTarget.checked)}
                />
                Reply in the same thread as the previous email (no new subject)
              </label>
              <Show when={threadReply()}>
                <p class="muted small">
                  A contact who didn't get the previous email (skipped for them, or its step turned off) gets this one as a new email, under
                  that email's subject.
                </p>
              </Show>
            </Show>
            <FieldError id={`${uid}-thread-error`} message={errors().thread_reply} />
          </Show>

          <Show when={unplaced().length}>
            <div class="form-error" role="alert">
              <Icon name="alert" size={16} />
              <span>{unplaced().join(" · ")}</span>
            </div>
          </Show>

          <Show when={!props.readOnly && dirty()}>
            <div class="step-save">
              <span class="muted small">
                <Icon name="pencil" size={13} /> Unsaved changes
              </span>
              <Show when={scheduledNote()}>
                {(note) => (
                  <span class="muted small" data-testid="step-scheduled-note">
                    {note()}
                  </span>
                )}
              </Show>
              <button type="button" class="btn btn-secondary btn-sm" onClick={discard} disabled={saving()}>
                Discard
              </button>
              <button type="button" class="btn btn-primary btn-sm" onClick={() => void save()} disabled={saving()}>
                {saving() ? "Saving…" : "Save step"}
              </button>
            </div>
          </Show>
        </div>
      </Show>

      <Show when={previewing()}>
        <StepPreview sequenceId={props.sequenceId} step={props.step} stepNumber={props.index + 1} onClose={() => setPreviewing(false)} />
      </Show>

      <ConfirmDialog
        open={confirmDelete() !== null}
        danger
        title={confirmDelete() === "step" ? `Delete step ${props.index + 1}?` : `Delete variant ${labelOf(confirmDelete() ?? "")}?`}
        confirmLabel={confirmDelete() === "step" ? "Delete step" : "Delete variant"}
        busy={busy() === "delete"}
        onCancel={() => setConfirmDelete(null)}
        onConfirm={async () => {
          const target = confirmDelete();
          if (target === "step") await props.onDelete();
          else if (target) {
            const s = await removeVariant.run(props.sequenceId, props.step.id, target);
            if (s) setSelected(undefined);
            apply(s);
          }
          setConfirmDelete(null);
        }}
      >
        <Show
          when={confirmDelete() === "step"}
          fallback={<p>Contacts who would have received this variant get one of the others instead.</p>}
        >
          <p>
            <strong>{meta().label}</strong> ({formatWait(props.step.wait_amount, props.step.wait_unit, props.step.business_days)} wait) is
            removed. Contacts on this step move to the step that takes its place.
          </p>
        </Show>
      </ConfirmDialog>
    </article>
  );
}
