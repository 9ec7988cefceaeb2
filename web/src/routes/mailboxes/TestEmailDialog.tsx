import { A, createAsync } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { useWrite } from "../../actions";
import type { Mailbox, sendTestEmail } from "../../api";
import { Dialog } from "../../components/Dialog";
import { Icon } from "../../components/Icon";
import { FieldError } from "../../components/FieldError";
import { FormProblems } from "../../forms";
import { sendTestEmailAction } from "../../queries/mailboxes";
import { getMe } from "../../queries/session";

type Result = Awaited<ReturnType<typeof sendTestEmail>>;

/** How each transport sends, in the dialog's words. */
const TRANSPORT_WORDS: Record<Mailbox["transport"], string> = {
  smtp: "SMTP server",
  send_email: "Cloudflare Email binding",
  gmail: "Gmail account (Gmail API)",
  graph: "Microsoft 365 account (Microsoft Graph)",
  outbox: "Outbox",
};

/** Sends one email through the mailbox's transport and says plainly whether it worked and why not. */
export function TestEmailDialog(props: { mailbox: Mailbox; onClose: () => void }) {
  const me = createAsync(() => getMe());
  const send = useWrite(sendTestEmailAction, { form: "test-email-form" });
  const busy = send.pending;
  const [result, setResult] = createSignal<Result>();
  const errors = send.errors;

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const to = String(new FormData(e.currentTarget as HTMLFormElement).get("to") ?? "").trim();
    setResult(undefined);
    setResult(await send.run(props.mailbox.id, to));
  };

  return (
    <Dialog
      open
      onClose={props.onClose}
      title="Send a test email"
      description={`From ${props.mailbox.sender_name} <${props.mailbox.email}>, through its ${TRANSPORT_WORDS[props.mailbox.transport]}. Not counted against its limits.`}
      testId="test-email-dialog"
      footer={
        <>
          <button type="button" class="btn btn-secondary" onClick={() => props.onClose()}>
            Close
          </button>
          <button type="submit" form="test-email-form" class="btn btn-primary" disabled={busy()}>
            <Icon name="send" size={15} /> {busy() ? "Sending…" : "Send test"}
          </button>
        </>
      }
    >
      <form id="test-email-form" class="form" onSubmit={submit}>
        <div class="field">
          <label for="test-to">Send to</label>
          <input
            id="test-to"
            name="to"
            type="email"
            required
            maxlength={254}
            value={me()?.user.email ?? ""}
            autocomplete="email"
            aria-invalid={errors.invalid("to")}
            aria-describedby="test-to-help test-to-error"
          />
          <p id="test-to-help" class="field-help">
            This mailbox's own address or an active member of your team. At most 10 test emails an hour.
          </p>
          <FieldError id="test-to-error" form={errors} name="to" />
        </div>
        <Show when={result()}>
          {(r) => (
            <div class={r().ok ? "result result-ok" : "result result-bad"} role="status" data-testid="test-email-result">
              <Icon name={r().ok ? "check" : "alert"} size={18} />
              <div>
                <strong>{r().ok ? "Sent" : "Not sent"}</strong>
                <p>{r().message}</p>
                <Show when={!r().ok && (r().kind || r().code)}>
                  <p class="muted small">
                    {r().kind}
                    {r().code ? ` · code ${r().code}` : ""}
                  </p>
                </Show>
                <A href={`/outbox?mailbox=${props.mailbox.id}`} class="small">
                  See it in the Outbox
                </A>
              </div>
            </div>
          )}
        </Show>
        <FormProblems form={errors} />
      </form>
    </Dialog>
  );
}
