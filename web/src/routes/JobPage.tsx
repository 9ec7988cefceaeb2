import { createAsync, useParams } from "@solidjs/router";
import { Show, Suspense } from "solid-js";
import { getJob } from "../queries/jobs";
import { Spinner } from "../components/Status";
import { formatDateTime } from "../format";
import { usePageTitle } from "../title";
import { JobPanel } from "../components/JobPanel";
import { getSequence } from "../queries/sequences";
import { BackLink } from "../components/BackLink";

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
              <BackLink href={seq() ? `/sequences/${seq()!.id}?tab=imports` : "/sequences"}>
                {seq() ? `${seq()!.name} · Imports` : "Sequences"}
              </BackLink>
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
