import { pollWhile } from "../../poll";
import { A, createAsync, revalidate } from "@solidjs/router";
import { createEffect, For, on, Show } from "solid-js";
import type { Job } from "../../api";
import { Icon } from "../../components/Icon";
import { formatNumber, plural } from "../../format";
import { isFinished, jobSourceLabel } from "../../jobs";
import { getEnrollments } from "../../queries/enrollments";
import { getJobs } from "../../queries/jobs";

/** Jobs read to find the running ones: newest first, far more than a sequence runs at once. */
const JOBS_READ = 50;
/** "Just ended", with room for a clock between the browser and the server that is a little off. */
const RECENT_MS = 3 * 60_000;

/**
 * The sequence's add-contacts jobs still at work (a move into it, an import, a workflow run), above its
 * contacts. Contacts arrive in this sequence only when such a job reaches them, so without this the tab
 * looked complete while they were still on their way (a contact just moved here was missing for a
 * second or two). Polled while one runs; the contacts and their counts are read again when one ends.
 */
export function AddingNow(props: { sequenceId: string }) {
  // A failed poll keeps what was last seen: hiding it would read as "done".
  const result = createAsync((prev: { jobs: Job[] } | undefined) =>
    getJobs({ page: 1, per_page: JOBS_READ, sequence_id: props.sequenceId }).catch(() => prev ?? { jobs: [] }),
  );
  const running = () => (result()?.jobs ?? []).filter((j) => !isFinished(j.status) && j.status !== "scheduled");

  // A stalled job is resumed by the cron within minutes: no need to ask every second meanwhile.
  pollWhile(
    () => (running().length ? (running().every((j) => j.stalled) ? 15_000 : 1500) : null),
    () => revalidate(getJobs.key),
  );
  createEffect(
    on(
      () => running().map((j) => j.id),
      (now, before) => {
        if (before?.some((id) => !now.includes(id))) void revalidate(getEnrollments.key);
      },
    ),
  );
  // A job that ended between the contacts' read and this first answer was never seen running: its
  // contacts may be missing from the list. One that ended in the last minutes gets the list read again.
  let first = true;
  createEffect(() => {
    const jobs = result()?.jobs;
    if (!jobs || !first) return;
    first = false;
    if (jobs.some((j) => j.finished_at !== null && j.finished_at > Date.now() - RECENT_MS)) void revalidate(getEnrollments.key);
  });

  return (
    <>
      {/* Announced when jobs start and end, not at every count. */}
      <p class="sr-only" role="status" aria-live="polite">
        {running().length
          ? `Adding contacts to this sequence: ${running().length === 1 ? "one job" : `${running().length} jobs`} running`
          : ""}
      </p>
      <Show when={running().length > 0}>
        <div class="action-result card adding-now" data-testid="adding-now">
          <ul class="adding-now-list">
            <For each={running()}>
              {(j) => (
                <li>
                  <Icon name="upload" size={16} />{" "}
                  <strong>
                    {j.source.kind === "contacts" && !j.source.people && !j.source.list_ids.length
                      ? `Adding ${plural(j.source.contacts, "contact")}`
                      : `Adding contacts: ${jobSourceLabel(j)}`}
                  </strong>
                  <span class="muted">
                    {" · "}
                    {j.stalled
                      ? "stalled; it resumes by itself within minutes"
                      : j.status === "preparing"
                        ? "checking and ordering them"
                        : j.status === "queued"
                          ? "waiting to start"
                          : `${formatNumber(j.processed)} of ${formatNumber(j.total)} checked`}
                    {" · this list refreshes when it's done. "}
                  </span>
                  <A href={`/jobs/${j.id}`}>See the job</A>
                </li>
              )}
            </For>
          </ul>
        </div>
      </Show>
    </>
  );
}
