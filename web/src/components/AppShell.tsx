import { A, createAsync, useAction, useLocation, useSubmission, type RouteSectionProps } from "@solidjs/router";
import { createEffect, ErrorBoundary, For, on, Show, Suspense } from "solid-js";
import type { Me } from "../api";
import { formatNumber } from "../format";
import { getTaskCounts } from "../queries/tasks";
import { getMe, signOutAction } from "../queries/session";
import { Icon, type IconName } from "./Icon";
import { Logo } from "./Logo";
import { ErrorPanel, Spinner } from "./Status";
import { Toaster } from "./Toast";

import "./AppShell.css";
const NAV: { href: string; label: string; icon: IconName; badge?: "tasks" }[][] = [
  [
    { href: "/", label: "Home", icon: "chart" },
    { href: "/sequences", label: "Sequences", icon: "sequences" },
    { href: "/templates", label: "Templates", icon: "mail" },
    { href: "/tasks", label: "Tasks", icon: "tasks", badge: "tasks" },
    { href: "/replies", label: "Replies", icon: "message" },
    { href: "/people", label: "People", icon: "search" },
    { href: "/contacts", label: "Contacts", icon: "contacts" },
    { href: "/lists", label: "Lists", icon: "lists" },
    { href: "/imports", label: "Imports", icon: "upload" },
    { href: "/mailboxes", label: "Mailboxes", icon: "mailboxes" },
    { href: "/outbox", label: "Outbox", icon: "outbox" },
    { href: "/workflows", label: "Workflows", icon: "workflows" },
    { href: "/reports", label: "Team report", icon: "chart" },
  ],
  [
    { href: "/credits", label: "Credits", icon: "credits" },
    { href: "/settings", label: "Settings", icon: "settings" },
  ],
];

const initials = (name: string) =>
  name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join("");

/**
 * Open tasks due today or overdue, as a count next to "Tasks": overdue work is still to do (40 overdue and
 * none today showed no badge). Failing to load it must not break the frame.
 */
function TaskBadge() {
  const counts = createAsync(() => getTaskCounts().catch(() => undefined));
  const due = () => {
    const c = counts();
    return c ? c.due_today + c.overdue : 0;
  };
  return (
    <Suspense>
      <Show when={due()}>
        {(n) => (
          <span class="nav-badge" data-testid="tasks-due-badge" title={`${formatNumber(n())} due today or overdue`}>
            {formatNumber(n())}
            <span class="sr-only"> tasks due today or overdue</span>
          </span>
        )}
      </Show>
    </Suspense>
  );
}

function Sidebar() {
  return (
    // The aside spans the page's whole height (its background and border with it); its content stays in view.
    <aside class="sidebar">
      <div class="sidebar-inner">
        <div class="sidebar-brand">
          <A href="/sequences" class="brand-link" aria-label="Seqflare home">
            <Logo />
          </A>
        </div>
        <nav class="sidebar-nav" aria-label="Main">
          <For each={NAV}>
            {(group) => (
              <ul class="nav-group">
                <For each={group}>
                  {(item) => (
                    <li>
                      <A href={item.href} class="nav-link" activeClass="active" end={item.href === "/"}>
                        <Icon name={item.icon} />
                        <span>{item.label}</span>
                        {item.badge === "tasks" && <TaskBadge />}
                      </A>
                    </li>
                  )}
                </For>
              </ul>
            )}
          </For>
        </nav>
      </div>
    </aside>
  );
}

function Topbar(props: { me: Me }) {
  const doSignOut = useAction(signOutAction);
  const signingOut = useSubmission(signOutAction);
  return (
    <header class="topbar">
      <div class="topbar-team">
        <span class="team-avatar" aria-hidden="true">
          {initials(props.me.team.name)}
        </span>
        <div class="topbar-stack">
          <span class="topbar-label">Team</span>
          <span class="team-name" data-testid="team-name">
            {props.me.team.name}
          </span>
        </div>
      </div>
      <div class="topbar-right">
        <A href="/credits" class="credit-chip" title="Credit balance">
          <Icon name="credits" size={16} />
          <span data-testid="credit-balance">{formatNumber(props.me.team.credit_balance)}</span>
          <span class="muted">credits</span>
        </A>
        <div class="topbar-user">
          <span class="user-avatar" aria-hidden="true">
            {initials(props.me.user.name)}
          </span>
          <div class="topbar-stack">
            <span class="user-name" data-testid="user-name">
              {props.me.user.name}
              <Show when={props.me.user.role === "admin"}>
                <span class="role-tag">Admin</span>
              </Show>
            </span>
            <span class="user-email" data-testid="user-email">
              {props.me.user.email}
            </span>
          </div>
        </div>
        <button type="button" class="btn btn-secondary btn-sm" onClick={() => void doSignOut()} disabled={signingOut.pending}>
          <Icon name="logout" size={16} />
          {signingOut.pending ? "Signing out…" : "Sign out"}
        </button>
      </div>
    </header>
  );
}

/** The signed-in frame: sidebar, top bar, and the current page. Loads /api/me once for all pages. */
export function AppShell(props: RouteSectionProps) {
  const me = createAsync(() => getMe());
  const location = useLocation();
  let main!: HTMLElement;
  // After moving to another page, focus starts at the page, as after a full load: keyboard and
  // screen-reader users aren't left on the sidebar link (or on nothing, when the link was on the old
  // page). A page that focused something of its own keeps it.
  createEffect(
    on(
      () => location.pathname,
      () => {
        const at = document.activeElement;
        if (at && at !== document.body && main.contains(at)) return;
        main.focus({ preventScroll: true });
      },
      { defer: true },
    ),
  );
  return (
    <div class="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Sidebar />
      <div class="app-main">
        <ErrorBoundary
          fallback={(err, reset) => (
            <div class="page">
              <ErrorPanel error={err} title="Couldn't load your account" onRetry={reset} />
            </div>
          )}
        >
          <Suspense
            fallback={
              <header class="topbar">
                <Spinner />
              </header>
            }
          >
            <Show when={me()}>{(m) => <Topbar me={m()} />}</Show>
          </Suspense>
          <main ref={main} id="main" class="content" tabindex="-1">
            <ErrorBoundary
              fallback={(err, reset) => (
                <div class="page">
                  <ErrorPanel error={err} onRetry={reset} />
                </div>
              )}
            >
              <Suspense
                fallback={
                  <div class="page page-loading">
                    <Spinner label="Loading…" />
                  </div>
                }
              >
                {props.children}
              </Suspense>
            </ErrorBoundary>
          </main>
        </ErrorBoundary>
      </div>
      <Toaster />
    </div>
  );
}
