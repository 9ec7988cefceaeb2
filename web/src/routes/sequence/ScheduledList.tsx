import { A } from "@solidjs/router";
import { For, Show } from "solid-js";
import type { ScheduledEmail } from "../../api";
import { Badge } from "../../components/Badge";
import { formatDay, formatFull, formatRelative } from "../../format";

/**
 * Upcoming emails, soonest first: when each goes out (in your time zone), to whom, from which step
 * and mailbox. Shared by the sequence's "Scheduled" tab and a mailbox's queue.
 */
export function ScheduledList(props: { items: ScheduledEmail[]; show: "sequence" | "mailbox" }) {
  return (
    <div class="table-wrap">
      <table class="table" data-testid="scheduled-table">
        <caption class="sr-only">Scheduled emails</caption>
        <thead>
          <tr>
            <th scope="col">Sends</th>
            <th scope="col">Contact</th>
            <th scope="col">{props.show === "sequence" ? "Step" : "Sequence"}</th>
            <Show when={props.show === "sequence"}>
              <th scope="col">Mailbox</th>
            </Show>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          <For each={props.items}>
            {(s) => (
              <tr>
                <td class="cell-nowrap">
                  <Show
                    when={s.send_at}
                    fallback={<span class="reason reason-warning">Can't be planned yet (mailbox off or no window)</span>}
                  >
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
                <td>
                  <div class="cell-strong">{s.contact.name || s.contact.email}</div>
                  <div class="muted small">{s.contact.email}</div>
                </td>
                <td>
                  <Show when={props.show === "sequence"} fallback={<A href={`/sequences/${s.sequence.id}`}>{s.sequence.name}</A>}>
                    Step {s.step_position}
                  </Show>
                  <Show when={props.show === "mailbox"}>
                    <div class="muted small">Step {s.step_position}</div>
                  </Show>
                </td>
                <Show when={props.show === "sequence"}>
                  <td class="small">{s.mailbox_email}</td>
                </Show>
                <td>
                  <Show
                    when={s.state === "queued"}
                    fallback={
                      <Badge tone="neutral" dot title="Its step's wait hasn't passed yet">
                        Waiting
                      </Badge>
                    }
                  >
                    <Badge tone="info" dot title="In the mailbox's queue: goes out when the window, limits and spacing allow">
                      Queued
                    </Badge>
                  </Show>
                </td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </div>
  );
}
