import { A, createAsync, revalidate } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import { deleteWorkflow, runWorkflowNow, updateWorkflow, type Workflow } from "../api";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { EmptyState } from "../components/EmptyState";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { errorMessage, TableSkeleton } from "../components/Status";
import { notify } from "../components/Toast";
import { Toggle } from "../components/Toggle";
import { formatNumber, plural } from "../format";
import { getWorkflowRuns, getWorkflows } from "../queries/workflows";
import { usePageTitle } from "../title";
import { filterSummary, reasonText, RunBadge, RunCounts, RunReason, RunTime, triggerLabel } from "./workflows/present";

import "./Workflows.css";
/** The API turns a workflow on only while its sequence is on: the switch says so instead of offering it. */
export const SEQUENCE_OFF = "Its sequence is off: turn the sequence on first, then the workflow";

export const WORKFLOW_EXPLAINER =
  "Every interval, a workflow finds net-new people matching its filters and adds them to a sequence — validated and charged like a manual add.";

/** Run now, toggle and delete, shared by the list and a workflow's page. */
export function useWorkflowActions() {
  // Optimistic on/off: the switch flips at once and flips back (with the API's reason) if the save fails.
  const [pending, setPending] = createSignal<Record<string, boolean>>({});
  const [running, setRunning] = createSignal<Record<string, true>>({});
  const isActive = (w: Workflow) => pending()[w.id] ?? w.active;
  const toggle = async (w: Workflow, next: boolean) => {
    setPending((p) => ({ ...p, [w.id]: next }));
    try {
      await updateWorkflow(w.id, { active: next });
      notify(`“${w.name}” is now ${next ? "on" : "off"}`);
      await revalidate(getWorkflows.key);
    } catch (err) {
      notify(`Couldn't turn “${w.name}” ${next ? "on" : "off"}: ${errorMessage(err)}`, "danger");
    } finally {
      setPending(({ [w.id]: _, ...rest }) => rest);
    }
  };
  const runNow = async (w: Workflow) => {
    setRunning((r) => ({ ...r, [w.id]: true }));
    try {
      const run = await runWorkflowNow(w.id);
      if (run.reason) notify(`“${w.name}” ran: ${reasonText(run.reason).label}`, run.status === "failed" ? "danger" : "info");
      else notify(`“${w.name}” ran: found ${plural(run.found, "new person", "new people")}; adding them now`);
      await revalidate([getWorkflows.key, getWorkflowRuns.key]);
    } catch (err) {
      notify(`Couldn't run “${w.name}”: ${errorMessage(err)}`, "danger");
    } finally {
      setRunning(({ [w.id]: _, ...rest }) => rest);
    }
  };
  return { pending, running, isActive, toggle, runNow };
}

/** Asks before deleting; the runs' jobs (and the contacts they added) stay. */
export function DeleteWorkflowDialog(props: { target: Workflow | null; onClose: () => void; onDeleted?: () => void }) {
  const [busy, setBusy] = createSignal(false);
  const confirm = async () => {
    const w = props.target;
    if (!w) return;
    setBusy(true);
    try {
      await deleteWorkflow(w.id);
      notify(`Deleted “${w.name}”`);
      props.onClose();
      props.onDeleted?.();
      await revalidate(getWorkflows.key);
    } catch (err) {
      notify(`Couldn't delete “${w.name}”: ${errorMessage(err)}`, "danger");
    } finally {
      setBusy(false);
    }
  };
  return (
    <ConfirmDialog
      open={!!props.target}
      title={`Delete “${props.target?.name ?? ""}”?`}
      confirmLabel="Delete workflow"
      danger
      busy={busy()}
      onConfirm={() => void confirm()}
      onCancel={props.onClose}
    >
      It stops running and its run log is removed. Contacts it already added stay in their sequence, and their jobs stay on the sequence's
      Imports tab.
    </ConfirmDialog>
  );
}

