import { action, createAsync, revalidate } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import { useWrite } from "../actions";
import { api, data, type Mailbox } from "../api";
import { Badge, type Tone } from "../components/Badge";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Dialog } from "../components/Dialog";
import { CardGrid } from "../components/CardGrid";
import { EmptyState } from "../components/EmptyState";
import { Icon } from "../components/Icon";
import { Meter } from "../components/Meter";
import { PageHeader } from "../components/PageHeader";
import { TableSkeleton } from "../components/Status";
import { notify } from "../components/Toast";
import { formatDay, formatFull, formatNumber, formatRelative, formatTime, isToday, plural } from "../format";
import { connectMailboxAction, disconnectMailboxAction, getMailboxes } from "../queries/mailboxes";
import { getMe } from "../queries/session";
import { usePageTitle } from "../title";
import { MailboxForm, TRANSPORTS } from "./mailboxes/MailboxForm";
import { TestEmailDialog } from "./mailboxes/TestEmailDialog";
import { RemoveDialog } from "./mailboxes/RemoveDialog";
import { holdHeadline, transportName } from "./mailboxes/hold";
import { SignInButtons, SignInResult, useSignIn } from "./mailboxes/SignIn";
import { ScheduledEmails } from "./scheduled/ScheduledEmails";

import "./Mailboxes.css";
const STATUS: Record<Mailbox["status"], { label: string; tone: Tone }> = {
  connected: { label: "Connected", tone: "success" },
  disconnected: { label: "Disconnected", tone: "neutral" },
  paused: { label: "Paused", tone: "warning" },
  needs_reconnect: { label: "Needs reconnect", tone: "danger" },
};

/** A team admin ends a reconnect's wait for its reply check (the API refuses anyone else). */
const sendWithoutReplyCheckAction = action(
  async (id: string) =>
    (await data(api.mailboxes[":id"]["send-without-reply-check"].$post({ param: { id }, json: { confirm: true } }))).mailbox,
  "sendWithoutReplyCheck",
);

function QueueDialog(props: { mailbox: Mailbox; onClose: () => void }) {
  return (
    <Dialog
      open
      onClose={props.onClose}
      size="xl"
      title={`Scheduled from ${props.mailbox.email}`}
      description="Emails waiting in this mailbox, soonest first, with when each will go out given its window, limits and spacing."
    >
      <ScheduledEmails scope={{ mailbox_id: props.mailbox.id }} hide="mailbox" empty="Nothing is scheduled from this mailbox right now." />
    </Dialog>
  );
}

