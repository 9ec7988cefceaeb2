import { createAsync, revalidate } from "@solidjs/router";
import { createEffect, createSignal, For, onCleanup, Show } from "solid-js";
import { useWrite } from "../../actions";
import { Badge } from "../../components/Badge";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { SecretBox } from "../../components/SecretBox";
import { FieldError } from "../../components/FieldError";
import { Icon } from "../../components/Icon";
import { FormProblems } from "../../forms";
import { formatDateTime } from "../../format";
import { getMe } from "../../queries/session";
import {
  createOutgoingWebhookAction,
  deleteOutgoingWebhookAction,
  getOutgoingWebhooks,
  getWebhookDeliveries,
  rotateOutgoingWebhookAction,
  testOutgoingWebhookAction,
  updateOutgoingWebhookAction,
  type OutgoingWebhook,
  type WebhookEventType,
} from "../../queries/webhooks-out";
import "./WebhooksOutgoing.css";

const EVENTS: { type: WebhookEventType; label: string }[] = [
  { type: "reply.received", label: "A prospect replied" },
  { type: "email.bounced", label: "An email bounced (hard)" },
  { type: "contact.unsubscribed", label: "A contact unsubscribed" },
  { type: "meeting.booked", label: "A meeting was booked" },
  { type: "run.finished", label: "A contact's run in a sequence ended" },
];

const STATUS: Record<string, string> = { pending: "Pending", delivered: "Delivered", failed: "Failed" };

function EventChoices(props: { name: string; chosen: WebhookEventType[]; onChange: (e: WebhookEventType[]) => void }) {
  return (
    <fieldset class="hook-events">
      <legend>Events</legend>
      <For each={EVENTS}>
        {(e) => (
          <label class="hook-event">
            <input
              type="checkbox"
              name={props.name}
              value={e.type}
              checked={props.chosen.includes(e.type)}
              onChange={(ev) =>
                props.onChange(ev.currentTarget.checked ? [...props.chosen, e.type] : props.chosen.filter((x) => x !== e.type))
              }
            />
            {e.label} <code>{e.type}</code>
          </label>
        )}
      </For>
    </fieldset>
  );
}

/** The secret just made, shown once: the API never returns it again. */
function NewSecret(props: { secret: string; onDone: () => void }) {
  return (
    <SecretBox
      titleId="hook-secret-title"
      title="Signing secret"
      warning="Copy it into your receiver now: it won't be shown again. Check each delivery's Seqflare-Signature with it."
      secret={props.secret}
      testId="outgoing-webhook-secret"
      copiedMessage="Signing secret copied to clipboard"
      onDone={props.onDone}
    />
  );
}

