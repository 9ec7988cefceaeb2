import { A, createAsync } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import type { Workflow } from "../api";
import { CardGrid } from "../components/CardGrid";
import { EmptyState } from "../components/EmptyState";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { TableSkeleton } from "../components/Status";
import { formatNumber } from "../format";
import { getWorkflows } from "../queries/workflows";
import { usePageTitle } from "../title";
import { FilterChips, useWorkflowActions, WORKFLOW_EXPLAINER, type WorkflowActions } from "./workflows/WorkflowActions";
import { OffReason, RunBadge, RunCounts, RunReason, RunTime, triggerLabel } from "./workflows/present";

import "./Workflows.css";

function WorkflowCard(props: { w: Workflow; actions: WorkflowActions; onDelete: (w: Workflow) => void }) {
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
        <Show when={w().can_manage}>
          <a.Switch w={w()} />
        </Show>
      </div>

      <OffReason w={w()} />
      <FilterChips w={w()} />

      <dl class="wf-facts">
        <div>
          <dt>{w().trigger.kind === "change" ? "Trigger" : "Schedule"}</dt>
          <dd>
            <Icon name="clock" size={13} /> {triggerLabel(w())} · up to {formatNumber(w().max_per_run)} per run
          </dd>
        </div>
        <div>
          <dt>Next run</dt>
          <dd>
            <a.NextRun w={w()} />
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
                  <RunReason run={r()} />
                </div>
              )}
            </Show>
          </dd>
        </div>
      </dl>

      <div class="card-actions">
        <Show when={w().trigger.kind !== "change" && w().can_manage}>
          <a.RunNow w={w()} class="btn btn-secondary btn-sm" />
        </Show>
        <A href={`/workflows/${w().id}`} class="btn btn-ghost btn-sm">
          Run log
        </A>
        <Show when={w().can_manage}>
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
        </Show>
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
                      title: "On a schedule",
                      text: "Every 15 minutes to every week, the net-new people matching your filters (not yet contacts), up to a maximum per run.",
                    },
                    {
                      icon: "user",
                      title: "When a contact is created",
                      text: "Each new contact matching its filters (stage, owner, list, title, country, email status) is added once, whether saved or imported.",
                    },
                    {
                      icon: "zap",
                      title: "When a contact changes",
                      text: "A contact that moves stage, or has a field you pick changed, is added if it matches the filters then.",
                    },
                    {
                      icon: "info",
                      title: "A log for every run",
                      text: "Each run records who it found and added, so a run that added nobody says why.",
                    },
                  ]}
                >
                  Set up a workflow once and it keeps your sequence supplied: with new prospects on a schedule, or with your contacts as
                  they are created or change.
                </EmptyState>
              }
            >
              <CardGrid testId="workflow-list">
                <For each={r().workflows}>{(w) => <WorkflowCard w={w} actions={actions} onDelete={setDeleting} />}</For>
              </CardGrid>
            </Show>
          )}
        </Show>
      </Suspense>
      <actions.DeleteDialog target={deleting()} onClose={() => setDeleting(null)} />
    </div>
  );
}
