import { A, createAsync, useNavigate, useParams, useSearchParams } from "@solidjs/router";
import { createComputed, createSignal, Match, Show, Suspense, Switch, untrack } from "solid-js";
import { createStore, reconcile } from "solid-js/store";
import { useWrite } from "../actions";
import type { Sequence } from "../api";
import { Badge } from "../components/Badge";
import { FieldError } from "../components/FieldError";
import { Options } from "../components/Options";
import { Icon } from "../components/Icon";
import { MenuButton } from "../components/Menu";
import { ArchiveSequenceDialog, DeleteSequenceDialog, deleteItem } from "./sequence/DeleteSequence";
import { errorMessage, Spinner } from "../components/Status";
import { tabId, tabPanelId, Tabs } from "../components/Tabs";
import { Toggle } from "../components/Toggle";
import { formatRelative } from "../format";
import { getSchedules } from "../queries/schedules";
import {
  cloneSequenceAction,
  getSequence,
  renameSequenceAction,
  setSequenceActiveAction,
  setSequenceScheduleAction,
  unarchiveSequenceAction,
} from "../queries/sequences";
import { ContactsTab } from "./sequence/ContactsTab";
import { ImportsTab } from "./sequence/ImportsTab";
import { Overview } from "./sequence/Overview";
import { ReportTab } from "./sequence/ReportTab";
import { ScheduledTab } from "./sequence/ScheduledTab";
import { ShareDialog } from "./sequence/ShareDialog";
import { StepsTab } from "./sequence/StepsTab";

import "./SequenceEditor.css";
import { BackLink } from "../components/BackLink";
const TABS = ["steps", "contacts", "scheduled", "imports", "report"] as const;
type Tab = (typeof TABS)[number];

function InlineName(props: { seq: Sequence; readOnly: boolean; onApply: (s: Sequence) => void }) {
  const [editing, setEditing] = createSignal(false);
  const rename = useWrite(renameSequenceAction);
  const error = () => rename.errors.message("name") ?? (rename.errors.error() ? errorMessage(rename.errors.error()) : undefined);
  const stop = () => {
    setEditing(false);
    rename.clear();
  };
  let input!: HTMLInputElement;

  const save = async () => {
    const name = input.value.trim();
    if (!name || name === props.seq.name) return setEditing(false);
    const saved = await rename.run(props.seq.id, name);
    if (!saved) return;
    props.onApply(saved);
    stop();
  };

  return (
    <Show
      when={editing()}
      fallback={
        <div class="title-row">
          <h1 class="page-title" data-testid="sequence-name">
            {props.seq.name}
          </h1>
          <Show when={!props.readOnly}>
            <button
              type="button"
              class="btn btn-ghost btn-sm btn-icon"
              aria-label="Rename sequence"
              onClick={() => {
                setEditing(true);
                input?.focus();
              }}
            >
              <Icon name="pencil" size={15} />
            </button>
          </Show>
        </div>
      }
    >
      <form
        class="rename-form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label for="rename-input" class="sr-only">
          Sequence name
        </label>
        <input
          ref={(el) => {
            input = el;
            queueMicrotask(() => el.select());
          }}
          id="rename-input"
          class="rename-input"
          value={props.seq.name}
          maxlength={120}
          required
          aria-describedby="rename-error"
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.preventDefault();
              stop();
            }
          }}
        />
        <button type="submit" class="btn btn-primary btn-sm" disabled={rename.pending()}>
          {rename.pending() ? "Saving…" : "Save"}
        </button>
        <button type="button" class="btn btn-secondary btn-sm" onClick={stop}>
          Cancel
        </button>
        <FieldError id="rename-error" message={error()} />
      </form>
    </Show>
  );
}

