import { createAsync } from "@solidjs/router";
import { createSignal, For, Show } from "solid-js";
import { useWrite } from "../../actions";
import { type Mailbox, type MailboxInput, type MailboxPatch, type Transport } from "../../api";
import { Dialog } from "../../components/Dialog";
import { Options } from "../../components/Options";
import { FieldError } from "../../components/FieldError";
import { Icon, type IconName } from "../../components/Icon";
import { FormProblems } from "../../forms";
import { createMailboxAction, updateMailboxAction } from "../../queries/mailboxes";
import { getMe, getSignInOptions } from "../../queries/session";
import { getUsers } from "../../queries/users";

export const TRANSPORTS: { id: Transport; label: string; icon: IconName; hint: string }[] = [
  {
    id: "outbox",
    label: "Outbox (test)",
    icon: "outbox",
    hint: "Nothing leaves Seqflare: every email lands in the Outbox, like a local mail catcher.",
  },
  {
    id: "smtp",
    label: "SMTP",
    icon: "mail",
    hint: "Your mail server or provider (Google Workspace, Microsoft 365, Postmark…) over TLS or STARTTLS.",
  },
  {
    id: "send_email",
    label: "Cloudflare Email",
    icon: "zap",
    hint: "Cloudflare's send_email binding, from a domain set up in Email Routing. Only your team's own domains: one a member signs in with.",
  },
];

/** A signed-in mailbox's own transport, offered in its edit dialog (it can't be chosen for another: that takes a sign-in). */
const SIGNED_IN: Record<"gmail" | "graph", { label: string; provider: string }> = {
  gmail: { label: "Gmail (signed in)", provider: "Google" },
  graph: { label: "Microsoft 365 (signed in)", provider: "Microsoft" },
};

const num = (v: FormDataEntryValue | null) => (v === null || v === "" ? undefined : Number(v));

