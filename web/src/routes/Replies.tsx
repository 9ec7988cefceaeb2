import { A, createAsync, useIsRouting, useSearchParams } from "@solidjs/router";
import { createEffect, createSignal, ErrorBoundary, For, on, Show } from "solid-js";
import { useWrite } from "../actions";
import { ApiError } from "../api";
import { Badge, type Tone } from "../components/Badge";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { DataTable } from "../components/DataTable";
import { Dialog } from "../components/Dialog";
import { EmptyState } from "../components/EmptyState";
import { ENROLLMENT_STATUS } from "../components/EnrollmentStatus";
import { PageHeader } from "../components/PageHeader";
import { ErrorPanel, Spinner } from "../components/Status";
import { tabPanelId, tabId, Tabs } from "../components/Tabs";
import { formatDay, formatFull, formatNumber } from "../format";
import {
  confirmRepliesAction,
  correctReplyAction,
  getReplies,
  getReplyText,
  type Reply,
  type ReplyClassification,
} from "../queries/replies";
import { MailboxOptions } from "../components/MailboxOptions";
import { SequenceOptions } from "../components/SequenceOptions";
import { usePageTitle } from "../title";
import { Answer, AnswerThread } from "./replies/Answer";
import { ApplyToRun } from "./replies/ApplyToRun";
import { WorkIt } from "./replies/WorkIt";
import "./Replies.css";

/** Each classification in words: its badge, and what it did to the contact (the effect "correct it" undoes). */
export const CLASSIFICATION: Record<ReplyClassification, { label: string; tone: Tone; effect: string }> = {
  reply: {
    label: "Reply",
    tone: "success",
    effect: "Finished the contact in every sequence that stops on replies, and moved it to Replied",
  },
  out_of_office: { label: "Out of office", tone: "info", effect: "Paused in every sequence until the return date" },
  auto_reply: { label: "Auto-reply", tone: "neutral", effect: "Nothing: the sequence carries on" },
  bounce_hard: { label: "Hard bounce", tone: "danger", effect: "Email and contact marked bounced, address suppressed, contact finished" },
  bounce_soft: {
    label: "Soft bounce",
    tone: "warning",
    effect: "The email is tried again (after 1 h, 4 h, 24 h); one more soft bounce counts as hard",
  },
  unsubscribe: { label: "Unsubscribe request", tone: "danger", effect: "Address suppressed and every open enrollment of it finished" },
};
/** A stage's colour by its category (its name says what it is; the colour only repeats it). */
const STAGE_TONE: Record<string, Tone> = {
  open: "neutral",
  in_progress: "info",
  succeeded: "success",
  failed: "warning",
  blocked: "danger",
  dnc: "danger",
};
const ORDER: ReplyClassification[] = ["reply", "out_of_office", "auto_reply", "bounce_hard", "bounce_soft", "unsubscribe"];

const RULES: Record<string, string> = {
  threaded_reply: "Answers one of our emails",
  sender_match: "From a contact this mailbox emails (no thread headers)",
  asks_to_be_removed: "Asks to be removed",
  auto_submitted: "Sent automatically",
  auto_reply_out_of_office: "Automatic out-of-office",
  auto_reply_with_return_date: "Automatic, gives a return date",
  dsn_status: "Delivery report",
  dsn_blocked: "Refused by the receiving server's policy (not the address): retried, not suppressed",
  forwarded_copy_bounced: "A forwarded copy bounced, not our email: nothing changed",
  smtp_reply_in_report: "Delivery report with a server error",
  soft_bounce_limit: "Soft-bounced after every retry",
};

const str = (v: string | string[] | undefined) => (typeof v === "string" ? v : undefined);

/** An address that may break before its "@" (then anywhere, see .reply-address) rather than widen the From column. */
function Address(props: { email: string | null }) {
  const at = () => (props.email ?? "").lastIndexOf("@");
  return (
    <Show when={at() > 0} fallback={props.email}>
      {props.email!.slice(0, at())}
      <wbr />
      {props.email!.slice(at())}
    </Show>
  );
}

/** Which header, phrase or status decided it, in one line. */
function Evidence(props: { r: Reply }) {
  const e = () => props.r.evidence;
  return (
    <span class="reply-evidence" data-testid="reply-evidence">
      {RULES[e().rule] ?? e().rule}
      <Show when={e().phrase}>{(p) => <> · “{p()}”</>}</Show>
      <Show when={e().header}>
        {(h) => (
          <>
            {" "}
            · <code>{h()}</code>
          </>
        )}
      </Show>
    </span>
  );
}