function SchedulePicker(props: { seq: Sequence; readOnly: boolean; onApply: (s: Sequence) => void }) {
  const schedules = createAsync(() => getSchedules());
  // A sequence without a schedule of its own sends in the team's default one (sequence-config.ts).
  const teamDefault = () => schedules()?.schedules.find((s) => s.is_default);
  const setSchedule = useWrite(setSequenceScheduleAction, {
    done: (_, __, scheduleId) =>
      scheduleId
        ? "Schedule changed: upcoming emails follow the new windows"
        : teamDefault()
          ? `Schedule removed: emails follow the team default, ${teamDefault()!.name}`
          : "Schedule removed: emails may go out at any time",
    failed: () => "Couldn't change the schedule",
  });
  const change = async (value: string) => {
    const saved = await setSchedule.run(props.seq.id, value || null);
    if (saved) props.onApply(saved);
  };
  return (
    <span class="meta-item">
      <Icon name="calendar" size={15} />
      <label for="seq-schedule" class="meta-label">
        Schedule
      </label>
      <select
        id="seq-schedule"
        class="input-sm"
        disabled={props.readOnly || setSchedule.pending()}
        onChange={(e) => void change(e.currentTarget.value)}
      >
        <Show when={schedules()} fallback={<option value={props.seq.schedule_id ?? ""}>{props.seq.schedule_name ?? "No schedule"}</option>}>
          <Options each={schedules()!.schedules} value={props.seq.schedule_id} id={(s) => s.id}>
            {(s) => s.name}
          </Options>
          <option value="" selected={!props.seq.schedule_id}>
            {teamDefault() ? `Team default (${teamDefault()!.name})` : "No schedule (any time)"}
          </option>
        </Show>
      </select>
      <A href="/settings?tab=schedules" class="small">
        Manage
      </A>
    </span>
  );
}

/**
 * The way into the "Add contacts" flow. With view access it stays visible but unavailable, saying why
 * (a focusable aria-disabled button, so keyboard and screen-reader users get the explanation too).
 */
function AddContactsButton(props: { seq: Sequence; ownerName: string }) {
  const navigate = useNavigate();
  const why = () =>
    props.seq.access === "view"
      ? `You have view access: ask ${props.ownerName === "You" ? "an admin" : `${props.ownerName} (the owner) or an admin`} for edit access to add contacts`
      : props.seq.archived_at !== null
        ? "This sequence is archived: unarchive it to add contacts"
        : null;
  return (
    <Show
      when={why()}
      fallback={
        <>
          <A href={`/sequences/${props.seq.id}/add`} class="btn btn-primary btn-sm" data-testid="add-contacts">
            <Icon name="userPlus" size={15} /> Add contacts
          </A>
          {/* The add-contacts menu: "Automate adding contacts" opens a workflow prefilled for this sequence. */}
          <MenuButton
            label={<Icon name="workflows" size={15} />}
            ariaLabel="More ways to add contacts"
            class="btn btn-primary btn-sm"
            align="right"
            items={[
              { id: "add", label: "Add contacts now", hint: "People, lists, contacts or a CSV file" },
              { id: "automate", label: "Automate adding contacts", hint: "A workflow adds them on a schedule or when contacts change" },
            ]}
            onSelect={(id) => navigate(id === "automate" ? `/workflows/new?sequence_id=${props.seq.id}` : `/sequences/${props.seq.id}/add`)}
          />
        </>
      }
    >
      {(text) => (
        <>
          <button
            type="button"
            class="btn btn-primary btn-sm"
            aria-disabled="true"
            aria-describedby="add-contacts-why"
            title={text()}
            data-testid="add-contacts"
          >
            <Icon name="userPlus" size={15} /> Add contacts
          </button>
          <span id="add-contacts-why" class="sr-only">
            {text()}
          </span>
        </>
      )}
    </Show>
  );
}

