import { createAsync, revalidate } from "@solidjs/router";
import { Show, Suspense } from "solid-js";
import { getSequenceScheduled } from "../../queries/sequences";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { TableSkeleton } from "../../components/Status";
import { browserTimeZone, plural } from "../../format";
import { ScheduledList } from "./ScheduledList";

const LIMIT = 200;

export function ScheduledTab(props: { sequenceId: string; active: boolean }) {
  const items = createAsync(() => getSequenceScheduled(props.sequenceId, LIMIT));
  return (
    <Suspense fallback={<TableSkeleton columns={5} rows={5} label="Loading scheduled emails…" />}>
      <Show when={items()}>
        {(list) => (
          <Show
            when={list().length > 0}
            fallback={
              <EmptyState icon="calendar" title="Nothing scheduled">
                {props.active
                  ? "Automatic emails waiting for their time or queued in a mailbox appear here with the moment each will go out."
                  : "This sequence is off, so nothing is scheduled. Turn it on to plan its emails."}
              </EmptyState>
            }
          >
            <div class="table-card">
              <div class="table-toolbar">
                <span class="muted small">
                  {list().length >= LIMIT ? `The next ${LIMIT} emails` : `${plural(list().length, "email")} planned`}, soonest first. Times
                  are in your time zone ({browserTimeZone()}).
                </span>
                <button type="button" class="btn btn-ghost btn-sm" onClick={() => void revalidate(getSequenceScheduled.key)}>
                  <Icon name="refresh" size={14} /> Refresh
                </button>
              </div>
              <ScheduledList items={list()} show="sequence" />
            </div>
          </Show>
        )}
      </Show>
    </Suspense>
  );
}
