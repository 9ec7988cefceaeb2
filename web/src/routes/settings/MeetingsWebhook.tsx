import { createAsync } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { useWrite } from "../../actions";
import { CopyField } from "../../components/CopyField";
import { Icon } from "../../components/Icon";
import { formatDateTime } from "../../format";
import { getMeetingsWebhook, rotateMeetingsSecretAction } from "../../queries/meetings";
import { getMe } from "../../queries/session";
import "./MeetingsWebhook.css";

/**
 * Settings → Webhooks: the signed "meeting booked" webhook a scheduling tool calls. An admin creates
 * or rotates the team's secret; it is shown here once, right after, and never again.
 */
export function MeetingsWebhook() {
  const me = createAsync(() => getMe());
  const isAdmin = () => me()?.user.role === "admin";
  const info = createAsync(async () => (isAdmin() ? getMeetingsWebhook() : undefined));
  const [secret, setSecret] = createSignal<string | null>(null);
  const rotate = useWrite(rotateMeetingsSecretAction, { failed: () => "Couldn't create the secret" });
  const url = () => `${location.origin}/api/webhooks/meetings`;
  return (
    <div class="card meetings-webhook">
      <h2 class="card-title">Meeting booked webhook</h2>
      <p class="muted">
        Your scheduling tool posts here when a prospect books a meeting: the contact is marked and finished in its sequences with reason
        “meeting booked”. Requests are signed with your team's secret (HMAC-SHA256 of the timestamp and body), must be at most 5 minutes
        old, and each signature is accepted once. The README shows the format.
      </p>
      <dl class="meetings-webhook-facts">
        <div>
          <dt>URL</dt>
          <dd>
            <code>{url()}</code>
          </dd>
        </div>
        <div>
          <dt>Seqflare-Team header</dt>
          <dd>
            <code data-testid="webhook-team">{me()?.team.id ?? "…"}</code>
          </dd>
        </div>
        <Show when={info()}>
          {(i) => (
            <div>
              <dt>Secret</dt>
              <dd data-testid="webhook-secret-status">
                {i().configured ? `${i().hint}… created ${formatDateTime(i().created_at ?? 0)}` : "Not created yet"}
              </dd>
            </div>
          )}
        </Show>
      </dl>
      <Show when={secret()}>
        {(s) => (
          <div class="secret-box" role="region" aria-labelledby="webhook-secret-title">
            <div class="secret-head">
              <Icon name="key" size={18} />
              <h3 id="webhook-secret-title">New webhook secret</h3>
            </div>
            <p class="secret-warning">
              <Icon name="alert" size={16} />
              Copy it into your scheduling tool now: it won't be shown again. The previous secret no longer works.
            </p>
            <CopyField text={s()} testId="webhook-secret" copiedMessage="Webhook secret copied to clipboard" />
          </div>
        )}
      </Show>
      <Show when={isAdmin()} fallback={<p class="muted small">Only an admin can create or rotate the secret.</p>}>
        <button
          type="button"
          class="btn btn-secondary"
          disabled={rotate.pending()}
          onClick={async () => {
            const r = await rotate.run();
            if (r) setSecret(r.secret);
          }}
        >
          {info()?.configured ? "Rotate secret" : "Create secret"}
        </button>
      </Show>
    </div>
  );
}
