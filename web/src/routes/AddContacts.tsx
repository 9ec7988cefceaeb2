import { A, createAsync, useParams, useSearchParams } from "@solidjs/router";
import { createSignal, For, Match, onMount, Show, Suspense, Switch } from "solid-js";
import { ApiError, previewAddContacts, type Job, type OutcomeFilter, type Sequence } from "../api";
import { useWrite } from "../actions";
import { Badge } from "../components/Badge";
import { Icon } from "../components/Icon";
import { ErrorPanel, errorMessage, Spinner, TableSkeleton } from "../components/Status";
import { tabId, tabPanelId, Tabs } from "../components/Tabs";
import { formatNumber, plural, localInputToMs } from "../format";
import { createLiveFetch } from "../live";
import { addContactsAction, getAddPreconditions } from "../queries/jobs";
import { getLists } from "../queries/lists";
import { CsvImport } from "./add-contacts/CsvImport";
import { ListPicker } from "./add-contacts/ListPicker";
import { OptionsStep } from "./add-contacts/OptionsStep";
import { PeopleSearch } from "./add-contacts/PeopleSearch";
import { Preconditions, ReviewStep } from "./add-contacts/ReviewStep";
import {
  buildRequest,
  createWizard,
  hasSource,
  pickedIds,
  takeHandedOffSelection,
  type Wizard,
  type WizardStep,
} from "./add-contacts/state";
import { JobPanel } from "../components/JobPanel";
import { getSequence } from "../queries/sequences";

import "./AddContacts.css";
import { BackLink } from "../components/BackLink";
const STEPS: { id: WizardStep | "add"; label: string }[] = [
  { id: "source", label: "Choose contacts" },
  { id: "options", label: "Options" },
  { id: "review", label: "Review" },
  { id: "add", label: "Add" },
];

/** Where the flow is; finished steps are links back (the wizard keeps its state). */
function Stepper(props: { current: WizardStep | "add"; canGo: (s: WizardStep) => boolean; onGo: (s: WizardStep) => void }) {
  const index = () => STEPS.findIndex((s) => s.id === props.current);
  return (
    <nav aria-label="Add contacts steps">
      <ol class="stepper">
        <For each={STEPS}>
          {(s, i) => (
            <li class="stepper-item" classList={{ done: i() < index(), current: i() === index() }}>
              <Show
                when={i() < index() && s.id !== "add" && props.current !== "add" && props.canGo(s.id as WizardStep)}
                fallback={
                  <span class="stepper-label" aria-current={i() === index() ? "step" : undefined}>
                    <span class="stepper-dot" aria-hidden="true">
                      {i() < index() ? <Icon name="check" size={13} /> : i() + 1}
                    </span>
                    {s.label}
                    <Show when={i() < index()}>
                      <span class="sr-only"> (done)</span>
                    </Show>
                  </span>
                }
              >
                <button type="button" class="stepper-label stepper-link" onClick={() => props.onGo(s.id as WizardStep)}>
                  <span class="stepper-dot" aria-hidden="true">
                    <Icon name="check" size={13} />
                  </span>
                  {s.label}
                  <span class="sr-only"> (done, go back)</span>
                </button>
              </Show>
            </li>
          )}
        </For>
      </ol>
    </nav>
  );
}

/** "3 people picked + 2 lists (2,500 contacts)": the footer's reminder of what is being added. */
function selectionText(w: Wizard, listSize: (id: string) => number) {
  const parts: string[] = [];
  if (w.allResults) parts.push(`All ${formatNumber(w.searchTotal)} search results`);
  const n = pickedIds(w).length;
  if (n) parts.push(`${plural(n, "person", "people")} picked`);
  if (w.listIds.length) {
    const size = w.listIds.reduce((a, id) => a + listSize(id), 0);
    parts.push(`${plural(w.listIds.length, "list")} (${plural(size, "contact")})`);
  }
  if (w.importId) parts.push("The saved contacts of the CSV file");
  if (w.contactIds.length) parts.push(`${plural(w.contactIds.length, "contact")} chosen`);
  if (w.retryJobId) parts.push(`The ${plural(w.retryCount, "contact")} an earlier job did not process`);
  return parts.join(" + ");
}