/**
 * The whole email, read when asked (the inbox row shows 300 characters of it), and worked from there:
 * answered (Answer, the answers sent so far under it), its contact's stage and meeting booked (WorkIt).
 */
function ReadReply(props: { r: Reply; onClose: () => void }) {
  const text = createAsync(() => getReplyText(props.r.id));
  return (
    <Dialog
      open
      title={props.r.subject || "(no subject)"}
      onClose={props.onClose}
      size="lg"
      testId="reply-text-dialog"
      footer={<Show when={props.r.contact}>{(_) => <WorkIt r={props.r} />}</Show>}
    >
      <p class="muted">
        From <Address email={props.r.from_email} /> · {formatFull(props.r.received_at)}
      </p>
      <ErrorBoundary fallback={(err) => <ErrorPanel error={err} />}>
        <Show when={text()} fallback={<Spinner label="Loading the email…" />}>
          {(t) => (
            <>
              <Show when={t().text === null}>
                <p class="muted">Only the start of this email was kept (it came in before Seqflare kept whole emails).</p>
              </Show>
              <pre class="reply-full" data-testid="reply-full">
                {t().text ?? t().snippet}
              </pre>
              <Show when={t().truncated}>
                <p class="muted">The email goes on: only its first 65,536 characters were kept.</p>
              </Show>
              <ApplyToRun r={props.r} />
              <AnswerThread answers={t().answers} />
              <Answer r={props.r} />
            </>
          )}
        </Show>
      </ErrorBoundary>
    </Dialog>
  );
}

/** "Correct it": pick what the email really is; the old effect is undone and the new one applied. */
function CorrectIt(props: { r: Reply }) {
  const [to, setTo] = createSignal<ReplyClassification>(props.r.classification);
  const correct = useWrite(correctReplyAction, {
    done: (res) => (res ? [`Now ${CLASSIFICATION[res.reply.classification].label.toLowerCase()}`, ...res.undone].join(" · ") : undefined),
    failed: () => "Couldn't change the classification",
  });
  const name = () => props.r.contact?.name || props.r.from_email;
  // Taking back an unsubscribe request lifts the person's opt-out: asked first, as lifting it on the
  // Do not email list is (the API refuses it unconfirmed).
  const [asking, setAsking] = createSignal(false);
  const [consent, setConsent] = createSignal(false);
  const liftsOptOut = () => props.r.classification === "unsubscribe" && to() !== "unsubscribe";
  const confirmLift = async () => {
    if (await correct.run(props.r.id, to(), consent())) setAsking(false);
  };
  return (
    <form
      class="reply-correct"
      onSubmit={(e) => {
        e.preventDefault();
        if (liftsOptOut()) {
          setConsent(false);
          setAsking(true);
        } else void correct.run(props.r.id, to());
      }}
    >
      <select
        aria-label={`What the email from ${name()} really is`}
        value={to()}
        onChange={(e) => setTo(e.currentTarget.value as ReplyClassification)}
        data-testid="reclassify"
      >
        {(props.r.can_take_back ? ORDER : [props.r.classification]).map((k) => (
          <option value={k}>{CLASSIFICATION[k].label}</option>
        ))}
      </select>
      <button type="submit" class="btn btn-secondary btn-sm" disabled={correct.pending()}>
        {to() === props.r.classification ? "Confirm" : "Correct it"}
      </button>
      {/* Taking back an unsubscribe request or a hard bounce lifts the address's suppression: admins only (the API refuses it). */}
      <Show when={!props.r.can_take_back}>
        <span class="muted" data-testid="reply-take-back-hint">
          Only admins can take back {props.r.classification === "unsubscribe" ? "an unsubscribe" : "a hard bounce"}
        </span>
      </Show>
      <ConfirmDialog
        open={asking()}
        danger
        title="Take back this unsubscribe request?"
        confirmLabel={`Make it ${CLASSIFICATION[to()].label.toLowerCase()}`}
        busy={correct.pending()}
        confirmDisabled={!consent()}
        onCancel={() => setAsking(false)}
        onConfirm={() => void confirmLift()}
      >
        <p>
          <strong>{props.r.from_email}</strong> was taken as asking to be removed. Correcting it lifts their opt-out: the address can be
          emailed again, and the runs it finished in sequences you can edit start again.
        </p>
        <p>Do it only if they did not ask to be removed.</p>
        <label class="checkbox">
          <input type="checkbox" checked={consent()} onChange={(e) => setConsent(e.currentTarget.checked)} />
          They did not ask to be removed
        </label>
      </ConfirmDialog>
    </form>
  );
}

