import { A, createAsync, useIsRouting, useSearchParams } from "@solidjs/router";
import { createEffect, createSignal, For, on, Show } from "solid-js";
import { CALL_OUTCOMES, type CallOutcome, type Task, type TaskTypeFilter, type TaskView } from "../api";
import { useWrite } from "../actions";
import { Badge } from "../components/Badge";
import { useCopy } from "../components/CopyField";
import { EmptyState } from "../components/EmptyState";
import { notify } from "../components/Toast";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { Segmented } from "../components/Segmented";
import { DataFrame } from "../components/DataTable";
import { StepIcon, stepMeta } from "../components/StepType";
import { tabId, tabPanelId, Tabs } from "../components/Tabs";
import { TaskEmailSend } from "../components/TaskEmailSend";
import { formatDay, formatFull, formatNumber, formatRelative, localInputToMs, msToLocalInput } from "../format";
import { bulkTasksAction, finishTaskAction, getTasks, logCallAction, updateTaskAction } from "../queries/tasks";
import { SequenceOptions } from "../components/SequenceOptions";
import { Options } from "../components/Options";
import { getUsers } from "../queries/users";
import "./Tasks.css";
import { usePageTitle } from "../title";
import { isWebAddress } from "../../../worker/lib/web-address";

const VIEWS: { id: Exclude<TaskView, "open">; label: string }[] = [
  { id: "due_today", label: "Due today" },
  { id: "overdue", label: "Overdue" },
  { id: "upcoming", label: "Upcoming" },
  { id: "done", label: "Done" },
];

const EMPTY: Record<Exclude<TaskView, "open">, { title: string; text: string }> = {
  due_today: {
    title: "Nothing due today",
    text: "Calls, LinkedIn touches and manual emails from your sequences show up here on the day they're due.",
  },
  overdue: { title: "Nothing overdue", text: "You're on top of it. Tasks not done by the end of their day move here." },
  upcoming: { title: "Nothing coming up", text: "Tasks for later days appear here once a contact reaches a manual step." },
  done: { title: "Nothing done yet", text: "Completed and skipped tasks are listed here, most recent first." },
};

/** The type filter's choices, as the API groups them (LinkedIn's three steps are one kind of work). */
const TYPES: { id: TaskTypeFilter; label: string }[] = [
  { id: "call", label: "Calls" },
  { id: "linkedin", label: "LinkedIn" },
  { id: "task", label: "To-dos" },
  { id: "manual_email", label: "Manual emails" },
];

/** The queue's filters, kept in the URL (?type=, ?sequence_id=) so a reload or a shared link keeps them. */
function TaskFilters(props: {
  type: TaskTypeFilter | undefined;
  sequenceId: string | undefined;
  onChange: (f: { type?: TaskTypeFilter | undefined; sequence_id?: string | undefined }) => void;
}) {
  return (
    <div class="task-filters">
      <label class="inline-select">
        <span>Type</span>
        <select
          data-testid="task-type-filter"
          onChange={(e) => props.onChange({ type: (e.currentTarget.value || undefined) as TaskTypeFilter })}
        >
          {/* Each option says whether it is the one: a value set before the options render is lost. */}
          <option value="" selected={!props.type}>
            All types
          </option>
          <For each={TYPES}>
            {(t) => (
              <option value={t.id} selected={t.id === props.type}>
                {t.label}
              </option>
            )}
          </For>
        </select>
      </label>
      <label class="inline-select">
        <span>Sequence</span>
        <select data-testid="task-sequence-filter" onChange={(e) => props.onChange({ sequence_id: e.currentTarget.value || undefined })}>
          <SequenceOptions sequenceId={props.sequenceId} all="All sequences" />
        </select>
      </label>
    </div>
  );
}

/** Verb for the task's main action, so the button says what you're about to do. */
const doLabel = (type: string) =>
  ({
    call: "call",
    manual_email: "email",
    linkedin_connect: "connect",
    linkedin_message: "message",
    linkedin_view: "profile visit",
    task: "task",
  })[type] ?? "task";

