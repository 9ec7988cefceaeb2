import { createSignal, Show } from "solid-js";
import { useWrite } from "../../actions";
import { Card } from "../../components/Card";
import { FieldError } from "../../components/FieldError";
import { Icon } from "../../components/Icon";
import { FormProblems } from "../../forms";
import { changePasswordAction } from "../../queries/team";

/** Settings → Account: change your own password. Your other sessions end; this one stays signed in. */
export function ChangePassword() {
  const change = useWrite(changePasswordAction, { form: "password-form" });
  const [done, setDone] = createSignal(false);
  const [mismatch, setMismatch] = createSignal(false);
  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    setDone(false);
    const next = String(f.get("new_password") ?? "");
    if (next !== String(f.get("confirm_password") ?? "")) {
      change.errors.clear();
      setMismatch(true);
      return;
    }
    setMismatch(false);
    const r = await change.run(String(f.get("current_password") ?? ""), next);
    if (r) {
      form.reset();
      setDone(true);
    }
  };
  return (
    <Card title="Change password" subtitle="At least 8 characters. You stay signed in here; your other sessions are signed out.">
      <form id="password-form" class="form form-narrow" onSubmit={submit}>
        <div class="field">
          <label for="current-password">Current password</label>
          <input
            id="current-password"
            name="current_password"
            type="password"
            autocomplete="current-password"
            required
            maxlength={200}
            aria-invalid={change.errors.invalid("current_password")}
            aria-describedby="current-password-error"
          />
          <FieldError id="current-password-error" form={change.errors} name="current_password" />
        </div>
        <div class="field">
          <label for="new-password">New password</label>
          <input
            id="new-password"
            name="new_password"
            type="password"
            autocomplete="new-password"
            required
            minlength={8}
            maxlength={200}
            aria-invalid={change.errors.invalid("new_password")}
            aria-describedby="new-password-error"
          />
          <FieldError id="new-password-error" form={change.errors} name="new_password" />
        </div>
        <div class="field">
          <label for="confirm-password">Repeat the new password</label>
          <input
            id="confirm-password"
            name="confirm_password"
            type="password"
            autocomplete="new-password"
            required
            maxlength={200}
            aria-invalid={mismatch() || undefined}
            aria-describedby="confirm-password-error"
          />
          <FieldError id="confirm-password-error" message={mismatch() ? "The two new passwords differ" : undefined} />
        </div>
        <FormProblems form={change.errors} />
        <Show when={done()}>
          <p class="form-success" role="status">
            <Icon name="check" size={16} /> Password changed. Your other sessions are signed out.
          </p>
        </Show>
        <div>
          <button type="submit" class="btn btn-primary" disabled={change.pending()}>
            {change.pending() ? "Saving…" : "Change password"}
          </button>
        </div>
      </form>
    </Card>
  );
}
