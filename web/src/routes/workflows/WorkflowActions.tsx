import { createAsync } from "@solidjs/router";
import { Show, Suspense, type JSX } from "solid-js";
import type { Workflow } from "../../api";
import { useWrite } from "../../actions";
import { Chips } from "../../components/Chips";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Icon } from "../../components/Icon";
import { ErrorPanel, Spinner } from "../../components/Status";
import { notify } from "../../components/Toast";
import { Toggle } from "../../components/Toggle";
import { plural } from "../../format";
import { deleteWorkflowAction, getWorkflows, runWorkflowNowAction, setWorkflowActiveAction } from "../../queries/workflows";
import { getContactStages } from "../../queries/contacts";
import { getLists } from "../../queries/lists";
import { getUsersWithDisabled, userLabel } from "../../queries/users";
import { changeFilterSummary, filterSummary, reasonText, RunTime, type FilterNames } from "./present";

export const WORKFLOW_EXPLAINER =
  "A workflow adds contacts to a sequence on its own, validated and charged like a manual add: on a schedule, the net-new people matching its filters; or, when a contact is created, moves stage or has a field changed, that contact if it matches.";

/** The API turns a workflow on only while its sequence is on: the switch says so instead of offering it. */
const SEQUENCE_OFF = "Its sequence is off: turn the sequence on first, then the workflow";

/** The switch, Run now and Delete, shared by the list's cards and a workflow's page. */
export function useWorkflowActions() {
  const setActive = useWrite(setWorkflowActiveAction, {
    done: (_, w, next) => `“${w.name}” is now ${next ? "on" : "off"}`,
    failed: (w, next) => `Couldn't turn “${w.name}” ${next ? "on" : "off"}`,
  });
  const runNow = useWrite(runWorkflowNowAction, { failed: (w) => `Couldn't run “${w.name}”` });
  const remove = useWrite(deleteWorkflowAction, { done: (_, w) => `Deleted “${w.name}”`, failed: (w) => `Couldn't delete “${w.name}”` });
  // Optimistic on/off: the switch shows the value on its way, and the saved one again if the save is refused.
  const sending = (w: Workflow) => setActive.inFlight().findLast(([x]) => x.id === w.id)?.[1];
  const isActive = (w: Workflow) => sending(w) ?? w.active;
  const isRunning = (w: Workflow) => runNow.inFlight().some(([x]) => x.id === w.id);
  return {
    isActive,
    /** The switch of one workflow; off and unavailable while its sequence is off. */
    Switch: (props: { w: Workflow }) => (
      <Toggle
        label={`${props.w.name} on`}
        checked={isActive(props.w)}
        busy={sending(props.w) !== undefined}
        disabled={!isActive(props.w) && !props.w.sequence_active}
        title={!isActive(props.w) && !props.w.sequence_active ? SEQUENCE_OFF : undefined}
        onText="On"
        offText="Off"
        onChange={(v) => void setActive.run(props.w, v)}
        testId="workflow-toggle"
      />
    ),
    /** When it runs next: nothing is scheduled while it is off. */
    NextRun: (props: { w: Workflow }) => (
      <Show
        when={isActive(props.w)}
        fallback={<span class="muted">{props.w.trigger.kind === "change" ? "Off: changes are not acted on" : "Off: not scheduled"}</span>}
      >
        {/* A change workflow has no next run: the cron looks for its contacts' changes every minute. */}
        <Show when={props.w.trigger.kind !== "change"} fallback="On each change (looked for every minute)">
          <Show when={props.w.next_run_at} fallback="—">
            {(t) => <RunTime ms={t()} />}
          </Show>
        </Show>
      </Show>
    ),
    /** Runs it once now; the toast says what the run found, or why it added nobody. */
    RunNow: (props: { w: Workflow; class: string }) => (
      <button
        type="button"
        class={props.class}
        disabled={isRunning(props.w)}
        aria-busy={isRunning(props.w)}
        onClick={async () => {
          const run = await runNow.run(props.w);
          if (!run) return;
          if (run.reason) notify(`“${props.w.name}” ran: ${reasonText(run.reason).label}`, run.status === "failed" ? "danger" : "info");
          else notify(`“${props.w.name}” ran: found ${plural(run.found, "new person", "new people")}; adding them now`);
        }}
      >
        <Icon name="play" size={14} /> {isRunning(props.w) ? "Running…" : "Run now"}
      </button>
    ),
    /** Asks before deleting; the runs' jobs (and the contacts they added) stay. */
    DeleteDialog: (props: { target: Workflow | null; onClose: () => void; onDeleted?: () => void }) => (
      <ConfirmDialog
        open={!!props.target}
        title={`Delete “${props.target?.name ?? ""}”?`}
        confirmLabel="Delete workflow"
        danger
        busy={remove.pending()}
        onConfirm={async () => {
          if (!props.target || !(await remove.run(props.target))) return;
          props.onClose();
          props.onDeleted?.();
        }}
        onCancel={props.onClose}
      >
        It stops running and its run log is removed. Contacts it already added stay in their sequence, and their jobs stay on the sequence's
        Imports tab.
      </ConfirmDialog>
    ),
  };
}

export type WorkflowActions = ReturnType<typeof useWorkflowActions>;

/** Names for a change trigger's stage, owner and list ids (each read once and shared by every card). */
export function useFilterNames(): FilterNames {
  const stages = createAsync(() => getContactStages().catch(() => undefined));
  // Disabled users too: a trigger may still filter on what one owns.
  const users = createAsync(() => getUsersWithDisabled().catch(() => undefined));
  const lists = createAsync(() => getLists().catch(() => undefined));
  return {
    stage: (id) => stages()?.contact_stages.find((s) => s.id === id)?.name,
    user: (id) => {
      const u = users()?.find((x) => x.id === id);
      return u && userLabel(u);
    },
    list: (id) => lists()?.lists.find((l) => l.id === id)?.name,
  };
}

/**
 * A workflow's filters as chips: a schedule's people-search filters, or the contact filters of a change
 * trigger (its people-search filters aren't used, so showing them said the wrong thing).
 */
export function FilterChips(props: { w: Workflow }) {
  const names = useFilterNames();
  const items = () => {
    const t = props.w.trigger;
    return t.kind === "change" ? changeFilterSummary(t.filters, names) : filterSummary(props.w.filters);
  };
  return (
    <Chips
      label="Filters"
      items={items()}
      plain
      empty={props.w.trigger.kind === "change" ? "Every contact (no filters)" : "Everyone net new (no filters)"}
    />
  );
}

/**
 * The workflow named in the URL, once the team's workflows are in; "not found" when it doesn't exist
 * or was deleted. Keyed on its id: a refetch of the list doesn't rebuild the page (or reset a form).
 */
export function WorkflowById(props: { id: string; children: (w: () => Workflow) => JSX.Element }) {
  const workflows = createAsync(() => getWorkflows());
  const current = () => workflows()?.workflows.find((x) => x.id === props.id);
  // The last one seen: a deleted workflow's page stays as it was until it navigates away.
  let last: Workflow | undefined;
  const workflow = () => (last = current() ?? last)!;
  return (
    <Suspense
      fallback={
        <div class="page-loading">
          <Spinner label="Loading workflow…" />
        </div>
      }
    >
      <Show when={workflows()}>
        <Show
          when={current()?.id}
          keyed
          fallback={<ErrorPanel error={new Error("This workflow doesn't exist or was deleted.")} title="Workflow not found" />}
        >
          {(_id: string) => props.children(workflow)}
        </Show>
      </Show>
    </Suspense>
  );
}