/** The contact's quick links; `noEmail`: the task's draft offers its own email link (prefilled), not a bare one. */
function ContactLinks(props: { c: NonNullable<Task["contact"]>; noEmail?: boolean }) {
  return (
    <span class="quick-links">
      <Show when={props.c.phone}>
        {(p) => (
          <a class="quick-link" href={`tel:${p().replace(/[^\d+]/g, "")}`} title={`Call ${p()}`}>
            <Icon name="phone" size={13} /> {p()}
          </a>
        )}
      </Show>
      {/* No Email link to a contact who may not be emailed (suppressed, unsubscribed, bounced): the send would refuse it. */}
      <Show when={!props.noEmail && !props.c.do_not_email && props.c.email}>
        {(e) => (
          <a class="quick-link" href={`mailto:${e()}`} title={`Email ${e()}`}>
            <Icon name="mail" size={13} /> Email
          </a>
        )}
      </Show>
      {/* Only a web address becomes a link (an older row could hold any text). */}
      <Show when={isWebAddress(props.c.linkedin_url ?? "") && props.c.linkedin_url}>
        {(u) => (
          <a class="quick-link" href={u()} target="_blank" rel="noopener noreferrer" title="Open LinkedIn profile in a new tab">
            <Icon name="linkedin" size={13} /> LinkedIn
          </a>
        )}
      </Show>
    </span>
  );
}

/**
 * Longest mail link we make: mail apps and browsers cut or refuse longer ones (about 2,000 characters is
 * where the first ones start failing), so past it the link carries the subject only.
 */
const MAILTO_MAX = 2000;

/** A mailto: link to `to` with the draft's subject and, when it fits under MAILTO_MAX, its body (RFC 6068: CRLF line breaks). */
function draftMailto(to: string, draft: { subject: string; body: string }): { href: string; withBody: boolean } {
  const head = `mailto:${encodeURIComponent(to)}?subject=${encodeURIComponent(draft.subject)}`;
  const full = `${head}&body=${encodeURIComponent(draft.body.replace(/\r?\n/g, "\r\n"))}`;
  return full.length <= MAILTO_MAX ? { href: full, withBody: true } : { href: head, withBody: false };
}

/** Copies `text` (useCopy: where the clipboard is blocked it selects `target`, so Ctrl/Cmd+C works). */
function CopyButton(props: { text: string; label: string; target: () => HTMLElement; testId: string }) {
  const { copied, copy } = useCopy(() => props.text, props.target);
  return (
    <>
      <button type="button" class="btn btn-ghost btn-sm" onClick={copy} data-testid={props.testId}>
        <Icon name={copied() ? "check" : "copy"} size={13} /> {copied() ? "Copied" : props.label}
      </button>
      <span class="sr-only" role="status">
        {copied() ? "Copied to the clipboard" : ""}
      </span>
    </>
  );
}

/** A manual email's draft, written for this contact: copy it, or open it in the mail app prefilled. */
function Draft(props: { draft: NonNullable<Task["draft"]>; to: string | null }) {
  let subjectEl!: HTMLParagraphElement;
  let bodyEl!: HTMLParagraphElement;
  const link = () => (props.to ? draftMailto(props.to, props.draft) : null);
  return (
    <div class="task-draft" data-testid="task-draft">
      <div class="task-draft-part">
        <span class="small muted">Subject</span>
        <CopyButton text={props.draft.subject} label="Copy subject" target={() => subjectEl} testId="copy-subject" />
      </div>
      <p class="task-draft-subject" ref={subjectEl} data-testid="draft-subject">
        {props.draft.subject}
      </p>
      <div class="task-draft-part">
        <span class="small muted">Body</span>
        <CopyButton text={props.draft.body} label="Copy body" target={() => bodyEl} testId="copy-body" />
      </div>
      <p class="task-draft-body" ref={bodyEl} data-testid="draft-body">
        {props.draft.body}
      </p>
      <Show when={props.draft.missing.length}>
        <p class="task-warning small" data-testid="draft-missing">
          <Icon name="alert" size={13} /> No value for {props.draft.missing.map((m) => `{{${m}}}`).join(", ")} for this contact: that part
          of the draft is empty. Fill it in before sending.
        </p>
      </Show>
      <Show when={props.draft.reply_in_thread}>
        <p class="small muted">Send it as a reply to your earlier email to them, so it stays in the same conversation.</p>
      </Show>
      <Show when={link()}>
        {(l) => (
          <p class="task-draft-send small">
            <a class="btn btn-secondary btn-sm" href={l().href} data-testid="draft-mailto">
              <Icon name="mail" size={13} /> Open in your email app
            </a>
            <Show when={!l().withBody}>
              <span class="muted" data-testid="draft-too-long">
                The body is too long for an email link: the link fills in the subject only; copy the body and paste it in.
              </span>
            </Show>
          </p>
        )}
      </Show>
    </div>
  );
}

