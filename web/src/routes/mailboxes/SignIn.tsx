// Connecting Gmail and Microsoft 365 mailboxes by signing in: the two buttons (or, when the server
// has no OAuth app for a provider, what an admin must configure), the "sign in again" action for a
// mailbox that needs reconnecting, and the result the provider's redirect brings back.
import { createAsync, revalidate, useSearchParams } from "@solidjs/router";
import { createEffect, createSignal, For, Show } from "solid-js";
import { Icon } from "../../components/Icon";
import { notify } from "../../components/Toast";
import { getMailboxes, getOAuthProviders, startSignInAction } from "../../queries/mailboxes";
import { useWrite } from "../../actions";

const LABEL = { google: "Connect Gmail", microsoft: "Connect Microsoft 365" } as const;

/** Sends the browser to the provider's sign-in; failures show in words. */
export function useSignIn() {
  const start = useWrite(startSignInAction, { failed: () => "Couldn't start the sign-in" });
  return async (provider: "google" | "microsoft", mailboxId?: string) => {
    const url = await start.run(provider, mailboxId);
    if (url) location.assign(url);
  };
}

export function SignInButtons() {
  const providers = createAsync(() => getOAuthProviders());
  const [help, setHelp] = createSignal<string | null>(null);
  const signIn = useSignIn();
  return (
    <>
      <For each={providers() ?? []}>
        {(p) => (
          <button
            type="button"
            class="btn btn-secondary"
            aria-describedby={p.configured ? undefined : `signin-help-${p.provider}`}
            onClick={() => (p.configured ? void signIn(p.provider) : setHelp(help() === p.provider ? null : p.provider))}
          >
            <Icon name="mail" size={15} /> {LABEL[p.provider]}
          </button>
        )}
      </For>
      <For each={(providers() ?? []).filter((p) => !p.configured && help() === p.provider)}>
        {(p) => (
          <p id={`signin-help-${p.provider}`} class="mailbox-alert" role="status">
            {p.name} sign-in is not configured on this server. An admin sets {p.missing.join(" and ")} (<code>wrangler secret put</code>, or
            <code>.dev.vars</code> locally) and registers <code>{p.redirect_uri}</code> as the OAuth app's redirect URL.
          </p>
        )}
      </For>
    </>
  );
}

/**
 * What each code of the redirect's ?connect_error= says (worker/services/mailbox-connect.ts
 * CONNECT_ERRORS). Fixed words only: the URL is anyone's to craft, so its text is never shown.
 */
const CONNECT_ERROR_WORDS: Record<string, string> = {
  unknown_provider: "That sign-in provider is not one Seqflare knows.",
  expired: "The sign-in expired or was not started here. Try Connect again.",
  other_user: "This sign-in was started by another user. Try Connect again.",
  session_expired: "Your session expired during the sign-in. Try Connect again.",
  denied: "Access was not allowed on the sign-in screen.",
  provider_error: "The provider could not complete the sign-in. Try Connect again.",
  no_code: "The provider sent no authorization code. Try Connect again.",
  not_configured: "Sign-in with this provider is not configured on this server.",
  refused:
    "The provider refused the sign-in, or sending email or offline access was not allowed on its consent screen. Try Connect again and allow both.",
  read_not_granted:
    "Reading email was not allowed on the consent screen. Seqflare reads the mailbox only to find replies, so it stops writing to people who answered: try Connect again and allow reading email.",
  verify_failed: "The provider refused the check of the signed-in account. Try again in a moment.",
  wrong_account: "You signed in with another account than this mailbox's. Sign in with the mailbox's own account.",
  already_connected: "This address is already connected.",
  not_allowed: "You can't connect this mailbox: it belongs to someone else, or your role can't connect mailboxes.",
};
const connectErrorWords = (code: unknown) =>
  (typeof code === "string" && Object.hasOwn(CONNECT_ERROR_WORDS, code) && CONNECT_ERROR_WORDS[code]) ||
  "The sign-in did not complete. Try Connect again.";

/** The outcome the provider's redirect carries back (?connected= or ?connect_error=), shown once. */
export function SignInResult() {
  const [params, setParams] = useSearchParams();
  createEffect(() => {
    const ok = params.connected;
    const err = params.connect_error;
    if (!ok && !err) return;
    if (err) notify(`Mailbox not connected: ${connectErrorWords(err)}`, "danger");
    else notify("Mailbox connected and verified: it sends from now on");
    setParams({ connected: undefined, connect_error: undefined }, { replace: true });
    void revalidate(getMailboxes.key);
  });
  return (
    <Show when={params.connect_error}>
      <p class="mailbox-alert" role="alert">
        {connectErrorWords(params.connect_error)}
      </p>
    </Show>
  );
}
