import { A, createAsync, revalidate, useIsRouting, useNavigate } from "@solidjs/router";
import { createMemo, createSignal, onCleanup, onMount, Show } from "solid-js";
import { useWrite } from "../actions";
import { fetchJob, jobOutcomesCsvUrl, type Job, type OutcomeFilter } from "../api";
import { Badge } from "./Badge";
import { Card } from "./Card";
import { ConfirmDialog } from "./ConfirmDialog";
import { EmptyState } from "./EmptyState";
import { Icon } from "./Icon";
import { DataTable } from "./DataTable";
import { OUTCOME_COLUMNS, OutcomeCells, OutcomeTabs } from "./Outcomes";
import { errorMessage, TableSkeleton } from "./Status";
import { formatDateTime, formatDay, formatFull, formatNumber, plural } from "../format";
import { isFinished, JOB_STATUS, jobPercent, jobSourceLabel, jobSourceParts } from "../jobs";
import { cancelJobAction, getJobOutcomes } from "../queries/jobs";
import { getLists } from "../queries/lists";
import { getMailboxes } from "../queries/mailboxes";
import { fetchImport } from "../queries/imports";
import { handOffRetry } from "../routes/add-contacts/state";

import "./JobPanel.css";
/** Poll every second while the job runs; a scheduled job changes rarely, so less often. */
const pollEvery = (j: Job | undefined) => (j?.status === "scheduled" ? 5000 : 1000);

/** The stat tiles of a job: what happened to its contacts and what it cost. */
function JobCounts(props: { job: Job }) {
  const refunded = () => (isFinished(props.job.status) ? Math.max(0, props.job.credits_held - props.job.credits_used) : 0);
  return (
    <dl class="job-counts" data-testid="job-counts">
      <div class="job-count job-count-success" classList={{ "job-count-zero": props.job.enrolled === 0 }}>
        <dt>Added</dt>
        <dd data-testid="job-enrolled">{formatNumber(props.job.enrolled)}</dd>
      </div>
      <div class="job-count job-count-warning" classList={{ "job-count-zero": props.job.warned === 0 }}>
        <dt>Held back by warnings</dt>
        <dd data-testid="job-warned">{formatNumber(props.job.warned)}</dd>
      </div>
      <div class="job-count job-count-danger" classList={{ "job-count-zero": props.job.skipped === 0 }}>
        <dt>Skipped</dt>
        <dd data-testid="job-skipped">{formatNumber(props.job.skipped)}</dd>
      </div>
      <div class="job-count">
        <dt>Credits used</dt>
        <dd data-testid="job-credits">
          {formatNumber(props.job.credits_used)}
          <Show when={props.job.credits_held > 0}>
            <span class="job-count-sub">
              {isFinished(props.job.status)
                ? refunded() > 0
                  ? ` · ${formatNumber(refunded())} returned`
                  : ""
                : ` of ${formatNumber(props.job.credits_held)} held`}
            </span>
          </Show>
        </dd>
      </div>
    </dl>
  );
}

/** Progress while the job runs; announced politely to screen readers at each quarter and on finish. */
function JobProgress(props: { job: Job }) {
  const pct = () => jobPercent(props.job);
  const announce = createMemo(() => {
    const j = props.job;
    if (j.status === "running" || j.status === "queued" || j.status === "preparing") {
      return `${JOB_STATUS[j.status].label}: ${Math.floor(pct() / 25) * 25}% done`;
    }
    return `${JOB_STATUS[j.status].label}.`;
  });
  return (
    <div class="job-progress">
      <div class="job-progress-head">
        <span class="job-progress-label" id={`job-progress-${props.job.id}`}>
          <Show when={props.job.status === "completed"} fallback={<>Adding contacts…</>}>
            All contacts processed
          </Show>
        </span>
        <span class="tabular" data-testid="job-processed">
          <strong>{formatNumber(props.job.processed)}</strong> of {formatNumber(props.job.total)} processed · {pct()}%
        </span>
      </div>
      <div
        class="progress"
        classList={{ "progress-done": props.job.status === "completed", "progress-active": !isFinished(props.job.status) }}
        role="progressbar"
        aria-labelledby={`job-progress-${props.job.id}`}
        aria-valuemin={0}
        aria-valuemax={props.job.total}
        aria-valuenow={props.job.processed}
        aria-valuetext={`${formatNumber(props.job.processed)} of ${formatNumber(props.job.total)} contacts processed`}
        data-testid="job-progress"
      >
        <span style={{ width: `${pct()}%` }} />
      </div>
      <p class="sr-only" aria-live="polite">
        {announce()}
      </p>
    </div>
  );
}

