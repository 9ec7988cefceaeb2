import { createAsync, useParams } from "@solidjs/router";
import { ErrorBoundary, Show, Suspense } from "solid-js";
import { useWrite } from "../actions";
import { ApiError } from "../api";
import { errorMessage } from "../components/Status";
import { FieldError } from "../components/FieldError";
import { Icon } from "../components/Icon";
import { LogoMark } from "../components/Logo";
import { FormProblems } from "../forms";
import { getOpenPasswordReset, usePasswordResetAction } from "../queries/team";
import { usePageTitle } from "../title";

import "./Login.css";

/** /reset-password/<token>: the page a password reset link (issued by an admin) opens. Sets a new password, signed in. */
export default function ResetPassword() {
  usePageTitle("Set a new password");
  const params = useParams();
  const reset = createAsync(() => getOpenPasswordReset(params.token ?? ""));
  const save = useWrite(usePasswordResetAction, { form: "reset-form" });
  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    void save.run(params.token ?? "", String(f.get("password") ?? ""));
  };
  return (
    <div class="auth-page">
      <main class="auth-card" aria-labelledby="reset-title">
        <div class="auth-brand">
          <LogoMark size={40} />
          <span class="auth-product">Seqflare</span>
        </div>
        <ErrorBoundary
          fallback={(err) =>
            // Only a 404 means the link is gone; anything else may be passing, and the link still good.
            err instanceof ApiError && err.status === 404 ? (
              <>
                <h1 id="reset-title" class="auth-title">
                  Reset link not valid
                </h1>
                <div class="form-error" role="alert">
                  <Icon name="alert" size={16} />
                  <span>
                    This password reset link may have expired, been replaced by a newer one or been used. Ask an admin of your team for a
                    new one, or <a href="/login">sign in</a>.
                  </span>
                </div>
              </>
            ) : (
              <>
                <h1 id="reset-title" class="auth-title">
                  Couldn't check your link
                </h1>
                <div class="form-error" role="alert">
                  <Icon name="alert" size={16} />
                  <span>{errorMessage(err)}. Your link may still be fine: try again in a moment.</span>
                </div>
                <button type="button" class="btn btn-primary" onClick={() => window.location.reload()}>
                  Try again
                </button>
              </>
            )
          }
        >
          <Suspense
            fallback={
              <h1 id="reset-title" class="auth-title">
                Checking your link…
              </h1>
            }
          >
            <Show when={reset()}>
              {(r) => (
                <>
                  <h1 id="reset-title" class="auth-title">
                    Set a new password
                  </h1>
                  <p class="auth-subtitle">
                    For {r().name} in {r().team_name}. You are then signed in here, and signed out everywhere else.
                  </p>
                  <form id="reset-form" class="form" onSubmit={submit}>
                    <div class="field">
                      <label for="reset-email">Work email</label>
                      <input id="reset-email" type="email" value={r().email} readonly autocomplete="username" />
                    </div>
                    <div class="field">
                      <label for="reset-password">New password</label>
                      <input
                        id="reset-password"
                        name="password"
                        type="password"
                        required
                        minlength={8}
                        maxlength={200}
                        autocomplete="new-password"
                        aria-invalid={save.errors.invalid("password")}
                        aria-describedby="reset-password-help reset-password-error"
                      />
                      <p id="reset-password-help" class="field-help">
                        At least 8 characters.
                      </p>
                      <FieldError id="reset-password-error" form={save.errors} name="password" />
                    </div>
                    <FormProblems form={save.errors} />
                    <button type="submit" class="btn btn-primary btn-block" disabled={save.pending()}>
                      {save.pending() ? "Saving…" : "Set password and sign in"}
                    </button>
                  </form>
                </>
              )}
            </Show>
          </Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}