function Flow(props: { seq: Sequence; onJob: (j: Job) => void }) {
  const [params, setParams] = useSearchParams();
  const [w, setW] = createWizard();
  // What another page handed over (people, contacts, lists, an import, a retry) arrives with the flow (once).
  takeHandedOffSelection(props.seq.id, setW);
  // What blocks this sequence shows when the flow opens, not after the whole selection was built.
  const blockers = createAsync(() => getAddPreconditions(props.seq.id).catch(() => undefined));
  const lists = createAsync(() => getLists().catch(() => undefined));
  const listSize = (id: string) => lists()?.lists.find((l) => l.id === id)?.contact_count ?? 0;

  // The step lives in the URL, so the browser's back button walks back through the flow.
  const requested = (): WizardStep => (params.step === "options" || params.step === "review" ? params.step : "source");
  const step = (): WizardStep => (requested() !== "source" && !hasSource(w) ? "source" : requested());
  const go = (s: WizardStep) => {
    setParams({ step: s === "source" ? undefined : s });
    queueMicrotask(() => document.getElementById("flow-heading")?.focus());
  };
  const optionsValid = () => w.when === "now" || localInputToMs(w.addAt) !== null;

  // The preview follows every option (and the page of its table), debounced; only on the review step.
  const [outcome, setOutcome] = createSignal<OutcomeFilter>("all");
  const [page, setPage] = createSignal(1);
  const preview = createLiveFetch(
    () => (step() === "review" ? { req: buildRequest(w), page: page(), outcome: outcome() } : null),
    (k, signal) => previewAddContacts(props.seq.id, k.req, { page: k.page, per_page: 25, outcome: k.outcome }, { signal }),
    300,
  );

  // One Idempotency-Key per confirmed request: a retry of the same request reuses it (the API then
  // answers with the job it already made); a changed request gets a new one.
  let pendingKey: { key: string; body: string } | null = null;
  const add = useWrite(addContactsAction);
  const committing = add.pending;
  const commitError = add.errors.error;
  const confirm = async () => {
    const req = buildRequest(w);
    const body = JSON.stringify(req);
    if (!pendingKey || pendingKey.body !== body) pendingKey = { key: crypto.randomUUID(), body };
    const job = await add.run(props.seq.id, req, pendingKey.key);
    if (job) {
      pendingKey = null;
      props.onJob(job);
      return;
    }
    // The state moved since the preview (credits spent, a mailbox disconnected): show why.
    const err = commitError();
    if (err instanceof ApiError && err.status === 422) preview.refetch();
  };

  const p = () => preview.data();
  const enrolled = () => p()?.totals.enrolled ?? 0;
  const blocked = () => !p() || !preview.fresh() || p()!.preconditions.length > 0 || enrolled() === 0;
  const addAt = () => (w.when === "at" ? localInputToMs(w.addAt) : null);
  const scheduled = () => addAt() !== null && addAt()! > Date.now();
  const confirmLabel = () => {
    if (committing()) return scheduled() ? "Scheduling…" : "Adding…";
    if (!p() || !preview.fresh()) return "Updating preview…";
    // Named by what the click does (it adds them, no further step): those held back are counted beside it.
    if (scheduled()) return `Schedule ${plural(enrolled(), "contact")}`;
    return `Add ${plural(enrolled(), "contact")}`;
  };
  const blockedHint = () => {
    const x = p();
    if (!x || !preview.fresh()) return "";
    if (x.preconditions.length) return "Fix the problems above first.";
    if (enrolled() === 0)
      return x.totals.warned
        ? "Everyone is held back: turn on “Add anyway” for a warning, or go back and change the selection."
        : "Nobody in this selection can be added.";
    if (x.totals.warned) return `${plural(x.totals.warned, "contact")} held back by warnings won't be added.`;
    return "";
  };

  return (
    <>
      <Stepper current={step()} canGo={() => true} onGo={go} />
      <Show when={step() !== "review" && (blockers()?.preconditions.length ?? 0) > 0}>
        <Preconditions preview={blockers()!} sequenceId={props.seq.id} />
      </Show>
      <h2 id="flow-heading" class="sr-only" tabindex="-1">
        {STEPS.find((s) => s.id === step())!.label}
      </h2>

      <Switch>
        <Match when={step() === "source"}>
          <Tabs
            label="Where the contacts come from"
            tabs={[
              { id: "search", label: "Prospect Searcher" },
              { id: "lists", label: w.listIds.length ? `Saved lists · ${w.listIds.length}` : "Saved lists" },
              { id: "csv", label: "Upload CSV" },
            ]}
            selected={w.sourceTab}
            onSelect={(id) => setW("sourceTab", id as Wizard["sourceTab"])}
          />
          <section class="tab-panel" role="tabpanel" id={tabPanelId(w.sourceTab)} aria-labelledby={tabId(w.sourceTab)}>
            <Show
              when={w.sourceTab === "search"}
              fallback={
                <Show when={w.sourceTab === "csv"} fallback={<ListPicker w={w} setW={setW} />}>
                  <CsvImport w={w} setW={setW} />
                </Show>
              }
            >
              <PeopleSearch w={w} setW={setW} />
            </Show>
          </section>
        </Match>
        <Match when={step() === "options"}>
          <OptionsStep w={w} setW={setW} />
        </Match>
        <Match when={step() === "review"}>
          <Show
            when={p()}
            fallback={
              <Show when={preview.error()} fallback={<TableSkeleton columns={4} rows={6} label="Checking every contact…" />}>
                <ErrorPanel error={preview.error()} title="Couldn't preview" onRetry={preview.refetch} />
              </Show>
            }
          >
            {(x) => (
              <>
                <Show when={preview.error()}>
                  <div class="form-error" role="alert">
                    <Icon name="alert" size={16} />
                    <span>Couldn't update the preview: {errorMessage(preview.error())}</span>
                  </div>
                </Show>
                <ReviewStep
                  preview={x()}
                  sequenceId={props.seq.id}
                  w={w}
                  setW={setW}
                  outcome={outcome()}
                  onOutcome={(o) => {
                    setOutcome(o);
                    setPage(1);
                  }}
                  onPage={setPage}
                  busy={preview.loading()}
                />
              </>
            )}
          </Show>
        </Match>
      </Switch>

      <div class="flow-footer" role="region" aria-label="Selection and next step">
        <div class="flow-footer-inner">
          <div class="flow-summary" aria-live="polite">
            <Show when={hasSource(w)} fallback={<span class="muted">Pick people or lists to add.</span>}>
              <Icon name="contacts" size={16} />
              <span data-testid="selection-summary">{selectionText(w, listSize)}</span>
              <Show when={step() === "source"}>
                <button
                  type="button"
                  class="btn btn-ghost btn-xs"
                  onClick={() => {
                    setW("allResults", false);
                    for (const id of pickedIds(w)) setW("picked", id, undefined!);
                    setW("listIds", []);
                    setW("importId", null);
                    setW("retryJobId", null);
                  }}
                >
                  Clear
                </button>
              </Show>
            </Show>
            <Show when={step() === "review" && blockedHint()}>
              <span class="flow-hint">{blockedHint()}</span>
            </Show>
          </div>
          <div class="flow-actions">
            <Show
              when={step() === "source"}
              fallback={
                <button type="button" class="btn btn-secondary" onClick={() => go(step() === "review" ? "options" : "source")}>
                  <Icon name="arrowLeft" size={15} /> Back
                </button>
              }
            >
              <A href={`/sequences/${props.seq.id}`} class="btn btn-secondary">
                Cancel
              </A>
            </Show>
            <Switch>
              <Match when={step() === "source"}>
                <button type="button" class="btn btn-primary" disabled={!hasSource(w)} onClick={() => go("options")}>
                  Continue <Icon name="chevronRight" size={15} />
                </button>
              </Match>
              <Match when={step() === "options"}>
                <button type="button" class="btn btn-primary" disabled={!optionsValid()} onClick={() => go("review")}>
                  Review <Icon name="chevronRight" size={15} />
                </button>
              </Match>
              <Match when={step() === "review"}>
                <button
                  type="button"
                  class="btn btn-primary"
                  disabled={blocked() || committing()}
                  onClick={() => void confirm()}
                  data-testid="confirm-add"
                >
                  <Show when={committing() || (p() && !preview.fresh())}>
                    <span class="spinner spinner-sm spinner-on-accent" aria-hidden="true" />
                  </Show>
                  {confirmLabel()}
                </button>
              </Match>
            </Switch>
          </div>
        </div>
        <Show when={commitError()}>
          <div class="form-error flow-error" role="alert">
            <Icon name="alert" size={16} />
            <span>
              {errorMessage(commitError())}
              <Show when={commitError() instanceof ApiError && (commitError() as ApiError).status !== 422}>
                {" "}
                Nothing was added twice: trying again is safe.
              </Show>
            </span>
          </div>
        </Show>
      </div>
    </>
  );
}

