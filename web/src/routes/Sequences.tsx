import { A, createAsync, useIsRouting, useNavigate, useSearchParams } from "@solidjs/router";
import { createEffect, createSignal, For, on, Show, Suspense } from "solid-js";
import { useWrite } from "../actions";
import type { SequenceFilter, SequenceSummary } from "../api";
import { Badge } from "../components/Badge";
import { Dialog } from "../components/Dialog";
import { EmptyState } from "../components/EmptyState";
import { FieldError } from "../components/FieldError";
import { Icon } from "../components/Icon";
import { MenuButton } from "../components/Menu";
import { Options } from "../components/Options";
import { PageHeader } from "../components/PageHeader";
import { DataTable } from "../components/DataTable";
import { tabId, tabPanelId, Tabs } from "../components/Tabs";
import { Toggle } from "../components/Toggle";
import { formatDate, formatNumber } from "../format";
import { getSchedules } from "../queries/schedules";
import { rateText } from "../reports";
import { createSequenceAction, getSequences, updateSequenceAction } from "../queries/sequences";
import { FormProblems } from "../forms";
import { usePageTitle } from "../title";
import { ArchiveSequenceDialog, DeleteSequenceDialog, deleteItem } from "./sequence/DeleteSequence";

import "./Sequences.css";
import { SearchField } from "../components/SearchField";
const FILTERS: { id: SequenceFilter; label: string }[] = [
  { id: "all", label: "All" },
  { id: "active", label: "Active" },
  { id: "inactive", label: "Inactive" },
  { id: "archived", label: "Archived" },
];

