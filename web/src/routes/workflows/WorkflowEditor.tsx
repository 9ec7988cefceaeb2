import { A, createAsync, useNavigate, useParams, useSearchParams } from "@solidjs/router";
import { createMemo, createSignal, For, Show, Suspense } from "solid-js";
import { createStore } from "solid-js/store";
import { searchPeople, type WarningOverrides, type Workflow, type WorkflowInput } from "../../api";
import { useWrite } from "../../actions";
import { getUsers, getUsersWithDisabled, userLabel } from "../../queries/users";
import { FieldError } from "../../components/FieldError";
import { Options } from "../../components/Options";
import { MailboxPickList } from "../../components/MailboxPickList";
import { PageHeader } from "../../components/PageHeader";
import { Spinner } from "../../components/Status";
import { Claim, FormProblems } from "../../forms";
import { formatNumber } from "../../format";
import { FilterSidebar } from "../../components/FilterSidebar";
import { createLiveFetch } from "../../live";
import { emptyFilters, scoreRangeProblem, toApiFilters, type Filters } from "../../people-filters";
import { getContactStages } from "../../queries/contacts";
import { getMailboxes } from "../../queries/mailboxes";
import { getMe } from "../../queries/session";
import { getSequences } from "../../queries/sequences";
import { createWorkflowAction, updateWorkflowAction } from "../../queries/workflows";
import { usePageTitle } from "../../title";
import {
  CHANGE_FIELDS,
  CHANGE_KINDS,
  changeFilterSummary,
  EDITED_CHANGE_FILTERS,
  EDITED_SCHEDULE_FILTERS,
  filterSummary,
  INTERVALS,
  keptFilters,
  OVERRIDES,
  scheduleLabel,
  toFilters,
} from "./present";
import { useFilterNames, WORKFLOW_EXPLAINER, WorkflowById } from "./WorkflowActions";
import { SearchField } from "../../components/SearchField";
import { BackLink } from "../../components/BackLink";
import { Card } from "../../components/Card";

const MAX_PER_RUN = 5_000;

type ChangeKind = (typeof CHANGE_KINDS)[number]["key"];

