import { createAsync } from "@solidjs/router";
import { createSignal, ErrorBoundary, Show, Suspense } from "solid-js";
import { useWrite } from "../../actions";
import { ApiError } from "../../api";
import { Badge } from "../../components/Badge";
import { Dialog } from "../../components/Dialog";
import { EmailHeader, EmailView } from "../../components/EmailView";
import { FieldError } from "../../components/FieldError";
import { Icon } from "../../components/Icon";
import { ErrorPanel, Spinner } from "../../components/Status";
import { formatFull, msToLocalInput } from "../../format";
import { FormProblems } from "../../forms";
import {
  editScheduledAction,
  getScheduledPreview,
  rescheduleAction,
  sendNowAction,
  skipScheduledAction,
  type ScheduledEmailRow,
} from "../../queries/scheduled-emails";

/**
 * One scheduled email: the preview exactly as the contact will get it (the API runs the send path's
 * composer), an editor for this contact only, and send now / skip / reschedule. Every answer comes
 * from the engine: "sent now" says when the mailbox's limits let it go; a refusal says why.
 */
export function ScheduledEmailDialog(props: { row: ScheduledEmailRow; onClose: () => void }) {
  const key = () => ({ enrollmentId: props.row.enrollment_id, stepId: props.row.step.id });
  const preview = createAsync(() => getScheduledPreview(key()));
  const [editing, setEditing] = createSignal(false);
  const [when, setWhen] = createSignal(false);
  const [outcome, setOutcome] = createSignal<string | null>(null);
  const edit = useWrite(editScheduledAction, { form: "scheduled-edit-form", done: () => "Email edited for this contact" });
  const sendNow = useWrite(sendNowAction, { failed: () => "Couldn't send it now" });
  const skip = useWrite(skipScheduledAction, { failed: () => "Couldn't skip it" });
  const reschedule = useWrite(rescheduleAction, { form: "scheduled-reschedule-form" });
  const busy = () => edit.pending() || sendNow.pending() || skip.pending() || reschedule.pending();
  const who = () => props.row.contact.name || props.row.contact.email || "this contact";

  const saveEdit = async (e: SubmitEvent) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const body = String(f.get("body") ?? "");
    const subject = props.row.step.thread_reply ? undefined : String(f.get("subject") ?? "").trim();
    if (await edit.run(key(), { body, ...(subject === undefined ? {} : { subject }) })) setEditing(false);
  };
  const reset = async () => {
    if (await edit.run(key(), { subject: null, body: null })) setEditing(false);
  };
  const doSendNow = async () => {
    const r = await sendNow.run(key());
    if (r)
      setOutcome(
        r.send_at === null
          ? "Queued first in line: it goes out as soon as its mailbox can send"
          : r.send_at > Date.now() + 60_000
            ? `Queued first in line: the mailbox's limits let it go at ${formatFull(r.send_at)}`
            : "Sending now: it goes out within a minute",
      );
  };
  const doSkip = async () => {
    const r = await skip.run(key());
    if (r) setOutcome(r.send_at !== null ? `Skipped: the next step falls due ${formatFull(r.send_at)}` : "Skipped: the contact moved on");
  };
  const doReschedule = async (e: SubmitEvent) => {
    e.preventDefault();
    const v = String(new FormData(e.currentTarget as HTMLFormElement).get("at") ?? "");
    const at = v ? new Date(v).getTime() : NaN;
    if (Number.isNaN(at)) {
      const message = "Choose a date and a time";
      reschedule.errors.set(new ApiError(422, "validation_failed", message, { fields: [{ field: "at", label: "Send at", message }] }));
      return;
    }
    const r = await reschedule.run(key(), at);
    if (r) {
      setWhen(false);
      setOutcome(`Rescheduled: it goes out ${formatFull(r.send_at ?? at)}`);
    }
  };
  const next = () => {
    const e = reschedule.errors.error();
    const d = e instanceof ApiError ? (e.details as { next_window_opens_at?: number | null } | undefined) : undefined;
    return d?.next_window_opens_at ?? null;
  };

  return (
    <Dialog
      open
      size="lg"
      onClose={props.onClose}
      title={`Step ${props.row.step.position} to ${who()}`}
      description={`${props.row.sequence.name}${props.row.mailbox ? ` · from ${props.row.mailbox.email}` : ""}`}
      testId="scheduled-email-dialog"
      footer={
        <Show
          when={!outcome()}
          fallback={
            <button type="button" class="btn btn-primary" onClick={() => props.onClose()}>
              Done
            </button>
          }
        >
          <button type="button" class="btn btn-secondary" onClick={() => props.onClose()}>
            Close
          </button>
          <Show when={props.row.can_edit && !editing()}>
            <button type="button" class="btn btn-secondary" disabled={busy()} onClick={() => setWhen(!when())}>
              <Icon name="calendar" size={15} /> Reschedule
            </button>
            <button type="button" class="btn btn-secondary" disabled={busy()} onClick={() => void doSkip()}>
              <Icon name="skip" size={15} /> {skip.pending() ? "Skipping…" : "Skip"}
            </button>
            <button type="button" class="btn btn-primary" disabled={busy()} onClick={() => void doSendNow()}>
              <Icon name="send" size={15} /> {sendNow.pending() ? "Sending…" : "Send now"}
            </button>
          </Show>
        </Show>
      }
    >
      <Show when={outcome()}>
        {(o) => (
          <div class="result result-ok" role="status" data-testid="scheduled-outcome">
            <Icon name="check" size={18} />
            <p>{o()}</p>
          </div>
        )}
      </Show>
      <Show when={!outcome()}>
        <Show when={when()}>
          <form id="scheduled-reschedule-form" class="form sched-reschedule" onSubmit={doReschedule}>
            <div class="field">
              <label for="sched-at">Send at (your time zone)</label>
              <input
                id="sched-at"
                name="at"
                type="datetime-local"
                required
                min={msToLocalInput(Date.now())}
                value={msToLocalInput(props.row.send_at ?? Date.now() + 3_600_000)}
                aria-invalid={reschedule.errors.invalid("at")}
                aria-describedby="sched-at-error"
              />
              <FieldError id="sched-at-error" form={reschedule.errors} name="at" />
              <Show when={next()}>{(n) => <p class="muted small">The window opens next at {formatFull(n())}.</p>}</Show>
            </div>
            <button type="submit" class="btn btn-primary" disabled={busy()}>
              {reschedule.pending() ? "Saving…" : "Send at this time"}
            </button>
          </form>
        </Show>
        <ErrorBoundary fallback={(err) => <ErrorPanel error={err} title="This email can't be previewed" />}>
          <Suspense fallback={<Spinner label="Composing the email…" />}>
            <Show when={preview()}>
              {(p) => (
                <Show
                  when={editing()}
                  fallback={
                    <EmailView
                      testId="scheduled"
                      from={p().from}
                      to={p().to}
                      subject={p().subject}
                      body={p().body}
                      headers={
                        <EmailHeader name="Goes out">
                          {props.row.send_at ? formatFull(props.row.send_at) : (props.row.reason_text ?? "Not planned")}
                        </EmailHeader>
                      }
                      badges={
                        <>
                          <Show
                            when={props.row.from_task}
                            fallback={<Show when={p().edited}>{<Badge tone="accent">Edited for this contact</Badge>}</Show>}
                          >
                            <Badge tone="info">Sent from its task</Badge>
                          </Show>
                          <Show when={p().variant}>{(v) => <Badge tone="neutral">Variant {v().label}</Badge>}</Show>
                          <Show when={p().in_reply_to}>
                            <Badge tone="neutral">Same thread</Badge>
                          </Show>
                        </>
                      }
                      actions={
                        <Show when={props.row.can_edit}>
                          <div class="sched-edit-bar">
                            <button type="button" class="btn btn-secondary btn-sm" onClick={() => setEditing(true)}>
                              <Icon name="pencil" size={14} /> Edit for this contact
                            </button>
                            <Show when={p().edited}>
                              <button type="button" class="btn btn-ghost btn-sm" disabled={busy()} onClick={() => void reset()}>
                                Use the step's text again
                              </button>
                            </Show>
                          </div>
                        </Show>
                      }
                    >
                      {/* The composer's own refusal: the send meets it too, and pauses the contact on this step. */}
                      <Show when={p().refused}>
                        {(r) => (
                          <p class="reason reason-warning small" data-testid="scheduled-refused">
                            {r().text}
                          </p>
                        )}
                      </Show>
                      <Show when={props.row.from_task}>
                        <p class="muted small" data-testid="scheduled-from-task">
                          {props.row.status === "active"
                            ? "Its rep sent this manual email from its task: it waits first in line for the mailbox's daily or hourly limit and goes out at the time above."
                            : `Its rep sent this manual email from its task, and the ${props.row.status === "paused" ? "pause" : "hold"} took it back from the mailbox: it goes out, once, ${props.row.status === "paused" ? "when the contact is resumed" : "when the hold ends"}.`}{" "}
                          It can't be edited, moved or skipped here.
                        </p>
                      </Show>
                    </EmailView>
                  }
                >
                  <form id="scheduled-edit-form" class="form" onSubmit={saveEdit}>
                    <p class="muted small">
                      Only {who()} gets this version. Variables like <code>{"{{first_name}}"}</code> still fill in.
                    </p>
                    <div class="field">
                      <label for="sched-subject">Subject</label>
                      <input
                        id="sched-subject"
                        name="subject"
                        maxlength={300}
                        value={p().step.thread_reply ? p().subject : p().template.subject}
                        disabled={p().step.thread_reply}
                        aria-invalid={edit.errors.invalid("subject")}
                        aria-describedby="sched-subject-error sched-subject-hint"
                      />
                      <Show when={p().step.thread_reply}>
                        <p id="sched-subject-hint" class="muted small">
                          This step replies in the same thread: it keeps the thread's subject.
                        </p>
                      </Show>
                      <FieldError id="sched-subject-error" form={edit.errors} name="subject" />
                    </div>
                    <div class="field">
                      <label for="sched-body">Body</label>
                      <textarea
                        id="sched-body"
                        name="body"
                        rows={10}
                        required
                        maxlength={20000}
                        aria-invalid={edit.errors.invalid("body")}
                        aria-describedby="sched-body-error"
                      >
                        {p().template.body}
                      </textarea>
                      <FieldError id="sched-body-error" form={edit.errors} name="body" />
                    </div>
                    <FormProblems form={edit.errors} />
                    <div class="sched-edit-bar">
                      <button type="button" class="btn btn-ghost" onClick={() => setEditing(false)}>
                        Cancel
                      </button>
                      <button type="submit" class="btn btn-primary" disabled={busy()}>
                        {edit.pending() ? "Saving…" : "Save for this contact"}
                      </button>
                    </div>
                  </form>
                </Show>
              )}
            </Show>
          </Suspense>
        </ErrorBoundary>
      </Show>
    </Dialog>
  );
}
