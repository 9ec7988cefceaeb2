import { A, createAsync, useNavigate, useParams, useSearchParams } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import type { Workflow } from "../../api";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { Pagination } from "../../components/Pagination";
import { ErrorPanel, Spinner, TableSkeleton } from "../../components/Status";
import { Toggle } from "../../components/Toggle";
import { formatNumber } from "../../format";
import { getWorkflowRuns, getWorkflows } from "../../queries/workflows";
import { usePageTitle } from "../../title";
import { DeleteWorkflowDialog, SEQUENCE_OFF, useWorkflowActions } from "../Workflows";
import { filterSummary, RunBadge, RunCounts, RunReason, RunTime, RunTrigger, triggerLabel } from "./present";

const PER_PAGE = 25;

function RunLog(props: { id: string }) {
  const [params] = useSearchParams();
  const page = () => Math.max(1, Number(params.page) || 1);
  const runs = createAsync(() => getWorkflowRuns(props.id, { page: page(), per_page: PER_PAGE }));
  return (
    <section class="card card-flush" aria-labelledby="wf-runs-title">
      <div class="card-header">
        <h2 id="wf-runs-title" class="card-title">
          Run log
        </h2>
        <p class="card-subtitle">Every run, newest first: who it found, how many its job added, and why a run added nobody.</p>
      </div>
      <Suspense fallback={<TableSkeleton columns={5} rows={4} label="Loading runs…" />}>
        <Show when={runs()}>
          {(r) => (
            <Show
              when={r().runs.length > 0}
              fallback={
                <EmptyState icon="clock" title="No runs yet">
                  Runs show up here once the schedule comes round, or when you press Run now.
                </EmptyState>
              }
            >
              <div class="table-wrap">
                <table class="table" data-testid="run-log">
                  <caption class="sr-only">
                    Runs of this workflow, page {r().pagination.page} of {r().pagination.total_pages}
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Started</th>
                      <th scope="col">Triggered by</th>
                      <th scope="col">Status</th>
                      <th scope="col">Result</th>
                      <th scope="col">Reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={r().runs}>
                      {(run) => (
                        <tr data-testid="run-row" data-run-id={run.id}>
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
                              <RunReason code={run.reason} />
                            </Show>
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
              <Pagination meta={r().pagination} />
            </Show>
          )}
        </Show>
      </Suspense>
    </section>
  );
}

function Summary(props: { w: Workflow; actions: ReturnType<typeof useWorkflowActions>; onDelete: () => void }) {
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
        </div>
        <div class="page-actions">
          <Toggle
            label={`${w().name} on`}
            checked={a.isActive(w())}
            busy={a.pending()[w().id] !== undefined}
            disabled={!a.isActive(w()) && !w().sequence_active}
            title={!a.isActive(w()) && !w().sequence_active ? SEQUENCE_OFF : undefined}
            onText="On"
            offText="Off"
            onChange={(v) => void a.toggle(w(), v)}
            testId="workflow-toggle"
          />
          <Show when={w().trigger.kind !== "change"}>
            <button
              type="button"
              class="btn btn-primary"
              disabled={!!a.running()[w().id]}
              aria-busy={!!a.running()[w().id]}
              onClick={() => void a.runNow(w())}
            >
              <Icon name="play" size={14} /> {a.running()[w().id] ? "Running…" : "Run now"}
            </button>
          </Show>
          <A href={`/workflows/${w().id}/edit`} class="btn btn-secondary">
            <Icon name="pencil" size={14} /> Edit
          </A>
          <button type="button" class="btn btn-danger-ghost" onClick={() => props.onDelete()}>
            <Icon name="trash" size={14} /> Delete
          </button>
        </div>
      </header>
      <section class="card wf-summary" aria-label="Workflow settings">
        <dl class="wf-facts">
          <div>
            <dt>Next run</dt>
            <dd>
              <Show when={a.isActive(w())} fallback={<span class="muted">Off: not scheduled</span>}>
                <Show when={w().next_run_at} fallback="—">
                  {(t) => <RunTime ms={t()} />}
                </Show>
              </Show>
            </dd>
          </div>
          <div>
            <dt>Send from</dt>
            <dd>
              {w().mailbox_ids.length
                ? `${w().mailbox_ids.length} chosen mailbox${w().mailbox_ids.length === 1 ? "" : "es"}`
                : "Every connected mailbox"}
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
              <ul class="wf-chips" aria-label="Filters">
                <For each={filterSummary(w().filters)} fallback={<li class="wf-chip wf-chip-muted">Everyone net new (no filters)</li>}>
                  {(s) => <li class="wf-chip">{s}</li>}
                </For>
              </ul>
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
  const workflows = createAsync(() => getWorkflows());
  const current = () => workflows()?.workflows.find((x) => x.id === params.id);
  const actions = useWorkflowActions();
  const [deleting, setDeleting] = createSignal<Workflow | null>(null);
  return (
    <div class="page page-flow">
      <nav aria-label="Breadcrumb" class="breadcrumb">
        <A href="/workflows">
          <Icon name="arrowLeft" size={14} /> Workflows
        </A>
      </nav>
      <Suspense
        fallback={
          <div class="page-loading">
            <Spinner label="Loading workflow…" />
          </div>
        }
      >
        <Show when={workflows()}>
          <Show
            when={current()}
            fallback={<ErrorPanel error={new Error("This workflow doesn't exist or was deleted.")} title="Workflow not found" />}
          >
            {(w) => (
              <>
                <Summary w={w()} actions={actions} onDelete={() => setDeleting(w())} />
                <RunLog id={w().id} />
              </>
            )}
          </Show>
        </Show>
      </Suspense>
      <DeleteWorkflowDialog
        target={deleting()}
        onClose={() => setDeleting(null)}
        onDeleted={() => navigate("/workflows", { replace: true })}
      />
    </div>
  );
}
