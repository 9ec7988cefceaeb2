import { A, createAsync } from "@solidjs/router";
import { For, Show, Suspense } from "solid-js";
import { EmptyState } from "../components/EmptyState";
import { Icon } from "../components/Icon";
import { Meter } from "../components/Meter";
import { TableSkeleton } from "../components/Status";
import { formatDay, formatFull, formatNumber, formatRelative, plural } from "../format";
import { holdHeadline } from "./mailboxes/hold";
import { getMailboxes } from "../queries/mailboxes";
import { pct, rateText } from "../reports";
import { getHome } from "../queries/reports";
import "./Home.css";
import { Card } from "../components/Card";
import { usePageTitle } from "../title";

const MAILBOX_STATE: Record<string, string> = { disconnected: "Disconnected", paused: "Paused", needs_reconnect: "Needs reconnect" };

/**
 * The landing page after sign-in: what needs attention today. Credits, each mailbox's capacity used
 * and left, tasks due and overdue, the latest replies, add-contacts jobs still running, and sequences
 * whose bounce rate is over the line mailbox providers draw.
 */
export default function Home() {
  usePageTitle("Home");
  const home = createAsync(() => getHome());
  const mailboxes = createAsync(() => getMailboxes());
  return (
    <div class="page home">
      <header class="page-header">
        <h1 class="page-title">Home</h1>
      </header>
      <Suspense fallback={<TableSkeleton columns={3} rows={3} label="Loading your day…" />}>
        <Show when={home()}>
          {(h) => (
            <>
              <div class="stat-row">
                <A href="/credits" class="stat-card home-link" data-testid="home-credits">
                  <span class="stat-icon">
                    <Icon name="credits" />
                  </span>
                  <div>
                    <span class="stat-label">Credits left</span>
                    <span class="stat-value">{formatNumber(h().credits)}</span>
                  </div>
                </A>
                <A href="/tasks" class="stat-card home-link" data-testid="home-tasks">
                  <span class="stat-icon">
                    <Icon name="tasks" />
                  </span>
                  <div>
                    <span class="stat-label">Your tasks due today</span>
                    <span class="stat-value">{formatNumber(h().tasks.due_today)}</span>
                    <span class="stat-note" classList={{ "text-danger": h().tasks.overdue > 0 }}>
                      {plural(h().tasks.overdue, "overdue task")}
                    </span>
                  </div>
                </A>
              </div>

              <Show when={h().high_bounce_sequences.length > 0}>
                <section class="notice home-alert" aria-labelledby="bounce-title" data-testid="home-bounces">
                  <Icon name="alert" size={18} />
                  <div>
                    <h2 id="bounce-title" class="card-title">
                      Bounce rate too high
                    </h2>
                    <p>
                      Over the last {h().bounce_window_days} days these sequences bounced more than {pct(h().thresholds.bounce_rate_max, 0)}{" "}
                      of their emails. Verify the addresses
                      {h().high_bounce_sequences.some((s) => s.active) ? " or pause them" : " before turning them back on"}: high bounce
                      rates get mailboxes blocked.
                    </p>
                    <ul class="home-list">
                      <For each={h().high_bounce_sequences}>
                        {(s) => (
                          <li>
                            <A href={`/sequences/${s.sequence_id}?tab=report`}>{s.name}</A>
                            {s.active ? "" : " (off)"}: {rateText(s.bounce_rate, s.sent, h().thresholds.bounce_rate_max)} (
                            {formatNumber(s.bounced)} of {formatNumber(s.sent)})
                          </li>
                        )}
                      </For>
                    </ul>
                  </div>
                </section>
              </Show>

              <div class="home-grid">
                {/* The limits are rolling windows (capacity.used_last_24h), not a calendar day: the card says so. */}
                <Card title="Sending capacity (last 24 hours)" titleId="capacity-title" flush>
                  <Show when={mailboxes()} fallback={<p class="muted home-pad">Loading mailboxes…</p>}>
                    {(m) => (
                      <ul class="home-list home-pad" data-testid="home-capacity">
                        <For
                          each={m().mailboxes}
                          fallback={
                            <li class="muted">
                              No mailboxes connected yet. <A href="/mailboxes">Connect one</A>.
                            </li>
                          }
                        >
                          {(mb) => (
                            <li class="home-capacity">
                              <div class="home-row">
                                <span>{mb.email}</span>
                                {/* A mailbox that can't send has nothing left to send today, whatever its limit says. */}
                                <Show
                                  when={mb.status === "connected"}
                                  fallback={
                                    <span class="small reason reason-warning" data-testid="home-mailbox-not-sending">
                                      {MAILBOX_STATE[mb.status] ?? mb.status}: sends nothing until it is back
                                    </span>
                                  }
                                >
                                  {/* Signed in again: nothing goes until the reply check has read the inbox. */}
                                  <Show
                                    when={!mb.held_for_reply_check}
                                    fallback={
                                      <span
                                        class="small reason reason-warning"
                                        data-testid="home-mailbox-reply-check"
                                        title={mb.held_for_reply_check?.error ?? undefined}
                                      >
                                        {mb.held_for_reply_check?.error
                                          ? "Reply check failing after the reconnect: sends nothing until it reads the inbox"
                                          : "Checking for replies after the reconnect: sending waits until it has read the inbox"}
                                      </span>
                                    }
                                  >
                                    {/* A held mailbox sends nothing until the hold ends, whatever is left of its limit. */}
                                    <Show
                                      when={mb.capacity.hold}
                                      fallback={
                                        <span class="muted small">
                                          {formatNumber(mb.capacity.used_last_24h)} sent in the last 24 hours ·{" "}
                                          {formatNumber(mb.capacity.left_today)} left of {formatNumber(mb.daily_limit)}
                                        </span>
                                      }
                                    >
                                      {(hold) => (
                                        <span class="small reason reason-warning" data-testid="home-mailbox-held" title={hold().reason}>
                                          {holdHeadline(mb, hold())}: held until{" "}
                                          <time datetime={new Date(hold().until).toISOString()} title={formatFull(hold().until)}>
                                            {formatDay(hold().until)}
                                          </time>
                                        </span>
                                      )}
                                    </Show>
                                  </Show>
                                </Show>
                              </div>
                              <Meter
                                used={mb.capacity.used_last_24h}
                                limit={mb.daily_limit}
                                label={`${mb.email}: ${mb.capacity.used_last_24h} of ${mb.daily_limit} emails used in the last 24 hours`}
                              />
                            </li>
                          )}
                        </For>
                      </ul>
                    )}
                  </Show>
                </Card>

                <Card title="Recent replies" titleId="replies-title" flush>
                  <Show
                    when={h().recent_replies.length > 0}
                    fallback={
                      <EmptyState icon="message" title="No replies in the last 30 days">
                        Replies to your sequences' emails show up here.
                      </EmptyState>
                    }
                  >
                    <ul class="home-list home-pad" data-testid="home-replies">
                      <For each={h().recent_replies}>
                        {(r) => (
                          <li class="home-row">
                            <span>
                              <strong>{r.contact?.name ?? "A deleted contact"}</strong> replied to{" "}
                              <A href={`/sequences/${r.sequence.id}?tab=report`}>{r.sequence.name}</A>
                            </span>
                            <span class="muted small">{formatRelative(r.replied_at)}</span>
                          </li>
                        )}
                      </For>
                    </ul>
                  </Show>
                </Card>

                <Card title="Running and scheduled jobs" titleId="jobs-title" flush>
                  <Show when={h().jobs.length > 0} fallback={<p class="muted home-pad">No add-contacts jobs running or scheduled.</p>}>
                    <ul class="home-list home-pad" data-testid="home-jobs">
                      <For each={h().jobs}>
                        {(j) => (
                          <li class="home-row">
                            <A href={`/jobs/${j.id}`}>{j.sequence?.name ?? "Add contacts"}</A>
                            <span class="muted small">
                              {j.status === "scheduled" && j.run_at
                                ? `starts ${formatRelative(j.run_at)}`
                                : j.status === "preparing"
                                  ? "preparing · checking and ordering its contacts"
                                  : `${j.status} · ${formatNumber(j.processed)} of ${formatNumber(j.total)}`}
                            </span>
                          </li>
                        )}
                      </For>
                    </ul>
                  </Show>
                </Card>
              </div>
            </>
          )}
        </Show>
      </Suspense>
    </div>
  );
}