function MailboxCard(props: {
  m: Mailbox;
  ownerName: string;
  canEdit: boolean;
  onEdit: () => void;
  onTest: () => void;
  onQueue: () => void;
  onDisconnect: () => void;
  onRemove: () => void;
  isAdmin: boolean;
  onSendWithoutReplyCheck: () => void;
}) {
  const m = () => props.m;
  // Signed in again: nothing is sent until the reply check has read the inbox (the API's held_for_reply_check).
  const waiting = () => (m().status === "connected" ? m().held_for_reply_check : null);
  // Held by the provider (its rate limit, or a sign-in that could not be refreshed): nothing is sent until `until`.
  const hold = () => (m().status === "connected" ? m().capacity.hold : null);
  // The badge says what the mailbox does now: held (for its reply check or by its provider) it sends nothing,
  // so not a green Connected.
  const badge = (): { label: string; tone: Tone; title?: string } => {
    const w = waiting();
    if (w)
      return w.error
        ? { label: "Reply check failing", tone: "danger", title: "Connected, but nothing is sent until the reply check reads the inbox" }
        : {
            label: "Held: checking replies",
            tone: "warning",
            title: "Connected, but nothing is sent until the reply check reads the inbox",
          };
    const h = hold();
    if (h) {
      // A time of day when the hold ends today, else with its day ("Tomorrow 8:00 AM").
      const until = isToday(h.until) ? formatTime(h.until) : formatDay(h.until);
      return {
        label: `Held: ${h.cause === "rate_limited" ? "provider limit" : "sign-in failing"} until ${until}`,
        tone: "warning",
        title: `Connected, but nothing is sent until ${formatFull(h.until)}`,
      };
    }
    return STATUS[m().status];
  };
  const connect = useWrite(connectMailboxAction, {
    done: () => `${m().email} reconnected: held emails resume on their own`,
    failed: () => "Couldn't reconnect",
  });
  const busy = () => connect.inFlight().some(([id]) => id === m().id);
  const transport = () => TRANSPORTS.find((t) => t.id === m().transport);
  const transportLabel = () => transportName(m());
  const reconnect = () => connect.run(m().id);
  const signIn = useSignIn();
  return (
    <article
      class="mailbox-card"
      classList={{ "mailbox-down": m().status !== "connected" || !!waiting() || !!hold() }}
      aria-labelledby={`mb-${m().id}`}
      data-testid="mailbox-card"
      data-email={m().email}
    >
      <header class="mailbox-head">
        <span class="mailbox-avatar" aria-hidden="true">
          {m()
            .sender_name.split(/\s+/)
            .slice(0, 2)
            .map((w) => w[0]?.toUpperCase())
            .join("")}
        </span>
        <div class="mailbox-who">
          <h2 id={`mb-${m().id}`} class="mailbox-email">
            {m().email}
          </h2>
          <p class="muted small">
            {m().sender_name} · owner {props.ownerName}
          </p>
        </div>
        <div class="mailbox-badges">
          <Badge tone={badge().tone} dot title={badge().title}>
            {badge().label}
          </Badge>
          <Badge tone="neutral" title={transport()?.hint}>
            {transportLabel()}
            <Show when={m().smtp}>{(s) => <span class="muted"> · {s().host}</span>}</Show>
          </Badge>
        </div>
      </header>

      <Show when={m().status !== "connected"}>
        <div class={`mailbox-alert mailbox-alert-${m().status}`} role="status">
          <Icon name="alert" size={16} />
          <div>
            <strong>
              {m().status === "paused"
                ? "Paused after a sending error"
                : m().status === "needs_reconnect"
                  ? "Needs reconnect: sign in again"
                  : "Disconnected"}
            </strong>
            <p>{m().status_reason ?? "No reason recorded."} Its emails are held, not failed, and go out once it's reconnected.</p>
          </div>
        </div>
      </Show>

      <Show when={hold()}>
        {(hold) => (
          <div class="mailbox-alert mailbox-alert-paused" role="status">
            <Icon name="alert" size={16} />
            <div>
              <strong>
                {holdHeadline(m(), hold())}: sending resumes at{" "}
                <time datetime={new Date(hold().until).toISOString()} title={formatFull(hold().until)}>
                  {formatDay(hold().until)}
                </time>
              </strong>
              <p>{hold().reason} Its emails are held, not failed: nothing is sent from this mailbox until then.</p>
            </div>
          </div>
        )}
      </Show>

      <Show when={waiting()}>
        {(w) => (
          <div class="mailbox-alert mailbox-alert-paused" role="status" data-testid="mailbox-held-for-reply-check">
            <Icon name="alert" size={16} />
            <div>
              <strong>
                {w().error ? "The reply check after the reconnect is failing: nothing is sent" : "Checking for replies after the reconnect"}
              </strong>
              <p>
                Sending waits until it has read the inbox, so no follow-up goes to someone whose reply came while the mailbox was down
                <Show when={w().since}>
                  {(since) => (
                    <>
                      {" "}
                      (waiting since{" "}
                      <time datetime={new Date(since()).toISOString()} title={formatFull(since())}>
                        {formatDay(since())}
                      </time>
                      )
                    </>
                  )}
                </Show>
                . Its emails are held, not failed.
              </p>
              <Show when={w().error}>
                {(error) => (
                  <p>
                    {error()} The check runs again every minute. If it keeps failing, sign in again once what it says is fixed
                    {props.isAdmin ? ", or send without waiting (follow-ups may then reach people who replied)." : ", or ask an admin."}
                  </p>
                )}
              </Show>
            </div>
          </div>
        )}
      </Show>

      <Show when={m().status === "connected" && !waiting() && m().reply_check?.error}>
        <div class="mailbox-alert mailbox-alert-paused" role="status">
          <Icon name="alert" size={16} />
          <div>
            <strong>Replies could not be checked</strong>
            <p>{m().reply_check?.error} Sending is not affected; the check runs again every minute.</p>
          </div>
        </div>
      </Show>
      <div class="capacity">
        <div class="capacity-row">
          <span class="capacity-label">Last 24 hours</span>
          <span class="capacity-value">
            <strong>{formatNumber(m().capacity.used_last_24h)}</strong> of {formatNumber(m().daily_limit)} sent
          </span>
        </div>
        <Meter used={m().capacity.used_last_24h} limit={m().daily_limit} label={`${m().email} daily capacity used`} />
        <div class="capacity-row capacity-sub">
          <span>
            <strong>{formatNumber(m().capacity.left_today)}</strong> left in the rolling day
          </span>
          <span class="capacity-hour">
            This hour {formatNumber(m().capacity.used_last_hour)}/{formatNumber(m().hourly_limit)}
            <Meter used={m().capacity.used_last_hour} limit={m().hourly_limit} size="sm" label={`${m().email} hourly capacity used`} />
          </span>
        </div>
      </div>

      <dl class="mailbox-facts">
        <div>
          <dt>Queued</dt>
          <dd>{formatNumber(m().capacity.queued)}</dd>
        </div>
        <div>
          <dt>Next send</dt>
          <dd>
            <Show
              when={m().capacity.next_send_at}
              fallback={
                <span class="muted">{m().capacity.queued ? (waiting() ? "After the reply check" : "Waiting for a window") : "—"}</span>
              }
            >
              {(at) => (
                <time datetime={new Date(at()).toISOString()} title={formatFull(at())}>
                  {at() <= Date.now() ? "Now" : formatDay(at())}
                  <Show when={at() > Date.now() && at() - Date.now() < 20 * 3_600_000}>
                    <span class="muted small"> · {formatRelative(at())}</span>
                  </Show>
                </time>
              )}
            </Show>
          </dd>
        </div>
        <div>
          <dt>Spacing</dt>
          <dd>
            {m().min_gap_seconds}s <span class="muted">+ up to {m().jitter_seconds}s</span>
          </dd>
        </div>
      </dl>

      <footer class="card-actions">
        <button type="button" class="btn btn-secondary btn-sm" onClick={() => props.onQueue()}>
          <Icon name="calendar" size={14} /> Scheduled
        </button>
        <Show when={props.canEdit}>
          <button type="button" class="btn btn-secondary btn-sm" onClick={() => props.onTest()}>
            <Icon name="send" size={14} /> Send test
          </button>
          <button type="button" class="btn btn-secondary btn-sm" onClick={() => props.onEdit()}>
            <Icon name="pencil" size={14} /> Edit
          </button>
          <span class="spacer" />
          <Show
            when={m().status === "connected"}
            fallback={
              <Show
                when={m().transport === "gmail" || m().transport === "graph"}
                fallback={
                  <button type="button" class="btn btn-primary btn-sm" disabled={busy()} onClick={() => void reconnect()}>
                    <Icon name="refresh" size={14} /> {busy() ? "Reconnecting…" : "Reconnect"}
                  </button>
                }
              >
                <button
                  type="button"
                  class="btn btn-primary btn-sm"
                  onClick={() => void signIn(m().transport === "gmail" ? "google" : "microsoft", m().id)}
                >
                  <Icon name="refresh" size={14} /> Sign in again
                </button>
              </Show>
            }
          >
            <Show when={props.isAdmin && waiting()?.error}>
              <button type="button" class="btn btn-secondary btn-sm" onClick={() => props.onSendWithoutReplyCheck()}>
                <Icon name="send" size={14} /> Send without waiting
              </button>
            </Show>
            <button type="button" class="btn btn-danger-ghost btn-sm" onClick={() => props.onDisconnect()}>
              <Icon name="power" size={14} /> Disconnect
            </button>
          </Show>
          <button type="button" class="btn btn-danger-ghost btn-sm" onClick={() => props.onRemove()}>
            <Icon name="trash" size={14} /> Remove
          </button>
        </Show>
      </footer>
    </article>
  );
}

