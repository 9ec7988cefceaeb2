import { createSignal, For, Show } from "solid-js";
import type { EnrollmentAction } from "../../api";
import { useWrite } from "../../actions";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Icon } from "../../components/Icon";
import { changeEnrollmentsAction } from "../../queries/enrollments";
import { ACTIONS, didWords, REMOVE_WORDS } from "../sequence/ContactsTab";

/** A contact's run in one sequence, as the contact's Sequences card has it (GET /contacts/{id}/sequences). */
interface Run {
  id: string;
  sequence_id: string;
  name: string;
  status: string;
  can_edit: boolean;
}

/**
 * Which of the sequence Contacts tab's actions a run's status takes (the engine's transitions): a pause or a
 * finish only while it is open, a resume only while paused, a removal until it is removed. A scheduled run
 * has not started: only removing it changes anything.
 */
const OFFERED: Record<string, readonly EnrollmentAction[]> = {
  active: ["pause", "finish", "remove"],
  held: ["pause", "finish", "remove"],
  paused: ["resume", "finish", "remove"],
  scheduled: ["remove"],
  finished: ["remove"],
  failed: ["remove"],
};

/**
 * The sequence Contacts tab's actions on one contact's run, from their profile: the same API call
 * (changeEnrollmentsAction, which re-reads the page: the Sequences card and the timeline), the same words and
 * the same confirmation before a removal. Nothing for a run the caller may only view (can_edit from the API).
 */
export function RunActions(props: { run: Run; contactName: string }) {
  const [until, setUntil] = createSignal("");
  const [confirmRemove, setConfirmRemove] = createSignal(false);
  const change = useWrite(changeEnrollmentsAction, {
    done: (r, _id, action, _target, extra) => {
      if (!r || !("results" in r)) return undefined;
      const one = r.results[0];
      if (!one) return undefined;
      // Unchanged: the API's reason ("Already paused until that date"), as the Contacts tab says it.
      if (!one.changed) return `${props.run.name}: ${one.reason ?? one.outcome}`;
      return `${props.run.name}: ${didWords(action, 1, extra ?? {}, undefined, one.outcome === "resume_date_changed")}`;
    },
    failed: (_id, action) => `Couldn't ${action} ${props.contactName} in ${props.run.name}`,
  });
  const offered = () => (props.run.can_edit ? (OFFERED[props.run.status] ?? []) : []);
  const act = (action: EnrollmentAction, extra: { until?: number } = {}) =>
    void change.run(props.run.sequence_id, action, { enrollment_ids: [props.run.id] }, extra).then((r) => {
      setConfirmRemove(false);
      if (r) setUntil("");
    });
  return (
    <Show when={offered().length > 0}>
      <div class="run-actions" role="group" aria-label={`Actions on ${props.contactName} in ${props.run.name}`} data-testid="run-actions">
        <For each={ACTIONS.filter((a) => offered().includes(a.id))}>
          {(a) => (
            <button
              type="button"
              class={a.id === "remove" ? "btn btn-danger-ghost btn-xs" : "btn btn-secondary btn-xs"}
              disabled={change.pending()}
              onClick={() => (a.id === "remove" ? setConfirmRemove(true) : act(a.id))}
              data-testid={`run-${a.id}`}
            >
              <Icon name={a.icon} size={12} />
              {a.label}
            </button>
          )}
        </For>
        {/* A paused run takes a new resume date; an open one a pause until a date (the Contacts tab's "Pause until"). */}
        <Show when={props.run.status === "active" || props.run.status === "held" || props.run.status === "paused"}>
          <span class="run-pause-until">
            <input
              type="date"
              class="input input-sm"
              aria-label={`Pause ${props.contactName} in ${props.run.name} until`}
              data-testid="run-pause-until-date"
              value={until()}
              min={new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}
              onInput={(ev) => setUntil(ev.currentTarget.value)}
            />
            <button
              type="button"
              class="btn btn-secondary btn-xs"
              disabled={change.pending() || !until()}
              onClick={() => act("pause", { until: new Date(`${until()}T09:00:00`).getTime() })}
              data-testid="run-pause-until"
            >
              <Icon name="pause" size={12} /> {props.run.status === "paused" ? "Change resume date" : "Pause until"}
            </button>
          </span>
        </Show>
        <ConfirmDialog
          open={confirmRemove()}
          danger
          title={`Remove ${props.contactName} from ${props.run.name}?`}
          confirmLabel="Remove"
          busy={change.pending()}
          onCancel={() => setConfirmRemove(false)}
          onConfirm={() => act("remove")}
        >
          <p>{REMOVE_WORDS}</p>
        </ConfirmDialog>
      </div>
    </Show>
  );
}
