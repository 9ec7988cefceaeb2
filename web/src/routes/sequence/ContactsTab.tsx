import { pollWhile } from "../../poll";
import { A, createAsync, revalidate, useIsRouting, useSearchParams } from "@solidjs/router";
import { createEffect, createSignal, For, on, Show, Suspense, useTransition } from "solid-js";
import type {
  Enrollment,
  EnrollmentAction,
  EnrollmentChange,
  EnrollmentFilter,
  EnrollmentTarget,
  SequenceSummary,
  WarningOverrides,
} from "../../api";
import { fetchEnrollmentJobOutcomes } from "../../api";
import { useWrite } from "../../actions";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataFrame, DataTable } from "../../components/DataTable";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { Meter } from "../../components/Meter";
import { StepIcon, stepMeta } from "../../components/StepType";
import { tabId, tabPanelId, Tabs } from "../../components/Tabs";
import { formatDay, formatFull, formatNumber, formatRelative, plural } from "../../format";
import { changeEnrollmentsAction, getEnrollmentJob, getEnrollmentJobOutcomes, getEnrollments } from "../../queries/enrollments";
import { getJob } from "../../queries/jobs";
import { getMailboxes } from "../../queries/mailboxes";
import { isFinished } from "../../jobs";
import { SequencePicker } from "../people/SequencePicker";
import { AddingNow } from "./AddingNow";
import { OVERRIDES } from "../workflows/present";
import { EnrollmentBadge, reasonTone, wontSendOverlap } from "../../components/EnrollmentStatus";
import { Options } from "../../components/Options";
import "./ContactsTab.css";

const FILTERS: { id: EnrollmentFilter; label: string; always?: boolean }[] = [
  { id: "all", label: "All", always: true },
  { id: "active", label: "Active", always: true },
  // Open runs whose contact the engine won't email (unsubscribed, bounced, Do Not Contact, a suppressed address or
  // domain, no address for an email step): their rows say "Won't be sent", so "Active" doesn't count them.
  { id: "wont_send", label: "Won't be sent" },
  { id: "scheduled", label: "Scheduled" },
  { id: "paused", label: "Paused", always: true },
  // Runs the engine holds (their sequence turned off when their step fell due, no step on, no mailbox): open, sending
  // nothing until what holds them is fixed. They are among "Not sent" too, but that tab mixes in failed and finished runs.
  { id: "held", label: "Held" },
  { id: "finished", label: "Finished", always: true },
  { id: "bounced", label: "Bounced" },
  { id: "waiting_sequence_off", label: "Waiting (sequence off)" },
  { id: "not_sent", label: "Not sent" },
  { id: "blocked", label: "Blocked by a rule" },
  { id: "failed", label: "Failed" },
  { id: "removed", label: "Removed" },
];

export const ACTIONS: { id: EnrollmentAction; label: string; icon: "pause" | "play" | "check" | "trash" | "refresh"; done: string }[] = [
  { id: "pause", label: "Pause", icon: "pause", done: "paused" },
  { id: "resume", label: "Resume", icon: "play", done: "resumed" },
  { id: "restart", label: "Restart", icon: "refresh", done: "restarted from step 1" },
  { id: "finish", label: "Mark finished", icon: "check", done: "marked finished" },
  { id: "remove", label: "Remove", icon: "trash", done: "removed" },
];

const DONE_WORDS: Partial<Record<EnrollmentAction, string>> = {
  ...Object.fromEntries(ACTIONS.map((a) => [a.id, a.done])),
  move: "moved",
  "change-mailbox": "moved to the new mailbox",
};

type FinishReason = "marked_finished" | "replied" | "meeting_booked";
type Extra = {
  until?: number;
  step?: number;
  mailbox_id?: string;
  to_sequence_id?: string;
  overrides?: WarningOverrides;
  reason?: FinishReason;
  restart_anyway?: boolean;
};

const FINISH_REASONS: { id: FinishReason; label: string }[] = [
  { id: "marked_finished", label: "Manually" },
  { id: "replied", label: "Replied" },
  { id: "meeting_booked", label: "Meeting booked" },
];

const SORTS = [
  { id: "updated", label: "Recently changed" },
  { id: "added", label: "Recently added" },
  { id: "name", label: "Name" },
  { id: "email", label: "Email" },
  { id: "company", label: "Company" },
  { id: "status", label: "Status" },
  { id: "step", label: "Step" },
  { id: "next_action", label: "Next action" },
] as const;
type Sort = (typeof SORTS)[number]["id"];