/**
 * The other sequences its effect reached (a reply stops the contact wherever "finish on reply" is on,
 * an out-of-office pauses them everywhere): named when you may see them, counted otherwise. The runs of
 * another contact record with the address (a duplicate) are named with that contact, in its own sequence too.
 */
function AlsoIn(props: { r: Reply }) {
  const others = () => props.r.applied_to.filter((a) => a.contact || a.sequence_id !== props.r.sequence?.id);
  const verb = (a: Reply["applied_to"][number]) => (a.action === "finish" ? "stopped" : "paused");
  const hidden = () => others().filter((a) => !a.sequence_id);
  return (
    <Show when={others().length}>
      <span class="muted reply-also" data-testid="reply-also">
        <For each={others().filter((a) => a.sequence_id)}>
          {(a) => (
            <span>
              <Show when={a.contact} fallback={<>Also {verb(a)} in </>}>
                {(c) => (
                  <>
                    Also {verb(a)}{" "}
                    <A href={`/contacts/${c().id}`} data-testid="reply-also-contact">
                      {c().name || "another contact"}
                    </A>{" "}
                    (same address) in{" "}
                  </>
                )}
              </Show>
              <A href={`/sequences/${a.sequence_id}`}>{a.sequence_name}</A>
            </span>
          )}
        </For>
        <Show when={hidden().length}>
          <span>
            Also {verb(hidden()[0]!)} in {hidden().length} {hidden().length === 1 ? "sequence" : "sequences"} you can't see
          </span>
        </Show>
      </span>
    </Show>
  );
}

/** Which sequence's replies, from which mailbox, and only mine: kept in the URL (?sequence_id=, ?mailbox_id=, ?mine=true) so a link or a reload keeps them. */
function ReplyFilters(props: {
  sequenceId: string | undefined;
  mailboxId: string | undefined;
  mine: boolean;
  onChange: (p: { sequence_id?: string; mailbox_id?: string; mine?: string }) => void;
}) {
  return (
    <div class="reply-filters" data-testid="reply-filters">
      <label class="reply-filter">
        <span>Sequence</span>
        <select
          class="input input-sm"
          data-testid="reply-sequence"
          onChange={(e) => props.onChange({ sequence_id: e.currentTarget.value || undefined })}
        >
          <SequenceOptions sequenceId={props.sequenceId} all="Every sequence" />
        </select>
      </label>
      {/* Answers to emails sent from this mailbox: the sequence report's mailbox filter carries over here. */}
      <label class="reply-filter">
        <span>Mailbox</span>
        <select
          class="input input-sm"
          data-testid="reply-mailbox"
          onChange={(e) => props.onChange({ mailbox_id: e.currentTarget.value || undefined })}
        >
          <MailboxOptions mailboxId={props.mailboxId} all="Every mailbox" />
        </select>
      </label>
      <label class="reply-filter reply-mine" title="Answers to emails sent from your mailboxes, or in sequences you own">
        <input
          type="checkbox"
          data-testid="reply-mine"
          checked={props.mine}
          onChange={(e) => props.onChange({ mine: e.currentTarget.checked ? "true" : undefined })}
        />{" "}
        Mine
      </label>
    </div>
  );
}