export default function Mailboxes() {
  usePageTitle("Mailboxes");
  const mailboxes = createAsync(() => getMailboxes());
  const me = createAsync(() => getMe());
  const [form, setForm] = createSignal<Mailbox | "new" | null>(null);
  const [testing, setTesting] = createSignal<Mailbox | null>(null);
  const [queue, setQueue] = createSignal<Mailbox | null>(null);
  const [disconnecting, setDisconnecting] = createSignal<Mailbox | null>(null);
  const [removing, setRemoving] = createSignal<Mailbox | null>(null);
  const [releasing, setReleasing] = createSignal<Mailbox | null>(null);
  const releaseWrite = useWrite(sendWithoutReplyCheckAction, {
    done: (saved) => `${saved?.email ?? "The mailbox"} sends its held emails now`,
    failed: () => "Couldn't send without waiting",
  });
  const release = async () => {
    const m = releasing();
    if (m && (await releaseWrite.run(m.id)) !== undefined) setReleasing(null);
  };
  const disconnectWrite = useWrite(disconnectMailboxAction, {
    done: () => `${disconnecting()?.email} disconnected: its emails are held`,
    failed: () => "Couldn't disconnect",
  });

  const ownerName = (m: Mailbox) => (m.user_id === me()?.user.id ? "you" : (m.owner_name ?? "a teammate"));
  const list = () => mailboxes()?.mailboxes ?? [];
  // Sent and limit over the same mailboxes, the connected ones: a disconnected mailbox's sends against
  // only connected limits could read "120 of 50".
  const totals = () => {
    const connected = list().filter((m) => m.status === "connected");
    // Held (by its provider, or for its reply check after a reconnect): connected but sending nothing.
    const held = connected.filter((m) => !!m.capacity.hold || !!m.held_for_reply_check).length;
    return {
      sending: connected.length - held,
      held,
      used: connected.reduce((a, m) => a + m.capacity.used_last_24h, 0),
      limit: connected.reduce((a, m) => a + m.daily_limit, 0),
      queued: list().reduce((a, m) => a + m.capacity.queued, 0),
    };
  };

  const disconnect = async () => {
    const m = disconnecting();
    if (m && (await disconnectWrite.run(m.id)) !== undefined) setDisconnecting(null);
  };

  return (
    <div class="page">
      <PageHeader
        title="Mailboxes"
        description="The accounts your sequences send from, and how much each may still send."
        actions={
          <>
            <button type="button" class="btn btn-secondary" onClick={() => void revalidate(getMailboxes.key)}>
              <Icon name="refresh" size={15} /> Refresh
            </button>
            <SignInButtons />
            <button type="button" class="btn btn-primary" onClick={() => setForm("new")}>
              <Icon name="plus" size={16} /> Connect mailbox
            </button>
          </>
        }
      />
      <SignInResult />
      <Suspense fallback={<TableSkeleton columns={4} rows={4} label="Loading mailboxes…" />}>
        <Show when={mailboxes()}>
          <Show
            when={list().length > 0}
            fallback={
              <EmptyState
                icon="mailboxes"
                title="No mailboxes connected"
                actions={
                  <button type="button" class="btn btn-primary" onClick={() => setForm("new")}>
                    <Icon name="plus" size={16} /> Connect a mailbox
                  </button>
                }
                points={[
                  {
                    icon: "shield",
                    title: "Limits that hold",
                    text: "A daily and an hourly cap over rolling windows, plus a minimum gap between sends, so no mailbox is ever pushed too hard.",
                  },
                  {
                    icon: "sequences",
                    title: "Spread across mailboxes",
                    text: "Contacts are assigned to the mailbox with the most capacity left; highest-scored prospects go first.",
                  },
                  {
                    icon: "alert",
                    title: "Paused, not lost",
                    text: "If a mailbox disconnects, its emails wait and resume when it reconnects.",
                  },
                ]}
              >
                Connected mailboxes appear here with today's sends, remaining capacity and connection health.
              </EmptyState>
            }
          >
            <div class="stat-row stat-row-compact">
              <div
                class="stat-card"
                data-testid="mailboxes-sending"
                title="Sending: connected and not held. Held: connected, but waiting for the provider's limit, a sign-in or the reply check"
              >
                <div>
                  <span class="stat-label">Mailboxes</span>
                  <span class="stat-value">
                    {totals().sending}
                    <span class="stat-of">
                      {" "}
                      of {list().length} sending
                      <Show when={totals().held > 0}> · {formatNumber(totals().held)} held</Show>
                    </span>
                  </span>
                </div>
              </div>
              <div class="stat-card" data-testid="mailboxes-sent-total" title="Sent by connected mailboxes, of their daily limits">
                <div>
                  <span class="stat-label">Sent, last 24 hours</span>
                  <span class="stat-value">
                    {formatNumber(totals().used)}
                    <span class="stat-of"> of {formatNumber(totals().limit)}</span>
                  </span>
                </div>
              </div>
              <div class="stat-card">
                <div>
                  <span class="stat-label">Queued</span>
                  <span class="stat-value">{formatNumber(totals().queued)}</span>
                  <span class="stat-note">{plural(totals().queued, "email")} waiting for a window or capacity</span>
                </div>
              </div>
            </div>
            <CardGrid>
              <For each={list()}>
                {(m) => (
                  <MailboxCard
                    m={m}
                    ownerName={ownerName(m)}
                    canEdit={m.can_edit}
                    onEdit={() => setForm(m)}
                    onTest={() => setTesting(m)}
                    onQueue={() => setQueue(m)}
                    onDisconnect={() => setDisconnecting(m)}
                    onRemove={() => setRemoving(m)}
                    isAdmin={me()?.user.role === "admin"}
                    onSendWithoutReplyCheck={() => setReleasing(m)}
                  />
                )}
              </For>
            </CardGrid>
          </Show>
        </Show>
      </Suspense>

      <Show when={form()} keyed>
        {(target) => (
          <MailboxForm
            open
            mailbox={target === "new" ? null : target}
            onClose={() => setForm(null)}
            onSaved={(saved) => {
              notify(target === "new" ? `${saved.email} connected` : `${saved.email} saved`);
              setForm(null);
            }}
          />
        )}
      </Show>
      <Show when={testing()} keyed>
        {(m) => <TestEmailDialog mailbox={m} onClose={() => setTesting(null)} />}
      </Show>
      <Show when={queue()} keyed>
        {(m) => <QueueDialog mailbox={m} onClose={() => setQueue(null)} />}
      </Show>
      <ConfirmDialog
        open={!!releasing()}
        title={`Send from ${releasing()?.email ?? ""} without waiting for the reply check?`}
        confirmLabel="Send without waiting"
        danger
        busy={releaseWrite.inFlight().length > 0}
        onConfirm={() => void release()}
        onCancel={() => setReleasing(null)}
      >
        <p>
          Its held emails go out now. Replies that came while it was disconnected are read only once the check works again, so follow-ups
          may reach people who already replied.
        </p>
        <Show when={releasing()?.held_for_reply_check?.error}>{(error) => <p class="muted small">Last check: {error()}</p>}</Show>
      </ConfirmDialog>
      <Show when={removing()} keyed>
        {(m) => (
          <RemoveDialog
            mailbox={m}
            // Where its contacts can go: a connected mailbox the user may send from (what the API accepts).
            targets={list().filter((t) => t.id !== m.id && t.can_send && t.status === "connected")}
            onClose={() => setRemoving(null)}
          />
        )}
      </Show>
      <ConfirmDialog
        open={!!disconnecting()}
        danger
        title={`Disconnect ${disconnecting()?.email}?`}
        confirmLabel="Disconnect"
        busy={disconnectWrite.pending()}
        onCancel={() => setDisconnecting(null)}
        onConfirm={() => void disconnect()}
      >
        <p>
          It stops sending right away. Its queued emails are held (not failed) and contacts show “Mailbox is disconnected” until you
          reconnect it.
        </p>
      </ConfirmDialog>
    </div>
  );
}