/** Per-contact outcomes of a finished job, filterable, with reasons in words and the mailbox used. */
function JobOutcomes(props: { job: Job }) {
  const routing = useIsRouting();
  const [outcome, setOutcome] = createSignal<OutcomeFilter>("all");
  const [page, setPage] = createSignal(1);
  const result = createAsync(() => getJobOutcomes(props.job.id, { page: page(), per_page: 25, outcome: outcome() }));
  const mailboxes = createAsync(() => getMailboxes().catch(() => undefined));
  const mailboxEmail = (id: string) => mailboxes()?.mailboxes.find((m) => m.id === id)?.email;
  return (
    <Card
      title="Contact by contact"
      subtitle="Every contact of this job with its outcome and the reasons behind it."
      titleId="outcomes-title"
      flush
      actions={
        <a class="btn btn-secondary btn-sm" href={jobOutcomesCsvUrl(props.job.id)} download="" data-testid="outcomes-csv">
          <Icon name="download" size={15} /> Download outcomes (CSV)
        </a>
      }
    >
      <OutcomeTabs
        label="Filter outcomes"
        counts={{ all: props.job.processed, enrolled: props.job.enrolled, warned: props.job.warned, skipped: props.job.skipped }}
        enrolled="Added"
        selected={outcome()}
        onSelect={(o) => {
          setOutcome(o);
          setPage(1);
        }}
      >
        <DataTable
          flush
          caption="Outcomes of this job"
          columns={[{ label: "Contact" }, ...OUTCOME_COLUMNS]}
          rows={result()?.outcomes}
          pagination={result()?.pagination}
          onPage={setPage}
          busy={routing()}
          loading="Loading outcomes…"
          testId="outcomes-table"
          wrapClass="table-wrap-free"
          empty={
            <EmptyState icon="check" title="Nothing here">
              No contact of this job had this outcome.
            </EmptyState>
          }
        >
          {(o) => (
            <>
              <td>
                <div class="cell-strong">{o.name || o.email || "(no name)"}</div>
                <div class="muted small">{o.email ?? "No email"}</div>
              </td>
              <OutcomeCells row={o} reasons={result()?.reasons} mailboxEmail={mailboxEmail} />
            </>
          )}
        </DataTable>
      </OutcomeTabs>
    </Card>
  );
}

/**
 * A CSV job's source: its file, linked to the Imports page where its row is, and the report of the rows it did not
 * import when there are some. An import deleted since, or not the caller's to see (a member sees their own), is
 * named as the file it was. `parts` are jobSourceParts: "CSV file" first (the link), then the rest (a list, contacts).
 */
function CsvSource(props: { importId: string; parts: string[] }) {
  const imp = createAsync(() =>
    fetchImport(props.importId)
      .then((r) => r.import)
      .catch(() => null),
  );
  return (
    <Show when={imp()} fallback={props.parts.join(" + ")}>
      {(i) => (
        <>
          <A href="/imports" data-testid="job-import-link">
            CSV file “{i().file_name}”
          </A>
          <Show when={props.parts.length > 1}>{` + ${props.parts.slice(1).join(" + ")}`}</Show>
          <Show when={i().failed + i().warned > 0}>
            {" "}
            (
            <a href={`/api/imports/${i().id}/errors.csv`} download="" data-testid="job-import-report">
              {i().failed > 0 ? `${formatNumber(i().failed)} rows not imported` : `${formatNumber(i().warned)} saved with a warning`}
            </a>
            )
          </Show>
        </>
      )}
    </Show>
  );
}

/**
 * One add-contacts job, live: polls GET /api/jobs/:id until it is finished, with a progress bar while
 * it runs, a start time and Cancel while scheduled, then the result summary and every outcome.
 */