/** Why contacts in a tab are there: the tab narrows to one (the engine's reason codes). */
const FINISHED_REASONS = [
  { id: "replied", label: "Replied" },
  { id: "meeting_booked", label: "Meeting booked" },
  { id: "marked_finished", label: "Marked finished" },
  { id: "completed_all_steps", label: "Went through every step" },
  { id: "unsubscribed", label: "Unsubscribed" },
  { id: "bounced", label: "Bounced" },
  { id: "moved", label: "Moved to another sequence" },
  { id: "colleague_replied", label: "A colleague replied" },
  { id: "sequence_archived", label: "Sequence archived" },
  { id: "delivery_unknown", label: "Delivery not confirmed (not resent)" },
  { id: "contact_deleted", label: "Contact deleted" },
  { id: "restarted", label: "Restarted (history)" },
];
const REASON_FILTERS: Partial<Record<EnrollmentFilter, { label: string; reasons: { id: string; label: string }[] }>> = {
  finished: { label: "Finished because", reasons: FINISHED_REASONS },
  paused: {
    label: "Paused because",
    reasons: [
      { id: "paused_by_user", label: "Paused by a user" },
      { id: "paused_until", label: "Paused until a date" },
      { id: "out_of_office", label: "Out of office" },
      { id: "colleague_replied", label: "A colleague replied" },
    ],
  },
  not_sent: {
    label: "Not sent because",
    reasons: [
      { id: "mailbox_disconnected", label: "Mailbox disconnected" },
      { id: "mailbox_paused", label: "Mailbox paused after an error" },
      { id: "mailbox_reply_check", label: "Mailbox waiting for its reply check" },
      { id: "no_email", label: "No email address" },
      { id: "send_failed", label: "Sending failed" },
      { id: "no_mailbox", label: "No mailbox assigned" },
      { id: "sequence_inactive", label: "Sequence turned off" },
    ],
  },
  blocked: {
    label: "Blocked by",
    reasons: [
      { id: "unsubscribed", label: "Unsubscribed" },
      { id: "do_not_contact", label: "Do Not Contact stage" },
      { id: "suppressed", label: "Suppression list" },
      { id: "suppressed_domain", label: "Blocked domain" },
    ],
  },
};
type Outcome = {
  id: string;
  changed: boolean;
  outcome: string;
  reason: string | null;
  reason_code?: string | null;
  held_back_by?: Warning[];
};
/** What the last action answered, kept on screen: each enrollment's outcome, and the jobs it started. */
type Answer = { action: EnrollmentAction; extra: Extra; results: Outcome[]; jobs: string[]; target?: string };

/** What an action did, in words: "12 contacts paused until Dec 9", "3 contacts restarted from step 2". */
export function didWords(action: EnrollmentAction, n: number, extra: Extra, target?: string, redated = false) {
  const what =
    action === "pause" && extra.until
      ? // Runs that were paused already had their resume date moved (the API's resume_date_changed).
        `${redated ? "now resume" : "paused until"} ${formatDay(extra.until)}`
      : action === "restart" && extra.step && extra.step > 1
        ? `restarted from step ${extra.step}`
        : action === "move" && target
          ? `moved to “${target}”`
          : action === "finish" && extra.reason && extra.reason !== "marked_finished"
            ? `finished (${FINISH_REASONS.find((r) => r.id === extra.reason)?.label.toLowerCase()})`
            : (DONE_WORDS[action] ?? action);
  return `${plural(n, "contact")} ${what}`;
}

/** Those that did not change, grouped by the API's reason ("Already finished: restart it to send the sequence again"). */
function unchangedByReason(results: readonly Outcome[]) {
  const groups = new Map<string, Outcome[]>();
  for (const r of results) if (!r.changed) groups.set(r.reason ?? r.outcome, [...(groups.get(r.reason ?? r.outcome) ?? []), r]);
  return [...groups];
}

/** What removing runs does, said before it (here and on a contact's page). */
export const REMOVE_WORDS =
  "They stop receiving this sequence's steps right away. Anything already sent stays sent. You can add them again later.";

/** Closed enrollments a pause / resume / finish can't touch: restarting them is what sends the sequence again. */
const CLOSED = new Set(["finished", "removed", "failed"]);
/**
 * The API offers a restart to a closed one only when it would restart it ("…: restart it to send the
 * sequence again"); one who replied, booked a meeting or was moved is named without it (a restart
 * refuses them unless asked "anyway").
 */
const restartOffered = (r: Outcome) => !!r.reason?.endsWith("restart it to send the sequence again");
/** Why a restart refused a contact that a restart "anyway" still takes (the API's restart_anyway). */
const RESTART_ANYWAY_CODES = new Set(["replied", "meeting_booked", "not_interested", "colleague_replied", "moved", "active_elsewhere"]);

/** The mailbox a run sends from, amber when it isn't connected. */
function RunMailbox(props: { e: Enrollment }) {
  return (
    <Show when={props.e.mailbox} fallback={<span class="muted">—</span>}>
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
  );
}

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

/** Outcomes per page of a job's list: a page of them fits the panel's scroll box. */
const JOB_OUTCOMES_PAGE = 50;

/**
 * Every contact of an action job with its outcome and why, a page at a time. The API pages by cursor,
 * so each page visited keeps the cursor it was read with (Previous goes back to a known one; Next
 * takes the page's `next_cursor`).
 */