/** Connect a new mailbox, or edit one: sender, signature, limits, transport and SMTP settings. */
export function MailboxForm(props: { open: boolean; mailbox: Mailbox | null; onClose: () => void; onSaved: (m: Mailbox) => void }) {
  const m = props.mailbox;
  // The outbox sends nothing: the server offers it only locally and in tests (a deployment refuses it),
  // and until the server has said so it is neither shown nor picked.
  const offers = createAsync(() => getSignInOptions().catch(() => undefined));
  const outboxOk = () => offers()?.outbox_transport === true;
  const [picked, setTransport] = createSignal<Transport | null>(m?.transport ?? null);
  /** The choice; a new mailbox starts on the outbox only where the server takes it, else on nothing. */
  const transport = (): Transport | null => {
    const t = picked() ?? (m ? null : outboxOk() ? "outbox" : null);
    return t === "outbox" && !outboxOk() ? null : t;
  };
  /** An outbox mailbox saved on a server that now refuses it: it sends nothing until another transport is chosen. */
  const strandedOutbox = () => m?.transport === "outbox" && offers() !== undefined && !outboxOk();
  const signedIn = m && (m.transport === "gmail" || m.transport === "graph") ? { id: m.transport, ...SIGNED_IN[m.transport] } : null;
  const options = () => {
    const offered = TRANSPORTS.filter((t) => t.id !== "outbox" || outboxOk());
    return signedIn
      ? [
          {
            id: signedIn.id,
            label: signedIn.label,
            icon: "mail" as IconName,
            hint: `Sends as ${m!.email} through the account you signed in with.`,
          },
          ...offered,
        ]
      : offered;
  };
  const [changePassword, setChangePassword] = createSignal(!m?.smtp?.has_password);
  // The saved password is only sent to the server and account it was saved for (the API refuses
  // otherwise): another host, port, security or username asks for it again.
  const [server, setServer] = createSignal({
    host: m?.smtp?.host ?? "",
    port: m?.smtp?.port ?? 587,
    security: m?.smtp?.security ?? "starttls",
    username: m?.smtp?.username ?? "",
  });
  const setServerField = (k: "host" | "port" | "security" | "username", v: string) =>
    setServer((s) => ({ ...s, [k]: k === "port" ? Number(v) : k === "security" ? v : v.trim() }));
  const serverChanged = () => {
    const saved = m?.smtp;
    if (!saved) return false;
    const s = server();
    return s.host !== saved.host || s.port !== saved.port || s.security !== saved.security || s.username !== (saved.username ?? "");
  };
  const askPassword = () => changePassword() || serverChanged();
  const create = useWrite(createMailboxAction, { form: "mailbox-form" });
  const update = useWrite(updateMailboxAction, { form: "mailbox-form" });
  const write = m ? update : create;
  const busy = write.pending;
  const errors = write.errors;
  const inv = errors.invalid;
  // The hourly limit can't be above the daily one (the API refuses it): its input's max follows the day's.
  const [daily, setDaily] = createSignal(m?.daily_limit ?? 50);
  // Admins give a mailbox to someone else (a disabled user's is disconnected and had no other way to a new owner).
  const me = createAsync(() => getMe().catch(() => undefined));
  const users = createAsync(() => getUsers().catch(() => undefined));
  const canGive = () => !!m && me()?.user.role === "admin";
  const [ownerId, setOwnerId] = createSignal(m?.user_id ?? "");
  /** The owner as stored, when not among the team's active users (disabled): still shown, so nothing changes unasked. */
  const ownerGone = () => !!m && !!users() && !users()!.users.some((u) => u.id === m.user_id);
  // Saved, with what the save leaves to do elsewhere (the workflows a new owner breaks): shown here until
  // read, since closing at once would hide them.
  const [afterSave, setAfterSave] = createSignal<{ mailbox: Mailbox; warnings: string[] } | null>(null);

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
            ...(askPassword() && { password: String(f.get("smtp_password") ?? "") }),
          }
        : undefined;
    if (m) {
      const answer = await update.run(m.id, {
        ...limits,
        sender_name: String(f.get("sender_name") ?? "").trim(),
        signature: String(f.get("signature") ?? ""),
        // None picked (an outbox mailbox where the outbox is refused): its transport is left as it is.
        ...(transport() && { transport: transport()! }),
        ...(smtp && { smtp }),
        ...(canGive() && ownerId() !== m.user_id && { user_id: ownerId() }),
      } satisfies MailboxPatch);
      if (!answer) return;
      if (answer.warnings.length) setAfterSave({ mailbox: answer.mailbox, warnings: answer.warnings.map((w) => w.message) });
      else props.onSaved(answer.mailbox);
      return;
    }
    const saved = await create.run({
      ...limits,
      email: String(f.get("email") ?? "").trim(),
      sender_name: String(f.get("sender_name") ?? "").trim(),
      signature: String(f.get("signature") ?? ""),
      // None picked: the server says what to choose (it requires one where the outbox is refused).
      ...(transport() && { transport: transport()! }),
      ...(smtp && { smtp }),
    } satisfies MailboxInput);
    if (saved) props.onSaved(saved);
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
        <Show
          when={afterSave()}
          fallback={
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
          {(done) => (
            <button type="button" class="btn btn-primary" onClick={() => props.onSaved(done().mailbox)} data-testid="mailbox-warnings-done">
              Done
            </button>
          )}
        </Show>
      }
    >
      <div role="status" data-testid="mailbox-warnings">
        <Show when={afterSave()}>
          {(done) => (
            <>
              <p class="small">Saved. Worth a look:</p>
              <For each={done().warnings}>
                {(w) => (
                  <p class="reason reason-warning small">
                    <Icon name="alert" size={14} /> {w}
                  </p>
                )}
              </For>
            </>
          )}
        </Show>
      </div>
      <form id="mailbox-form" class="form" onSubmit={submit}>
        <div class="form-grid">
          <div class="field">
            <label for="mb-email">Email address</label>
            <input
              id="mb-email"
              name="email"
              type="email"
              required={!m}
              disabled={!!m}
              value={m?.email ?? ""}
              placeholder="you@company.com"
              autocomplete="off"
              aria-invalid={inv("email")}
              aria-describedby="mb-email-error"
            />
            <FieldError id="mb-email-error" form={errors} name="email" />
          </div>
          <div class="field">
            <label for="mb-sender">Sender name</label>
            <input
              id="mb-sender"
              name="sender_name"
              required
              maxlength={120}
              value={m?.sender_name ?? ""}
              placeholder="e.g. Alex Morgan"
              autocomplete="off"
              aria-invalid={inv("sender_name")}
              aria-describedby="mb-sender-error"
            />
            <FieldError id="mb-sender-error" form={errors} name="sender_name" />
          </div>
          <Show when={canGive()}>
            <div class="field full">
              <label for="mb-owner">Owner</label>
              <select
                id="mb-owner"
                name="user_id"
                onChange={(e) => setOwnerId(e.currentTarget.value)}
                aria-invalid={inv("user_id")}
                aria-describedby="mb-owner-help mb-owner-error"
                data-testid="mailbox-owner"
              >
                <Show when={ownerGone()}>
                  <option value={m!.user_id} selected={ownerId() === m!.user_id}>
                    {m!.owner_name ?? "A disabled user"} (disabled)
                  </option>
                </Show>
                <Options each={users()?.users} value={ownerId()} id={(u) => u.id}>
                  {(u) => u.name}
                </Options>
              </select>
              <p id="mb-owner-help" class="field-help">
                The owner may edit it and send from it, and new tasks of contacts it sends to go to them. Its status doesn't change:
                {m!.status === "disconnected" ? " reconnect it after saving to send again." : " it goes on sending as it is."} Workflows of
                other members (not admins) that send from it turn off at their next run: saving lists them.
              </p>
              <FieldError id="mb-owner-error" form={errors} name="user_id" />
            </div>
          </Show>
          <div class="field full">
            <label for="mb-signature">Signature</label>
            <textarea
              id="mb-signature"
              name="signature"
              class="textarea"
              rows={3}
              maxlength={5000}
              value={m?.signature ?? ""}
              placeholder={"Alex Morgan\nHead of Sales, Demo Inc."}
              aria-invalid={inv("signature")}
              aria-describedby="mb-signature-error"
            />
            <p class="field-help">Added below every email this mailbox sends.</p>
            <FieldError id="mb-signature-error" form={errors} name="signature" />
          </div>
        </div>

        <fieldset>
          <legend class="field-legend">How it sends</legend>
          <div class="transport-grid">
            <For each={options()}>
              {(t) => (
                <label class="type-option" classList={{ selected: transport() === t.id }}>
                  <input
                    type="radio"
                    name="transport"
                    value={t.id}
                    checked={transport() === t.id}
                    onChange={() => setTransport(t.id)}
                    class="option-input"
                  />
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
          <Show when={strandedOutbox()}>
            <div class="notice" role="note" data-testid="outbox-refused">
              <Icon name="alert" size={16} />
              <p>
                This mailbox uses the Outbox (test) transport, which only stores emails on a local server: here it sends nothing. Choose how
                it sends.
              </p>
            </div>
          </Show>
          <Show when={signedIn && transport() !== signedIn.id}>
            <div class="notice" role="note" data-testid="sign-in-dropped">
              <Icon name="alert" size={16} />
              <p>
                Saving switches this mailbox away from its {signedIn!.provider} sign-in: the sign-in is deleted and replies are no longer
                checked. To come back, sign in with {signedIn!.provider} again as {m!.email}.
              </p>
            </div>
          </Show>
          <FieldError id="mb-transport-error" form={errors} name="transport" />
        </fieldset>

        <Show when={transport() === "smtp"}>
          <fieldset class="subform">
            <legend class="field-legend">SMTP server</legend>
            <div class="form-grid smtp-grid">
              <div class="field">
                <label for="mb-host">Host</label>
                <input
                  id="mb-host"
                  name="smtp_host"
                  required
                  value={m?.smtp?.host ?? ""}
                  onInput={(e) => setServerField("host", e.currentTarget.value)}
                  placeholder="smtp.example.com"
                  autocomplete="off"
                  aria-invalid={inv("smtp.host", "smtp")}
                  aria-describedby="mb-host-error"
                />
                <FieldError id="mb-host-error" form={errors} name={["smtp.host", "smtp"]} />
              </div>
              <div class="field">
                <label for="mb-port">Port</label>
                <input
                  id="mb-port"
                  name="smtp_port"
                  type="number"
                  min={1}
                  max={65535}
                  required
                  value={m?.smtp?.port ?? 587}
                  onInput={(e) => setServerField("port", e.currentTarget.value)}
                  aria-invalid={inv("smtp.port")}
                  aria-describedby="mb-port-help mb-port-error"
                />
                <p id="mb-port-help" class="field-help">
                  587 (STARTTLS) or 465 (TLS). Port 25 is blocked on Cloudflare.
                </p>
                <FieldError id="mb-port-error" form={errors} name="smtp.port" />
              </div>
              <div class="field">
                <label for="mb-security">Security</label>
                <select
                  id="mb-security"
                  name="smtp_security"
                  onChange={(e) => setServerField("security", e.currentTarget.value)}
                  aria-invalid={inv("smtp.security")}
                  aria-describedby="mb-security-error"
                >
                  <option value="starttls" selected={(m?.smtp?.security ?? "starttls") === "starttls"}>
                    STARTTLS
                  </option>
                  <option value="tls" selected={m?.smtp?.security === "tls"}>
                    TLS
                  </option>
                  <option value="none" selected={m?.smtp?.security === "none"}>
                    None (unencrypted)
                  </option>
                </select>
                <FieldError id="mb-security-error" form={errors} name="smtp.security" />
              </div>
              <div class="field">
                <label for="mb-user">Username</label>
                <input
                  id="mb-user"
                  name="smtp_username"
                  maxlength={254}
                  value={m?.smtp?.username ?? ""}
                  onInput={(e) => setServerField("username", e.currentTarget.value)}
                  autocomplete="off"
                  aria-invalid={inv("smtp.username")}
                  aria-describedby="mb-user-error"
                />
                <FieldError id="mb-user-error" form={errors} name="smtp.username" />
              </div>
              <div class="field full">
                <label for="mb-pass">Password</label>
                <Show
                  when={askPassword()}
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
                  <input
                    id="mb-pass"
                    name="smtp_password"
                    type="password"
                    maxlength={500}
                    autocomplete="new-password"
                    aria-invalid={inv("smtp.password")}
                    aria-describedby="mb-pass-help mb-pass-error"
                  />
                  <p id="mb-pass-help" class="field-help">
                    <Show
                      when={serverChanged() && m?.smtp?.has_password}
                      fallback={<>Stored encrypted and never shown again. {m?.smtp?.has_password ? "Leave empty to remove it." : ""}</>}
                    >
                      You changed the server or account: enter the password again. The saved one is only sent to the server it was saved
                      for.
                    </Show>
                  </p>
                </Show>
                <FieldError id="mb-pass-error" form={errors} name="smtp.password" />
              </div>
            </div>
          </fieldset>
        </Show>

        <fieldset>
          <legend class="field-legend">Sending limits</legend>
          <div class="limits-grid">
            <div class="field">
              <label for="mb-daily">Per day</label>
              <input
                id="mb-daily"
                name="daily_limit"
                type="number"
                min={1}
                max={5000}
                value={m?.daily_limit ?? 50}
                onInput={(e) => setDaily(Number(e.currentTarget.value) || 1)}
                aria-invalid={inv("daily_limit")}
                aria-describedby="mb-daily-error"
              />
              <FieldError id="mb-daily-error" form={errors} name="daily_limit" />
            </div>
            <div class="field">
              <label for="mb-hourly">Per hour</label>
              <input
                id="mb-hourly"
                name="hourly_limit"
                type="number"
                min={1}
                max={Math.min(1000, Math.max(1, daily()))}
                value={m?.hourly_limit ?? 20}
                aria-invalid={inv("hourly_limit")}
                aria-describedby="mb-hourly-error"
              />
              <FieldError id="mb-hourly-error" form={errors} name="hourly_limit" />
            </div>
            <div class="field">
              <label for="mb-gap">Gap between sends (s)</label>
              <input
                id="mb-gap"
                name="min_gap_seconds"
                type="number"
                min={0}
                max={3600}
                value={m?.min_gap_seconds ?? 60}
                aria-invalid={inv("min_gap_seconds")}
                aria-describedby="mb-gap-error"
              />
              <FieldError id="mb-gap-error" form={errors} name="min_gap_seconds" />
            </div>
            <div class="field">
              <label for="mb-jitter">Random extra (s)</label>
              <input
                id="mb-jitter"
                name="jitter_seconds"
                type="number"
                min={0}
                max={3600}
                value={m?.jitter_seconds ?? 30}
                aria-invalid={inv("jitter_seconds")}
                aria-describedby="mb-jitter-error"
              />
              <FieldError id="mb-jitter-error" form={errors} name="jitter_seconds" />
            </div>
          </div>
          <p class="field-help">
            Day and hour limits are rolling windows (the last 24 hours, the last 60 minutes). New mailboxes should start low and ramp up.
          </p>
        </fieldset>

        <FormProblems form={errors} />
      </form>
    </Dialog>
  );
}
