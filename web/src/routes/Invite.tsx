import { createAsync, useParams } from "@solidjs/router";
import { ErrorBoundary, Show, Suspense } from "solid-js";
import { useWrite } from "../actions";
import { ApiError } from "../api";
import { errorMessage } from "../components/Status";
import { FieldError } from "../components/FieldError";
import { Icon } from "../components/Icon";
import { LogoMark } from "../components/Logo";
import { FormProblems } from "../forms";
import { acceptInviteAction, getOpenInvite } from "../queries/team";
import { usePageTitle } from "../title";

import "./Login.css";

/** /invite/<token>: the page an invite link opens. Set a name and password to join the team, signed in. */
export default function Invite() {
  usePageTitle("Join your team");
  const params = useParams();
  const invite = createAsync(() => getOpenInvite(params.token ?? ""));
  const accept = useWrite(acceptInviteAction, { form: "accept-form" });
  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    void accept.run(params.token ?? "", String(f.get("name") ?? "").trim(), String(f.get("password") ?? ""));
  };
  const gone = (
    <div class="form-error" role="alert">
      <Icon name="alert" size={16} />
      <span>
        This invite link is not valid: it may have expired, been revoked or been used. Ask an admin of your team for a new one, or{" "}
        <a href="/login">sign in</a> if you already have an account.
      </span>
    </div>
  );
  return (
    <div class="auth-page">
      <main class="auth-card" aria-labelledby="invite-title">
        <div class="auth-brand">
          <LogoMark size={40} />
          <span class="auth-product">Seqflare</span>
        </div>
        <ErrorBoundary
          fallback={(err) =>
            // Only a 404 means the link is gone: a server error or no network says so and offers to try
            // again (calling a working link dead had people ask for a new one, and the old one was retired).
            err instanceof ApiError && err.status === 404 ? (
              <>
                <h1 id="invite-title" class="auth-title">
                  Invite not found
                </h1>
                {gone}
              </>
            ) : (
              <>
                <h1 id="invite-title" class="auth-title">
                  Couldn't check your invite
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
              <h1 id="invite-title" class="auth-title">
                Checking your invite…
              </h1>
            }
          >
            <Show when={invite()}>
              {(i) => (
                <>
                  <h1 id="invite-title" class="auth-title">
                    Join {i().team_name}
                  </h1>
                  <p class="auth-subtitle">
                    You're invited as {i().role === "admin" ? "an admin" : "a member"}. Choose your name and a password to finish.
                  </p>
                  <form id="accept-form" class="form" onSubmit={submit}>
                    <div class="field">
                      <label for="invite-email">Work email</label>
                      <input id="invite-email" type="email" value={i().email} readonly autocomplete="username" />
                    </div>
                    <div class="field">
                      <label for="invite-name">Your name</label>
                      <input
                        id="invite-name"
                        name="name"
                        required
                        maxlength={120}
                        value={i().name ?? ""}
                        autocomplete="name"
                        aria-invalid={accept.errors.invalid("name")}
                        aria-describedby="invite-name-error"
                      />
                      <FieldError id="invite-name-error" form={accept.errors} name="name" />
                    </div>
                    <div class="field">
                      <label for="invite-password">Password</label>
                      <input
                        id="invite-password"
                        name="password"
                        type="password"
                        required
                        minlength={8}
                        maxlength={200}
                        autocomplete="new-password"
                        aria-invalid={accept.errors.invalid("password")}
                        aria-describedby="invite-password-help invite-password-error"
                      />
                      <p id="invite-password-help" class="field-help">
                        At least 8 characters.
                      </p>
                      <FieldError id="invite-password-error" form={accept.errors} name="password" />
                    </div>
                    <FormProblems form={accept.errors} />
                    <button type="submit" class="btn btn-primary btn-block" disabled={accept.pending()}>
                      {accept.pending() ? "Joining…" : `Join ${i().team_name}`}
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
