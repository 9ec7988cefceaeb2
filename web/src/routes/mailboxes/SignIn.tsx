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

/** The outcome the provider's redirect carries back (?connected= or ?connect_error=), shown once. */
export function SignInResult() {
  const [params, setParams] = useSearchParams();
  createEffect(() => {
    const ok = params.connected;
    const err = params.connect_error;
    if (!ok && !err) return;
    if (err) notify(`Mailbox not connected: ${err}`, "danger");
    else notify("Mailbox connected and verified: it sends from now on");
    setParams({ connected: undefined, connect_error: undefined }, { replace: true });
    void revalidate(getMailboxes.key);
  });
  return (
    <Show when={params.connect_error}>
      <p class="mailbox-alert" role="alert">
        {String(params.connect_error)}
      </p>
    </Show>
  );
}