function JobOutcomeList(props: { sequenceId: string; jobId: string; total: number }) {
  const [cursors, setCursors] = createSignal<(string | undefined)[]>([undefined]);
  const [page, setPage] = createSignal(1);
  const result = createAsync(() => getEnrollmentJobOutcomes(props.sequenceId, props.jobId, JOB_OUTCOMES_PAGE, cursors()[page() - 1]));
  // In a transition: the page on screen stays (dimmed) until the next one arrives.
  const [turning, turn] = useTransition();
  const go = (p: number) => {
    const next = result()?.next_cursor;
    void turn(() => {
      if (p === page() + 1 && next) setCursors((c) => [...c.slice(0, page()), next]);
      setPage(p);
    });
  };
  return (
    <DataFrame
      flush
      rows={result()?.outcomes}
      pagination={{
        page: page(),
        per_page: JOB_OUTCOMES_PAGE,
        total_entries: props.total,
        total_pages: Math.max(1, Math.ceil(props.total / JOB_OUTCOMES_PAGE)),
      }}
      onPage={go}
      busy={turning()}
      loading="Loading outcomes…"
      skeletonColumns={1}
      skeletonRows={3}
      empty={<p class="muted small">No contact in this job.</p>}
    >
      {(rows) => (
        <ul data-testid="enrollment-action-each">
          <For each={rows()}>
            {(x) => (
              <li data-outcome={x.outcome}>
                {x.contact?.name || x.contact?.email || "A contact"}:{" "}
                <strong>{x.outcome === "pending" ? "not reached" : x.outcome.replace(/_/g, " ")}</strong>
                <Show when={x.reason}>
                  <span class="muted"> · {x.reason}</span>
                </Show>
              </li>
            )}
          </For>
        </ul>
      )}
    </DataFrame>
  );
}

/** Most enrollments one action by ids takes (the API's limit for picked enrollments). */
const MAX_PICKED = 1000;

type Warning = keyof WarningOverrides;

/**
 * An action on "all matching this filter" that matched more than the API acts on in one request: a
 * job on the queue. Its progress is polled until it ends, then the contacts are read again.
 */
function ActionJobProgress(props: {
  sequenceId: string;
  jobId: string;
  action: EnrollmentAction;
  busy: boolean;
  onMoveAnyway: (ids: string[], warnings: Warning[]) => void;
  onClose: () => void;
}) {
  const result = createAsync(() => getEnrollmentJob(props.sequenceId, props.jobId));
  const running = () => (result()?.job.status ?? "running") === "running";
  const [gathering, setGathering] = createSignal(false);
  const [noneHeld, setNoneHeld] = createSignal(false);
  // The contacts the target held back for warnings (not those it skips), from the job's outcomes in order,
  // up to what one move by ids takes.
  const moveHeldBack = async () => {
    setGathering(true);
    try {
      const ids: string[] = [];
      const warnings = new Set<Warning>();
      let cursor: string | undefined;
      do {
        const page = await fetchEnrollmentJobOutcomes(props.sequenceId, props.jobId, 500, cursor);
        for (const o of page.outcomes) {
          if (o.outcome !== "not_moved" || !o.held_back_by?.length || ids.length >= MAX_PICKED) continue;
          ids.push(o.id);
          for (const w of o.held_back_by) warnings.add(w);
        }
        cursor = page.next_cursor ?? undefined;
      } while (cursor && ids.length < MAX_PICKED);
      if (!ids.length) return setNoneHeld(true);
      props.onMoveAnyway(ids, [...warnings]);
    } finally {
      setGathering(false);
    }
  };
  pollWhile(
    () => (running() ? 1000 : null),
    () => revalidate(getEnrollmentJob.keyFor(props.sequenceId, props.jobId)),
  );
  // Once it ends, the list, its counts and the chips say what it did.
  createEffect(
    on(
      () => result()?.job.status,
      (s, prev) => {
        if (prev === "running" && s && s !== "running") void revalidate(getEnrollments.key);
      },
    ),
  );
  return (
    <div class="action-result card" role="status" aria-live="polite" data-testid="enrollment-action-job">
      <Suspense fallback={<p class="muted">Starting…</p>}>
        <Show when={result()}>
          {(r) => (
            <>
              <div class="action-result-head">
                <strong>
                  {r().job.status === "running"
                    ? `${DONE_WORDS[props.action] ?? props.action}: ${formatNumber(r().job.processed)} of ${formatNumber(r().job.total)} contacts…`
                    : r().job.status === "failed"
                      ? `Stopped after ${formatNumber(r().job.processed)} of ${formatNumber(r().job.total)} contacts${r().job.error ? `: ${r().job.error}` : ""}`
                      : didWords(props.action, r().job.changed, {})}
                </strong>
                <Show when={!running()}>
                  <button type="button" class="btn btn-ghost btn-sm" onClick={() => props.onClose()}>
                    Dismiss
                  </button>
                </Show>
              </div>
              <Meter used={r().job.processed} limit={Math.max(1, r().job.total)} label="Contacts done" />
              <ul class="action-result-counts" data-testid="enrollment-job-outcomes">
                <For each={Object.entries(r().job.outcomes).filter(([, n]) => n > 0)}>
                  {([outcome, n]) => (
                    <li>
                      <strong>{formatNumber(n)}</strong> {outcome.replace(/_/g, " ")}
                    </li>
                  )}
                </For>
              </ul>
              <Show when={r().job.target_jobs.length > 0}>
                <p class="small">
                  The target sequence checks each contact as when adding contacts (suppressions, ownership, its own rules):{" "}
                  <For each={r().job.target_jobs}>
                    {(id, i) => (
                      <>
                        {i() > 0 ? " · " : ""}
                        <A href={`/jobs/${id}`} data-testid="move-job-link">
                          see each contact's outcome there{r().job.target_jobs.length > 1 ? ` (part ${i() + 1})` : ""}
                        </A>
                      </>
                    )}
                  </For>
                </p>
              </Show>
              <Show when={props.action === "move" && !running() && (r().job.outcomes.not_moved ?? 0) > 0}>
                <button
                  type="button"
                  class="btn btn-secondary btn-sm"
                  disabled={props.busy || gathering() || noneHeld()}
                  onClick={() => void moveHeldBack()}
                  data-testid="move-anyway"
                >
                  {(r().job.outcomes.not_moved ?? 0) > MAX_PICKED
                    ? `Move the first ${formatNumber(MAX_PICKED)} held back anyway`
                    : "Move the ones held back anyway"}
                </button>
                <Show when={noneHeld()}>
                  <p class="small muted">None was held back for a warning: the target skips them (see each contact below).</p>
                </Show>
              </Show>
              <Show when={!running() && r().job.processed > 0}>
                <details class="action-result-each">
                  <summary>Each contact ({formatNumber(r().job.total)})</summary>
                  <JobOutcomeList sequenceId={props.sequenceId} jobId={props.jobId} total={r().job.total} />
                </details>
              </Show>
            </>
          )}
        </Show>
      </Suspense>
    </div>
  );
}