/** Outcomes after which the contact gets no more steps: the API finishes their run (endsRun in worker/services/tasks.ts). */
const ENDS_RUN = new Set<CallOutcome>(["meeting_booked", "not_interested"]);

/** What working a task did, as the API answered it, in words for the toast. */
function resultWords(t: Task, r: { run: string; reason: string | null } | undefined, done: string) {
  const who = t.contact?.name || "The contact";
  if (r?.run === "finished")
    return r.reason === "meeting_booked"
      ? `${done}: meeting booked with ${who}, who leaves the sequence (no more steps)`
      : r.reason === "not_interested"
        ? `${done}: ${who} is not interested and leaves the sequence (no more steps)`
        : `${done}: that was ${who}'s last step; they have finished the sequence`;
  if (r?.run === "moved_on") return `${done}: ${who} moves on to the next step`;
  if (r?.run === "paused") return `${done}: ${who} is paused in the sequence; the next step waits until they are resumed`;
  if (r?.run === "sequence_off") return `${done}: the sequence is turned off; ${who}'s next step waits until it is on again`;
  if (r?.run === "unchanged") return `${done}: the task stays open`;
  return done;
}

/** Where a new due time starts: the current one, or tomorrow at this time when that is past. */
const suggestedDue = (t: Task) => msToLocalInput(Math.max(t.due_at, Date.now() + 86_400_000));

/** A date and time field for a task's new due time (the API refuses one in the past, saying so). */
function DueField(props: { label: string; value: string; onInput: (v: string) => void; testId: string }) {
  return (
    <label class="call-log-field">
      <span class="small muted">{props.label}</span>
      <input
        class="input input-sm"
        type="datetime-local"
        required
        min={msToLocalInput(Date.now())}
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
        data-testid={props.testId}
      />
    </label>
  );
}

/** A form a task row opens on a full-width row of its own under the task (in the auto-width actions column it squeezed the task's text to a word a line). */
type Panel = "call" | "reschedule" | "reassign";

/** Reschedule and Reassign, which open their form on the row's panel. */
function ChangeTaskButtons(props: { t: Task; open: (p: Panel) => void }) {
  const contactName = () => props.t.contact?.name ?? "contact";
  return (
    <>
      <button
        type="button"
        class="btn btn-ghost btn-sm"
        onClick={() => props.open("reschedule")}
        aria-label={`Reschedule ${doLabel(props.t.type)} with ${contactName()}`}
        data-testid="task-reschedule"
      >
        <Icon name="clock" size={14} /> Reschedule
      </button>
      <button
        type="button"
        class="btn btn-ghost btn-sm"
        onClick={() => props.open("reassign")}
        aria-label={`Reassign ${doLabel(props.t.type)} with ${contactName()}`}
        data-testid="task-reassign"
      >
        <Icon name="user" size={14} /> Reassign
      </button>
    </>
  );
}

/**
 * Reschedule (a new due time) or Reassign (to one of the task's assignable_ids: for a sequence's task those who may edit
 * the sequence, for a one-off task anyone active in the team; the API refuses anyone else).
 */