function WorkflowCard(props: { w: Workflow; actions: ReturnType<typeof useWorkflowActions>; onDelete: (w: Workflow) => void }) {
  const w = () => props.w;
  const a = props.actions;
  const on = () => a.isActive(w());
  const headingId = `wf-${props.w.id}-name`;
  return (
    <article
      class="card wf-card"
      classList={{ "wf-off": !on() }}
      aria-labelledby={headingId}
      data-testid="workflow-card"
      data-name={props.w.name}
    >
      <div class="wf-card-head">
        <div class="wf-card-title">
          <h2 id={headingId} class="card-title">
            <A href={`/workflows/${w().id}`}>{w().name}</A>
          </h2>
          <p class="wf-target muted small">
            <Icon name="sequences" size={13} /> Adds to{" "}
            <Show when={w().sequence_name} fallback={<em>a deleted sequence</em>}>
              <A href={`/sequences/${w().sequence_id}`}>{w().sequence_name}</A>
            </Show>
          </p>
        </div>
        <Toggle
          label={`${w().name} on`}
          checked={on()}
          busy={a.pending()[w().id] !== undefined}
          disabled={!on() && !w().sequence_active}
          title={!on() && !w().sequence_active ? SEQUENCE_OFF : undefined}
          onText="On"
          offText="Off"
          onChange={(v) => void a.toggle(w(), v)}
          testId="workflow-toggle"
        />
      </div>

      <ul class="wf-chips" aria-label="Filters">
        <For each={filterSummary(w().filters)} fallback={<li class="wf-chip wf-chip-muted">Everyone net new (no filters)</li>}>
          {(s) => <li class="wf-chip">{s}</li>}
        </For>
      </ul>

      <dl class="wf-facts">
        <div>
          <dt>Schedule</dt>
          <dd>
            <Icon name="clock" size={13} /> {triggerLabel(w())} · up to {formatNumber(w().max_per_run)} per run
          </dd>
        </div>
        <div>
          <dt>Next run</dt>
          <dd>
            <Show when={on()} fallback={<span class="muted">Off: not scheduled</span>}>
              <Show when={w().next_run_at} fallback="—">
                {(t) => <RunTime ms={t()} />}
              </Show>
            </Show>
          </dd>
        </div>
        <div class="wf-fact-wide">
          <dt>Last run</dt>
          <dd data-testid="last-run">
            <Show when={w().last_run} fallback={<span class="muted">Hasn't run yet</span>}>
              {(r) => (
                <div class="wf-last-run">
                  <div class="wf-last-run-head">
                    <RunBadge run={r()} />
                    <span class="small">
                      <RunTime ms={r().started_at} />
                    </span>
                    <span class="small">
                      <RunCounts run={r()} />
                    </span>
                  </div>
                  <RunReason code={r().reason} />
                </div>
              )}
            </Show>
          </dd>
        </div>
      </dl>

      <div class="wf-actions">
        <Show when={w().trigger.kind !== "change"}>
          <button
            type="button"
            class="btn btn-secondary btn-sm"
            disabled={!!a.running()[w().id]}
            aria-busy={!!a.running()[w().id]}
            onClick={() => void a.runNow(w())}
          >
            <Icon name="play" size={14} /> {a.running()[w().id] ? "Running…" : "Run now"}
          </button>
        </Show>
        <A href={`/workflows/${w().id}`} class="btn btn-ghost btn-sm">
          Run log
        </A>
        <A href={`/workflows/${w().id}/edit`} class="btn btn-ghost btn-sm" aria-label={`Edit ${w().name}`}>
          <Icon name="pencil" size={14} /> Edit
        </A>
        <button
          type="button"
          class="btn btn-danger-ghost btn-sm wf-delete"
          aria-label={`Delete ${w().name}`}
          onClick={() => props.onDelete(w())}
        >
          <Icon name="trash" size={14} /> Delete
        </button>
      </div>
    </article>
  );
}

export default function Workflows() {
  usePageTitle("Workflows");
  const workflows = createAsync(() => getWorkflows());
  const actions = useWorkflowActions();
  const [deleting, setDeleting] = createSignal<Workflow | null>(null);
  const newButton = (
    <A href="/workflows/new" class="btn btn-primary">
      <Icon name="plus" size={16} /> New workflow
    </A>
  );
  return (
    <div class="page">
      <PageHeader title="Workflows" description={WORKFLOW_EXPLAINER} actions={newButton} />
      <Suspense fallback={<TableSkeleton columns={4} rows={4} label="Loading workflows…" />}>
        <Show when={workflows()}>
          {(r) => (
            <Show
              when={r().workflows.length > 0}
              fallback={
                <EmptyState
                  icon="workflows"
                  title="No workflows yet"
                  actions={
                    <A href="/workflows/new" class="btn btn-primary">
                      Create a workflow
                    </A>
                  }
                  points={[
                    {
                      icon: "clock",
                      title: "Runs on a schedule",
                      text: "Every 15 minutes to every week; each run is claimed once, even when runs overlap.",
                    },
                    {
                      icon: "search",
                      title: "Filters and a net-new check",
                      text: "Only people matching your filters who aren't already contacts are added, up to a maximum per run.",
                    },
                    {
                      icon: "info",
                      title: "A log for every run",
                      text: "Each run records who it found and added, so a run that added nobody says why.",
                    },
                  ]}
                >
                  Set up a workflow once and it keeps your sequence supplied with new prospects.
                </EmptyState>
              }
            >
              <div class="wf-list" data-testid="workflow-list">
                <For each={r().workflows}>{(w) => <WorkflowCard w={w} actions={actions} onDelete={setDeleting} />}</For>
              </div>
            </Show>
          )}
        </Show>
      </Suspense>
      <DeleteWorkflowDialog target={deleting()} onClose={() => setDeleting(null)} />
    </div>
  );
}