/**
 * A move's job in the target sequence, followed until it ends: how many it added (they have left this
 * sequence then) and held back; the contacts here are read again when it ends.
 */
function MoveProgress(props: { jobId: string; target?: string | undefined }) {
  const job = createAsync(() => getJob(props.jobId).catch(() => undefined));
  const done = () => {
    const j = job();
    return !!j && isFinished(j.status);
  };
  pollWhile(
    () => (done() ? null : 1000),
    () => revalidate(getJob.keyFor(props.jobId)),
  );
  createEffect(
    on(done, (now, before) => {
      if (now && before === false) void revalidate(getEnrollments.key);
    }),
  );
  return (
    <span data-testid="move-progress" data-done={done() ? "true" : "false"}>
      <Show when={job()} fallback={<span class="muted">Starting… </span>}>
        {(j) => (
          <span class={done() ? "" : "muted"}>
            {done()
              ? `Done: ${plural(j().enrolled, "contact")} added to “${props.target ?? "the other sequence"}”${j().warned + j().skipped ? `, ${formatNumber(j().warned + j().skipped)} not added` : ""}; `
              : `Adding: ${formatNumber(j().processed)} of ${formatNumber(j().total)}… `}
          </span>
        )}
      </Show>
      <A href={`/jobs/${props.jobId}`} data-testid="move-job-link">
        see each contact's outcome there
      </A>
    </span>
  );
}