function ChangeTaskForm(props: { t: Task; mode: "reschedule" | "reassign"; close: () => void }) {
  const [at, setAt] = createSignal(suggestedDue(props.t));
  const users = createAsync(() => getUsers());
  // Those who can take it, the current assignee left out (reassigning to them changes nothing). The select shows
  // the first of them, so that is what starts chosen: starting at the current assignee, who may not be in the
  // list, sent a no-op that answered "Reassigned to …".
  const takers = () => (users()?.users ?? []).filter((u) => u.id !== props.t.assignee_id && props.t.assignable_ids.includes(u.id));
  const [picked, setWho] = createSignal<string>();
  const who = () => picked() ?? takers()[0]?.id ?? "";
  const save = useWrite(updateTaskAction, {
    done: (r, _id, patch) =>
      patch.due_at !== undefined
        ? `Rescheduled: due ${formatFull(r?.task.due_at ?? patch.due_at)}`
        : `Reassigned to ${users()?.users.find((u) => u.id === patch.assignee_id)?.name ?? "them"}`,
    failed: (_id, patch) => (patch.due_at !== undefined ? "Couldn't reschedule the task" : "Couldn't reassign the task"),
  });
  return (
    <form
      class="call-log"
      data-testid={`task-${props.mode}-form`}
      onSubmit={async (e) => {
        e.preventDefault();
        const patch = props.mode === "reschedule" ? { due_at: localInputToMs(at()) ?? Number.NaN } : { assignee_id: who() };
        if (await save.run(props.t.id, patch)) props.close();
      }}
    >
      <Show
        when={props.mode === "reschedule"}
        fallback={
          <label class="call-log-field">
            <span class="small muted">Assign to</span>
            <select class="input input-sm" value={who()} onChange={(e) => setWho(e.currentTarget.value)} data-testid="task-assignee">
              {/* Only those who can take it (assignable_ids): anyone else the API refuses. */}
              <Options each={takers()} value={who()} id={(u) => u.id}>
                {(u) => u.name}
              </Options>
            </select>
            <Show when={users() && !takers().length}>
              <span class="small muted" data-testid="task-no-takers">
                {props.t.sequence
                  ? "Nobody else can take this task: only active users who may edit its sequence can."
                  : "Nobody else can take this task: there is no other active user in your team."}
              </span>
            </Show>
          </label>
        }
      >
        <DueField label="Due" value={at()} onInput={setAt} testId="task-due-input" />
      </Show>
      <div class="call-log-actions">
        <button type="submit" class="btn btn-primary btn-sm" disabled={save.pending() || (props.mode === "reassign" && !who())}>
          {props.mode === "reschedule" ? "Save new time" : "Reassign"}
        </button>
        <button type="button" class="btn btn-ghost btn-sm" onClick={() => props.close()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** A call's outcome and notes (they land on the contact's timeline); logging it completes the task, or keeps it open. */
function CallLogForm(props: { t: Task; onDone: () => void; close: () => void }) {
  const [outcome, setOutcome] = createSignal<CallOutcome>("connected");
  const [notes, setNotes] = createSignal("");
  const log = useWrite(logCallAction, {
    done: (r, _id, call) =>
      call.callback_at !== undefined
        ? `Call logged. The call is due again ${formatFull(r?.task.due_at ?? call.callback_at)}`
        : resultWords(props.t, r?.task, "Call logged"),
    failed: () => "Couldn't log the call",
  });
  const [callBack, setCallBack] = createSignal(suggestedDue(props.t));
  const later = () => outcome() === "call_back_later";
  const submit = async (complete: boolean) => {
    // Call back later keeps the task and moves it to the time asked for, in the same request as the log
    // (the API refuses a past time and logs nothing then).
    const call = { outcome: outcome(), notes: notes().trim() || undefined };
    const at = later() ? localInputToMs(callBack()) : undefined;
    if (at === null) return notify("Choose when to call back");
    const r = await log.run(props.t.id, at === undefined ? { ...call, complete } : { ...call, callback_at: at });
    if (!r) return;
    if (complete && !later()) props.onDone();
    else props.close();
  };
  return (
    <form
      class="call-log"
      onSubmit={(e) => {
        e.preventDefault();
        void submit(true);
      }}
      data-testid="call-log-form"
    >
      <label class="call-log-field">
        <span class="small muted">Outcome</span>
        <select class="input input-sm" value={outcome()} onChange={(e) => setOutcome(e.currentTarget.value as CallOutcome)} name="outcome">
          <For each={CALL_OUTCOMES}>{([id, label]) => <option value={id}>{label}</option>}</For>
        </select>
      </label>
      <Show when={ENDS_RUN.has(outcome())}>
        <p class="small muted" data-testid="call-ends-run">
          {outcome() === "meeting_booked" ? "Books the meeting and takes" : "Takes"} {props.t.contact?.name || "the contact"} out of the
          sequence: no more steps.
        </p>
      </Show>
      <Show when={later()}>
        <DueField label="Call back on" value={callBack()} onInput={setCallBack} testId="call-back-at" />
      </Show>
      <label class="call-log-field">
        <span class="small muted">Notes</span>
        <textarea
          class="input"
          rows={2}
          maxLength={5000}
          value={notes()}
          onInput={(e) => setNotes(e.currentTarget.value)}
          name="notes"
          placeholder="What was said, what's next"
        />
      </label>
      <div class="call-log-actions">
        <button type="submit" class="btn btn-primary btn-sm" disabled={log.pending()}>
          {later() ? "Log call and call back then" : "Log call and complete"}
        </button>
        <button
          type="button"
          class="btn btn-secondary btn-sm"
          hidden={later()}
          disabled={log.pending() || ENDS_RUN.has(outcome())}
          title={ENDS_RUN.has(outcome()) ? "This outcome ends the contact's run, so the task can't stay open" : undefined}
          onClick={() => void submit(false)}
        >
          Log call, keep the task open
        </button>
        <button type="button" class="btn btn-ghost btn-sm" onClick={() => props.close()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export default function Tasks() {
  usePageTitle("Tasks");
  const [params, setParams] = useSearchParams();
  const routing = useIsRouting();
  const view = (): Exclude<TaskView, "open"> =>
    VIEWS.some((v) => v.id === params.view) ? (params.view as Exclude<TaskView, "open">) : "due_today";
  const assignee = (): "me" | "all" => (params.who === "all" ? "all" : "me");
  const page = () => Math.max(1, Number(params.page) || 1);
  const type = () => TYPES.find((t) => t.id === params.type)?.id;
  const sequenceId = () => (typeof params.sequence_id === "string" && params.sequence_id) || undefined;
  const filtered = () => !!type() || !!sequenceId();
  const result = createAsync(() =>
    getTasks({ page: page(), per_page: 25, view: view(), assignee: assignee(), type: type(), sequence_id: sequenceId() }),
  );
  const [gone, setGone] = createSignal<Set<string>>(new Set());
  const finish = useWrite(finishTaskAction, {
    done: (r, t, how) => resultWords(t, r?.task, how === "complete" ? "Done" : "Skipped"),
    failed: (_, how) => `Couldn't ${how} the task`,
  });
  const finishing = (t: Task) => finish.inFlight().some(([x]) => x.id === t.id);
  // A finished task leaves the list at once, before the router's re-read of the page arrives.
  const done = (t: Task) => setGone((s) => new Set(s).add(t.id));

  const counts = () => result()?.counts;
  const label = (id: Exclude<TaskView, "open">, text: string) => {
    const c = counts();
    if (!c) return text;
    const n = id === "due_today" ? c.due_today : id === "overdue" ? c.overdue : id === "upcoming" ? c.upcoming : null;
    return n === null ? text : `${text} ${formatNumber(Math.max(0, n))}`;
  };

  const visible = () => (result()?.tasks ?? []).filter((t) => !gone().has(t.id));

  // The ticked tasks: only those listed now count (another view, page or filter leaves the others out).
  const [picked, setPicked] = createSignal<Set<string>>(new Set());
  const selected = () => visible().filter((t) => t.status === "open" && t.can_work && picked().has(t.id));
  // Another page, view or filter lists other tasks: the ticks go, or coming back ticked them again unseen.
  createEffect(
    on(
      () => [page(), view(), assignee(), type(), sequenceId()].join("|"),
      () => setPicked(new Set<string>()),
      { defer: true },
    ),
  );
  // What the header's box ticks: every task on the page you can work, as Skip takes them all. Complete can't take a
  // manual email (it is sent, or marked sent by the rep who sent it elsewhere, on its own row: a bulk Complete
  // would say it went without anyone sending it), so the bar says which of those ticked Complete leaves open.
  const pickable = () => visible().filter((t) => t.status === "open" && t.can_work);
  const pickedMail = () => selected().filter((t) => t.type === "manual_email").length;
  const completable = () => selected().length - pickedMail();
  const allPicked = () => pickable().length > 0 && pickable().every((t) => picked().has(t.id));
  const somePicked = () => !allPicked() && selected().length > 0;
  const pickAll = (on: boolean) =>
    setPicked((s) => {
      const n = new Set(s);
      for (const t of on ? pickable() : visible()) {
        if (on) n.add(t.id);
        else n.delete(t.id);
      }
      return n;
    });
  const toggle = (id: string, on: boolean) =>
    setPicked((s) => {
      const n = new Set(s);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });
  const bulk = useWrite(bulkTasksAction, {
    done: (r, how) => {
      const outcomes = r?.outcomes ?? [];
      const head = `${formatNumber(outcomes.filter((o) => o.outcome === "done").length)} ${how === "complete" ? "completed" : "skipped"}`;
      const refused = outcomes.filter((o) => o.outcome === "refused");
      if (!refused.length) return head;
      // Why the others were refused, each reason once.
      return `${head}; ${formatNumber(refused.length)} not: ${[...new Set(refused.map((o) => o.reason))].join("; ")}`;
    },
    failed: (how) => `Couldn't ${how} the tasks`,
  });
  const runBulk = async (how: "complete" | "skip") => {
    const r = await bulk.run(
      how,
      selected().map((t) => t.id),
    );
    if (!r) return;
    const finished = new Set(r.outcomes.filter((o) => o.outcome === "done").map((o) => o.task_id));
    setGone((s) => new Set([...s, ...finished]));
    // The refused stay ticked, so the rep sees which ones are left.
    setPicked((s) => new Set([...s].filter((id) => !finished.has(id))));
  };

  return (
    <div class="page">
      <PageHeader
        title="Tasks"
        description="Calls, LinkedIn touches and manual emails your sequences ask for. Completing one moves its contact to the next step."
        actions={
          // The shared radio group: one tab stop, arrow keys / Home / End move the choice (a row of
          // role=radio buttons of its own had neither).
          <Segmented
            label="Whose tasks"
            options={[
              { value: "me", label: "Mine" },
              { value: "all", label: "Everyone" },
            ]}
            value={assignee()}
            onChange={(v) => setParams({ who: v === "me" ? undefined : v, page: undefined })}
          />
        }
      />
      <TaskFilters type={type()} sequenceId={sequenceId()} onChange={(f) => setParams({ ...f, page: undefined })} />
      <Tabs
        label="Task views"
        tabs={VIEWS.map((v) => ({ id: v.id, label: label(v.id, v.label) }))}
        selected={view()}
        onSelect={(id) => setParams({ view: id === "due_today" ? undefined : id, page: undefined }, { replace: true })}
      />
      <Show when={selected().length > 0}>
        <div class="toolbar bulk-bar" role="region" aria-label="Selected tasks" data-testid="tasks-bulk">
          {/* The note under the count: what Complete leaves of the ticked tasks, before it is clicked. */}
          <div>
            <strong>{formatNumber(selected().length)} selected</strong>
            <Show when={pickedMail() > 0}>
              <p class="small muted" data-testid="tasks-bulk-note">
                {completable() > 0
                  ? `Complete finishes ${formatNumber(completable())} and leaves the ${pickedMail() === 1 ? "manual email" : `${formatNumber(pickedMail())} manual emails`} open: ${pickedMail() === 1 ? "it is" : "each is"} sent, or marked sent, on its own row. Skip skips all ${formatNumber(selected().length)}.`
                  : `${pickedMail() === 1 ? "A manual email is" : "Manual emails are"} sent, or marked sent, on ${pickedMail() === 1 ? "its" : "their"} own row, so Complete can't take ${pickedMail() === 1 ? "it" : "them"}: Skip can.`}
              </p>
            </Show>
          </div>
          <div class="task-bulk-actions">
            <button
              type="button"
              class="btn btn-primary btn-sm"
              disabled={bulk.pending() || completable() === 0}
              title={completable() === 0 ? "Manual emails are completed by sending each from its task: Skip takes them" : undefined}
              onClick={() => void runBulk("complete")}
            >
              <Icon name="check" size={14} /> Complete
            </button>
            <button type="button" class="btn btn-secondary btn-sm" disabled={bulk.pending()} onClick={() => void runBulk("skip")}>
              <Icon name="skip" size={14} /> Skip
            </button>
            <button type="button" class="btn btn-ghost btn-sm" onClick={() => setPicked(new Set<string>())}>
              Clear selection
            </button>
          </div>
        </div>
      </Show>
      <section class="tab-panel" role="tabpanel" id={tabPanelId(view())} aria-labelledby={tabId(view())}>
        <DataFrame
          rows={result() && visible()}
          pagination={result()?.pagination}
          busy={routing()}
          loading="Loading tasks…"
          skeletonColumns={5}
          skeletonRows={6}
          header={
            <Show when={pickable().length > 0}>
              <div class="task-list-head" data-testid="tasks-select-all-row">
                <label class="task-pick-all">
                  <input
                    type="checkbox"
                    checked={allPicked()}
                    ref={(el) => createEffect(() => (el.indeterminate = somePicked()))}
                    onChange={(e) => pickAll(e.currentTarget.checked)}
                    aria-label="Select all tasks on this page"
                    title="Ticks every task on this page you can work: Skip takes them all, Complete all but manual emails (each is sent, or marked sent, on its own row)"
                    data-testid="tasks-select-all"
                  />
                  <span class="small muted" aria-live="polite">
                    {selected().length ? `${formatNumber(selected().length)} selected` : "Select all on this page"}
                  </span>
                </label>
              </div>
            </Show>
          }
          empty={
            <EmptyState icon={view() === "done" ? "check" : "tasks"} title={EMPTY[view()].title}>
              {EMPTY[view()].text}
              {filtered() ? " Only tasks of the type and sequence chosen above are listed." : ""}
              {assignee() === "me" ? " Switch to “Everyone” to see your team's." : ""}
            </EmptyState>
          }
        >
          {(tasks) => (
            <ul class="task-list" aria-label="Tasks" data-testid="task-list">
              <For each={tasks()}>
                {(t) => {
                  const [panel, setPanel] = createSignal<Panel | null>(null);
                  return (
                    <li class="task-row" classList={{ "task-overdue": t.overdue }}>
                      <div class="task-pick">
                        <Show
                          when={t.status === "open" && t.can_work}
                          fallback={
                            // A box that can't be ticked, saying why, keeps the rows' icons in one column under the header's box.
                            <Show when={t.status === "open"}>
                              <input
                                type="checkbox"
                                disabled
                                title="Only its assignee, its sequence's editors and admins can work this task"
                                aria-label={`${doLabel(t.type)} with ${t.contact?.name ?? "contact"}: only its assignee, its sequence's editors and admins can work it`}
                                data-testid="task-select-locked"
                              />
                            </Show>
                          }
                        >
                          <input
                            type="checkbox"
                            checked={picked().has(t.id)}
                            onChange={(e) => toggle(t.id, e.currentTarget.checked)}
                            aria-label={`Select ${doLabel(t.type)} with ${t.contact?.name ?? "contact"}`}
                            title={
                              t.type === "manual_email"
                                ? "Bulk Complete leaves a manual email open: it is sent, or marked sent, on its own row. Skip takes it"
                                : undefined
                            }
                            data-testid="task-select"
                          />
                        </Show>
                        <StepIcon type={t.type} />
                      </div>
                      <div class="task-main">
                        <div class="task-title">
                          <strong>{stepMeta(t.type).label}</strong>
                          <Show when={t.contact}>
                            {(c) => (
                              <>
                                <span class="muted">with</span> {/* A deleted contact's page is gone: named, not linked. */}
                                <Show
                                  when={!c().deleted}
                                  fallback={
                                    <span class="muted" data-testid="task-contact-deleted">
                                      {c().name}
                                    </span>
                                  }
                                >
                                  <A href={`/contacts/${c().id}`}>
                                    <strong>{c().name || c().email}</strong>
                                  </A>
                                </Show>
                              </>
                            )}
                          </Show>
                        </div>
                        <Show when={t.contact?.deleted === false && t.contact}>
                          {(c) => (
                            <div class="task-contact">
                              <span class="muted small">{[c().title, c().company].filter(Boolean).join(" at ") || c().email}</span>
                              <ContactLinks c={c()} noEmail={t.status === "open" && !!t.draft} />
                            </div>
                          )}
                        </Show>
                        <Show when={t.note}>
                          <p class="task-note">{t.note}</p>
                        </Show>
                        <Show when={t.status === "open" && t.draft}>{(d) => <Draft draft={d()} to={t.contact?.email ?? null} />}</Show>
                        <Show when={t.status === "open" && t.run_paused}>
                          <p class="task-warning small" data-testid="task-run-paused">
                            <Icon name="pause" size={13} /> Paused in the sequence: completing this records the step, and the next one waits
                            until the contact's run is resumed.
                          </p>
                        </Show>
                        <Show when={t.status === "open" && t.warning}>
                          {(w) => (
                            <p class="task-warning small" data-testid="task-warning">
                              <Icon name="alert" size={13} /> {w()}
                            </p>
                          )}
                        </Show>
                        <div class="task-meta small">
                          <Show when={t.sequence}>
                            {(s) => (
                              <A href={`/sequences/${s().id}`} class="task-seq">
                                <Icon name="sequences" size={13} /> {s().name}
                              </A>
                            )}
                          </Show>
                          <Show when={assignee() === "all" && t.assignee_name}>
                            <span class="muted">
                              <Icon name="user" size={13} /> {t.assignee_name}
                            </span>
                          </Show>
                        </div>
                      </div>
                      <div class="task-due">
                        <Show
                          when={t.status === "open"}
                          fallback={
                            <>
                              <Badge tone={t.status === "completed" ? "success" : "neutral"} dot>
                                {t.status === "completed"
                                  ? "Completed"
                                  : t.status !== "cancelled"
                                    ? "Skipped"
                                    : t.cancelled_because === "left_sequence"
                                      ? "Cancelled: left the sequence"
                                      : t.cancelled_because === "step_removed"
                                        ? "Cancelled: step deleted or turned off"
                                        : "Cancelled"}
                              </Badge>
                              <Show when={t.completed_at}>{(at) => <span class="muted small">{formatDay(at())}</span>}</Show>
                            </>
                          }
                        >
                          <time
                            datetime={new Date(t.due_at).toISOString()}
                            title={formatFull(t.due_at)}
                            classList={{ "due-overdue": t.overdue }}
                          >
                            <Show when={t.overdue}>
                              <Icon name="alert" size={13} /> Overdue ·{" "}
                            </Show>
                            {t.overdue ? formatRelative(t.due_at) : `Due ${formatDay(t.due_at)}`}
                          </time>
                        </Show>
                      </div>
                      <Show when={t.status === "open" && t.can_work}>
                        <div class="task-actions">
                          <Show when={t.type === "call" && panel() !== "call"}>
                            <button type="button" class="btn btn-primary btn-sm" onClick={() => setPanel("call")} data-testid="log-call">
                              <Icon name="phone" size={14} /> Log call
                            </button>
                          </Show>
                          <Show when={t.type === "manual_email" && t.draft}>
                            {(d) => <TaskEmailSend t={t} draft={d()} onSent={() => done(t)} />}
                          </Show>
                          {/* A manual email's Complete sends nothing: it is for the rep who sent it from their own email, and
                              never to someone who may not be emailed (the server refuses it too; Skip ends such a task). */}
                          <Show when={!(t.type === "manual_email" && t.contact?.do_not_email)}>
                            <button
                              type="button"
                              class={`btn btn-sm ${t.type === "manual_email" ? "btn-secondary" : "btn-primary"}`}
                              disabled={finishing(t)}
                              onClick={async () => (await finish.run(t, "complete")) && done(t)}
                              aria-label={
                                t.type === "manual_email"
                                  ? `Mark the email to ${t.contact?.name ?? "contact"} sent (you sent it yourself)`
                                  : `Complete ${doLabel(t.type)} with ${t.contact?.name ?? "contact"}`
                              }
                              title={
                                t.type === "manual_email"
                                  ? "You sent it from your own email: completes the task, and Seqflare sends nothing"
                                  : undefined
                              }
                            >
                              <Icon name="check" size={14} /> {t.type === "manual_email" ? "Mark sent" : "Complete"}
                            </button>
                          </Show>
                          <button
                            type="button"
                            class="btn btn-secondary btn-sm"
                            disabled={finishing(t)}
                            onClick={async () => (await finish.run(t, "skip")) && done(t)}
                            aria-label={`Skip ${doLabel(t.type)} with ${t.contact?.name ?? "contact"}`}
                          >
                            <Icon name="skip" size={14} /> Skip
                          </button>
                          <Show when={panel() !== "reschedule" && panel() !== "reassign"}>
                            <ChangeTaskButtons t={t} open={setPanel} />
                          </Show>
                        </div>
                      </Show>
                      <Show when={t.status === "open" && t.can_work && panel()}>
                        {(p) => (
                          <div class="task-panel">
                            <Show
                              when={p() === "call"}
                              fallback={<ChangeTaskForm t={t} mode={p() as "reschedule" | "reassign"} close={() => setPanel(null)} />}
                            >
                              <CallLogForm t={t} onDone={() => done(t)} close={() => setPanel(null)} />
                            </Show>
                          </div>
                        )}
                      </Show>
                    </li>
                  );
                }}
              </For>
            </ul>
          )}
        </DataFrame>
      </section>
    </div>
  );
}