export function JobPanel(props: { jobId: string; initial?: Job; sequenceName?: string; onAddMore?: () => void }) {
  const [job, setJob] = createSignal<Job | undefined>(props.initial);
  const [loadError, setLoadError] = createSignal<unknown>();
  const [confirmCancel, setConfirmCancel] = createSignal(false);
  const cancelWrite = useWrite(cancelJobAction, {
    done: (j) => (j && j.credits_held > 0 ? `Job cancelled: ${plural(j.credits_held, "credit")} returned` : "Job cancelled"),
    failed: () => "Couldn't cancel",
  });
  const cancelling = cancelWrite.pending;
  const navigate = useNavigate();
  // The contacts it did not process go into a new add of its sequence (the API reads them from the job): previewed,
  // held and charged as any add; those already added are not among them.
  const retry = (j: Job) => {
    handOffRetry(j.id, j.not_processed ?? 0, j.sequence_id!);
    navigate(`/sequences/${j.sequence_id}/add?step=options`);
  };
  const canRetry = (j: Job) => (j.not_processed ?? 0) > 0 && !!j.sequence_id && j.can_cancel;
  const lists = createAsync(() => getLists().catch(() => undefined));
  const listName = (id: string) => lists()?.lists.find((l) => l.id === id)?.name;

  let timer: ReturnType<typeof setTimeout> | undefined;
  let alive = true;
  onCleanup(() => {
    alive = false;
    clearTimeout(timer);
  });
  const finished = () => {
    // The balance in the top bar, the sequence's contacts and its job list all moved.
    void revalidate(["me", "enrollments", "sequence", "jobs", "credits", "ledger"]);
  };
  const poll = async () => {
    const before = job()?.status;
    try {
      const j = await fetchJob(props.jobId);
      if (!alive) return;
      setJob(j);
      setLoadError(undefined);
      if (isFinished(j.status)) {
        if (before && !isFinished(before)) finished();
        return;
      }
    } catch (err) {
      if (!alive) return;
      setLoadError(err);
    }
    timer = setTimeout(() => void poll(), pollEvery(job()));
  };
  onMount(() => void poll());

  const to = () => (props.sequenceName ? ` to ${props.sequenceName}` : "");
  const title = (j: Job) => {
    switch (j.status) {
      case "completed":
        return `${plural(j.enrolled, "contact")} added${to()}`;
      case "scheduled":
        return `${plural(j.total, "contact")} scheduled${props.sequenceName ? ` for ${props.sequenceName}` : ""}`;
      case "cancelled":
        return "Cancelled before it started: nobody was added";
      case "failed":
        return "The job stopped before it finished";
      default:
        return `Adding ${plural(j.total, "contact")}${to()}`;
    }
  };

  // The router re-reads what is on screen after the action (balance, the sequence's jobs and contacts).
  const cancel = async () => {
    const j = await cancelWrite.run(props.jobId);
    if (!j) return;
    setJob(j);
    setConfirmCancel(false);
  };

  return (
    <Show
      when={job()}
      fallback={
        <Show when={loadError()} fallback={<TableSkeleton columns={4} rows={3} label="Loading job…" />}>
          <div class="form-error" role="alert">
            <Icon name="alert" size={16} />
            <span>Couldn't load this job: {errorMessage(loadError())}</span>
          </div>
        </Show>
      }
    >
      {(j) => (
        <div class="stack" data-testid="job-panel" data-status={j().status}>
          <section class="card job-card" aria-labelledby="job-title">
            <div class="job-head">
              <span class={`job-icon job-icon-${JOB_STATUS[j().status].tone}`} aria-hidden="true">
                <Icon
                  name={
                    j().status === "completed"
                      ? "check"
                      : j().status === "failed"
                        ? "alert"
                        : j().status === "scheduled"
                          ? "calendar"
                          : j().status === "cancelled"
                            ? "x"
                            : "upload"
                  }
                  size={20}
                />
              </span>
              <div class="job-head-text">
                <h2 id="job-title" class="job-title" data-testid="job-title">
                  {title(j())}
                </h2>
                <p class="muted small">
                  <Show when={j().source.kind === "csv" && j().source.import_id} fallback={jobSourceLabel(j(), listName)}>
                    {(id) => <CsvSource importId={id()} parts={jobSourceParts(j(), listName)} />}
                  </Show>{" "}
                  · {j().started_at ? `started ${formatDateTime(j().started_at!)}` : `created ${formatDateTime(j().created_at)}`}
                  <Show when={j().finished_at}>{(f) => <> · finished {formatDateTime(f())}</>}</Show>
                </p>
              </div>
              <Badge tone={JOB_STATUS[j().status].tone} dot title={JOB_STATUS[j().status].hint}>
                <span data-testid="job-status">{JOB_STATUS[j().status].label}</span>
              </Badge>
            </div>

            <Show when={j().status === "scheduled"}>
              <div class="job-scheduled">
                <Icon name="clock" size={18} />
                <div>
                  <strong>
                    Starts{" "}
                    <time datetime={new Date(j().run_at ?? 0).toISOString()} title={formatFull(j().run_at ?? 0)} data-testid="job-run-at">
                      {formatDay(j().run_at ?? 0)}
                    </time>
                  </strong>
                  <p class="muted small">
                    The contacts are checked again when it starts.{" "}
                    <Show when={j().credits_held > 0} fallback="Nothing is charged before then.">
                      {plural(j().credits_held, "credit")} {j().credits_held === 1 ? "is" : "are"} held until then; cancelling returns them.
                    </Show>
                  </p>
                </div>
                <Show when={j().can_cancel}>
                  <button type="button" class="btn btn-secondary btn-sm" onClick={() => setConfirmCancel(true)}>
                    <Icon name="x" size={14} /> Cancel job
                  </button>
                </Show>
              </div>
            </Show>

            <Show when={j().status !== "scheduled" && j().status !== "cancelled"}>
              <JobProgress job={j()} />
            </Show>

            {/* A lost queue message: nothing moved for 10 minutes, and the cron sends what is left again. */}
            <Show when={!isFinished(j().status) && (j().stalled || j().resumed_at)}>
              <p class="muted small" role="status" data-testid="job-stalled">
                <Icon name="clock" size={13} />{" "}
                {j().stalled
                  ? `No progress since ${formatDateTime(j().progress_at ?? j().started_at ?? j().created_at)}: the contacts not processed yet are sent again within a minute.`
                  : `Resumed ${formatDateTime(j().resumed_at!)} after 10 minutes without progress: the contacts not processed yet were sent again.`}{" "}
                Nobody is added or charged twice.
              </p>
            </Show>

            <Show when={j().status === "failed"}>
              <div class="form-error" role="alert">
                <Icon name="alert" size={16} />
                <span>
                  {j().error ?? "The job failed."} Contacts already added stay added; unused credits are returned.
                  <Show when={canRetry(j())}> Retry the ones not processed below: nobody is added or charged twice.</Show>
                </span>
              </div>
            </Show>

            {/* Why a job was cancelled before it started (its sequence was archived). */}
            <Show when={j().status === "cancelled" && j().error}>
              {(error) => (
                <p class="muted small" data-testid="job-cancel-reason">
                  {error()}
                </p>
              )}
            </Show>

            {/* Part of it failed every retry: the rest went on, and those contacts say "Could not be processed". */}
            <Show when={j().status !== "failed" && j().status !== "cancelled" && j().error}>
              {(error) => (
                <div class="form-error" role="alert" data-testid="job-partly-failed">
                  <Icon name="alert" size={16} />
                  <span>
                    {error()}. Those not added are counted as skipped ("Could not be processed"), at no charge
                    <Show when={canRetry(j())} fallback=".">
                      : retry them below, nobody is added or charged twice.
                    </Show>
                  </span>
                </div>
              )}
            </Show>

            <Show when={j().status !== "scheduled" && j().status !== "cancelled"}>
              <JobCounts job={j()} />
            </Show>

            <Show when={loadError()}>
              <p class="muted small" role="status">
                <Icon name="alert" size={13} /> Lost contact with the server ({errorMessage(loadError())}); retrying…
              </p>
            </Show>

            <Show when={canRetry(j()) || (j().status === "completed" && props.onAddMore)}>
              <div class="job-actions">
                <Show when={canRetry(j())}>
                  <button type="button" class="btn btn-primary btn-sm" onClick={() => retry(j())} data-testid="job-retry">
                    <Icon name="refresh" size={15} /> Retry the {formatNumber(j().not_processed ?? 0)} not processed
                  </button>
                </Show>
                <Show when={j().status === "completed" && props.onAddMore}>
                  <button type="button" class="btn btn-secondary btn-sm" onClick={() => props.onAddMore?.()}>
                    <Icon name="plus" size={15} /> Add more contacts
                  </button>
                </Show>
              </div>
            </Show>
          </section>

          <Show when={isFinished(j().status) && j().processed > 0}>
            <JobOutcomes job={j()} />
          </Show>

          <ConfirmDialog
            open={confirmCancel()}
            danger
            title="Cancel this scheduled job?"
            confirmLabel="Cancel job"
            cancelLabel="Keep it"
            busy={cancelling()}
            onCancel={() => setConfirmCancel(false)}
            onConfirm={() => void cancel()}
          >
            <p>
              Nobody is added and the {plural(j().credits_held, "credit")} held for it {j().credits_held === 1 ? "is" : "are"} returned. You
              can add the same contacts again later.
            </p>
          </ConfirmDialog>
        </div>
      )}
    </Show>
  );
}
