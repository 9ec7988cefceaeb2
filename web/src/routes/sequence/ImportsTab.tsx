import { pollWhile } from "../../poll";
import { A, createAsync, revalidate, useIsRouting } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { Badge } from "../../components/Badge";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { DataTable } from "../../components/DataTable";
import { formatDateTime, formatDay, formatNumber, formatRelative } from "../../format";
import { isFinished, JOB_STATUS, jobPercent, jobSourceLabel } from "../../jobs";
import { getJobs } from "../../queries/jobs";
import { getLists } from "../../queries/lists";

/** The sequence's add-contacts jobs, newest first; refreshes itself while one is running. */
export function ImportsTab(props: { sequenceId: string; canAdd: boolean }) {
  const routing = useIsRouting();
  const [page, setPage] = createSignal(1);
  const result = createAsync(() => getJobs({ page: page(), per_page: 20, sequence_id: props.sequenceId }));
  const lists = createAsync(() => getLists().catch(() => undefined));
  const listName = (id: string) => lists()?.lists.find((l) => l.id === id)?.name;

  pollWhile(
    () => (result()?.jobs.some((j) => !isFinished(j.status) && j.status !== "scheduled") ? 2000 : null),
    () => revalidate(getJobs.key),
  );

  return (
    <DataTable
      caption="Add-contacts jobs of this sequence"
      testId="jobs-table"
      loading="Loading imports…"
      skeletonRows={4}
      wrapClass="table-wrap-free"
      columns={[
        { label: "When" },
        { label: "Source" },
        { label: "Status" },
        { label: "Progress" },
        { label: "Added", class: "num" },
        { label: "Held back", class: "num" },
        { label: "Skipped", class: "num" },
        { label: "Credits", class: "num" },
        { label: "Open", srOnly: true },
      ]}
      rows={result()?.jobs}
      pagination={result()?.pagination}
      onPage={setPage}
      busy={routing()}
      rowProps={(j) => ({ "data-job-id": j.id })}
      empty={
        <EmptyState
          icon="upload"
          title="No contacts added yet"
          actions={
            <Show when={props.canAdd}>
              <A href={`/sequences/${props.sequenceId}/add`} class="btn btn-primary">
                <Icon name="userPlus" size={16} /> Add contacts
              </A>
            </Show>
          }
        >
          Every time contacts are added (from search, lists, the API or a workflow) the job shows here with its progress, what it cost, and
          why anyone was skipped.
        </EmptyState>
      }
    >
      {(j) => (
        <>
          <td class="cell-nowrap">
            <time datetime={new Date(j.created_at).toISOString()} title={formatDateTime(j.created_at)}>
              {formatRelative(j.created_at)}
            </time>
          </td>
          <td class="cell-clip-wide">{jobSourceLabel(j, listName)}</td>
          <td class="cell-nowrap">
            <Badge tone={JOB_STATUS[j.status].tone} dot title={JOB_STATUS[j.status].hint}>
              {JOB_STATUS[j.status].label}
            </Badge>
            <Show when={j.status === "scheduled" && j.run_at}>{(at) => <div class="muted small">starts {formatDay(at())}</div>}</Show>
          </td>
          <td class="cell-progress">
            <span
              class="progress progress-sm"
              classList={{
                "progress-done": j.status === "completed",
                "progress-active": !isFinished(j.status) && j.status !== "scheduled",
              }}
              role="progressbar"
              aria-label="Job progress"
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={jobPercent(j)}
            >
              <span style={{ width: `${jobPercent(j)}%` }} />
            </span>
            <span class="muted small tabular">
              {formatNumber(j.processed)} / {formatNumber(j.total)}
            </span>
          </td>
          <td class="num tabular">{formatNumber(j.enrolled)}</td>
          <td class="num tabular">{formatNumber(j.warned)}</td>
          <td class="num tabular">{formatNumber(j.skipped)}</td>
          <td class="num tabular">{formatNumber(j.credits_used)}</td>
          <td class="cell-actions">
            <A href={`/jobs/${j.id}`} class="btn btn-ghost btn-sm" aria-label={`View job from ${formatDateTime(j.created_at)}`}>
              View <Icon name="chevronRight" size={14} />
            </A>
          </td>
        </>
      )}
    </DataTable>
  );
}