/** What the last action did: how many changed, and why the others didn't, each with a way forward (restart). */
function ActionAnswer(props: {
  answer: Answer;
  name: (id: string) => string;
  busy: boolean;
  onRestart: (ids: string[], anyway?: boolean) => void;
  /** Connected mailboxes the caller may send from: a restart refused for its run's mailbox may use one of them. */
  mailboxes: { id: string; email: string }[];
  onRestartFrom: (ids: string[], mailboxId: string) => void;
  /** Move again the contacts the target held back, with the warnings that held them as overrides. */
  onMoveAnyway: (ids: string[], warnings: Warning[]) => void;
  onClose: () => void;
}) {
  const changed = () => props.answer.results.filter((r) => r.changed).length;
  // Held back for a warning (not skipped): the user may move them anyway, as when adding contacts.
  const heldBack = () => props.answer.results.filter((r) => r.outcome === "not_moved" && r.held_back_by?.length);
  const heldFor = () => [...new Set(heldBack().flatMap((r) => r.held_back_by ?? []))];
  // A restart by ids takes at most 1,000 (the API's limit for picked enrollments).
  const closedAll = () =>
    props.answer.action === "restart"
      ? []
      : props.answer.results.filter((r) => !r.changed && CLOSED.has(r.outcome) && restartOffered(r)).map((r) => r.id);
  const closed = () => closedAll().slice(0, 1000);
  // A restart refused these as they answered or went on elsewhere: the user may still mean it.
  const refused = () =>
    props.answer.action === "restart" && !props.answer.extra.restart_anyway
      ? props.answer.results.filter((r) => r.outcome === "blocked" && RESTART_ANYWAY_CODES.has(r.reason_code ?? "")).map((r) => r.id)
      : [];
  // A restart refused these as their run's mailbox was removed or is not connected: they restart from another.
  const mailboxGone = () =>
    props.answer.action === "restart"
      ? props.answer.results.filter((r) => r.outcome === "blocked" && r.reason_code === "mailbox_not_connected").map((r) => r.id)
      : [];
  const [restartFrom, setRestartFrom] = createSignal("");
  return (
    <div class="action-result card" role="status" aria-live="polite" data-testid="enrollment-action-result">
      <div class="action-result-head">
        <strong data-testid="enrollment-action-headline">
          {didWords(
            props.answer.action,
            changed(),
            props.answer.extra,
            props.answer.target,
            props.answer.results.some((r) => r.changed) &&
              props.answer.results.every((r) => !r.changed || r.outcome === "resume_date_changed"),
          )}
          {unchangedByReason(props.answer.results)
            .map(([reason, rows]) => ` · ${formatNumber(rows.length)} unchanged: ${reason}`)
            .join("")}
        </strong>
        <button type="button" class="btn btn-ghost btn-sm" onClick={() => props.onClose()}>
          Dismiss
        </button>
      </div>
      <Show when={closed().length > 0}>
        <button
          type="button"
          class="btn btn-secondary btn-sm"
          disabled={props.busy}
          onClick={() => props.onRestart(closed())}
          data-testid="restart-unchanged"
        >
          <Icon name="refresh" size={14} />{" "}
          {closedAll().length > closed().length
            ? `Restart the first ${formatNumber(closed().length)} of them from step 1`
            : `Restart ${formatNumber(closed().length)} of them from step 1`}
        </button>
      </Show>
      <Show when={refused().length > 0}>
        <button
          type="button"
          class="btn btn-secondary btn-sm"
          disabled={props.busy}
          onClick={() => props.onRestart(refused(), true)}
          data-testid="restart-anyway"
        >
          <Icon name="refresh" size={14} /> Restart {refused().length === 1 ? "them" : `these ${formatNumber(refused().length)}`} anyway
          (they answered or are elsewhere: they will be emailed again)
        </button>
      </Show>
      <Show when={mailboxGone().length > 0 && props.mailboxes.length > 0}>
        <label class="small">
          <span class="sr-only">Restart from mailbox</span>
          <select
            class="input input-sm"
            aria-label="Restart from mailbox"
            data-testid="restart-from-mailbox-select"
            value={restartFrom()}
            onChange={(ev) => setRestartFrom(ev.currentTarget.value)}
          >
            <option value="">Send from…</option>
            <Options each={props.mailboxes} value={restartFrom()} id={(m) => m.id}>
              {(m) => m.email}
            </Options>
          </select>
        </label>
        <button
          type="button"
          class="btn btn-secondary btn-sm"
          disabled={props.busy || !restartFrom()}
          onClick={() => props.onRestartFrom(mailboxGone(), restartFrom())}
          data-testid="restart-from-mailbox"
        >
          <Icon name="refresh" size={14} /> Restart {mailboxGone().length === 1 ? "them" : `these ${formatNumber(mailboxGone().length)}`}{" "}
          from this mailbox
        </button>
      </Show>
      <Show when={props.answer.action === "move" && heldBack().length > 0}>
        <button
          type="button"
          class="btn btn-secondary btn-sm"
          disabled={props.busy}
          onClick={() =>
            props.onMoveAnyway(
              heldBack().map((r) => r.id),
              heldFor(),
            )
          }
          data-testid="move-anyway"
        >
          Move {heldBack().length === 1 ? "them" : `the ${formatNumber(heldBack().length)} held back`} anyway (
          {heldFor()
            .map((w) => OVERRIDES.find((o) => o.key === w)?.label.toLowerCase() ?? w.replace(/_/g, " "))
            .join(", ")}
          )
        </button>
      </Show>
      <Show when={props.answer.jobs.length > 0}>
        <p class="small">
          “{props.answer.target ?? "The other sequence"}” checks each contact as when adding contacts (suppressions, ownership, its own
          rules); the ones it takes have left this sequence and are added there now.{" "}
          <For each={props.answer.jobs}>{(id) => <MoveProgress jobId={id} target={props.answer.target} />}</For>
        </p>
      </Show>
      <Show when={props.answer.action === "move" || props.answer.results.length <= 10}>
        <details class="action-result-each" open={props.answer.action === "move"}>
          <summary>Each contact</summary>
          <ul data-testid="enrollment-action-each">
            <For each={props.answer.results}>
              {(r) => (
                <li data-outcome={r.outcome}>
                  {props.name(r.id)}: <strong>{r.outcome.replace(/_/g, " ")}</strong>
                  <Show when={r.reason}>
                    <span class="muted"> · {r.reason}</span>
                  </Show>
                </li>
              )}
            </For>
          </ul>
        </details>
      </Show>
    </div>
  );
}