/**
 * /sequences/:id/add: choose contacts (Prospect Searcher or saved lists), set options, review the dry
 * run, confirm, then follow the job. With `?job=` it shows that job (after confirming, or a reload).
 */
export default function AddContacts() {
  const params = useParams();
  const [search, setSearch] = useSearchParams();
  const seq = createAsync(() => getSequence(params.id!));
  const [started, setStarted] = createSignal<Job>();
  const jobId = () => (typeof search.job === "string" ? search.job : undefined);
  onMount(() => {
    document.title = "Add contacts · Seqflare";
  });

  return (
    <div class="page page-flow">
      <Suspense
        fallback={
          <div class="page-loading">
            <Spinner label="Loading sequence…" />
          </div>
        }
      >
        <Show when={seq()}>
          {(s) => (
            <>
              <BackLink href={`/sequences/${s().id}?tab=contacts`}>{s().name}</BackLink>
              <header class="page-header">
                <div>
                  <h1 class="page-title">Add contacts</h1>
                  <p class="page-description">
                    to <strong>{s().name}</strong>{" "}
                    <Show when={!s().archived_at} fallback={<Badge tone="neutral">Archived</Badge>}>
                      <Badge tone={s().active ? "success" : "neutral"} dot>
                        {s().active ? "Active" : "Off"}
                      </Badge>
                    </Show>
                    <Show when={s().schedule_name}> · sends on “{s().schedule_name}”</Show>
                  </p>
                </div>
              </header>
              <Switch>
                <Match when={s().access === "view"}>
                  <div class="notice" role="note">
                    <Icon name="lock" size={18} />
                    <div>
                      <strong>You can view this sequence but not add contacts to it.</strong>
                      <p>Ask {s().owner_name || "its owner"} or an admin to share it with you for editing.</p>
                    </div>
                  </div>
                </Match>
                <Match when={jobId()}>
                  {(id) => (
                    <>
                      <Stepper current="add" canGo={() => false} onGo={() => undefined} />
                      <JobPanel
                        jobId={id()}
                        initial={started()?.id === id() ? started() : undefined}
                        sequenceName={s().name}
                        onAddMore={() => {
                          setStarted(undefined);
                          setSearch({ job: undefined, step: undefined });
                        }}
                      />
                      <div>
                        <A href={`/sequences/${s().id}?tab=contacts`} class="btn btn-secondary">
                          <Icon name="arrowLeft" size={15} /> Back to the sequence
                        </A>
                      </div>
                    </>
                  )}
                </Match>
                <Match when={!jobId()}>
                  <Show when={!s().active || s().archived_at}>
                    <div class="notice notice-warning" role="note">
                      <Icon name="alert" size={18} />
                      <div>
                        <strong>This sequence is {s().archived_at ? "archived" : "off"}.</strong>
                        <p>
                          You can choose contacts and preview, but nobody can be added until it's turned on.{" "}
                          <A href={`/sequences/${s().id}`}>Open the sequence</A>
                        </p>
                      </div>
                    </div>
                  </Show>
                  <Flow
                    seq={s()}
                    onJob={(j) => {
                      setStarted(j);
                      // Replace the review in history: "back" from the job goes to the sequence, not to a stale review.
                      setSearch({ job: j.id, step: undefined }, { replace: true });
                    }}
                  />
                </Match>
              </Switch>
            </>
          )}
        </Show>
      </Suspense>
    </div>
  );
}
