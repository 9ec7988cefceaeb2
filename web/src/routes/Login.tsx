import { createAsync, useSearchParams, useSubmission } from "@solidjs/router";
import { For, Show, Suspense } from "solid-js";
import { ApiError } from "../api";
import { getSignInOptions, signInAction } from "../queries/session";
import { FieldError } from "../components/FieldError";
import { Icon } from "../components/Icon";
import { createFormErrors } from "../forms";
import { LogoMark } from "../components/Logo";
import { usePageTitle } from "../title";

import "./Login.css";
const DEMO_LOGINS = [
  { email: "admin@demo.test", note: "Demo team admin" },
  { email: "rep1@demo.test", note: "Demo team rep" },
  { email: "rep2@demo.test", note: "Demo team rep" },
  { email: "admin@rival.test", note: "Another team's admin" },
];
const DEMO_PASSWORD = "demo1234";

function loginErrorText(err: unknown) {
  if (err instanceof ApiError) {
    return err.message;
  }
  return "Something went wrong. Try again.";
}

export default function Login() {
  usePageTitle("Sign in");
  const [params] = useSearchParams();
  const submission = useSubmission(signInAction);
  // Only a local server has the demo accounts: a deployment's page must not offer them (or their password).
  const options = createAsync(() => getSignInOptions().catch(() => ({ demo_accounts: false })));
  // A refused email or password shows beside its field; other refusals (wrong password, throttled) under the form.
  const errors = createFormErrors(() => submission.error);
  let emailInput!: HTMLInputElement;
  let passwordInput!: HTMLInputElement;

  const fillDemo = (email: string) => {
    emailInput.value = email;
    passwordInput.value = DEMO_PASSWORD;
    passwordInput.focus();
  };

  return (
    <div class="auth-page">
      <main class="auth-card" aria-labelledby="signin-title">
        <div class="auth-brand">
          <LogoMark size={40} />
          <span class="auth-product">Seqflare</span>
        </div>
        <h1 id="signin-title" class="auth-title">
          Sign in to your workspace
        </h1>
        <p class="auth-subtitle">Sales sequences that run on schedule, at the edge.</p>

        <form action={signInAction} method="post" class="form" aria-describedby={submission.error ? "signin-error" : undefined}>
          <input type="hidden" name="next" value={typeof params.next === "string" ? params.next : ""} />
          <div class="field">
            <label for="email">Work email</label>
            <input
              ref={emailInput}
              id="email"
              name="email"
              type="email"
              autocomplete="username"
              required
              autofocus
              maxlength={254}
              placeholder="you@company.com"
              aria-invalid={errors.invalid("email")}
              aria-describedby="email-error"
            />
            <FieldError id="email-error" form={errors} name="email" />
          </div>
          <div class="field">
            <label for="password">Password</label>
            <input
              ref={passwordInput}
              id="password"
              name="password"
              type="password"
              autocomplete="current-password"
              required
              maxlength={200}
              aria-invalid={errors.invalid("password")}
              aria-describedby="password-error"
            />
            <FieldError id="password-error" form={errors} name="password" />
          </div>
          <Show when={submission.error && !errors.problems().length}>
            <div id="signin-error" class="form-error" role="alert">
              <Icon name={submission.error instanceof ApiError && submission.error.status === 429 ? "clock" : "alert"} size={16} />
              <span>{loginErrorText(submission.error)}</span>
            </div>
          </Show>
          <button type="submit" class="btn btn-primary btn-block" disabled={submission.pending}>
            {submission.pending ? "Signing in…" : "Sign in"}
          </button>
        </form>

        {/* Its own boundary: the form shows at once, the hint when the server has said. */}
        <Suspense>
          <Show when={options()?.demo_accounts}>
            <aside class="demo-hint" aria-labelledby="demo-title">
              <div class="demo-hint-head">
                <Icon name="info" size={16} />
                <h2 id="demo-title">Local demo accounts</h2>
              </div>
              <p>
                Password for all: <code>{DEMO_PASSWORD}</code>. Pick one to fill the form.
              </p>
              <ul>
                <For each={DEMO_LOGINS}>
                  {(d) => (
                    <li>
                      <button type="button" class="demo-login" onClick={() => fillDemo(d.email)}>
                        <span class="demo-email">{d.email}</span>
                        <span class="muted small">{d.note}</span>
                      </button>
                    </li>
                  )}
                </For>
              </ul>
            </aside>
          </Show>
        </Suspense>
      </main>
    </div>
  );
}
