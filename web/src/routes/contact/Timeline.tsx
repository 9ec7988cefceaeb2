import { A, createAsync } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import type { TimelineEvent } from "../../api";
import { Icon, type IconName } from "../../components/Icon";
import { TableSkeleton } from "../../components/Status";
import { formatDateTime, formatFull } from "../../format";
import { getContactTimeline } from "../../queries/contacts";
import "./Timeline.css";

const KIND_ICON: Record<TimelineEvent["kind"], IconName> = {
  email: "mail",
  reply: "message",
  task: "tasks",
  call: "phone",
  status: "flag",
  added: "plus",
};

/** Tone of an event: a bounce or a failed email stands out, a reply is good news. */
function tone(e: TimelineEvent): "danger" | "success" | "neutral" {
  if (e.kind === "email" && (e.status === "bounced" || e.status === "failed")) return "danger";
  if (e.kind === "reply" && (e.status === "bounce_hard" || e.status === "bounce_soft" || e.status === "unsubscribe")) return "danger";
  if (e.kind === "reply" && e.status === "reply") return "success";
  return "neutral";
}

/** Everything that happened to a contact, newest first: emails, tasks, calls, replies, status changes and who made them. */
export function ContactTimeline(props: { contactId: string }) {
  const [page, setPage] = createSignal(1);
  const result = createAsync(() => getContactTimeline(props.contactId, page()));
  return (
    <section class="card contact-card" aria-labelledby="contact-timeline">
      <h2 id="contact-timeline" class="card-title">
        Timeline
      </h2>
      <Suspense fallback={<TableSkeleton columns={2} rows={4} label="Loading timeline…" />}>
        <Show when={(result()?.events ?? []).length > 0} fallback={<p class="card-empty">Nothing has happened with this contact yet.</p>}>
          <ol class="timeline" data-testid="contact-timeline">
            <For each={result()?.events}>
              {(e) => (
                <li class={`timeline-item timeline-${tone(e)}`} data-kind={e.kind}>
                  <span class="timeline-icon" aria-hidden="true">
                    <Icon name={KIND_ICON[e.kind]} size={14} />
                  </span>
                  <div class="timeline-body">
                    <div class="timeline-title">
                      <strong>{e.title}</strong>
                      <time class="timeline-time" datetime={new Date(e.at).toISOString()} title={formatFull(e.at)}>
                        {formatDateTime(e.at)}
                      </time>
                    </div>
                    <div class="timeline-meta">
                      <Show when={e.sequence}>{(s) => <A href={`/sequences/${s().id}`}>{s().name}</A>}</Show>
                      <Show when={e.step}>{(n) => <span>Step {n()}</span>}</Show>
                      <Show when={e.mailbox}>{(m) => <span>from {m()}</span>}</Show>
                      {/* A workflow's addition: the title names the workflow, which acts as its owner. */}
                      <Show when={e.by}>{(b) => <span>{e.data.workflow ? `runs as ${b().name}` : `by ${b().name}`}</span>}</Show>
                    </div>
                    <Show when={e.detail}>{(d) => <p class="timeline-detail">{d()}</p>}</Show>
                  </div>
                </li>
              )}
            </For>
          </ol>
          <div class="timeline-pager">
            <Show when={page() > 1}>
              <button type="button" class="btn btn-secondary btn-sm" onClick={() => setPage((p) => p - 1)}>
                Newer
              </button>
            </Show>
            <Show when={result()?.has_more}>
              <button type="button" class="btn btn-secondary btn-sm" onClick={() => setPage((p) => p + 1)}>
                Older
              </button>
            </Show>
          </div>
        </Show>
      </Suspense>
    </section>
  );
}
