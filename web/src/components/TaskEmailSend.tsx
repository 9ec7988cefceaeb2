import { action } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { api, data, type Task } from "../api";
import { useWrite } from "../actions";
import { formatFull } from "../format";
import { FormProblems } from "../forms";
import { FieldError } from "./FieldError";
import { Icon } from "./Icon";

/** Sends a manual email's task from the contact's mailbox (POST /api/tasks/{id}/send), with the rep's text. */
const sendTaskEmailAction = action(
  (id: string, body: { subject?: string; body?: string }) => data(api.tasks[":id"].send.$post({ param: { id }, json: body })),
  "sendTaskEmail",
);

/**
 * A manual email's draft in an editor, sent with Send from the contact's mailbox: threaded and recorded
 * like an automatic step's email, once however often it is clicked. A reply in the contact's thread
 * keeps the thread's subject (only its body is edited). Refusals show in the form, in the API's words.
 */
export function TaskEmailSend(props: { t: Task; draft: NonNullable<Task["draft"]>; onSent: () => void }) {
  const [open, setOpen] = createSignal(false);
  const [subject, setSubject] = createSignal(props.draft.subject);
  const [body, setBody] = createSignal(props.draft.body);
  const formId = `task-email-${props.t.id}`;
  const who = () => props.t.contact?.name || props.t.contact?.email || "the contact";
  const send = useWrite(sendTaskEmailAction, {
    form: formId,
    done: (r) =>
      // The mailbox has it (run "queued"): the contact moves on once it is sent, not now. With the mailbox's
      // daily or hourly limit reached it waits first in line: say when it goes; with no time yet, only that it waits.
      r?.task.send_at == null
        ? `Queued for ${who()}: the mailbox sends it as soon as it can`
        : r.task.send_at > Date.now() + 60_000
          ? `Queued for ${who()}: the mailbox's sending limit is reached for now, so it goes ${formatFull(r.task.send_at)}`
          : `Sending to ${who()} now: they move on to the next step once it is sent`,
  });
  // The draft renders a variable the contact has no value for as a blank ("Hi ,"): sent unchanged it would
  // go with the blank (the screen sends the rendered text), so Send waits for the rep to write it in.
  const blanks = () => props.draft.missing.length > 0 && subject() === props.draft.subject && body() === props.draft.body;
  const start = () => {
    setSubject(props.draft.subject);
    setBody(props.draft.body);
    send.clear();
    setOpen(true);
  };
  return (
    <Show
      when={open()}
      fallback={
        <button
          type="button"
          class="btn btn-primary btn-sm"
          onClick={start}
          aria-label={`Edit and send the email to ${who()}`}
          data-testid="task-email-open"
        >
          <Icon name="mail" size={14} /> Edit and send
        </button>
      }
    >
      <form
        id={formId}
        class="call-log task-email-form"
        data-testid="task-email-form"
        onSubmit={async (e) => {
          e.preventDefault();
          // Only what the rep changed: an unchanged draft goes as the step's own text (its A/B variant
          // counted, no edit recorded), as the API sends it when a field is left out.
          const r = await send.run(props.t.id, {
            ...(!props.draft.reply_in_thread && subject() !== props.draft.subject && { subject: subject() }),
            ...(body() !== props.draft.body && { body: body() }),
          });
          if (r) props.onSent();
        }}
      >
        <label class="call-log-field">
          <span class="small muted">Subject</span>
          <input
            class="input input-sm"
            value={subject()}
            onInput={(e) => setSubject(e.currentTarget.value)}
            readOnly={props.draft.reply_in_thread}
            name="subject"
            aria-invalid={send.errors.invalid("subject")}
            aria-describedby={`${formId}-subject-error`}
            data-testid="task-email-subject"
          />
        </label>
        <Show when={props.draft.reply_in_thread}>
          <p class="small muted">A reply in the contact's thread: it goes under the thread's subject.</p>
        </Show>
        <FieldError id={`${formId}-subject-error`} form={send.errors} name="subject" />
        <label class="call-log-field">
          <span class="small muted">Body</span>
          <textarea
            class="input"
            rows={8}
            value={body()}
            onInput={(e) => setBody(e.currentTarget.value)}
            name="body"
            aria-invalid={send.errors.invalid("body")}
            aria-describedby={`${formId}-body-error`}
            data-testid="task-email-body"
          />
        </label>
        <FieldError id={`${formId}-body-error`} form={send.errors} name="body" />
        <FormProblems form={send.errors} />
        <Show when={blanks()}>
          <p class="small text-danger" id={`${formId}-blanks`} data-testid="task-email-blanks">
            This contact has no value for {props.draft.missing.map((m) => `{{${m}}}`).join(", ")}, so the draft has blanks: write them in
            before sending.
          </p>
        </Show>
        <div class="call-log-actions">
          <button
            type="submit"
            class="btn btn-primary btn-sm"
            disabled={send.pending() || blanks()}
            aria-describedby={blanks() ? `${formId}-blanks` : undefined}
            data-testid="task-email-send"
          >
            <Icon name="mail" size={14} /> {send.pending() ? "Sending…" : "Send"}
          </button>
          <button type="button" class="btn btn-ghost btn-sm" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </div>
      </form>
    </Show>
  );
}