function Editor(props: { seq: Sequence; onApply: (s: Sequence) => void }) {
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const tab = (): Tab => (TABS.includes(params.tab as Tab) ? (params.tab as Tab) : "steps");
  const readOnly = () => props.seq.access === "view";
  const archived = () => props.seq.archived_at !== null;
  // An archived sequence is read-only too: the API refuses its edits and additions, and its contacts are finished.
  const locked = () => readOnly() || archived();
  // Sharing, giving away and archiving are the owner's or an admin's (README: who may do what).
  const canShare = () => props.seq.access === "owner" || props.seq.access === "admin";
  const ownerName = () => (props.seq.access === "owner" ? "You" : props.seq.owner_name || "—");

  // The API turns a sequence on only with a step on; the switch says so instead of offering it.
  const stepsOn = () => props.seq.steps.filter((s) => s.enabled).length;
  const cantTurnOn = () =>
    props.seq.active
      ? null
      : !props.seq.steps.length
        ? "Add a step before turning the sequence on: with no steps, contacts have nothing to go through"
        : !stepsOn()
          ? "Turn a step on before turning the sequence on: every step is off"
          : null;
  const [sharing, setSharing] = createSignal(false);
  const [confirmArchive, setConfirmArchive] = createSignal(false);
  const [deleting, setDeleting] = createSignal(false);
  const setActive = useWrite(setSequenceActiveAction, {
    done: (_, __, next) =>
      next
        ? `Sequence is on: contacts move through its ${stepsOn() === 1 ? "step" : `${stepsOn()} steps`}`
        : "Sequence is off: contacts are held until it's on again",
    failed: (_, next) => `Couldn't turn the sequence ${next ? "on" : "off"}`,
  });
  // Optimistic: the switch shows the value on its way; the saved one again if it is refused.
  const activeOverride = () => setActive.inFlight().at(-1)?.[1];
  const toggleActive = async (next: boolean) => {
    const saved = await setActive.run(props.seq.id, next);
    if (saved) props.onApply(saved);
  };
  const clone = useWrite(cloneSequenceAction, {
    done: (copy) => copy && `Copied to “${copy.name}” (off until you turn it on)`,
    failed: () => "Couldn't clone it",
  });
  const unarchive = useWrite(unarchiveSequenceAction, {
    done: () => "Unarchived. It's off: turn it on when you're ready",
    failed: () => "Couldn't unarchive it",
  });

  const tabs = () => [
    { id: "steps", label: `Steps ${props.seq.steps.length}` },
    { id: "contacts", label: "Contacts" },
    { id: "scheduled", label: "Scheduled" },
    { id: "imports", label: "Imports" },
    { id: "report", label: "Report" },
  ];

  return (
    <div class="page">
      <BackLink href="/sequences">Sequences</BackLink>

      <header class="editor-header">
        <div class="editor-title">
          <InlineName seq={props.seq} readOnly={locked()} onApply={props.onApply} />
          <div class="editor-meta">
            <span class="meta-item">
              <Icon name="user" size={15} />
              <span class="meta-label">Owner</span> <strong>{ownerName()}</strong>
            </span>
            <SchedulePicker seq={props.seq} readOnly={locked()} onApply={props.onApply} />
            <Show when={props.seq.shares.length > 0}>
              <span class="meta-item">
                <Icon name="share" size={15} /> Shared with {props.seq.shares.length}
              </span>
            </Show>
            <span class="meta-item muted">Updated {formatRelative(props.seq.updated_at)}</span>
          </div>
        </div>
        <div class="editor-actions">
          <Show
            when={!archived()}
            fallback={
              <Badge tone="neutral" title="Archived: not sending">
                Archived
              </Badge>
            }
          >
            <Toggle
              label="Active"
              showLabel
              checked={activeOverride() ?? props.seq.active}
              busy={activeOverride() !== undefined}
              disabled={readOnly() || !!cantTurnOn()}
              testId="sequence-active"
              describedBy={cantTurnOn() ? "sequence-active-why" : undefined}
              title={cantTurnOn() ?? (props.seq.active ? "On: contacts move through the steps" : "Off: contacts are held")}
              onChange={(v) => void toggleActive(v)}
            />
            <Show when={cantTurnOn()}>
              <span id="sequence-active-why" class="field-help" data-testid="sequence-active-why">
                {props.seq.steps.length ? "Turn a step on to turn it on" : "Add a step to turn it on"}
              </span>
            </Show>
          </Show>
          <AddContactsButton seq={props.seq} ownerName={ownerName()} />
          <Show when={canShare()}>
            <button type="button" class="btn btn-secondary btn-sm" onClick={() => setSharing(true)}>
              <Icon name="share" size={15} /> Share
            </button>
          </Show>
          <button
            type="button"
            class="btn btn-secondary btn-sm"
            disabled={clone.pending()}
            onClick={async () => {
              const copy = await clone.run(props.seq.id);
              if (copy) navigate(`/sequences/${copy.id}`);
            }}
          >
            <Icon name="copy" size={15} /> {clone.pending() ? "Cloning…" : "Clone"}
          </button>
          <Show when={canShare()}>
            <Show
              when={archived()}
              fallback={
                <button type="button" class="btn btn-secondary btn-sm" onClick={() => setConfirmArchive(true)}>
                  <Icon name="archive" size={15} /> Archive
                </button>
              }
            >
              <button
                type="button"
                class="btn btn-secondary btn-sm"
                disabled={unarchive.pending()}
                onClick={async () => {
                  const saved = await unarchive.run(props.seq.id);
                  if (saved) props.onApply(saved);
                }}
              >
                <Icon name="archive" size={15} /> Unarchive
              </button>
            </Show>
            <Show when={deleteItem(props.seq)}>
              {(item) => (
                <MenuButton
                  label="⋯"
                  ariaLabel="More actions for this sequence"
                  class="btn btn-secondary btn-sm"
                  align="right"
                  items={[item()]}
                  onSelect={(id) =>
                    id === "delete" ? setDeleting(true) : id === "archive" ? setConfirmArchive(true) : navigate("/workflows")
                  }
                />
              )}
            </Show>
          </Show>
        </div>
      </header>

      <Show when={readOnly()}>
        <div class="notice" role="note" data-testid="read-only-notice">
          <Icon name="lock" size={18} />
          <div>
            <strong>You have view access to this sequence.</strong>
            <p>
              You can see its steps, contacts and schedule, but not change them or add contacts. Ask {ownerName()} (the owner) or an admin
              for edit access.
            </p>
          </div>
        </div>
      </Show>
      <Show when={archived()}>
        <div class="notice notice-muted" role="note">
          <Icon name="archive" size={18} />
          <div>
            <strong>This sequence is archived.</strong>
            <p>
              It doesn't send, and its contacts were finished when it was archived. Unarchive it to edit or turn it on again, or clone it to
              start fresh.
            </p>
          </div>
        </div>
      </Show>

      <Tabs
        label="Sequence sections"
        tabs={tabs()}
        selected={tab()}
        onSelect={(id) => setParams({ tab: id === "steps" ? undefined : id, status: undefined, page: undefined }, { replace: true })}
      />
      <section class="tab-panel" role="tabpanel" id={tabPanelId(tab())} aria-labelledby={tabId(tab())}>
        <Switch>
          <Match when={tab() === "steps"}>
            <div class="editor-grid">
              <StepsTab seq={props.seq} readOnly={locked()} onApply={props.onApply} />
              <Overview seq={props.seq} readOnly={locked()} onApply={props.onApply} />
            </div>
          </Match>
          <Match when={tab() === "contacts"}>
            <ContactsTab sequenceId={props.seq.id} readOnly={locked()} stepCount={props.seq.steps.length} />
          </Match>
          <Match when={tab() === "scheduled"}>
            <ScheduledTab sequenceId={props.seq.id} active={props.seq.active} />
          </Match>
          <Match when={tab() === "report"}>
            <ReportTab sequenceId={props.seq.id} canEdit={!locked()} />
          </Match>
          <Match when={tab() === "imports"}>
            <ImportsTab sequenceId={props.seq.id} canAdd={!locked()} />
          </Match>
        </Switch>
      </section>

      <Show when={canShare()}>
        <ShareDialog open={sharing()} seq={props.seq} onClose={() => setSharing(false)} onApply={props.onApply} />
      </Show>
      <DeleteSequenceDialog
        seq={deleting() ? { id: props.seq.id, name: props.seq.name, steps: props.seq.steps.length } : null}
        onClose={() => setDeleting(false)}
        onDeleted={() => navigate("/sequences", { replace: true })}
      />
      <ArchiveSequenceDialog
        seq={confirmArchive() ? { id: props.seq.id, name: props.seq.name } : null}
        onClose={() => setConfirmArchive(false)}
        onArchived={props.onApply}
      />
    </div>
  );
}

/**
 * /sequences/:id. The loaded sequence lives in a store reconciled by id, so saving one step doesn't
 * rebuild the other step cards (and lose what is being typed in them).
 */
export default function SequenceEditor() {
  const params = useParams();
  const fetched = createAsync(() => getSequence(params.id!));
  const [store, setStore] = createStore<{ seq?: Sequence }>({});
  createComputed(() => {
    const f = fetched();
    // Another sequence (after "Clone", or the back button): start from scratch, keep nothing of the old one.
    if (f && f.id !== untrack(() => store.seq?.id)) setStore("seq", f);
    else if (f) setStore("seq", reconcile(f, { key: "id" }));
  });
  // A write's answer shows at once; the router's re-read after the action (actions.ts) follows with the same.
  const apply = (s: Sequence) => setStore("seq", reconcile(s, { key: "id" }));
  return (
    <Suspense
      fallback={
        <div class="page page-loading">
          <Spinner label="Loading sequence…" />
        </div>
      }
    >
      <Show when={fetched() && store.seq}>
        {(s) => {
          document.title = `${s().name} · Seqflare`;
          return <Editor seq={s()} onApply={apply} />;
        }}
      </Show>
    </Suspense>
  );
}
