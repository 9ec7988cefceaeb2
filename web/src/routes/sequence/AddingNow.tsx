import { A, createAsync, revalidate } from "@solidjs/router";
import { createEffect, For, on, onCleanup, Show } from "solid-js";
import { Icon } from "../../components/Icon";
import { formatNumber } from "../../format";
import { isFinished, jobSourceLabel } from "../../jobs";
import { getEnrollments } from "../../queries/enrollments";
import { getJobs } from "../../queries/jobs";

/**
 * The sequence's add-contacts jobs still at work (a move into it, an import, a workflow run), above its
 * contacts. Contacts arrive in this sequence only when such a job reaches them, so without this the tab
 * looked complete while they were still on their way (a contact just moved here was missing for a
 * second or two). Polled while one runs; the contacts and their counts are read again when one ends.
 */
export function AddingNow(props: { sequenceId: string }) {
  const result = createAsync(() => getJobs({ page: 1, per_page: 10, sequence_id: props.sequenceId }).catch(() => undefined));
  const running = () => (result()?.jobs ?? []).filter((j) => !isFinished(j.status) && j.status !== "scheduled");

  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));
  createEffect(() => {
    const busy = running().length > 0;
    clearTimeout(timer);
    if (busy) timer = setTimeout(() => void revalidate(getJobs.key), 1500);
  });
  createEffect(
    on(
      () => running().map((j) => j.id),
      (now, before) => {
        if (before?.some((id) => !now.includes(id))) void revalidate(getEnrollments.key);
      },
    ),
  );

  return (
    <Show when={running().length > 0}>
      <div class="action-result card adding-now" role="status" aria-live="polite" data-testid="adding-now">
        <ul class="adding-now-list">
          <For each={running()}>
            {(j) => (
              <li>
                <Icon name="upload" size={16} />{" "}
                <strong>
                  {j.source.kind === "contacts" && j.total > 0 && j.total === j.source.contacts
                    ? `Adding ${formatNumber(j.total)} ${j.total === 1 ? "contact" : "contacts"}`
                    : `Adding contacts: ${jobSourceLabel(j)}`}
                </strong>
                <span class="muted">
                  {" "}
                  ·{" "}
                  {j.status === "preparing"
                    ? "checking and ordering them"
                    : j.status === "queued"
                      ? "waiting to start"
                      : `${formatNumber(j.processed)} of ${formatNumber(j.total)} checked`}{" "}
                  · this list refreshes when it's done.{" "}
                </span>
                <A href={`/jobs/${j.id}`}>See the job</A>
              </li>
            )}
          </For>
        </ul>
      </div>
    </Show>
  );
}
