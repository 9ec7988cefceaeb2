import { A, createAsync } from "@solidjs/router";
import { createSignal, For, Show } from "solid-js";
import { useWrite } from "../../actions";
import { SecretBox } from "../../components/SecretBox";
import { formatDateTime } from "../../format";
import { getMeetingsWebhook, rotateMeetingsSecretAction } from "../../queries/meetings";
import { getMe } from "../../queries/session";
import "./MeetingsWebhook.css";

/**
 * Settings → Webhooks: the signed "meeting booked" webhook a scheduling tool or a script calls (our
 * own format, shown here exactly). An admin creates or rotates the team's secret; it is shown here once,
 * right after, and never again. The last 20 signed requests are listed with what came of each.
 */
export function MeetingsWebhook() {
  const me = createAsync(() => getMe());
  const isAdmin = () => me()?.user.role === "admin";
  const info = createAsync(async () => (isAdmin() ? getMeetingsWebhook() : undefined));
  const [secret, setSecret] = createSignal<string | null>(null);
  const [rotatedUntil, setRotatedUntil] = createSignal<number | null>(null);
  const rotate = useWrite(rotateMeetingsSecretAction, { failed: () => "Couldn't create the secret" });
  const url = () => `${location.origin}/api/webhooks/meetings`;
  return (
    <div class="card meetings-webhook">
      <h2 class="card-title">Meeting booked webhook</h2>
      <p class="muted">
        A signed JSON webhook: when a prospect books a meeting, your scheduling tool (if it can send a custom signed request) or a small
        script of yours posts it here. The contact is marked and finished in its open sequences with reason “meeting booked”. Seqflare reads
        no scheduling tool's own format, only the one below. Requests must be at most 5 minutes old and each signature is accepted once (one
        that failed can be sent again). A booking for an address that is no contact answers 200 with <code>"matched": false</code> and is
        listed below.
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
        <div>
          <dt>Seqflare-Signature header</dt>
          <dd>
            <code>t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "&lt;t&gt;.&lt;raw body&gt;" under the secret&gt;</code>
          </dd>
        </div>
        <div>
          <dt>Body (JSON)</dt>
          <dd>
            <code data-testid="webhook-body-format">{`{"email": "ada@example.com", "event_id": "evt_123", "booked_at": 1767225600000}`}</code>
            <div class="muted small">
              contact_id instead of email, if you have it. event_id (recommended) books nothing twice; booked_at is in ms since the epoch
              (now if left out).
            </div>
          </dd>
        </div>
        <Show when={info()}>
          {(i) => (
            <div>
              <dt>Secret</dt>
              <dd data-testid="webhook-secret-status">
                {i().configured ? `${i().hint}… created ${formatDateTime(i().created_at ?? 0)}` : "Not created yet"}
                <Show when={i().previous_valid_until}>
                  {(until) => <> (the previous secret is still accepted until {formatDateTime(until())})</>}
                </Show>
              </dd>
            </div>
          )}
        </Show>
      </dl>
      <Show when={secret()}>
        {(s) => (
          <SecretBox
            titleId="webhook-secret-title"
            title="New webhook secret"
            warning={
              <>
                Copy it into your scheduling tool or script now: it won't be shown again.
                <Show when={rotatedUntil()} fallback=" ">
                  {(until) => <> The previous secret is still accepted until {formatDateTime(until())}, then no longer.</>}
                </Show>
              </>
            }
            secret={s()}
            testId="webhook-secret"
            copiedMessage="Webhook secret copied to clipboard"
          />
        )}
      </Show>
      <Show when={isAdmin()} fallback={<p class="muted small">Only an admin can create or rotate the secret.</p>}>
        <button
          type="button"
          class="btn btn-secondary"
          disabled={rotate.pending()}
          onClick={async () => {
            const r = await rotate.run();
            if (r) {
              setSecret(r.secret);
              setRotatedUntil(r.previous_valid_until);
            }
          }}
        >
          {info()?.configured ? "Rotate secret" : "Create secret"}
        </button>
      </Show>
      <Show when={info()}>
        {(i) => (
          <section aria-labelledby="webhook-deliveries-title">
            <h3 id="webhook-deliveries-title" class="meetings-webhook-subtitle">
              Recent deliveries
            </h3>
            <Show
              when={i().deliveries.length}
              fallback={<p class="muted small">No signed request yet. Unsigned or wrongly signed ones are refused (401) and not listed.</p>}
            >
              <div class="table-wrap">
                <table class="table" data-testid="webhook-deliveries">
                  <caption class="sr-only">The last 20 signed requests, latest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Named</th>
                      <th scope="col">Contact</th>
                      <th scope="col">Result</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={i().deliveries}>
                      {(x) => (
                        <tr>
                          <td>{formatDateTime(x.received_at)}</td>
                          <td>
                            {x.named ?? <span class="muted">—</span>}
                            <Show when={x.event_id}>{(e) => <div class="muted small">event {e()}</div>}</Show>
                          </td>
                          <td>
                            <Show when={x.contact_id} fallback={<span class="muted">No match</span>}>
                              {(id) => <A href={`/contacts/${id()}`}>Contact</A>}
                            </Show>
                          </td>
                          <td>
                            {RESULT[x.result]} <span class="muted small">({x.status})</span>
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
          </section>
        )}
      </Show>
    </div>
  );
}

const RESULT: Record<string, string> = {
  booked: "Meeting recorded",
  duplicate: "Already recorded",
  no_contact: "No contact with that id or email: nothing booked",
  invalid: "Refused: the body is not valid",
  failed: "Failed on our side: the tool may send it again",
};
