import { A, createAsync, useParams } from "@solidjs/router";
import { Show, Suspense } from "solid-js";
import { getJob } from "../queries/jobs";
import { Icon } from "../components/Icon";
import { Spinner } from "../components/Status";
import { formatDateTime } from "../format";
import { usePageTitle } from "../title";
import { JobPanel } from "../components/JobPanel";
import { getSequence } from "../queries/sequences";

/** /jobs/:id: one add-contacts job, live while it runs, then its result and every outcome. */
export default function JobPage() {
  usePageTitle("Add contacts job");
  const params = useParams();
  const job = createAsync(() => getJob(params.id!));
  // The sequence may be gone or not visible any more: the job page still works without its name.
  const seq = createAsync(async () => {
    const id = job()?.sequence_id;
    return id ? getSequence(id).catch(() => undefined) : undefined;
  });
  return (
    <div class="page page-flow">
      <Suspense
        fallback={
          <div class="page-loading">
            <Spinner label="Loading job…" />
          </div>
        }
      >
        <Show when={job()}>
          {(j) => (
            <>
              <nav aria-label="Breadcrumb" class="breadcrumb">
                <Show
                  when={seq()}
                  fallback={
                    <A href="/sequences">
                      <Icon name="arrowLeft" size={14} /> Sequences
                    </A>
                  }
                >
                  {(s) => (
                    <A href={`/sequences/${s().id}?tab=imports`}>
                      <Icon name="arrowLeft" size={14} /> {s().name} · Imports
                    </A>
                  )}
                </Show>
              </nav>
              <header class="page-header">
                <div>
                  <h1 class="page-title">Add contacts job</h1>
                  <p class="page-description">Created {formatDateTime(j().created_at)}</p>
                </div>
              </header>
              <Show when={params.id} keyed>
                {(id) => <JobPanel jobId={id} initial={j()} sequenceName={seq()?.name} />}
              </Show>
            </>
          )}
        </Show>
      </Suspense>
    </div>
  );
}