function Deliveries(props: { id: string }) {
  const list = createAsync(() => getWebhookDeliveries(props.id));
  // A delivery waiting for its first attempt (a test event goes out in seconds) is re-read until it has one.
  createEffect(() => {
    if (!list()?.deliveries.some((d) => d.status === "pending" && d.attempts === 0)) return;
    const timer = setInterval(() => void revalidate(getWebhookDeliveries.keyFor(props.id)), 3000);
    onCleanup(() => clearInterval(timer));
  });
  return (
    <Show when={list()}>
      {(l) => (
        <Show when={l().deliveries.length} fallback={<p class="muted small">No deliveries yet.</p>}>
          <div class="table-wrap">
            <table class="table" data-testid="outgoing-webhook-deliveries">
              <caption class="sr-only">The latest 20 deliveries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Status</th>
                  <th scope="col">Answer</th>
                  <th scope="col">When</th>
                  <th scope="col">Attempts</th>
                </tr>
              </thead>
              <tbody>
                <For each={l().deliveries}>
                  {(d) => (
                    <tr>
                      <td>
                        <code>{d.type}</code>
                        <div class="muted small">{d.event_id}</div>
                      </td>
                      <td>
                        <Badge tone={d.status === "delivered" ? "success" : d.status === "failed" ? "danger" : "neutral"} dot>
                          {STATUS[d.status]}
                        </Badge>
                        <Show when={d.status === "pending" && d.next_attempt_at && d.attempts > 0}>
                          <div class="muted small">Next try {formatDateTime(d.next_attempt_at!)}</div>
                        </Show>
                      </td>
                      <td>
                        <Show when={d.last_status !== null} fallback={<span class="muted">{d.last_error ?? "—"}</span>}>
                          {d.last_status}
                        </Show>
                      </td>
                      <td>{formatDateTime(d.last_attempt_at ?? d.created_at)}</td>
                      <td>{d.attempts}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      )}
    </Show>
  );
}

function Subscription(props: { s: OutgoingWebhook; onSecret: (s: string) => void }) {
  const [editing, setEditing] = createSignal<WebhookEventType[] | null>(null);
  const [confirm, setConfirm] = createSignal<"rotate" | "delete" | null>(null);
  const update = useWrite(updateOutgoingWebhookAction, { failed: () => "Couldn't change the subscription" });
  const rotate = useWrite(rotateOutgoingWebhookAction, { failed: () => "Couldn't rotate the secret" });
  const remove = useWrite(deleteOutgoingWebhookAction, { done: () => "Subscription deleted", failed: () => "Couldn't delete it" });
  const ping = useWrite(testOutgoingWebhookAction, { done: () => "Test event sent", failed: () => "Couldn't send a test event" });
  return (
    <li class="hook" data-testid="outgoing-webhook" data-hook-id={props.s.id}>
      <div class="hook-head">
        <code class="hook-url">{props.s.url}</code>
        <Show
          when={props.s.enabled}
          fallback={
            <Badge tone={props.s.disabled_reason ? "warning" : "neutral"} dot title={props.s.disabled_reason ?? undefined}>
              Off
            </Badge>
          }
        >
          <Badge tone="success" dot>
            On
          </Badge>
        </Show>
      </div>
      <Show when={props.s.disabled_reason}>{(why) => <p class="form-error small">{why()}</p>}</Show>
      <Show
        when={editing()}
        fallback={
          <p class="hook-subscribed">
            <For each={props.s.events}>{(e) => <code class="hook-type">{e}</code>}</For>
            <span class="muted small">secret {props.s.secret_hint}…</span>
            <Show when={props.s.previous_secret_hint && props.s.previous_secret_until}>
              <span class="muted small" data-testid="outgoing-webhook-previous-secret">
                the previous secret {props.s.previous_secret_hint}… also signs until {formatDateTime(props.s.previous_secret_until!)}
              </span>
            </Show>
          </p>
        }
      >
        {(chosen) => (
          <form
            class="form"
            onSubmit={async (e) => {
              e.preventDefault();
              if (await update.run(props.s.id, { events: chosen() })) setEditing(null);
            }}
          >
            <EventChoices name={`events-${props.s.id}`} chosen={chosen()} onChange={setEditing} />
            <FieldError id={`hook-events-error-${props.s.id}`} form={update.errors} name="events" />
            <div class="hook-actions">
              <button type="submit" class="btn btn-primary btn-sm" disabled={update.pending()}>
                Save events
              </button>
              <button type="button" class="btn btn-secondary btn-sm" onClick={() => setEditing(null)}>
                Cancel
              </button>
            </div>
          </form>
        )}
      </Show>
      <Show when={!editing()}>
        <div class="hook-actions">
          <button
            type="button"
            class="btn btn-secondary btn-sm"
            disabled={ping.pending() || !props.s.enabled}
            onClick={() => ping.run(props.s.id)}
          >
            Send a test event
          </button>
          <button type="button" class="btn btn-secondary btn-sm" onClick={() => setEditing([...props.s.events])}>
            Edit events
          </button>
          <button
            type="button"
            class="btn btn-secondary btn-sm"
            disabled={update.pending()}
            onClick={() => update.run(props.s.id, { enabled: !props.s.enabled })}
          >
            {props.s.enabled ? "Turn off" : "Turn on"}
          </button>
          <button type="button" class="btn btn-secondary btn-sm" onClick={() => setConfirm("rotate")}>
            Rotate signing secret
          </button>
          <button type="button" class="btn btn-danger-ghost btn-sm" onClick={() => setConfirm("delete")}>
            Delete
          </button>
        </div>
      </Show>
      <h4 class="hook-subtitle">Recent deliveries</h4>
      <Deliveries id={props.s.id} />
      <ConfirmDialog
        open={confirm() === "rotate"}
        title="Rotate the signing secret?"
        confirmLabel="Rotate signing secret"
        busy={rotate.pending()}
        onCancel={() => setConfirm(null)}
        onConfirm={async () => {
          const r = await rotate.run(props.s.id);
          setConfirm(null);
          if (r) props.onSecret(r.secret);
        }}
      >
        <p>
          Every delivery from now on is signed with the new secret, and for 24 hours with the current one too (a second <code>v1=</code> in
          Seqflare-Signature): update your receiver within a day and no event is lost. Rotating again within the day stops the oldest secret
          at once.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm() === "delete"}
        danger
        title="Delete this subscription?"
        confirmLabel="Delete"
        busy={remove.pending()}
        onCancel={() => setConfirm(null)}
        onConfirm={async () => {
          await remove.run(props.s.id);
          setConfirm(null);
        }}
      >
        <p>
          <code>{props.s.url}</code> gets nothing more, not even deliveries waiting for a retry, and its delivery list goes.
        </p>
      </ConfirmDialog>
    </li>
  );
}

/**
 * Settings → Webhooks, Outgoing: URLs subscribed to events (a CRM, Zapier, a team's own service). Each
 * delivery is a signed JSON POST; the secret is shown once, on create or rotate. Admins only.
 */
export function WebhooksOutgoing() {
  const me = createAsync(() => getMe());
  const isAdmin = () => me()?.user.role === "admin";
  const hooks = createAsync(async () => (isAdmin() ? getOutgoingWebhooks() : undefined));
  const [secret, setSecret] = createSignal<string | null>(null);
  const [url, setUrl] = createSignal("");
  const [events, setEvents] = createSignal<WebhookEventType[]>(EVENTS.map((e) => e.type));
  const create = useWrite(createOutgoingWebhookAction, { form: "hook-form" });
  return (
    <div class="card outgoing-webhooks" data-testid="outgoing-webhooks">
      <h2 class="card-title">Outgoing webhooks</h2>
      <p class="muted">
        Tell your CRM, Zapier or your own service when a prospect replies, an email bounces, a contact unsubscribes, a meeting is booked or
        a contact's run in a sequence ends. Each event is a JSON POST signed like the meetings webhook below
        {" ("}
        <code>Seqflare-Signature: t=…,v1=…</code>), tried again after 1 minute, 5, 30, 2 hours and 12 hours when your receiver doesn't
        answer 2xx within 10 seconds. After a rotation the old secret signs beside the new one for 24 hours. Events may arrive out of order.
        A subscription whose deliveries fail every retry 20 times in a row is turned off. A test event is tried once, at most 10 an hour,
        and never counts toward turning a subscription off.
      </p>
      <Show when={isAdmin()} fallback={<p class="muted small">Only an admin can manage outgoing webhooks.</p>}>
        <Show when={secret()}>{(s) => <NewSecret secret={s()} onDone={() => setSecret(null)} />}</Show>
        <Show when={hooks()}>
          {(h) => (
            <>
              <ul class="hooks">
                <For each={h().subscriptions}>{(s) => <Subscription s={s} onSecret={setSecret} />}</For>
              </ul>
              <Show
                when={h().subscriptions.length < h().limit}
                fallback={<p class="muted small">A team can have {h().limit} subscriptions: delete one to add another.</p>}
              >
                <form
                  id="hook-form"
                  class="form hook-form"
                  onSubmit={async (e) => {
                    e.preventDefault();
                    const r = await create.run(url().trim(), events());
                    if (r) {
                      setSecret(r.secret);
                      setUrl("");
                    }
                  }}
                >
                  <h3 class="hook-subtitle">Add a subscription</h3>
                  <div class="field">
                    <label for="hook-url">Receiver URL</label>
                    <input
                      id="hook-url"
                      name="url"
                      type="url"
                      required
                      placeholder="https://example.com/seqflare-events"
                      value={url()}
                      onInput={(e) => setUrl(e.currentTarget.value)}
                      aria-invalid={create.errors.invalid("url")}
                      aria-describedby="hook-url-error"
                    />
                    <FieldError id="hook-url-error" form={create.errors} name="url" />
                  </div>
                  <EventChoices name="events" chosen={events()} onChange={setEvents} />
                  <FieldError id="hook-events-error" form={create.errors} name="events" />
                  <FormProblems form={create.errors} />
                  <div>
                    <button type="submit" class="btn btn-primary" disabled={create.pending()}>
                      <Icon name="plus" size={16} />
                      {create.pending() ? "Adding…" : "Add subscription"}
                    </button>
                  </div>
                </form>
              </Show>
            </>
          )}
        </Show>
      </Show>
    </div>
  );
}
