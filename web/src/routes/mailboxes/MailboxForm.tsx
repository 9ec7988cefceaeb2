import { createSignal, For, Show } from "solid-js";
import { createMailbox, fieldErrors, updateMailbox, type Mailbox, type MailboxInput, type MailboxPatch, type Transport } from "../../api";
import { Dialog } from "../../components/Dialog";
import { FieldError } from "../../components/FieldError";
import { Icon, type IconName } from "../../components/Icon";
import { FormError } from "../../components/Status";

export const TRANSPORTS: { id: Transport; label: string; icon: IconName; hint: string }[] = [
  { id: "outbox", label: "Outbox (test)", icon: "outbox", hint: "Nothing leaves Seqflare: every email lands in the Outbox, like a local mail catcher." },
  { id: "smtp", label: "SMTP", icon: "mail", hint: "Your mail server or provider (Google Workspace, Microsoft 365, Postmark…) over TLS or STARTTLS." },
  { id: "send_email", label: "Cloudflare Email", icon: "zap", hint: "Cloudflare's send_email binding, from a domain set up in Email Routing." },
];

const num = (v: FormDataEntryValue | null) => (v === null || v === "" ? undefined : Number(v));

/** Connect a new mailbox, or edit one: sender, signature, limits, transport and SMTP settings. */
export function MailboxForm(props: { open: boolean; mailbox: Mailbox | null; onClose: () => void; onSaved: (m: Mailbox) => void }) {
  const m = props.mailbox;
  const [transport, setTransport] = createSignal<Transport>(m?.transport ?? "outbox");
  const [changePassword, setChangePassword] = createSignal(!m?.smtp?.has_password);
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<unknown>(null);
  const fields = () => fieldErrors(error());
  const err = (...keys: string[]) => keys.map((k) => fields()[k]).find(Boolean);
  const known = ["email", "sender_name", "signature", "daily_limit", "hourly_limit", "min_gap_seconds", "jitter_seconds", "transport", "smtp", "smtp.host", "smtp.port", "smtp.security", "smtp.username", "smtp.password"];

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const limits = {
      daily_limit: num(f.get("daily_limit")),
      hourly_limit: num(f.get("hourly_limit")),
      min_gap_seconds: num(f.get("min_gap_seconds")),
      jitter_seconds: num(f.get("jitter_seconds")),
    };
    const smtp =
      transport() === "smtp"
        ? {
            host: String(f.get("smtp_host") ?? "").trim(),
            port: Number(f.get("smtp_port") || 587),
            security: String(f.get("smtp_security") ?? "starttls") as "tls" | "starttls" | "none",
            username: String(f.get("smtp_username") ?? "").trim() || undefined,
            ...(changePassword() && { password: String(f.get("smtp_password") ?? "") }),
          }
        : undefined;
    setBusy(true);
    setError(null);
    try {
      const saved = m
        ? await updateMailbox(m.id, { ...limits, sender_name: String(f.get("sender_name") ?? "").trim(), signature: String(f.get("signature") ?? ""), transport: transport(), ...(smtp && { smtp }) } satisfies MailboxPatch)
        : await createMailbox({ ...limits, email: String(f.get("email") ?? "").trim(), sender_name: String(f.get("sender_name") ?? "").trim(), signature: String(f.get("signature") ?? ""), transport: transport(), ...(smtp && { smtp }) } satisfies MailboxInput);
      props.onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={props.open}
      onClose={props.onClose}
      size="lg"
      title={m ? `Edit ${m.email}` : "Connect a mailbox"}
      description={m ? "Changes apply to the next email it sends." : "Sequences send from connected mailboxes, each within its own limits."}
      testId="mailbox-dialog"
      footer={
        <>
          <button type="button" class="btn btn-secondary" onClick={() => props.onClose()}>
            Cancel
          </button>
          <button type="submit" form="mailbox-form" class="btn btn-primary" disabled={busy()}>
            {busy() ? "Saving…" : m ? "Save mailbox" : "Connect mailbox"}
          </button>
        </>
      }
    >
      <form id="mailbox-form" class="form" onSubmit={submit}>
        <div class="form-grid">
          <div class="field">
            <label for="mb-email">Email address</label>
            <input id="mb-email" name="email" type="email" required={!m} disabled={!!m} value={m?.email ?? ""} placeholder="you@company.com" autocomplete="off" aria-describedby="mb-email-error" />
            <FieldError id="mb-email-error" message={err("email")} />
          </div>
          <div class="field">
            <label for="mb-sender">Sender name</label>
            <input id="mb-sender" name="sender_name" required maxlength={120} value={m?.sender_name ?? ""} placeholder="e.g. Alex Morgan" autocomplete="off" aria-describedby="mb-sender-error" />
            <FieldError id="mb-sender-error" message={err("sender_name")} />
          </div>
          <div class="field full">
            <label for="mb-signature">Signature</label>
            <textarea id="mb-signature" name="signature" class="textarea" rows={3} maxlength={5000} value={m?.signature ?? ""} placeholder={"Alex Morgan\nHead of Sales, Demo Inc."} />
            <p class="field-help">Added below every email this mailbox sends.</p>
          </div>
        </div>

        <fieldset>
          <legend class="field-legend">How it sends</legend>
          <div class="transport-grid">
            <For each={TRANSPORTS}>
              {(t) => (
                <label class="type-option" classList={{ selected: transport() === t.id }}>
                  <input type="radio" name="transport" value={t.id} checked={transport() === t.id} onChange={() => setTransport(t.id)} class="option-input" />
                  <span class="step-icon step-icon-email" aria-hidden="true">
                    <Icon name={t.icon} size={16} />
                  </span>
                  <span class="type-text">
                    <strong>{t.label}</strong>
                    <span>{t.hint}</span>
                  </span>
                </label>
              )}
            </For>
          </div>
          <FieldError id="mb-transport-error" message={err("transport")} />
        </fieldset>

        <Show when={transport() === "smtp"}>
          <fieldset class="subform">
            <legend class="field-legend">SMTP server</legend>
            <div class="form-grid smtp-grid">
              <div class="field">
                <label for="mb-host">Host</label>
                <input id="mb-host" name="smtp_host" required value={m?.smtp?.host ?? ""} placeholder="smtp.example.com" autocomplete="off" aria-describedby="mb-host-error" />
                <FieldError id="mb-host-error" message={err("smtp.host", "smtp")} />
              </div>
              <div class="field">
                <label for="mb-port">Port</label>
                <input id="mb-port" name="smtp_port" type="number" min={1} max={65535} required value={m?.smtp?.port ?? 587} aria-describedby="mb-port-help mb-port-error" />
                <p id="mb-port-help" class="field-help">587 (STARTTLS) or 465 (TLS). Port 25 is blocked on Cloudflare.</p>
                <FieldError id="mb-port-error" message={err("smtp.port")} />
              </div>
              <div class="field">
                <label for="mb-security">Security</label>
                <select id="mb-security" name="smtp_security">
                  <option value="starttls" selected={(m?.smtp?.security ?? "starttls") === "starttls"}>STARTTLS</option>
                  <option value="tls" selected={m?.smtp?.security === "tls"}>TLS</option>
                  <option value="none" selected={m?.smtp?.security === "none"}>None (unencrypted)</option>
                </select>
              </div>
              <div class="field">
                <label for="mb-user">Username</label>
                <input id="mb-user" name="smtp_username" value={m?.smtp?.username ?? ""} autocomplete="off" />
              </div>
              <div class="field full">
                <label for="mb-pass">Password</label>
                <Show
                  when={changePassword()}
                  fallback={
                    <div class="inline-add">
                      <span class="saved-secret" id="mb-pass">
                        <Icon name="lock" size={14} /> •••••••• saved
                      </span>
                      <button type="button" class="btn btn-secondary btn-sm" onClick={() => setChangePassword(true)}>
                        Change password
                      </button>
                    </div>
                  }
                >
                  <input id="mb-pass" name="smtp_password" type="password" autocomplete="new-password" aria-describedby="mb-pass-help" />
                  <p id="mb-pass-help" class="field-help">Stored encrypted and never shown again. {m?.smtp?.has_password ? "Leave empty to remove it." : ""}</p>
                </Show>
                <FieldError id="mb-pass-error" message={err("smtp.password")} />
              </div>
            </div>
          </fieldset>
        </Show>

        <fieldset>
          <legend class="field-legend">Sending limits</legend>
          <div class="limits-grid">
            <div class="field">
              <label for="mb-daily">Per day</label>
              <input id="mb-daily" name="daily_limit" type="number" min={1} max={5000} value={m?.daily_limit ?? 50} aria-describedby="mb-daily-error" />
              <FieldError id="mb-daily-error" message={err("daily_limit")} />
            </div>
            <div class="field">
              <label for="mb-hourly">Per hour</label>
              <input id="mb-hourly" name="hourly_limit" type="number" min={1} max={1000} value={m?.hourly_limit ?? 20} aria-describedby="mb-hourly-error" />
              <FieldError id="mb-hourly-error" message={err("hourly_limit")} />
            </div>
            <div class="field">
              <label for="mb-gap">Gap between sends (s)</label>
              <input id="mb-gap" name="min_gap_seconds" type="number" min={0} max={3600} value={m?.min_gap_seconds ?? 60} aria-describedby="mb-gap-error" />
              <FieldError id="mb-gap-error" message={err("min_gap_seconds")} />
            </div>
            <div class="field">
              <label for="mb-jitter">Random extra (s)</label>
              <input id="mb-jitter" name="jitter_seconds" type="number" min={0} max={3600} value={m?.jitter_seconds ?? 30} aria-describedby="mb-jitter-error" />
              <FieldError id="mb-jitter-error" message={err("jitter_seconds")} />
            </div>
          </div>
          <p class="field-help">Day and hour limits are rolling windows (the last 24 hours, the last 60 minutes). New mailboxes should start low and ramp up.</p>
        </fieldset>

        <Show when={error() && Object.keys(fields()).every((k) => !known.includes(k))}>
          <FormError error={error()} />
        </Show>
      </form>
    </Dialog>
  );
}
