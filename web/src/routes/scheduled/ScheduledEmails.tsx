import { A, createAsync, revalidate } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { Badge } from "../../components/Badge";
import { DataTable, type Column } from "../../components/DataTable";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { browserTimeZone, formatDay, formatFull, formatNumber, formatRelative } from "../../format";
import { getScheduledEmails, type ScheduledEmailRow, type ScheduledScope } from "../../queries/scheduled-emails";
import { ScheduledEmailDialog } from "./ScheduledEmailDialog";

import "./ScheduledEmails.css";

const PER_PAGE = 25;

/**
 * Scheduled emails of a sequence, a contact or a mailbox (one component for the three places): when
 * each will go out in your time zone, or why it won't (the window, the mailbox's limits, paused, the
 * sequence off), and a row's email to preview and act on (when the viewer may edit its sequence). `hide` drops the column the page already
 * names (the sequence on its own tab, the contact on its page, the mailbox on its card).
 */
export function ScheduledEmails(props: { scope: ScheduledScope; hide?: "sequence" | "contact" | "mailbox"; empty?: string }) {
  // Keyset pages: the cursors of the pages before this one.
  const [cursors, setCursors] = createSignal<(string | null)[]>([null]);
  const cursor = () => cursors()[cursors().length - 1] ?? null;
  const page = createAsync(() => getScheduledEmails(props.scope, cursor(), PER_PAGE));
  const [open, setOpen] = createSignal<ScheduledEmailRow | null>(null);

  const columns = (): Column[] => [
    { label: "Goes out" },
    ...(props.hide === "contact" ? [] : [{ label: "Contact" }]),
    { label: props.hide === "sequence" ? "Step" : "Sequence · step" },
    ...(props.hide === "mailbox" ? [] : [{ label: "Mailbox" }]),
    { label: "State" },
    { label: "Actions", srOnly: true },
  ];

  return (
    <div class="sched" data-testid="scheduled-emails">
      <DataTable
        caption="Scheduled emails"
        columns={columns()}
        rows={page()?.scheduled}
        testId="scheduled-table"
        loading="Loading scheduled emails…"
        empty={
          <EmptyState icon="calendar" title="Nothing scheduled">
            {props.empty ?? "Automatic emails waiting for their time or queued in a mailbox appear here with the moment each will go out."}
          </EmptyState>
        }
        header={
          <div class="table-toolbar">
            <Show when={page()}>
              {(p) => (
                <strong class="small" data-testid="scheduled-total">
                  {formatNumber(p().total)} scheduled
                </strong>
              )}
            </Show>
            <span class="muted small" data-testid="scheduled-order">
              {page()?.sort === "due_at"
                ? "In the order each step falls due (too many to sort by when they go out); each goes out then, or later when the sending window or the mailbox's limits hold it."
                : "In the order they go out, as each mailbox plans it now (it sends higher-scored contacts first); those that won't go as things are come last."}{" "}
              Times are in your time zone ({browserTimeZone()}).
            </span>
            <button type="button" class="btn btn-ghost btn-sm" onClick={() => void revalidate(getScheduledEmails.key)}>
              <Icon name="refresh" size={14} /> Refresh
            </button>
          </div>
        }
        rowProps={(r) => ({ "data-enrollment": r.enrollment_id })}
      >
        {(r) => (
          <>
            <td class="cell-nowrap" data-testid="scheduled-goes-out">
              <Show when={r.send_at} fallback={<span class="reason reason-warning small">Won't go as things are</span>}>
                {(at) => (
                  <time datetime={new Date(at()).toISOString()} title={formatFull(at())}>
                    <strong>{formatDay(at())}</strong>
                    <Show when={at() - Date.now() < 20 * 3_600_000}>
                      <div class="muted small">{at() <= Date.now() ? "due now" : formatRelative(at())}</div>
                    </Show>
                  </time>
                )}
              </Show>
            </td>
            <Show when={props.hide !== "contact"}>
              <td>
                <A href={`/contacts/${r.contact.id}`} class="cell-strong">
                  {r.contact.name || r.contact.email}
                </A>
                <div class="muted small">{r.contact.email ?? "no email address"}</div>
              </td>
            </Show>
            <td classList={{ "cell-nowrap": props.hide === "sequence" }}>
              <Show when={props.hide !== "sequence"}>
                <A href={`/sequences/${r.sequence.id}`}>{r.sequence.name}</A>
                <div class="muted small">
                  Step {r.step.position}
                  {r.from_task ? " · manual email" : ""}
                </div>
              </Show>
              <Show when={props.hide === "sequence"}>
                Step {r.step.position}
                {r.from_task ? " · manual email" : ""}
              </Show>
              {/* When the step falls due (or, paused, resumes): "Goes out" may be later, when the window or the mailbox holds it. */}
              <div class="muted small cell-nowrap" data-testid="scheduled-due">
                <Show when={r.due_at} fallback={<Show when={r.paused_until}>{(until) => <>resumes {formatDay(until())}</>}</Show>}>
                  {(at) => (
                    <>
                      due{" "}
                      <time datetime={new Date(at()).toISOString()} title={formatFull(at())}>
                        {formatDay(at())}
                      </time>
                    </>
                  )}
                </Show>
              </div>
            </td>
            <Show when={props.hide !== "mailbox"}>
              <td class="small">{r.mailbox?.email ?? <span class="muted">none</span>}</td>
            </Show>
            <td>
              <div class="sched-state">
                <StateBadge row={r} />
                <Show when={r.edited}>
                  <Badge tone="accent" title="Edited for this contact only">
                    Edited
                  </Badge>
                </Show>
              </div>
              <Show when={r.reason_text}>
                <div class="muted small sched-why">{r.reason_text}</div>
              </Show>
            </td>
            <td class="cell-actions">
              <button
                type="button"
                class="btn btn-secondary btn-sm"
                aria-label={`Preview the email to ${r.contact.name || r.contact.email}`}
                onClick={() => setOpen(r)}
              >
                <Icon name="eye" size={14} /> Preview
              </button>
            </td>
          </>
        )}
      </DataTable>
      <Show when={cursors().length > 1 || page()?.next_cursor}>
        <div class="sched-pager">
          <button
            type="button"
            class="btn btn-secondary btn-sm"
            disabled={cursors().length <= 1}
            onClick={() => setCursors((c) => c.slice(0, -1))}
          >
            Previous
          </button>
          <button
            type="button"
            class="btn btn-secondary btn-sm"
            disabled={!page()?.next_cursor}
            onClick={() => {
              const next = page()?.next_cursor;
              if (next) setCursors((c) => [...c, next]);
            }}
          >
            Next
          </button>
        </div>
      </Show>
      <Show when={open()}>{(r) => <ScheduledEmailDialog row={r()} onClose={() => setOpen(null)} />}</Show>
    </div>
  );
}

/**
 * The reasons the engine emails a contact nothing at all (eligibility.ts blockingReason): the run ends when its
 * step comes due, so the email is neither held nor paused, whatever the run's status is until then.
 */
const NEVER_EMAILED = new Set([
  "unsubscribed",
  "bounced",
  "do_not_contact",
  "suppressed",
  "suppressed_domain",
  "contact_deleted",
  "no_email",
]);

function StateBadge(props: { row: ScheduledEmailRow }) {
  const r = () => props.row;
  return (
    <Show
      when={r().state !== "held"}
      fallback={
        <Badge tone={r().reason && NEVER_EMAILED.has(r().reason!) ? "danger" : "warning"} dot title={r().reason_text ?? undefined}>
          {r().reason && NEVER_EMAILED.has(r().reason!) ? "Won't be sent" : r().status === "paused" ? "Paused" : "Held"}
        </Badge>
      }
    >
      <Show
        when={r().state === "queued"}
        fallback={
          <Badge tone="neutral" dot title="Its step's wait hasn't passed yet">
            Waiting
          </Badge>
        }
      >
        <Show
          when={!r().from_task}
          fallback={
            <Badge
              tone="info"
              dot
              title="A manual email its rep sent from its task: first in line, it goes when the mailbox's limits allow"
            >
              Sent from task
            </Badge>
          }
        >
          <Badge tone="info" dot title="In the mailbox's queue: goes out when the window, limits and spacing allow">
            {r().send_now ? "Sending now" : r().rescheduled_to ? "Rescheduled" : "Queued"}
          </Badge>
        </Show>
      </Show>
    </Show>
  );
}
