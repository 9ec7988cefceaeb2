import { A, createAsync, useIsRouting, useNavigate, useParams, useSearchParams } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import type { Workflow } from "../../api";
import { DataTable } from "../../components/DataTable";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { formatNumber } from "../../format";
import { getWorkflowRuns } from "../../queries/workflows";
import { usePageTitle } from "../../title";
import { OffReason, RunBadge, RunCounts, RunReason, RunTime, RunTrigger, triggerLabel } from "./present";
import { FilterChips, useWorkflowActions, WorkflowById, type WorkflowActions } from "./WorkflowActions";
import { BackLink } from "../../components/BackLink";
import { Card } from "../../components/Card";

const PER_PAGE = 25;

/** When a workflow's first run comes: a schedule's slot or Run now, or a watched contact change while it is on. */
function firstRunText(w: Pick<Workflow, "trigger" | "interval_minutes" | "active">) {
  if (w.trigger.kind !== "change") return "Runs show up here once the schedule comes round, or when you press Run now.";
  // "when a contact is created or moves stage and matches its filters": a change workflow has no schedule and no Run now.
  const when = `${triggerLabel(w).replace(/^When/, "when")} and matches its filters`;
  return w.active ? `Runs show up here ${when}.` : `Runs show up here ${when}, once the workflow is turned on.`;
}

function RunLog(props: { id: string; workflow: Workflow }) {
  const [params] = useSearchParams();
  const routing = useIsRouting();
  const page = () => Math.max(1, Number(params.page) || 1);
  const runs = createAsync(() => getWorkflowRuns(props.id, { page: page(), per_page: PER_PAGE }));
  return (
    <Card
      title="Run log"
      subtitle="Every run, newest first: who it found, how many its job added, and why a run added nobody."
      titleId="wf-runs-title"
      flush
    >
      <DataTable
        flush
        caption={`Runs of this workflow, page ${runs()?.pagination.page ?? 1} of ${runs()?.pagination.total_pages ?? 1}`}
        columns={[{ label: "Started" }, { label: "Triggered by" }, { label: "Status" }, { label: "Result" }, { label: "Reason" }]}
        rows={runs()?.runs}
        pagination={runs()?.pagination}
        busy={routing()}
        loading="Loading runs…"
        skeletonRows={4}
        testId="run-log"
        rowProps={(run) => ({ "data-testid": "run-row", "data-run-id": run.id })}
        empty={
          <EmptyState icon="clock" title="No runs yet">
            {firstRunText(props.workflow)}
          </EmptyState>
        }
      >
        {(run) => (
          <>
            <td class="cell-nowrap">
              <RunTime ms={run.started_at} />
              <Show when={run.finished_at && run.finished_at - run.started_at >= 1000}>
                <div class="muted small">took {formatNumber(Math.round((run.finished_at! - run.started_at) / 1000))} s</div>
              </Show>
            </td>
            <td>
              <RunTrigger run={run} />
            </td>
            <td>
              <RunBadge run={run} />
            </td>
            <td class="cell-nowrap">
              <RunCounts run={run} />
            </td>
            <td class="wf-reason-cell">
              <Show when={run.reason} fallback={<span class="muted">—</span>}>
                <RunReason run={run} />
              </Show>
            </td>
          </>
        )}
      </DataTable>
    </Card>
  );
}

function Summary(props: { w: Workflow; actions: WorkflowActions; onDelete: () => void }) {
  const a = props.actions;
  const w = () => props.w;
  return (
    <>
      <header class="page-header">
        <div>
          <h1 class="page-title">{w().name}</h1>
          <p class="page-description">
            {triggerLabel(w())}, up to {formatNumber(w().max_per_run)}{" "}
            {w().trigger.kind === "change" ? "contacts a minute" : "net-new people"} into{" "}
            <Show when={w().sequence_name} fallback={<em>a deleted sequence</em>}>
              <A href={`/sequences/${w().sequence_id}`}>{w().sequence_name}</A>
            </Show>
            .
          </p>
          <OffReason w={w()} />
        </div>
        <Show when={w().can_manage}>
          <div class="page-actions">
            <a.Switch w={w()} />
            <Show when={w().trigger.kind !== "change"}>
              <a.RunNow w={w()} class="btn btn-primary" />
            </Show>
            <A href={`/workflows/${w().id}/edit`} class="btn btn-secondary">
              <Icon name="pencil" size={14} /> Edit
            </A>
            <button type="button" class="btn btn-danger-ghost" onClick={() => props.onDelete()}>
              <Icon name="trash" size={14} /> Delete
            </button>
          </div>
        </Show>
      </header>
      <section class="cardwf-summary" aria-label="Workflow settings">
        <dl class="wf-facts">
          <div>
            <dt>Next run</dt>
            <dd>
              <a.NextRun w={w()} />
            </dd>
          </div>
          <div>
            <dt>Send from</dt>
            <dd>
              {w().mailbox_ids.length
                ? `${w().mailbox_ids.length} chosen mailbox${w().mailbox_ids.length === 1 ? "" : "es"}`
                : "The owner's own connected mailboxes"}
            </dd>
          </div>
          <div>
            <dt>Checks</dt>
            <dd>
              {(() => {
                const n = Object.values(w().overrides).filter(Boolean).length;
                return n ? `${n} warning ${n === 1 ? "category" : "categories"} added anyway` : "Warnings hold people back";
              })()}
              {w().enrich ? " · enrichment on" : ""}
            </dd>
          </div>
          <div class="wf-fact-wide">
            <dt>Filters</dt>
            <dd>
              <FilterChips w={w()} />
            </dd>
          </div>
        </dl>
      </section>
    </>
  );
}

/** /workflows/:id: the workflow's settings at a glance, its actions and its run log. */
export default function WorkflowPage() {
  usePageTitle("Workflow");
  const params = useParams();
  const navigate = useNavigate();
  const actions = useWorkflowActions();
  const [deleting, setDeleting] = createSignal<Workflow | null>(null);
  return (
    <div class="page page-flow">
      <BackLink href="/workflows">Workflows</BackLink>
      <WorkflowById id={params.id!}>
        {(w) => {
          usePageTitle(() => w().name);
          return (
            <>
              <Summary w={w()} actions={actions} onDelete={() => setDeleting(w())} />
              <RunLog id={w().id} workflow={w()} />
            </>
          );
        }}
      </WorkflowById>
      <actions.DeleteDialog
        target={deleting()}
        onClose={() => setDeleting(null)}
        onDeleted={() => navigate("/workflows", { replace: true })}
      />
    </div>
  );
}
