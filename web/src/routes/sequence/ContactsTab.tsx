import { A, createAsync, revalidate, useIsRouting, useSearchParams } from "@solidjs/router";
import { createEffect, createMemo, createSignal, For, Show, Suspense } from "solid-js";
import { getEnrollments } from "../../queries/enrollments";
import { getMailboxes } from "../../queries/mailboxes";
import { changeEnrollments, type Enrollment, type EnrollmentAction, type EnrollmentFilter } from "../../api";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { Pagination } from "../../components/Pagination";
import { errorMessage, TableSkeleton } from "../../components/Status";
import { StepIcon, stepMeta } from "../../components/StepType";
import { tabId, tabPanelId, Tabs } from "../../components/Tabs";
import { notify } from "../../components/Toast";
import { formatDay, formatFull, formatNumber, formatRelative, plural } from "../../format";
import { EnrollmentBadge, reasonTone } from "./EnrollmentStatus";

const FILTERS: { id: EnrollmentFilter; label: string; always?: boolean }[] = [
  { id: "all", label: "All", always: true },
  { id: "active", label: "Active", always: true },
  { id: "scheduled", label: "Scheduled" },
  { id: "paused", label: "Paused", always: true },
  { id: "finished", label: "Finished", always: true },
  { id: "bounced", label: "Bounced" },
  { id: "not_sent", label: "Not sent" },
  { id: "blocked", label: "Blocked by a rule" },
  { id: "failed", label: "Failed" },
  { id: "removed", label: "Removed" },
];

const ACTIONS: { id: EnrollmentAction; label: string; icon: "pause" | "play" | "check" | "trash" | "refresh"; done: string }[] = [
  { id: "pause", label: "Pause", icon: "pause", done: "paused" },
  { id: "resume", label: "Resume", icon: "play", done: "resumed" },
  { id: "restart", label: "Restart", icon: "refresh", done: "restarted from step 1" },
  { id: "finish", label: "Mark finished", icon: "check", done: "marked finished" },
  { id: "remove", label: "Remove", icon: "trash", done: "removed" },
];

/** When the contact's next action happens, or, the point of this column, why it won't. */
function NextAction(props: { e: Enrollment }) {
  const waiting = () => props.e.reason === "waiting_for_step" || props.e.reason === "queued_for_mailbox";
  return (
    <Show
      when={props.e.next_action_at}
      fallback={
        <Show when={props.e.reason_text} fallback={<span class="muted">{props.e.status === "active" ? "Being scheduled…" : "—"}</span>}>
          {(text) => (
            <span
              class={`reason reason-${reasonTone(props.e.reason).tone}`}
              data-testid="enrollment-reason"
              title={props.e.reason ?? undefined}
            >
              <Icon name={reasonTone(props.e.reason).icon} size={14} />
              <span>{text()}</span>
            </span>
          )}
        </Show>
      }
    >
      {(at) => (
        <div class="next-action" data-testid={props.e.paused_until ? "paused-until" : undefined}>
          <Show when={props.e.paused_until}>
            <span class="muted small">Paused until </span>
          </Show>
          <time datetime={new Date(at()).toISOString()} title={formatFull(at())}>
            <strong>{at() <= Date.now() ? "Due now" : formatDay(at())}</strong>
            <Show when={at() > Date.now() && at() - Date.now() < 20 * 3_600_000}>
              <span class="muted small"> · {formatRelative(at())}</span>
            </Show>
          </time>
          <Show when={props.e.reason_text && !waiting()}>
            <span class={`reason reason-${reasonTone(props.e.reason).tone} small`}>{props.e.reason_text}</span>
          </Show>
          <Show when={props.e.reason === "queued_for_mailbox"}>
            <span class="muted small">Queued in {props.e.mailbox?.email ?? "the mailbox"}</span>
          </Show>
        </div>
      )}
    </Show>
  );
}