const intParam = (v: string | string[] | undefined, fallback: number) => {
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

/** The enrollment counts worth a glance, in the order people ask about them. */
const COUNT_ORDER: { key: string; label: string; tone: string }[] = [
  { key: "active", label: "active", tone: "accent" },
  { key: "paused", label: "paused", tone: "warning" },
  { key: "held", label: "held", tone: "warning" },
  { key: "scheduled", label: "scheduled", tone: "neutral" },
  { key: "finished", label: "finished", tone: "success" },
  { key: "failed", label: "failed", tone: "danger" },
  { key: "removed", label: "removed", tone: "neutral" },
];

const RUNS_HINT =
  "Counted per run: a contact restarted or added again counts once for each run. The sequence's report counts each contact once.";

function Counts(props: { s: SequenceSummary }) {
  const total = () => Object.values(props.s.counts).reduce((a, b) => a + b, 0);
  // A sequence turned off sends nothing: its 'active' rows wait until it is on again (the Contacts tab counts
  // them as not sent), so they aren't called active here either.
  const off = (c: { key: string }) => c.key === "active" && !props.s.active;
  const shown = () => COUNT_ORDER.filter((c) => (props.s.counts[c.key] ?? 0) > 0 || c.key === "active");
  return (
    // Runs, not contacts: these are sequence_counts, kept by triggers per enrollment, so a contact restarted or
    // added again counts once per run. The report counts each contact once, at its latest run; keeping that
    // in the triggers would need a look-up of the contact's other runs on every enrollment write.
    <div class="count-strip" aria-label={`${total()} runs`} title={RUNS_HINT}>
      <For each={shown()}>
        {(c) => (
          <span class={`count count-${off(c) ? "warning" : c.tone}`} classList={{ "count-zero": !(props.s.counts[c.key] ?? 0) }}>
            <strong>{formatNumber(props.s.counts[c.key] ?? 0)}</strong> {off(c) ? "waiting (sequence off)" : c.label}
          </span>
        )}
      </For>
      {/* Emails, not runs (sequence_counts.bounced counts bounced emails): said in its words and its own
          hint, so it isn't read against the runs beside it under the strip's "Counted per run". */}
      <Show when={props.s.bounced > 0}>
        <span class="count count-danger" data-testid="emails-bounced" title="Counted per email: every email of the sequence that bounced">
          <strong>{formatNumber(props.s.bounced)}</strong> {props.s.bounced === 1 ? "email" : "emails"} bounced
        </span>
      </Show>
    </div>
  );
}

function NewSequenceDialog(props: { open: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const schedules = createAsync(() => getSchedules());
  const create = useWrite(createSequenceAction, { form: "new-sequence-form" });
  const errors = create.errors;
  createEffect(
    on(
      () => props.open,
      (open) => open && create.clear(),
    ),
  );

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const name = String(form.get("name") ?? "").trim();
    const schedule = String(form.get("schedule_id") ?? "");
    const seq = await create.run(name, schedule || null);
    if (!seq) return;
    props.onClose();
    navigate(`/sequences/${seq.id}`);
  };

  return (
    <Dialog
      open={props.open}
      onClose={props.onClose}
      title="New sequence"
      description="Name it and pick when it may send. You'll add steps next; it stays off until you turn it on."
      footer={
        <>
          <button type="button" class="btn btn-secondary" onClick={() => props.onClose()}>
            Cancel
          </button>
          <button type="submit" form="new-sequence-form" class="btn btn-primary" disabled={create.pending()}>
            {create.pending() ? "Creating…" : "Create and add steps"}
          </button>
        </>
      }
    >
      <form id="new-sequence-form" class="form" onSubmit={submit}>
        <div class="field">
          <label for="new-seq-name">Name</label>
          <input
            id="new-seq-name"
            name="name"
            required
            maxlength={120}
            autofocus
            placeholder="e.g. Q1 outbound: VP Sales, fintech"
            autocomplete="off"
            aria-invalid={errors.invalid("name")}
            aria-describedby="new-seq-name-error"
          />
          <FieldError id="new-seq-name-error" form={errors} name="name" />
        </div>
        <div class="field">
          <label for="new-seq-schedule">Sending schedule</label>
          <Suspense
            fallback={
              <select id="new-seq-schedule" disabled>
                <option>Loading…</option>
              </select>
            }
          >
            <select
              id="new-seq-schedule"
              name="schedule_id"
              aria-invalid={errors.invalid("schedule_id")}
              aria-describedby="new-seq-schedule-help new-seq-schedule-error"
            >
              {/* The team's default schedule starts chosen. */}
              <Options each={schedules()?.schedules} value={schedules()?.schedules.find((s) => s.is_default)?.id} id={(s) => s.id}>
                {(s) => `${s.name} (${s.time_zone})${s.is_default ? " · default" : ""}`}
              </Options>
              <option value="">
                {(schedules()?.schedules ?? []).some((s) => s.is_default)
                  ? "None of its own (follows the team default)"
                  : "No schedule (send any time)"}
              </option>
            </select>
          </Suspense>
          <p id="new-seq-schedule-help" class="field-help">
            Emails only go out inside the schedule's windows. <A href="/settings?tab=schedules">Manage schedules</A>
          </p>
          <FieldError id="new-seq-schedule-error" form={errors} name="schedule_id" />
        </div>
        <FormProblems form={errors} />
      </form>
    </Dialog>
  );
}

/** Why a shared sequence's switch can't be flipped, and who can. */
const viewOnlyHint = (s: SequenceSummary) =>
  `You have view access: ask ${s.owner_name || "the owner"} or an admin for edit access to turn it ${s.active ? "off" : "on"}`;
/** The API turns a sequence on only with a step on: the switch isn't offered otherwise, and says why. */
const cantTurnOn = (s: SequenceSummary) =>
  s.active
    ? undefined
    : s.steps === 0
      ? "Add a step before turning it on: with no steps, contacts have nothing to go through"
      : s.steps_on === 0
        ? "Turn a step on before turning it on: every step is off"
        : undefined;
const switchHint = (s: SequenceSummary) => (!s.can_edit ? viewOnlyHint(s) : cantTurnOn(s));

export default function Sequences() {
  usePageTitle("Sequences");
  const [params, setParams] = useSearchParams();
  const routing = useIsRouting();
  const status = (): SequenceFilter => (FILTERS.some((f) => f.id === params.status) ? (params.status as SequenceFilter) : "all");
  const page = () => intParam(params.page, 1);
  const q = () => (typeof params.q === "string" ? params.q : "");
  const result = createAsync(() => getSequences({ page: page(), per_page: 25, status: status(), q: q() || undefined }));

  const [creating, setCreating] = createSignal(params.new === "1");
  const navigate = useNavigate();
  // The row menu's Delete (a sequence nobody was added to) and its "Archive instead" (one with contacts).
  const [deleting, setDeleting] = createSignal<SequenceSummary | null>(null);
  const [archiving, setArchiving] = createSignal<SequenceSummary | null>(null);

  // Optimistic on/off: the switch shows the value on its way, and the saved one again if the save is refused.
  const names = new Map<string, string>();
  const setActive = useWrite(updateSequenceAction, {
    done: (_, id, patch) => `“${names.get(id)}” is now ${patch.active ? "active" : "inactive"}`,
    failed: (id, patch) => `Couldn't turn “${names.get(id)}” ${patch.active ? "on" : "off"}`,
  });
  const sending = (s: SequenceSummary) => setActive.inFlight().findLast(([id]) => id === s.id)?.[1].active;
  const isActive = (s: SequenceSummary) => sending(s) ?? s.active;
  const toggle = (s: SequenceSummary, next: boolean) => {
    names.set(s.id, s.name);
    void setActive.run(s.id, { active: next });
  };

  return (
    <div class="page">
      <PageHeader
        title="Sequences"
        description="Multi-step outreach that runs itself: emails, calls, LinkedIn touches and tasks, on your schedule."
        actions={
          <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
            <Icon name="plus" size={16} />
            New sequence
          </button>
        }
      />

      <Tabs
        label="Filter sequences"
        tabs={FILTERS}
        selected={status()}
        onSelect={(id) => setParams({ status: id === "all" ? undefined : id, page: undefined }, { replace: true })}
      />

      <section class="tab-panel stack-sm" role="tabpanel" id={tabPanelId(status())} aria-labelledby={tabId(status())}>
        <div class="toolbar" role="search">
          <SearchField
            id="sequence-search"
            label="Search sequences"
            placeholder="Search sequences by name"
            value={q()}
            onSearch={(v) => setParams({ q: v.trim() || undefined, page: undefined }, { replace: true })}
          />
          <Show when={routing()}>
            <span class="toolbar-busy" role="status">
              <span class="spinner" aria-hidden="true" /> <span class="sr-only">Loading</span>
            </span>
          </Show>
        </div>

        <DataTable
          caption="Sequences"
          testId="sequences-table"
          loading="Loading sequences…"
          skeletonRows={4}
          columns={[
            { label: "Sequence" },
            { label: "Owner" },
            { label: "Status" },
            { label: "Steps", class: "num" },
            { label: <span title={RUNS_HINT}>Runs</span> },
            { label: "Sent", class: "num" },
            { label: "Replied", class: "num" },
            { label: <span class="sr-only">Actions</span> },
          ]}
          rows={result()?.sequences}
          pagination={result()?.pagination}
          busy={routing()}
          rowProps={(s) => ({ "data-sequence-id": s.id })}
          empty={
            q() ? (
              <EmptyState icon="search" title={`No sequences match “${q()}”`}>
                Try a shorter search, or look under another tab.
              </EmptyState>
            ) : status() === "archived" ? (
              <EmptyState icon="archive" title="Nothing archived">
                Archived sequences stop sending and finish their contacts. They're kept here so you can clone or restore them.
              </EmptyState>
            ) : status() !== "all" ? (
              <EmptyState icon="sequences" title={`No ${status()} sequences`}>
                {status() === "active" ? "Turn a sequence on to start sending its steps." : "Every sequence you can see is turned on."}
              </EmptyState>
            ) : (
              <EmptyState
                icon="sequences"
                title="No sequences yet"
                actions={
                  <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
                    <Icon name="plus" size={16} />
                    Create your first sequence
                  </button>
                }
                points={[
                  {
                    icon: "sequences",
                    title: "Steps in order",
                    text: "Automatic and manual emails, calls, LinkedIn and task steps, each with a wait before it and optional A/B variants.",
                  },
                  {
                    icon: "clock",
                    title: "Sends inside your window",
                    text: "Per-weekday sending windows in any time zone, holidays skipped, optionally in each contact's local time.",
                  },
                  {
                    icon: "shield",
                    title: "Safe by default",
                    text: "Nobody who bounced, unsubscribed or is marked Do Not Contact is ever emailed, and nothing is sent twice.",
                  },
                ]}
              >
                Sequences you create or your teammates share with you will be listed here, with how many runs are active or finished and how
                many emails were replied to or bounced in each.
              </EmptyState>
            )
          }
        >
          {(s) => (
            <>
              <td>
                <A href={`/sequences/${s.id}`} class="row-link">
                  {s.name}
                </A>
                <div class="muted small">Created {formatDate(s.created_at)}</div>
              </td>
              <td class="cell-nowrap">{s.owner_name || <span class="muted">—</span>}</td>
              <td class="cell-nowrap">
                <Show
                  when={!s.archived_at}
                  fallback={
                    <Badge tone="neutral" title="Archived sequences can't send. Unarchive it from its page to turn it on again.">
                      Archived
                    </Badge>
                  }
                >
                  {/* The wrapper carries the tooltip: some browsers show none on a disabled button. */}
                  <span title={switchHint(s)} class="inline-flex">
                    <Toggle
                      label={`${s.name} active`}
                      checked={isActive(s)}
                      busy={sending(s) !== undefined}
                      disabled={!s.can_edit || (!isActive(s) && !!cantTurnOn(s))}
                      why={switchHint(s)}
                      title={switchHint(s)}
                      onText="Active"
                      offText="Inactive"
                      onChange={(v) => void toggle(s, v)}
                    />
                  </span>
                </Show>
              </td>
              <td class="num tabular">{formatNumber(s.steps)}</td>
              <td>
                <Counts s={s} />
              </td>
              <td class="num tabular">{formatNumber(s.sent)}</td>
              {/* The report's figures: replies, and the reply rate over the emails that arrived (— when none did). */}
              <td class="num tabular" data-col="replied">
                {formatNumber(s.replied)}
                <div class="muted small">{rateText(s.reply_rate, s.sent - s.bounced)}</div>
              </td>
              <td class="cell-actions">
                <Show when={s.can_manage && deleteItem(s)}>
                  {(item) => (
                    <MenuButton
                      label="⋯"
                      ariaLabel={`Actions for “${s.name}”`}
                      class="btn btn-secondary btn-sm"
                      align="right"
                      items={[item()]}
                      onSelect={(id) => (id === "delete" ? setDeleting(s) : id === "archive" ? setArchiving(s) : navigate("/workflows"))}
                    />
                  )}
                </Show>
              </td>
            </>
          )}
        </DataTable>
      </section>

      <NewSequenceDialog open={creating()} onClose={() => setCreating(false)} />
      <DeleteSequenceDialog seq={deleting()} onClose={() => setDeleting(null)} />
      <ArchiveSequenceDialog seq={archiving()} onClose={() => setArchiving(null)} />
    </div>
  );
}
