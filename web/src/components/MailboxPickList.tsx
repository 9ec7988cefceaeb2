import { For, Show, type JSX } from "solid-js";
import type { Mailbox } from "../api";
import { formatNumber } from "../format";
import { Badge } from "./Badge";
import { Meter } from "./Meter";

/**
 * Tick-box list of mailboxes with each one's capacity left today. Disconnected or paused mailboxes
 * can't be picked (a send from them would be refused by the add-contacts preconditions), nor can
 * another user's mailbox unless you are an admin (only its owner or an admin sends from it).
 */
export function MailboxPickList(props: {
  mailboxes: Mailbox[];
  selected: string[];
  onToggle: (id: string, on: boolean) => void;
  empty?: JSX.Element;
}) {
  return (
    <ul class="mailbox-pick-list">
      <For each={props.mailboxes} fallback={props.empty}>
        {(m) => {
          const left = () => Math.max(0, m.capacity.left_today);
          const notYours = () => !m.can_send;
          const down = () => m.status !== "connected" || notYours();
          return (
            <li>
              <label class="mailbox-pick" classList={{ selected: props.selected.includes(m.id), disabled: down() }}>
                <input
                  type="checkbox"
                  checked={props.selected.includes(m.id)}
                  disabled={down()}
                  onChange={(e) => props.onToggle(m.id, e.currentTarget.checked)}
                  aria-describedby={`mb-cap-${m.id}`}
                />
                <span class="mailbox-pick-who">
                  <strong>{m.email}</strong>
                  <span class="muted small">
                    {m.sender_name}
                    <Show when={m.owner_name && m.owner_name !== m.sender_name}> · owner {m.owner_name}</Show>
                  </span>
                </span>
                <span class="mailbox-pick-cap" id={`mb-cap-${m.id}`}>
                  <Show
                    when={!down()}
                    fallback={
                      notYours() ? (
                        <span class="muted small" title="Only its owner or an admin can send from it">
                          Not yours to send from
                        </span>
                      ) : (
                        <Badge tone="warning" dot>
                          {m.status === "paused" ? "Paused" : "Disconnected"}
                        </Badge>
                      )
                    }
                  >
                    <span class="small">
                      <strong class="tabular">{formatNumber(left())}</strong> of {formatNumber(m.daily_limit)} left today
                    </span>
                    <Meter used={m.daily_limit - left()} limit={m.daily_limit} size="sm" label={`${m.email} capacity used today`} />
                  </Show>
                </span>
              </label>
            </li>
          );
        }}
      </For>
    </ul>
  );
}