function Form(props: { initial?: Workflow; sequenceId?: string }) {
  const navigate = useNavigate();
  const init = props.initial;
  const initTrigger = init?.trigger.kind === "change" ? init.trigger : null;
  // The Prospect Searcher's filter sidebar, on the workflow's own filters.
  const [filters, setFilters] = createStore<Filters>(init ? toFilters(init.filters) : emptyFilters());
  const [form, setForm] = createStore({
    name: init?.name ?? "",
    sequenceId: init?.sequence_id ?? props.sequenceId ?? "",
    // "schedule": a people search every interval; "change": each contact change that matches.
    trigger: (initTrigger ? "change" : "schedule") as "schedule" | "change",
    on: [...(initTrigger?.on ?? ["stage"])] as ChangeKind[],
    fields: [...(initTrigger?.fields ?? [])] as string[],
    stageIds: [...(initTrigger?.filters.stage_ids ?? [])],
    ownerIds: [...(initTrigger?.filters.owner_ids ?? [])],
    // One a line: a title may hold a comma ("VP, Sales").
    titles: (initTrigger?.filters.titles ?? []).join("\n"),
    interval: init?.interval_minutes ?? 1440,
    maxPerRun: String(init?.max_per_run ?? 100),
    mailboxIds: [...(init?.mailbox_ids ?? [])],
    overrides: { ...(init?.overrides ?? {}) } as WarningOverrides,
    enrich: init?.enrich ?? false,
    // A workflow adds contacts on its own: it starts off unless the user turns it on knowingly.
    active: init?.active ?? false,
    // Admins give a workflow to someone else (a disabled owner's turned off at its next run): it runs as them.
    ownerId: init?.owner_id ?? "",
  });
  const stages = createAsync(() => getContactStages().catch(() => undefined));
  const users = createAsync(() => getUsers().catch(() => undefined));
  // The trigger's owner filter names disabled users too: their contacts stay, and one kept in a saved filter stays chosen.
  const owners = createAsync(() => getUsersWithDisabled().catch(() => undefined));
  const onChange = () => form.trigger === "change";
  const [errors, setErrors] = createSignal<Record<string, string>>({});
  const create = useWrite(createWorkflowAction, {
    form: "workflow-form",
    done: (_, input) =>
      `Created “${input.name}”${
        !input.active
          ? " (off: turn it on when you're ready)"
          : input.trigger?.kind === "change"
            ? ": it runs for each matching change from now on"
            : `: first run in about a minute, then ${scheduleLabel(input.interval_minutes ?? 1440).toLowerCase()}`
      }${noMailboxWarning(input)}`,
  });
  const update = useWrite(updateWorkflowAction, {
    form: "workflow-form",
    done: (_, __, patch) => `Saved “${patch.name}”${noMailboxWarning(patch)}`,
  });
  const apiErrors = init ? update.errors : create.errors;
  const saving = () => create.pending() || update.pending();

  // Sequences the signed-in user may add contacts to (a workflow adds as its owner): every page of them, as
  // reading only the first 100 left a team's other sequences out.
  const sequences = createAsync(async () => {
    const all = [];
    for (let page = 1; ; page++) {
      const r = await getSequences({ page, per_page: 100, status: "all" });
      all.push(...r.sequences);
      if (page >= r.pagination.total_pages) break;
    }
    return all.filter((s) => s.can_edit);
  });
  const mailboxes = createAsync(() => getMailboxes());
  const me = createAsync(() => getMe().catch(() => undefined));
  // With no mailbox ticked, a run sends from its owner's own connected mailboxes (not the team's): say when there are none.
  const ownerHasNoMailbox = () => {
    // The owner chosen in the form (an admin may be giving it to someone else), else the one creating it.
    const owner = form.ownerId || me()?.user.id;
    const list = mailboxes()?.mailboxes;
    return !!owner && !!list && !list.some((m) => m.user_id === owner && m.status === "connected");
  };
  const noMailboxWarning = (b: { mailbox_ids?: string[] }) =>
    !b.mailbox_ids?.length && ownerHasNoMailbox()
      ? ". Its owner has no connected mailbox of their own: runs add nobody until one is connected or ticked"
      : "";
  const chosenSequence = () => sequences()?.find((s) => s.id === form.sequenceId);
  // The workflow's own sequence when it isn't among those listed (archived, or not one you can edit): still named.
  const unlistedOwn = () => (init && sequences() && init.sequence_id === form.sequenceId && !chosenSequence() ? init : null);
  /** Whether the chosen sequence is on: unknown (undefined) for one not listed, or while the list loads. */
  const sequenceActive = (): boolean | undefined => chosenSequence()?.active ?? unlistedOwn()?.sequence_active;

  // The keyword box waits for a typing pause before it changes the filters (and the count); saving takes what is typed.
  const [keyword, setKeyword] = createSignal(filters.q);

  // Filters the form doesn't edit (set through the API) stay as stored; the notes below say which.
  const keptSchedule = keptFilters(init?.filters, EDITED_SCHEDULE_FILTERS);
  const keptChange = keptFilters(initTrigger?.filters, EDITED_CHANGE_FILTERS);
  const names = useFilterNames();
  /** The filters as stored on the workflow: the run itself keeps to net-new people. */
  const apiFilters = () => {
    const { saved: _, ...rest } = toApiFilters(filters);
    return { ...keptSchedule, ...rest };
  };
  // A score range that holds no score is said at its fields (FilterSidebar): nothing is counted, nothing saved.
  const emptyRange = () => scoreRangeProblem(filters);
  const count = createLiveFetch(
    () => (emptyRange() ? null : { ...apiFilters(), saved: "net_new" as const, page: 1, per_page: 1 }),
    (body) => searchPeople(body),
    250,
  );
  const matching = () => count.data()?.pagination.total_entries;
  const maxPerRun = createMemo(() => Number(form.maxPerRun));

  const validate = () => {
    const e: Record<string, string> = {};
    if (!form.name.trim()) e.name = "Give the workflow a name.";
    if (!form.sequenceId) e.sequence_id = "Choose the sequence it adds people to.";
    const n = maxPerRun();
    if (!Number.isInteger(n) || n < 1 || n > MAX_PER_RUN) e.max_per_run = `A whole number from 1 to ${formatNumber(MAX_PER_RUN)}.`;
    if (onChange() && !form.on.length) e.trigger = "Pick at least one change it runs on.";
    // The filters are the schedule's: a change-triggered workflow neither shows nor sends them (below).
    const range = emptyRange();
    if (range && !onChange()) e.filters = `Prospect score: ${range}`;
    return e;
  };

  const submit = async (ev: SubmitEvent) => {
    ev.preventDefault();
    setFilters("q", keyword());
    const e = validate();
    setErrors(e);
    if (Object.keys(e).length) {
      const first = Object.keys(e)[0]!;
      document.getElementById(first === "filters" ? "filter-score-min" : `wf-${first.replace(/_/g, "-")}`)?.focus();
      return;
    }
    const overrides = Object.fromEntries(Object.entries(form.overrides).filter(([, on]) => on)) as WarningOverrides;
    const body: WorkflowInput = {
      name: form.name.trim(),
      sequence_id: form.sequenceId,
      // A change-triggered workflow doesn't use them; an empty score range left from the schedule form isn't sent.
      filters: onChange() && emptyRange() ? { ...apiFilters(), score_min: undefined, score_max: undefined } : apiFilters(),
      interval_minutes: form.interval,
      max_per_run: maxPerRun(),
      mailbox_ids: [...form.mailboxIds],
      overrides,
      enrich: form.enrich,
      trigger: onChange()
        ? {
            kind: "change",
            on: [...form.on],
            fields:
              form.on.includes("field") && form.fields.length ? ([...form.fields] as (typeof CHANGE_FIELDS)[number]["key"][]) : undefined,
            filters: {
              ...keptChange,
              stage_ids: form.stageIds.length ? [...form.stageIds] : undefined,
              owner_ids: form.ownerIds.length ? [...form.ownerIds] : undefined,
              titles: titleList().length ? titleList() : undefined,
            },
          }
        : { kind: "schedule" },
    };
    const saved = init
      ? await update.run(init.id, { ...body, ...(form.ownerId !== init.owner_id && { owner_id: form.ownerId }) })
      : await create.run({ ...body, active: canTurnOn() && form.active });
    if (saved) navigate(init ? `/workflows/${init.id}` : "/workflows");
  };

  const titleList = () =>
    form.titles
      .split("\n")
      .map((t) => t.trim())
      .filter(Boolean);
  const toggleMailbox = (id: string, on: boolean) => setForm("mailboxIds", (ids) => (on ? [...ids, id] : ids.filter((x) => x !== id)));
  const err = (k: string) => errors()[k] ?? apiErrors.message(k);
  // The API turns a workflow on only for a sequence that is on: the checkbox isn't offered otherwise (nor
  // for a sequence not known to be on).
  const canTurnOn = () => sequenceActive() === true;
  const isAdmin = () => me()?.user.role === "admin";
  // The owner as stored, when they aren't among the team's active users (disabled or removed): still shown, by id.
  const ownerGone = () => !!init && !!users() && !users()!.users.some((u) => u.id === init.owner_id);
  const goneOwnerLabel = () => {
    const u = owners()?.find((x) => x.id === init?.owner_id);
    return u ? userLabel(u) : "A disabled or removed user";
  };

  return (
    <div class="searcher wf-editor">
      <Show when={!onChange()}>
        <FilterSidebar filters={filters} onChange={(patch) => setFilters(patch)} netNewOnly />
      </Show>
      <form
        id="workflow-form"
        class="searcher-main wf-form"
        onSubmit={(e) => void submit(e)}
        novalidate
        aria-label={init ? "Edit workflow" : "New workflow"}
      >
        <Card title="When it runs" titleId="wf-trigger-title" class="wf-section">
          <div class="wf-section-body">
            <fieldset class="field" aria-describedby="wf-trigger-error">
              <legend class="sr-only">Trigger</legend>
              <label class="radio">
                <input
                  type="radio"
                  name="wf-trigger"
                  checked={!onChange()}
                  onChange={() => setForm("trigger", "schedule")}
                  data-testid="wf-trigger-schedule"
                />{" "}
                On a schedule: find net-new people in the prospect database
              </label>
              <label class="radio">
                <input
                  type="radio"
                  name="wf-trigger"
                  checked={onChange()}
                  onChange={() => setForm("trigger", "change")}
                  data-testid="wf-trigger-change"
                />{" "}
                When a contact changes: each change that matches, once
              </label>
            </fieldset>
            <Show when={onChange()}>
              <fieldset class="field">
                <legend class="field-legend">Runs when a contact</legend>
                <For each={CHANGE_KINDS}>
                  {(k) => (
                    <label class="check-row">
                      <input
                        type="checkbox"
                        checked={form.on.includes(k.key)}
                        onChange={(e) => setForm("on", (on) => (e.currentTarget.checked ? [...on, k.key] : on.filter((x) => x !== k.key)))}
                        data-testid={`wf-on-${k.key}`}
                      />
                      <span>{k.label}</span>
                    </label>
                  )}
                </For>
                <FieldError id="wf-trigger-error" message={err("trigger")} />
              </fieldset>
              <Show when={form.on.includes("field")}>
                <div class="field">
                  <label for="wf-fields">Only these fields (none ticked: any field)</label>
                  <select
                    id="wf-fields"
                    multiple
                    size={5}
                    onChange={(e) =>
                      setForm(
                        "fields",
                        [...e.currentTarget.selectedOptions].map((o) => o.value),
                      )
                    }
                  >
                    <For each={CHANGE_FIELDS}>
                      {(f) => (
                        <option value={f.key} selected={form.fields.includes(f.key)}>
                          {f.label}
                        </option>
                      )}
                    </For>
                  </select>
                </div>
              </Show>
              <div class="form-grid">
                <div class="field">
                  <label for="wf-stages">…and is in one of these stages (none: any)</label>
                  <select
                    id="wf-stages"
                    multiple
                    size={4}
                    onChange={(e) =>
                      setForm(
                        "stageIds",
                        [...e.currentTarget.selectedOptions].map((o) => o.value),
                      )
                    }
                    data-testid="wf-stages"
                  >
                    <For each={stages()?.contact_stages ?? []}>
                      {(st) => (
                        <option value={st.id} selected={form.stageIds.includes(st.id)}>
                          {st.name}
                        </option>
                      )}
                    </For>
                  </select>
                </div>
                <div class="field">
                  <label for="wf-owners">…owned by (none: anyone)</label>
                  <select
                    id="wf-owners"
                    multiple
                    size={4}
                    onChange={(e) =>
                      setForm(
                        "ownerIds",
                        [...e.currentTarget.selectedOptions].map((o) => o.value),
                      )
                    }
                  >
                    <For each={owners() ?? []}>
                      {(u) => (
                        <option value={u.id} selected={form.ownerIds.includes(u.id)}>
                          {userLabel(u)}
                        </option>
                      )}
                    </For>
                  </select>
                </div>
                <div class="field full">
                  <label for="wf-titles">
                    …whose title has one of these, as whole words (one a line, optional; “CTO” finds “Co-founder &amp; CTO”, not “Director”)
                  </label>
                  <textarea
                    id="wf-titles"
                    rows={3}
                    value={form.titles}
                    maxLength={11000}
                    aria-invalid={!!err("trigger.filters.titles")}
                    aria-describedby="wf-titles-error"
                    onInput={(e) => setForm("titles", e.currentTarget.value)}
                    placeholder={"e.g.\nVP Sales\nHead of Growth"}
                    data-testid="wf-titles"
                  />
                  <FieldError id="wf-titles-error" message={err("trigger.filters.titles")} />
                </div>
              </div>
              <Show when={changeFilterSummary(keptChange, names).length}>
                <p class="field-help" data-testid="wf-kept-filters">
                  Also kept as set through the API: {changeFilterSummary(keptChange, names).join(" · ")}.
                </p>
              </Show>
              <p class="field-help">
                Each change is acted on once, about a minute after it happens, if the contact matches then. At most “Max per run” changes
                are acted on per minute.
              </p>
            </Show>
          </div>
        </Card>
        <Show when={!onChange()}>
          <Card
            title="Who it finds"
            subtitle="Set the filters on the left. Only people who aren't contacts of your team yet are added, so nobody is added twice."
            titleId="wf-who-title"
            class="wf-section"
          >
            <div class="wf-section-body">
              <Show when={filterSummary(keptSchedule).length}>
                <p class="field-help" data-testid="wf-kept-filters">
                  Also kept as set through the API: {filterSummary(keptSchedule).join(" · ")}.
                </p>
              </Show>
              <SearchField
                id="wf-keyword"
                label="Keywords"
                placeholder="Keywords: name, title, company, industry or city"
                value={filters.q}
                onInput={setKeyword}
                onSearch={(v) => setFilters("q", v)}
              />
              <div class="wf-match" aria-live="polite" data-testid="wf-match">
                <Show
                  when={!emptyRange() && matching() !== undefined}
                  fallback={
                    emptyRange() ? (
                      <span class="text-danger small">Runs would add nobody: the score's Min is above its Max.</span>
                    ) : (
                      <Show when={count.error()} fallback={<Spinner label="Counting matching people…" />}>
                        <span class="text-danger small">Couldn't count matching people.</span>
                      </Show>
                    )
                  }
                >
                  <span class="wf-match-count tabular" data-testid="wf-match-count">
                    {formatNumber(matching()!)}
                  </span>
                  <span>
                    net-new {matching() === 1 ? "person matches" : "people match"} right now.
                    <Show when={matching()! > 0 && Number.isInteger(maxPerRun()) && maxPerRun() > 0}>
                      <span class="muted"> The next run adds up to {formatNumber(Math.min(matching()!, maxPerRun()))}.</span>
                    </Show>
                    <Show when={matching() === 0}>
                      <span class="muted"> Runs would add nobody; broaden the filters.</span>
                    </Show>
                  </span>
                  <Show when={count.loading()}>
                    <span class="spinner spinner-sm" aria-hidden="true" />
                  </Show>
                </Show>
              </div>
            </div>
          </Card>
        </Show>
        <Card title="Workflow" titleId="wf-basics-title" class="wf-section">
          <div class="wf-section-body form-grid">
            <div class="field">
              <label for="wf-name">Name</label>
              <input
                id="wf-name"
                value={form.name}
                maxLength={120}
                placeholder="e.g. US VPs of Sales → Q4 outbound"
                aria-invalid={!!err("name")}
                aria-describedby="wf-name-error"
                onInput={(e) => setForm("name", e.currentTarget.value)}
              />
              <FieldError id="wf-name-error" message={err("name")} />
            </div>
            <div class="field">
              <label for="wf-sequence-id">Add to sequence</label>
              <Suspense
                fallback={
                  <select id="wf-sequence-id" disabled>
                    <option>Loading sequences…</option>
                  </select>
                }
              >
                <select
                  id="wf-sequence-id"
                  value={form.sequenceId}
                  aria-invalid={!!err("sequence_id")}
                  aria-describedby="wf-sequence-help wf-sequence-id-error"
                  onChange={(e) => setForm("sequenceId", e.currentTarget.value)}
                >
                  <option value="" disabled>
                    Choose a sequence
                  </option>
                  <Show when={unlistedOwn()}>
                    {(w) => (
                      <option value={w().sequence_id} selected>
                        {w().sequence_name ? `${w().sequence_name} (not one you can edit, or archived)` : "A deleted sequence"}
                      </option>
                    )}
                  </Show>
                  <Options each={sequences()} value={form.sequenceId} id={(s) => s.id}>
                    {(s) => (s.active ? s.name : `${s.name} (off)`)}
                  </Options>
                </select>
              </Suspense>
              <p id="wf-sequence-help" class="field-help" classList={{ "text-warning": sequenceActive() === false }}>
                <Show when={sequenceActive() === false} fallback="Only sequences you can edit are listed.">
                  This sequence is off: runs add nobody until it's turned on.
                </Show>
              </p>
              <FieldError id="wf-sequence-id-error" message={err("sequence_id")} />
            </div>
            <Show when={init && isAdmin()}>
              <div class="field">
                <label for="wf-owner-id">Owner</label>
                <select
                  id="wf-owner-id"
                  value={form.ownerId}
                  aria-invalid={!!err("owner_id")}
                  aria-describedby="wf-owner-help wf-owner-id-error"
                  onChange={(e) => setForm("ownerId", e.currentTarget.value)}
                  data-testid="wf-owner"
                >
                  <Show when={ownerGone()}>
                    <option value={init!.owner_id} selected={form.ownerId === init!.owner_id}>
                      {goneOwnerLabel()}
                    </option>
                  </Show>
                  <Options each={users()?.users} value={form.ownerId} id={(u) => u.id}>
                    {(u) => u.name}
                  </Options>
                </select>
                <p id="wf-owner-help" class="field-help" classList={{ "text-warning": ownerGone() }}>
                  {ownerGone()
                    ? "Its owner is disabled, so it doesn't run: give it to someone active. "
                    : "It runs as its owner, who must be able to edit the sequence and send from its mailboxes. "}
                  {init!.active ? "" : "It stays off until it's turned on again from its page."}
                </p>
                <Claim form={apiErrors} names={["owner_id"]} />
                <FieldError id="wf-owner-id-error" message={err("owner_id")} />
              </div>
            </Show>
          </div>
        </Card>

        <Card
          title="Schedule"
          subtitle="Each run adds at most this many people; the rest wait for the next run."
          titleId="wf-schedule-title"
          class="wf-section"
        >
          <div class="wf-section-body form-grid">
            <div class="field" hidden={onChange()}>
              <label for="wf-interval">Runs</label>
              <select
                id="wf-interval"
                aria-invalid={err("interval_minutes") ? true : undefined}
                aria-describedby="wf-interval-error"
                value={String(form.interval)}
                onChange={(e) => setForm("interval", Number(e.currentTarget.value))}
              >
                <Show when={!INTERVALS.some((i) => i.minutes === form.interval)}>
                  <option value={String(form.interval)}>{scheduleLabel(form.interval)}</option>
                </Show>
                <For each={INTERVALS}>{(i) => <option value={String(i.minutes)}>{i.label}</option>}</For>
              </select>
              <FieldError id="wf-interval-error" message={err("interval_minutes")} />
              <Claim form={apiErrors} names={["name", "sequence_id", "interval_minutes", "max_per_run"]} />
            </div>
            <div class="field">
              <label for="wf-max-per-run">Max people per run</label>
              <input
                id="wf-max-per-run"
                type="number"
                inputmode="numeric"
                min={1}
                max={MAX_PER_RUN}
                value={form.maxPerRun}
                aria-invalid={!!err("max_per_run")}
                aria-describedby="wf-max-help wf-max-per-run-error"
                onInput={(e) => setForm("maxPerRun", e.currentTarget.value)}
              />
              <p id="wf-max-help" class="field-help">
                Each person with a verified email costs 1 credit, as in a manual add.
              </p>
              <FieldError id="wf-max-per-run-error" message={err("max_per_run")} />
            </div>
            <Show when={!init}>
              <label class="check-row full">
                <input
                  type="checkbox"
                  checked={canTurnOn() && form.active}
                  disabled={!canTurnOn()}
                  onChange={(e) => setForm("active", e.currentTarget.checked)}
                  aria-invalid={err("active") ? true : undefined}
                  aria-describedby="wf-active-help wf-active-error"
                />
                <span>
                  <strong>Turn it on now</strong>
                  <span id="wf-active-help" class="muted small">
                    {canTurnOn()
                      ? "New workflows start off. Turn it on now, or later from its page once you have checked it."
                      : sequenceActive() === false
                        ? "Its sequence is off, so the workflow is saved off: turn the sequence on, then the workflow."
                        : "Choose a sequence you can edit to turn it on now."}
                  </span>
                  <FieldError id="wf-active-error" form={apiErrors} name="active" />
                </span>
              </label>
            </Show>
          </div>
        </Card>

        <Card
          title="Send from"
          subtitle="Optional. With none ticked, new contacts rotate over the workflow owner's own connected mailboxes."
          titleId="wf-mailboxes-title"
          class="wf-section"
        >
          <div class="wf-section-body">
            <Suspense fallback={<Spinner label="Loading mailboxes…" />}>
              <fieldset>
                <legend class="sr-only">Mailboxes</legend>
                <MailboxPickList
                  mailboxes={mailboxes()?.mailboxes ?? []}
                  selected={form.mailboxIds}
                  onToggle={toggleMailbox}
                  empty={
                    <li class="muted small">
                      No mailboxes yet. <A href="/mailboxes">Connect one</A>; runs add nobody without one.
                    </li>
                  }
                />
              </fieldset>
              <Show when={!form.mailboxIds.length && ownerHasNoMailbox()}>
                <p class="field-help text-warning" role="status" data-testid="wf-no-owner-mailbox">
                  {init && form.ownerId !== me()?.user.id ? "The workflow's owner has" : "You have"} no connected mailbox of
                  {init && form.ownerId !== me()?.user.id ? " their" : " your"} own, so runs add nobody: tick a mailbox here, or connect one
                  on the Mailboxes page.
                </p>
              </Show>
            </Suspense>
          </div>
        </Card>

        <Card
          title="Checks"
          subtitle="Every run validates people like a manual add. People with a warning are held back unless you add that category anyway; unsubscribed, bounced and suppressed addresses are always skipped."
          titleId="wf-checks-title"
          class="wf-section"
        >
          <div class="wf-section-body">
            <fieldset>
              <legend class="field-legend">Add anyway</legend>
              <div class="wf-overrides">
                <For each={OVERRIDES}>
                  {(o) => (
                    <label class="check-row">
                      <input
                        type="checkbox"
                        checked={!!form.overrides[o.key]}
                        onChange={(e) => setForm("overrides", o.key, e.currentTarget.checked)}
                      />
                      <span>
                        <strong>{o.label}</strong>
                        <span class="muted small">{o.help}</span>
                      </span>
                    </label>
                  )}
                </For>
              </div>
            </fieldset>
            <label class="check-row wf-enrich">
              <input
                type="checkbox"
                checked={form.enrich}
                onChange={(e) => setForm("enrich", e.currentTarget.checked)}
                aria-describedby="wf-enrich-help"
              />
              <span>
                <strong>Find missing emails (enrichment)</strong>
                <span id="wf-enrich-help" class="muted small">
                  People without an email are looked up through the enrichment waterfall. Credits are charged only for emails found.
                </span>
              </span>
            </label>
          </div>
        </Card>

        <FieldError id="wf-filters-error" message={err("filters")} />
        <FormProblems form={apiErrors} />
        <div class="wf-form-actions">
          <A href={init ? `/workflows/${init.id}` : "/workflows"} class="btn btn-secondary">
            Cancel
          </A>
          <button type="submit" class="btn btn-primary" disabled={saving()}>
            {saving() ? "Saving…" : init ? "Save changes" : "Create workflow"}
          </button>
        </div>
      </form>
    </div>
  );
}

/** /workflows/new and /workflows/:id/edit. */
export default function WorkflowEditor() {
  const params = useParams();
  const [search] = useSearchParams();
  usePageTitle(params.id ? "Edit workflow" : "New workflow");
  return (
    <div class="page">
      <BackLink href="/workflows">Workflows</BackLink>
      <Show
        when={params.id}
        fallback={
          <>
            <PageHeader title="New workflow" description={WORKFLOW_EXPLAINER} />
            {/* "Automate adding contacts" from a sequence opens this prefilled for it (?sequence_id=). */}
            <Form sequenceId={typeof search.sequence_id === "string" ? search.sequence_id : undefined} />
          </>
        }
      >
        <WorkflowById id={params.id!}>
          {(w) => (
            <>
              <PageHeader title={`Edit “${w().name}”`} description={WORKFLOW_EXPLAINER} />
              <Form initial={w()} />
            </>
          )}
        </WorkflowById>
      </Show>
    </div>
  );
}