export function ContactsTab(props: { sequenceId: string; readOnly: boolean; stepCount: number }) {
  const [params, setParams] = useSearchParams();
  const routing = useIsRouting();
  const status = (): EnrollmentFilter => (FILTERS.some((f) => f.id === params.status) ? (params.status as EnrollmentFilter) : "all");
  const page = () => Math.max(1, Number(params.page) || 1);
  const search = () => (typeof params.q === "string" && params.q.trim() ? params.q.trim() : undefined);
  const result = createAsync(() => getEnrollments(props.sequenceId, { page: page(), per_page: 25, status: status(), q: search() }));
  const [pauseUntil, setPauseUntil] = createSignal("");
  const [restartStep, setRestartStep] = createSignal(1);
  const [mailboxId, setMailboxId] = createSignal("");
  // Only mailboxes the caller may send from (the API refuses the others).
  const mailboxes = createAsync(async () =>
    props.readOnly
      ? []
      : ((await getMailboxes().catch(() => undefined))?.mailboxes ?? []).filter((m) => m.can_send && m.status === "connected"),
  );

  const [selected, setSelected] = createSignal<Set<string>>(new Set());
  const [busy, setBusy] = createSignal<EnrollmentAction | null>(null);
  const [confirmRemove, setConfirmRemove] = createSignal(false);
  const rows = () => result()?.enrollments ?? [];
  const allOnPage = createMemo(() => rows().length > 0 && rows().every((e) => selected().has(e.id)));
  const someOnPage = createMemo(() => rows().some((e) => selected().has(e.id)));

  // Counts per status come from the server (they overlap: bounced and blocked contacts are finished too).
  const countOf = (id: EnrollmentFilter) => result()?.counts[id] ?? 0;
  const tabs = () =>
    FILTERS.filter((f) => f.always || countOf(f.id) > 0 || f.id === status()).map((f) => ({
      id: f.id,
      label: result() ? `${f.label} ${formatNumber(countOf(f.id))}` : f.label,
    }));

  const select = (id: string, on: boolean) =>
    setSelected((s) => {
      const n = new Set(s);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });

  const apply = async (action: EnrollmentAction, extra: { until?: number; step?: number; mailbox_id?: string } = {}) => {
    const ids = [...selected()];
    if (!ids.length) return;
    setBusy(action);
    try {
      const r = await changeEnrollments(props.sequenceId, action, ids, extra);
      const a = ACTIONS.find((x) => x.id === action) ?? { done: action === "change-mailbox" ? "moved to the new mailbox" : action };
      // Say why the others did not change (e.g. finished: restart them instead), grouped by reason.
      const reasons = new Map<string, number>();
      for (const x of r.results) if (!x.changed && x.reason) reasons.set(x.reason, (reasons.get(x.reason) ?? 0) + 1);
      const why = [...reasons].map(([text, n]) => `${formatNumber(n)}: ${text}`).join(" · ");
      notify(
        `${plural(r.changed.length, "contact")} ${extra.until ? `paused until ${formatDay(extra.until)}` : action === "restart" && extra.step && extra.step > 1 ? `restarted from step ${extra.step}` : a.done}` +
          (why ? ` · ${why}` : ""),
        r.changed.length ? "success" : "info",
      );
      setPauseUntil("");
      setSelected(new Set<string>());
      setConfirmRemove(false);
      await revalidate(getEnrollments.key);
    } catch (err) {
      notify(`Couldn't ${action} contacts: ${errorMessage(err)}`, "danger");
    } finally {
      setBusy(null);
    }
  };

  return (
    <div class="stack-sm">
      <form
        class="toolbar"
        role="search"
        onSubmit={(ev) => {
          ev.preventDefault();
          const v = String(new FormData(ev.currentTarget).get("q") ?? "").trim();
          setSelected(new Set<string>());
          setParams({ q: v || undefined, page: undefined }, { replace: true });
        }}
      >
        <input
          type="search"
          name="q"
          class="input"
          placeholder="Search name, email or company"
          aria-label="Search contacts in this sequence"
          value={search() ?? ""}
          maxLength={200}
        />
        <button type="submit" class="btn btn-secondary btn-sm">
          Search
        </button>
      </form>
      <Tabs
        label="Filter contacts by status"
        tabs={tabs()}
        selected={status()}
        onSelect={(id) => {
          setSelected(new Set<string>());
          setParams({ status: id === "all" ? undefined : id, page: undefined }, { replace: true });
        }}
      />
      <div role="tabpanel" id={tabPanelId(status())} aria-labelledby={tabId(status())} class="tab-panel">
        <Suspense fallback={<TableSkeleton columns={5} rows={6} label="Loading contacts…" />}>
          <Show when={result()}>
            {(r) => (
              <Show
                when={r().enrollments.length > 0}
                fallback={
                  <EmptyState
                    icon="contacts"
                    title={
                      search()
                        ? `No contacts match “${search()}”`
                        : status() === "all"
                          ? "No contacts in this sequence yet"
                          : `No ${FILTERS.find((f) => f.id === status())?.label.toLowerCase() ?? status()} contacts`
                    }
                    actions={
                      status() === "all" && !props.readOnly ? (
                        <A href={`/sequences/${props.sequenceId}/add`} class="btn btn-primary">
                          <Icon name="userPlus" size={16} /> Add contacts
                        </A>
                      ) : undefined
                    }
                  >
                    {status() === "all"
                      ? "Contacts added from search, lists, a CSV import, the API or a workflow show here with where each one is and what happens next."
                      : "Contacts move between these tabs as they progress, pause, or finish."}
                  </EmptyState>
                }
              >
                <div class="table-card" aria-busy={routing() || !!busy()}>
                  <Show when={!props.readOnly && selected().size > 0}>
                    <div class="bulk-bar" role="toolbar" aria-label="Bulk actions">
                      <strong>{plural(selected().size, "contact")} selected</strong>
                      <div class="bulk-actions">
                        <For each={ACTIONS}>
                          {(a) => (
                            <button
                              type="button"
                              class={a.id === "remove" ? "btn btn-danger-ghost btn-sm" : "btn btn-secondary btn-sm"}
                              disabled={!!busy()}
                              onClick={() => (a.id === "remove" ? setConfirmRemove(true) : void apply(a.id))}
                            >
                              <Icon name={a.icon} size={14} />
                              {busy() === a.id ? "Working…" : a.label}
                            </button>
                          )}
                        </For>
                        <label class="small">
                          <span class="sr-only">Pause until</span>
                          <input
                            type="date"
                            class="input input-sm"
                            aria-label="Pause until"
                            data-testid="pause-until-date"
                            value={pauseUntil()}
                            min={new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}
                            onInput={(ev) => setPauseUntil(ev.currentTarget.value)}
                          />
                        </label>
                        <button
                          type="button"
                          class="btn btn-secondary btn-sm"
                          disabled={!!busy() || !pauseUntil()}
                          onClick={() => void apply("pause", { until: new Date(`${pauseUntil()}T09:00:00`).getTime() })}
                        >
                          <Icon name="pause" size={14} /> Pause until
                        </button>
                        <Show when={props.stepCount > 1}>
                          <label class="small">
                            <span class="sr-only">Restart from step</span>
                            <select
                              class="input input-sm"
                              aria-label="Restart from step"
                              data-testid="restart-step"
                              value={restartStep()}
                              onChange={(ev) => setRestartStep(Number(ev.currentTarget.value))}
                            >
                              <For each={Array.from({ length: props.stepCount }, (_, i) => i + 1)}>
                                {(n) => <option value={n}>Step {n}</option>}
                              </For>
                            </select>
                          </label>
                          <button
                            type="button"
                            class="btn btn-secondary btn-sm"
                            disabled={!!busy()}
                            onClick={() => void apply("restart", { step: restartStep() })}
                            data-testid="restart-from-step"
                          >
                            <Icon name="refresh" size={14} /> Restart from step {restartStep()}
                          </button>
                        </Show>
                        <Show when={(mailboxes() ?? []).length > 1}>
                          <label class="small">
                            <span class="sr-only">Send from</span>
                            <select
                              class="input input-sm"
                              aria-label="Send from mailbox"
                              data-testid="change-mailbox-select"
                              value={mailboxId()}
                              onChange={(ev) => setMailboxId(ev.currentTarget.value)}
                            >
                              <option value="">Send from…</option>
                              <For each={mailboxes()}>{(m) => <option value={m.id}>{m.email}</option>}</For>
                            </select>
                          </label>
                          <button
                            type="button"
                            class="btn btn-secondary btn-sm"
                            disabled={!!busy() || !mailboxId()}
                            onClick={() => void apply("change-mailbox", { mailbox_id: mailboxId() })}
                          >
                            <Icon name="mail" size={14} /> Change mailbox
                          </button>
                        </Show>
                        <button type="button" class="btn btn-ghost btn-sm" onClick={() => setSelected(new Set<string>())}>
                          Clear
                        </button>
                      </div>
                    </div>
                  </Show>
                  <div class="table-wrap">
                    <table class="table" data-testid="enrollments-table">
                      <caption class="sr-only">Contacts in this sequence</caption>
                      <thead>
                        <tr>
                          <Show when={!props.readOnly}>
                            <th scope="col" class="cell-check">
                              <input
                                type="checkbox"
                                aria-label="Select all contacts on this page"
                                checked={allOnPage()}
                                ref={(el) => createEffect(() => (el.indeterminate = someOnPage() && !allOnPage()))}
                                onChange={(e) => {
                                  const on = e.currentTarget.checked;
                                  setSelected((s) => {
                                    const n = new Set(s);
                                    for (const x of rows()) on ? n.add(x.id) : n.delete(x.id);
                                    return n;
                                  });
                                }}
                              />
                            </th>
                          </Show>
                          <th scope="col">Contact</th>
                          <th scope="col">Status</th>
                          <th scope="col">Step</th>
                          <th scope="col">Next action / why not</th>
                          <th scope="col">Mailbox</th>
                        </tr>
                      </thead>
                      <tbody>
                        <For each={r().enrollments}>
                          {(e) => (
                            <tr classList={{ "row-selected": selected().has(e.id) }}>
                              <Show when={!props.readOnly}>
                                <td class="cell-check">
                                  <input
                                    type="checkbox"
                                    aria-label={`Select ${e.contact.name || e.contact.email}`}
                                    checked={selected().has(e.id)}
                                    onChange={(ev) => select(e.id, ev.currentTarget.checked)}
                                  />
                                </td>
                              </Show>
                              <td>
                                <div class="cell-strong">
                                  <A href={`/contacts/${e.contact.id}`}>{e.contact.name || e.contact.email || "(no name)"}</A>
                                </div>
                                <div class="muted small cell-clip-wide">
                                  {e.contact.email ?? "No email"}
                                  <Show when={e.contact.company}> · {e.contact.company}</Show>
                                </div>
                              </td>
                              <td>
                                <EnrollmentBadge status={e.status} />
                              </td>
                              <td class="cell-nowrap">
                                <span class="step-chip">
                                  <Show when={e.step_type}>{(t) => <StepIcon type={t()} size={13} />}</Show>
                                  <span>
                                    Step {e.current_step}
                                    <span class="muted"> of {props.stepCount}</span>
                                  </span>
                                </span>
                                <Show when={e.step_type}>{(t) => <div class="muted small">{stepMeta(t()).label}</div>}</Show>
                              </td>
                              <td class="cell-next">
                                <NextAction e={e} />
                              </td>
                              <td class="cell-nowrap">
                                <Show when={e.mailbox} fallback={<span class="muted">—</span>}>
                                  {(m) => (
                                    <span
                                      class="small"
                                      classList={{ "text-warning": m().status !== "connected" }}
                                      title={m().status !== "connected" ? `Mailbox ${m().status}` : undefined}
                                    >
                                      {m().email}
                                    </span>
                                  )}
                                </Show>
                              </td>
                            </tr>
                          )}
                        </For>
                      </tbody>
                    </table>
                  </div>
                  <Pagination meta={r().pagination} />
                </div>
              </Show>
            )}
          </Show>
        </Suspense>
      </div>
      <ConfirmDialog
        open={confirmRemove()}
        danger
        title={`Remove ${plural(selected().size, "contact")}?`}
        confirmLabel="Remove"
        busy={busy() === "remove"}
        onCancel={() => setConfirmRemove(false)}
        onConfirm={() => void apply("remove")}
      >
        <p>They stop receiving this sequence's steps right away. Anything already sent stays sent. You can add them again later.</p>
      </ConfirmDialog>
    </div>
  );
}