export function ContactsTab(props: { sequenceId: string; readOnly: boolean; stepCount: number }) {
  const [params, setParams] = useSearchParams();
  const routing = useIsRouting();
  const status = (): EnrollmentFilter => (FILTERS.some((f) => f.id === params.status) ? (params.status as EnrollmentFilter) : "all");
  const page = () => Math.max(1, Number(params.page) || 1);
  const search = () => (typeof params.q === "string" && params.q.trim() ? params.q.trim() : undefined);
  const sort = (): Sort => SORTS.find((x) => x.id === params.sort)?.id ?? "updated";
  const reasonFilter = () => REASON_FILTERS[status()];
  const reason = () => reasonFilter()?.reasons.find((r) => r.id === params.reason)?.id;
  const result = createAsync(() =>
    getEnrollments(props.sequenceId, { page: page(), per_page: 25, status: status(), q: search(), reason: reason(), sort: sort() }),
  );
  const [finishReason, setFinishReason] = createSignal<FinishReason>("marked_finished");
  const [pauseUntil, setPauseUntil] = createSignal("");
  const [restartStep, setRestartStep] = createSignal(1);
  const [mailboxId, setMailboxId] = createSignal("");
  // Only mailboxes the caller may send from (the API refuses the others).
  const mailboxes = createAsync(async () =>
    props.readOnly
      ? []
      : ((await getMailboxes().catch(() => undefined))?.mailboxes ?? []).filter((m) => m.can_send && m.status === "connected"),
  );

  // Picked rows (kept across pages), or every enrollment matching the filter, however many.
  const [selected, setSelected] = createSignal<ReadonlySet<string>>(new Set());
  const [allMatching, setAllMatching] = createSignal(false);
  const [confirmRemove, setConfirmRemove] = createSignal(false);
  const [moving, setMoving] = createSignal(false);
  const [answer, setAnswer] = createSignal<Answer | null>(null);
  const [job, setJob] = createSignal<{ id: string; action: EnrollmentAction; extra: Extra; target?: string } | null>(null);
  /** The same move again for contacts the target held back: its overrides, and the warnings that still held them. */
  const moveAnyway = (move: { extra: Extra; target?: string | undefined }) => (ids: string[], warnings: Warning[]) =>
    void apply(
      "move",
      {
        to_sequence_id: move.extra.to_sequence_id!,
        overrides: { ...move.extra.overrides, ...Object.fromEntries(warnings.map((w) => [w, true])) },
      },
      ids,
      move.target,
    );
  const rows = () => result()?.enrollments;
  const total = () => result()?.pagination.total_entries ?? 0;
  const pageIds = () => (rows() ?? []).map((e) => e.id);
  const count = () => (allMatching() ? total() : selected().size);
  const clearSelection = () => {
    setSelected(new Set<string>());
    setAllMatching(false);
  };
  // Names of the rows seen, so an answer about enrollments (by id) names the contacts.
  const names = new Map<string, string>();
  // And their statuses: a pick of paused runs is offered a change of resume date rather than a pause.
  const statuses = new Map<string, string>();
  createEffect(() => {
    for (const e of rows() ?? []) {
      names.set(e.id, e.contact.name || e.contact.email || "(no name)");
      statuses.set(e.id, e.status);
    }
  });
  const allPaused = () =>
    allMatching() ? status() === "paused" : selected().size > 0 && [...selected()].every((id) => statuses.get(id) === "paused");
  const nameOf = (id: string) => names.get(id) ?? "A contact";

  // Counts per status come from the server (they overlap: bounced and blocked contacts are finished too).
  const countOf = (id: EnrollmentFilter) => result()?.counts[id] ?? 0;
  const tabs = () =>
    FILTERS.filter((f) => f.always || countOf(f.id) > 0 || f.id === status()).map((f) => ({
      id: f.id,
      label: result() ? `${f.label} ${formatNumber(countOf(f.id))}` : f.label,
    }));
  // Those tabs are parts of the others, not more contacts: said under the tabs, so they aren't added up
  // ("Finished 2,110" and "Bounced 21" side by side read as 2,131 contacts).
  const overlapNote = () => {
    if (!result()) return "";
    const shown = new Set(tabs().map((t) => t.id));
    const parts: string[] = [];
    if (shown.has("bounced"))
      parts.push(`the ${formatNumber(countOf("bounced"))} bounced are among the ${formatNumber(countOf("finished"))} finished`);
    if (shown.has("blocked")) parts.push(`the ${formatNumber(countOf("blocked"))} blocked by a rule are finished or held`);
    if (shown.has("wont_send")) parts.push(wontSendOverlap(formatNumber(countOf("wont_send"))));
    if (shown.has("not_sent")) parts.push(`the ${formatNumber(countOf("not_sent"))} not sent also count under their own status`);
    return parts.length ? `Tabs that overlap: ${parts.join("; ")}.` : "";
  };

  const toggle = (id: string, on: boolean) => {
    if (allMatching()) {
      // Unticking one row of "all matching" leaves the rest of this page picked.
      setAllMatching(false);
      setSelected(new Set(pageIds().filter((x) => x !== id)));
      return;
    }
    setSelected((s) => {
      const n = new Set(s);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });
  };

  const change = useWrite(changeEnrollmentsAction, {
    failed: (_id, action) => `Couldn't ${action === "change-mailbox" ? "change the mailbox of" : action} the contacts`,
  });

  const apply = async (action: EnrollmentAction, extra: Extra = {}, ids?: string[], targetName?: string) => {
    const target: EnrollmentTarget = ids
      ? { enrollment_ids: ids }
      : allMatching()
        ? { filter: { status: status(), ...(search() ? { q: search() } : {}), ...(reason() ? { reason: reason() } : {}) } }
        : { enrollment_ids: [...selected()] };
    if ("enrollment_ids" in target && !target.enrollment_ids.length) return;
    const r: EnrollmentChange | undefined = await change.run(props.sequenceId, action, target, extra);
    setConfirmRemove(false);
    if (!r) return;
    setPauseUntil("");
    clearSelection();
    if ("job" in r) {
      setAnswer(null);
      setJob({ id: r.job.id, action, extra, target: targetName });
      return;
    }
    setJob(null);
    setAnswer({ action, extra, results: r.results, jobs: r.jobs, target: targetName });
  };

  return (
    <div class="stack-sm">
      <form
        class="toolbar enrollments-toolbar"
        role="search"
        onSubmit={(ev) => {
          ev.preventDefault();
          const v = String(new FormData(ev.currentTarget).get("q") ?? "").trim();
          clearSelection();
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
        <label class="small">
          <span class="sr-only">Sort by</span>
          <select
            class="input input-sm"
            aria-label="Sort by"
            data-testid="enrollments-sort"
            value={sort()}
            onChange={(ev) =>
              setParams({ sort: ev.currentTarget.value === "updated" ? undefined : ev.currentTarget.value, page: undefined })
            }
          >
            <For each={SORTS}>{(o) => <option value={o.id}>Sort: {o.label}</option>}</For>
          </select>
        </label>
      </form>
      <Tabs
        label="Filter contacts by status"
        tabs={tabs()}
        selected={status()}
        scope="status"
        onSelect={(id) => {
          clearSelection();
          setParams({ status: id === "all" ? undefined : id, reason: undefined, page: undefined }, { replace: true });
        }}
      />
      <Show when={overlapNote()}>
        <p class="small muted enrollments-overlap" data-testid="status-overlap-note">
          {overlapNote()}
        </p>
      </Show>
      <AddingNow sequenceId={props.sequenceId} />
      <Show when={job()}>
        {(j) => (
          <ActionJobProgress
            sequenceId={props.sequenceId}
            jobId={j().id}
            action={j().action}
            busy={change.pending()}
            onMoveAnyway={moveAnyway(j())}
            onClose={() => setJob(null)}
          />
        )}
      </Show>
      <Show when={answer()}>
        {(a) => (
          <ActionAnswer
            answer={a()}
            name={nameOf}
            busy={change.pending()}
            onRestart={(ids, anyway) => void apply("restart", anyway ? { restart_anyway: true } : {}, ids)}
            mailboxes={mailboxes() ?? []}
            onRestartFrom={(ids, mailbox) => {
              // The same restart (its step, its "anyway"), from the chosen mailbox.
              const { step, restart_anyway } = a().extra;
              void apply("restart", { mailbox_id: mailbox, ...(step ? { step } : {}), ...(restart_anyway ? { restart_anyway } : {}) }, ids);
            }}
            onMoveAnyway={moveAnyway(a())}
            onClose={() => setAnswer(null)}
          />
        )}
      </Show>
      <div role="tabpanel" id={tabPanelId(status(), "status")} aria-labelledby={tabId(status(), "status")} class="tab-panel">
        <Show when={reasonFilter()}>
          {(rf) => (
            <label class="small enrollments-reason">
              <span>{rf().label}</span>
              <select
                class="input input-sm"
                data-testid="reason-filter"
                value={reason() ?? ""}
                onChange={(ev) => {
                  clearSelection();
                  setParams({ reason: ev.currentTarget.value || undefined, page: undefined }, { replace: true });
                }}
              >
                <option value="">Any reason</option>
                <For each={rf().reasons}>{(r) => <option value={r.id}>{r.label}</option>}</For>
              </select>
            </label>
          )}
        </Show>
        <DataTable
          caption="Contacts in this sequence"
          testId="enrollments-table"
          rows={rows()}
          loading="Loading contacts…"
          skeletonRows={6}
          busy={routing() || change.pending()}
          pagination={result()?.pagination}
          class="enrollments-table"
          columns={[
            { label: "Contact" },
            { label: "Status" },
            { label: "Step" },
            { label: "Next action / why not" },
            { label: "Mailbox", class: "col-mailbox" },
          ]}
          select={
            props.readOnly
              ? undefined
              : {
                  key: (e: Enrollment) => e.id,
                  selected: () => (allMatching() ? new Set(pageIds()) : selected()),
                  toggle,
                  label: (e: Enrollment) => `Select ${e.contact.name || e.contact.email}`,
                  pageLabel: "Select all contacts on this page",
                }
          }
          rowProps={(e) => ({ classList: { "row-selected": allMatching() || selected().has(e.id) } })}
          empty={
            <EmptyState
              icon="contacts"
              title={
                search()
                  ? `No contacts match “${search()}”`
                  : status() === "all"
                    ? "No contacts in this sequence yet"
                    : status() === "wont_send"
                      ? "No contacts whose emails won't be sent"
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
          header={
            <Show when={!props.readOnly && count() > 0}>
              <div class="bulk-bar enrollments-bulk-bar" role="toolbar" aria-label="Bulk actions">
                <strong data-testid="selection-count">
                  {allMatching()
                    ? `All ${plural(total(), "contact")} matching this filter selected`
                    : `${plural(count(), "contact")} selected`}
                </strong>
                <div class="bulk-actions">
                  <For each={ACTIONS}>
                    {(a) => (
                      <button
                        type="button"
                        class={a.id === "remove" ? "btn btn-danger-ghost btn-sm" : "btn btn-secondary btn-sm"}
                        disabled={change.pending()}
                        onClick={() =>
                          a.id === "remove" ? setConfirmRemove(true) : void apply(a.id, a.id === "finish" ? { reason: finishReason() } : {})
                        }
                      >
                        <Icon name={a.icon} size={14} />
                        {a.label}
                      </button>
                    )}
                  </For>
                  <label class="small">
                    <span class="sr-only">Finish reason</span>
                    <select
                      class="input input-sm"
                      aria-label="Finish reason"
                      data-testid="finish-reason"
                      value={finishReason()}
                      onChange={(ev) => setFinishReason(ev.currentTarget.value as FinishReason)}
                    >
                      <For each={FINISH_REASONS}>{(r) => <option value={r.id}>Finished: {r.label}</option>}</For>
                    </select>
                  </label>
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
                    disabled={change.pending() || !pauseUntil()}
                    onClick={() => void apply("pause", { until: new Date(`${pauseUntil()}T09:00:00`).getTime() })}
                  >
                    <Icon name="pause" size={14} /> {allPaused() ? "Change resume date" : "Pause until"}
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
                      disabled={change.pending()}
                      onClick={() => void apply("restart", { step: restartStep() })}
                      data-testid="restart-from-step"
                    >
                      <Icon name="refresh" size={14} /> Restart from step {restartStep()}
                    </button>
                  </Show>
                  <button
                    type="button"
                    class="btn btn-secondary btn-sm"
                    disabled={change.pending()}
                    onClick={() => setMoving(true)}
                    data-testid="move-to-sequence"
                  >
                    <Icon name="share" size={14} /> Move to sequence
                  </button>
                  {/* Even one usable mailbox is a target: the usual case is moving contacts off a broken one. */}
                  <Show when={(mailboxes() ?? []).length > 0}>
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
                        <Options each={mailboxes()} value={mailboxId()} id={(m) => m.id}>
                          {(m) => m.email}
                        </Options>
                      </select>
                    </label>
                    <button
                      type="button"
                      class="btn btn-secondary btn-sm"
                      disabled={change.pending() || !mailboxId()}
                      onClick={() => void apply("change-mailbox", { mailbox_id: mailboxId() })}
                    >
                      <Icon name="mail" size={14} /> Change mailbox
                    </button>
                  </Show>
                  <button type="button" class="btn btn-ghost btn-sm" onClick={clearSelection}>
                    Clear
                  </button>
                </div>
                <Show when={!allMatching() && total() > pageIds().length && pageIds().every((id) => selected().has(id))}>
                  <p class="select-all-matching small" data-testid="select-all-matching">
                    All {plural(pageIds().length, "contact")} on this page are selected.{" "}
                    <button type="button" class="btn btn-ghost btn-xs" onClick={() => setAllMatching(true)}>
                      Select all {plural(total(), "contact")} matching this filter
                    </button>
                  </p>
                </Show>
                <Show when={allMatching()}>
                  <p class="select-all-matching small">
                    Actions apply to every contact matching “{FILTERS.find((f) => f.id === status())?.label ?? status()}”
                    {search() ? ` and “${search()}”` : ""} when you run them; more than 1,000 run as a job you can follow here.{" "}
                    <button type="button" class="btn btn-ghost btn-xs" onClick={clearSelection}>
                      Clear selection
                    </button>
                  </p>
                </Show>
              </div>
            </Show>
          }
        >
          {(e) => (
            <>
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
                <EnrollmentBadge status={e.shown_status} reason={e.reason} until={e.paused_until} />
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
                {/* Narrow screens have no Mailbox column: the mailbox is said here instead (ContactsTab.css). */}
                {/* "Queued in …" above names it already. */}
                <Show when={e.mailbox && e.reason !== "queued_for_mailbox"}>
                  <div class="next-mailbox small" data-testid="next-mailbox">
                    From <RunMailbox e={e} />
                  </div>
                </Show>
              </td>
              <td class="cell-nowrap col-mailbox">
                <RunMailbox e={e} />
              </td>
            </>
          )}
        </DataTable>
      </div>
      <ConfirmDialog
        open={confirmRemove()}
        danger
        title={`Remove ${allMatching() ? `all ${plural(total(), "contact")} matching this filter` : plural(count(), "contact")}?`}
        confirmLabel="Remove"
        busy={change.pending()}
        onCancel={() => setConfirmRemove(false)}
        onConfirm={() => void apply("remove")}
      >
        <p>{REMOVE_WORDS}</p>
      </ConfirmDialog>
      <SequencePicker
        open={moving()}
        exclude={props.sequenceId}
        title={`Move ${allMatching() ? `all ${plural(total(), "contact")} matching this filter` : plural(count(), "contact")} to…`}
        onClose={() => setMoving(false)}
        onPick={(s: SequenceSummary) => {
          setMoving(false);
          void apply("move", { to_sequence_id: s.id }, undefined, s.name);
        }}
      />
    </div>
  );
}