export default function Replies() {
  usePageTitle("Replies");
  const [params, setParams] = useSearchParams();
  const routing = useIsRouting();
  const view = () => (str(params.kind) as ReplyClassification | undefined) ?? "all";
  const unhandled = () => params.unhandled === "true";
  const sequenceId = () => str(params.sequence_id) || undefined;
  const mailboxId = () => str(params.mailbox_id) || undefined;
  const mine = () => params.mine === "true";
  const page = () => Number(str(params.page) ?? 1) || 1;
  const [reading, setReading] = createSignal<Reply | null>(null);
  // A sequence or mailbox in the URL the caller can't see answers 404: said in the list's place, with the
  // filters and tabs left to change (the tabs' counts read the answer too, outside the list's error boundary).
  const [filterError, setFilterError] = createSignal<ApiError | null>(null);
  const result = createAsync(async () => {
    try {
      const r = await getReplies({
        page: page(),
        per_page: 25,
        classification: view() === "all" ? undefined : (view() as ReplyClassification),
        unhandled: unhandled() ? "true" : undefined,
        sequence_id: sequenceId(),
        mailbox_id: mailboxId(),
        mine: mine() ? "true" : undefined,
      });
      setFilterError(null);
      return r;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
      setFilterError(e);
      return undefined;
    }
  });
  // "Confirm selected": the rows ticked, across pages; a new filter starts afresh (what was ticked may not be listed).
  const [selected, setSelected] = createSignal<ReadonlySet<string>>(new Set());
  createEffect(on([view, unhandled, sequenceId, mailboxId, mine], () => setSelected(new Set<string>()), { defer: true }));
  const toggle = (id: string, onOff: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (onOff) next.add(id);
      else next.delete(id);
      return next;
    });
  const confirm = useWrite(confirmRepliesAction, {
    done: (res) =>
      res
        ? [
            `Confirmed ${formatNumber(res.confirmed.length)}`,
            ...(res.skipped.length ? [`${formatNumber(res.skipped.length)} left: you may not confirm them`] : []),
          ].join(" · ")
        : undefined,
    failed: () => "Couldn't confirm the selected replies",
  });
  const confirmSelected = async () => {
    if (await confirm.run([...selected()])) setSelected(new Set<string>());
  };
  const count = (k: ReplyClassification | "all") => {
    const c = result()?.counts ?? {};
    const n = k === "all" ? Object.values(c).reduce((a, b) => a + b, 0) : (c[k] ?? 0);
    return result() ? ` (${formatNumber(n)})` : "";
  };
  return (
    <div class="page">
      <PageHeader
        title="Replies"
        description="Every answer to your sequences' emails: replies, out-of-office, bounces and unsubscribe requests, with what decided each. If one was taken for the wrong thing, correct it: its effect is undone."
        actions={
          <>
            <Show when={selected().size}>
              <button
                type="button"
                class="btn btn-primary btn-sm"
                data-testid="confirm-selected"
                disabled={confirm.pending() || selected().size > 100}
                title={selected().size > 100 ? "Confirm at most 100 at once" : "Mark them reviewed as they are"}
                onClick={() => void confirmSelected()}
              >
                Confirm selected ({formatNumber(selected().size)})
              </button>
            </Show>
            <label class="reply-unhandled">
              <input
                type="checkbox"
                checked={unhandled()}
                onChange={(e) => setParams({ unhandled: e.currentTarget.checked ? "true" : undefined, page: undefined })}
              />{" "}
              Not reviewed yet
            </label>
          </>
        }
      />
      <ReplyFilters
        sequenceId={sequenceId()}
        mailboxId={mailboxId()}
        mine={mine()}
        onChange={(p) => setParams({ ...p, page: undefined }, { replace: true })}
      />
      <Tabs
        label="Kinds of inbound email"
        tabs={[
          { id: "all", label: `All${count("all")}` },
          ...ORDER.map((k) => ({ id: k, label: `${CLASSIFICATION[k].label}${count(k)}` })),
        ]}
        selected={view()}
        onSelect={(id) => setParams({ kind: id === "all" ? undefined : id, page: undefined }, { replace: true })}
      />
      <section class="tab-panel" role="tabpanel" id={tabPanelId(view())} aria-labelledby={tabId(view())}>
        <Show when={filterError()}>
          {(e) => (
            <div class="reply-filter-error" data-testid="reply-filter-error">
              <ErrorPanel error={e()} title="Can't show these replies" />
              <button
                type="button"
                class="btn btn-secondary btn-sm"
                onClick={() => setParams({ sequence_id: undefined, mailbox_id: undefined, page: undefined }, { replace: true })}
              >
                Show every reply
              </button>
            </div>
          )}
        </Show>
        <ErrorBoundary fallback={(err) => <ErrorPanel error={err} />}>
          <Show when={!filterError()}>
            <DataTable
              caption="Inbound emails"
              testId="replies-table"
              columns={[{ label: "From" }, { label: "What it is" }, { label: "Email" }, { label: "Sequence" }, { label: "Received" }]}
              rows={result()?.replies}
              pagination={result()?.pagination}
              busy={routing()}
              loading="Loading replies…"
              rowProps={(r) => ({ "data-reply": r.id })}
              select={{
                key: (r) => r.id,
                selected,
                toggle,
                label: (r) => `Select the email from ${r.contact?.name || r.from_email}`,
                pageLabel: "Select every email on this page",
              }}
              empty={
                <EmptyState
                  icon="mail"
                  title={
                    unhandled()
                      ? "Nothing left to review"
                      : sequenceId() || mailboxId() || mine()
                        ? "No replies match these filters"
                        : "No replies yet"
                  }
                >
                  Answers to your sequences' emails land here, from the inbound email route and from Gmail and Microsoft 365 mailboxes
                  (checked every minute).
                </EmptyState>
              }
            >
              {(r) => (
                <>
                  <td>
                    <Show
                      when={r.contact}
                      fallback={
                        <span class="reply-address">
                          <Address email={r.from_email} />
                        </span>
                      }
                    >
                      {(c) => (
                        <A href={`/contacts/${c().id}`} class="reply-who">
                          <strong>{c().name || c().email}</strong>
                          <span class="muted reply-address">
                            <Address email={c().email} />
                          </span>
                          <Show when={c().company}>{(co) => <span class="muted">{co()}</span>}</Show>
                        </A>
                      )}
                    </Show>
                    {/* What working the reply changed: the contact's stage now, and its meeting booked. */}
                    <Show when={r.contact && (r.contact.stage || r.contact.meeting_booked_at)}>
                      <span class="reply-contact-work" data-testid="reply-contact-work">
                        <Show when={r.contact!.stage}>
                          {(st) => (
                            <Badge tone={STAGE_TONE[st().category] ?? "neutral"} title="The contact's stage">
                              {st().name}
                            </Badge>
                          )}
                        </Show>
                        <Show when={r.contact!.meeting_booked_at}>
                          {(at) => (
                            <span class="muted" title={formatFull(at())} data-testid="reply-meeting-booked">
                              Meeting booked {formatDay(at())}
                            </span>
                          )}
                        </Show>
                      </span>
                    </Show>
                    {/* Someone else answered for the contact (an assistant, a colleague): say who wrote it. */}
                    <Show when={r.contact && r.from_email && r.from_email.toLowerCase() !== (r.contact.email ?? "").toLowerCase()}>
                      <span class="muted reply-address reply-sender" data-testid="reply-sender">
                        Sent by <Address email={r.from_email} />
                      </span>
                    </Show>
                  </td>
                  <td>
                    <div class="reply-kind">
                      <Badge tone={CLASSIFICATION[r.classification].tone} dot title={CLASSIFICATION[r.classification].effect}>
                        {CLASSIFICATION[r.classification].label}
                      </Badge>
                      <Show when={r.corrected}>
                        <span class="muted" title={`Seqflare read it as ${CLASSIFICATION[r.detected].label.toLowerCase()}`}>
                          corrected
                        </span>
                      </Show>
                    </div>
                    <Evidence r={r} />
                    <Show when={r.classification === "out_of_office" && r.return_at}>
                      {(at) => <span class="muted">Back {formatDay(at())}</span>}
                    </Show>
                    <Show when={r.retry}>
                      {(x) => (
                        <span class="muted">
                          Try {x().attempt} of {x().of}
                          {x().next_at ? ` · next ${formatDay(x().next_at!)}` : ""}
                        </span>
                      )}
                    </Show>
                    {/* Beside what it was taken for, not in a column of its own: the table fits 1,280 px. */}
                    <Show when={r.can_correct}>
                      <CorrectIt r={r} />
                    </Show>
                  </td>
                  <td class="reply-text">
                    <span class="reply-subject">{r.subject || "(no subject)"}</span>
                    <span class="muted">{r.snippet}</span>
                    <button
                      type="button"
                      class="btn btn-ghost btn-xs reply-read"
                      data-testid="read-reply"
                      aria-label={`Read the whole email from ${r.from_email}`}
                      onClick={() => setReading(r)}
                    >
                      Read the email
                    </button>
                  </td>
                  <td>
                    <Show when={r.sequence}>{(s) => <A href={`/sequences/${s().id}`}>{s().name}</A>}</Show>
                    <Show when={r.answered?.step}>{(n) => <span class="muted"> · step {n()}</span>}</Show>
                    <Show when={r.enrollment}>
                      {(e) => (
                        <span class="muted reply-status">
                          {ENROLLMENT_STATUS[e().status as keyof typeof ENROLLMENT_STATUS]?.label ?? e().status}
                          {e().reason_text ? ` · ${e().reason_text}` : ""}
                        </span>
                      )}
                    </Show>
                    <AlsoIn r={r} />
                  </td>
                  <td class="reply-received" title={formatFull(r.received_at)}>
                    {formatDay(r.received_at)}
                  </td>
                </>
              )}
            </DataTable>
          </Show>
        </ErrorBoundary>
      </section>
      {/* The reply as the inbox last read it: after a stage change or a meeting, the dialog shows them too. */}
      <Show when={reading()}>
        {(r) => <ReadReply r={result()?.replies.find((x) => x.id === r().id) ?? r()} onClose={() => setReading(null)} />}
      </Show>
    </div>
  );
}
