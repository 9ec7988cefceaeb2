import { A, createAsync, revalidate, useIsRouting, useSearchParams } from "@solidjs/router";
import { createEffect, createSignal, For, on, Show, Suspense } from "solid-js";
import { ApiError, rawMessageUrl, type Message, type MessageFilter } from "../api";
import { Badge, type Tone } from "../components/Badge";
import { EmailHeader, EmailView } from "../components/EmailView";
import { EmptyState } from "../components/EmptyState";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { DataFrame } from "../components/DataTable";
import { ErrorPanel, Spinner } from "../components/Status";
import { formatDay, formatFull, plural } from "../format";
import { getMessages, getRawMessage } from "../queries/messages";
import { MailboxOptions } from "../components/MailboxOptions";
import { SequenceOptions } from "../components/SequenceOptions";
import { usePageTitle } from "../title";

import "./Outbox.css";
const STATUS: Record<Message["status"], { label: string; tone: Tone; hint: string }> = {
  sent: { label: "Sent", tone: "success", hint: "Handed to the transport and accepted; it hasn't bounced" },
  bounced: { label: "Bounced", tone: "danger", hint: "The recipient's server refused it; the address is suppressed" },
  unknown: { label: "Unknown", tone: "warning", hint: "The server may have accepted it but didn't confirm; it won't be resent" },
  failed: { label: "Failed", tone: "danger", hint: "Sending failed" },
  scheduled: { label: "Scheduled", tone: "info", hint: "Not sent yet" },
  sending: { label: "Sending", tone: "info", hint: "Being sent now" },
  cancelled: { label: "Cancelled", tone: "neutral", hint: "Won't be sent" },
};
const FILTERS: { id: MessageFilter | ""; label: string }[] = [
  { id: "", label: "Any status" },
  // "sent" leaves bounced emails out; the sequence list and report count both as sent, hence the second filter.
  { id: "sent", label: "Delivered (not bounced)" },
  { id: "sent_or_bounced", label: "Sent (incl. bounced)" },
  { id: "bounced", label: "Bounced" },
  { id: "unknown", label: "Unknown" },
  { id: "failed", label: "Failed" },
  // The contact answered it or a later email of its run: the rows with the Replied badge.
  { id: "replied", label: "Replied" },
];

const str = (v: string | string[] | undefined) => (typeof v === "string" ? v : undefined);

/** The contact answered this email, or a later one of the same run (Outreach's mailings list marks it so); an out-of-office is not a reply. */
function RepliedBadge(props: { at: number }) {
  return (
    <span data-testid="outbox-replied">
      <Badge tone="accent" title={`The contact replied ${formatFull(props.at)}`}>
        Replied
      </Badge>
    </span>
  );
}

function StatusBadge(props: { status: Message["status"] }) {
  const s = () => STATUS[props.status];
  return (
    <Badge tone={s().tone} dot title={s().hint}>
      {s().label}
    </Badge>
  );
}

/** One email in full: headers, body, and on request the exact RFC 5322 source. */
/**
 * The text part of a message as handed to the transport (Seqflare sends one quoted-printable text/plain
 * part): what the recipient reads, signature, postal footer and unsubscribe link included. null when the
 * source is of another shape.
 */
export function sentText(raw: string): string | null {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const headers = raw.slice(0, end);
  if (!/^content-type:\s*text\/plain/im.test(headers)) return null;
  const body = raw.slice(end + 4);
  if (!/^content-transfer-encoding:\s*quoted-printable/im.test(headers)) return body.replace(/\r\n/g, "\n");
  const joined = body.replace(/=\r\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined[i] === "=" ? joined.slice(i + 1, i + 3) : "";
    if (/^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...new TextEncoder().encode(joined[i]!));
  }
  return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\r\n/g, "\n");
}

function MessageDetail(props: { m: Message; onClose: () => void }) {
  const [showRaw, setShowRaw] = createSignal(false);
  const raw = createAsync(async () => (showRaw() ? getRawMessage(props.m.id) : undefined));
  // The text as sent, from the message's source; an email with no source kept (one that failed before it
  // was composed) shows the text its step gave, said as such.
  const sent = createAsync(async () => {
    try {
      return { text: sentText(await getRawMessage(props.m.id)) };
    } catch {
      return { text: null };
    }
  });
  createEffect(
    on(
      () => props.m.id,
      () => setShowRaw(false),
      { defer: true },
    ),
  );
  return (
    <section class="mail-detail" aria-labelledby="mail-subject" data-testid="message-detail">
      <header class="mail-detail-head">
        <div>
          <h2 id="mail-subject" class="mail-subject">
            {props.m.subject || <span class="muted">(no subject)</span>}
          </h2>
          <StatusBadge status={props.m.status} />
          <Show when={props.m.replied_at}>{(at) => <RepliedBadge at={at()} />}</Show>
        </div>
        <button type="button" class="btn btn-ghost btn-sm btn-icon" aria-label="Close message" onClick={() => props.onClose()}>
          <Icon name="x" size={16} />
        </button>
      </header>
      {/* The text as sent is read under the view's own Suspense: loading it leaves the list and the headers in place. */}
      <EmailView
        testId="mail"
        from={props.m.mailbox}
        to={
          <>
            {props.m.to_email}
            <Show when={props.m.contact}>{(c) => <span class="muted"> · {c().name}</span>}</Show>
          </>
        }
        headers={
          <>
            <EmailHeader name="Date">{props.m.sent_at ? formatFull(props.m.sent_at) : <span class="muted">not sent</span>}</EmailHeader>
            <EmailHeader name="Sequence">
              <Show when={props.m.sequence} fallback={<span class="muted">{noSequence(props.m.step_id, true)}</span>}>
                {(s) => <A href={`/sequences/${s().id}`}>{s().name}</A>}
              </Show>
            </EmailHeader>
            <EmailHeader name="Message-ID">
              <code class="mail-id">{props.m.message_id}</code>
            </EmailHeader>
            <Show when={props.m.in_reply_to}>
              {(r) => (
                <EmailHeader name="In-Reply-To">
                  <code class="mail-id">{r()}</code>
                </EmailHeader>
              )}
            </Show>
          </>
        }
        body={sent()?.text ?? props.m.body}
        bodyNote={
          sent()?.text === null &&
          "The email's text as written, without the signature, postal footer and unsubscribe link added when it is sent."
        }
      >
        <Show when={props.m.error}>
          {(e) => (
            <div class="form-error" role="note">
              <Icon name="alert" size={16} />
              <span>{e()}</span>
            </div>
          )}
        </Show>
      </EmailView>
      <div class="mail-raw-bar">
        <button
          type="button"
          class="btn btn-secondary btn-sm"
          aria-expanded={showRaw()}
          aria-controls="mail-raw"
          onClick={() => setShowRaw(!showRaw())}
        >
          <Icon name="code" size={14} /> {showRaw() ? "Hide raw" : "View raw"}
        </button>
        <a class="btn btn-ghost btn-sm" href={rawMessageUrl(props.m.id)} target="_blank" rel="noopener">
          <Icon name="external" size={14} /> Open source in a new tab
        </a>
      </div>
      <Show when={showRaw()}>
        <Suspense fallback={<Spinner label="Loading source…" />}>
          <pre id="mail-raw" class="mail-raw" tabindex="0" aria-label="Raw message source" data-testid="raw-message">
            {raw()}
          </pre>
        </Suspense>
      </Show>
    </section>
  );
}

/**
 * An email of no sequence: an answer a rep wrote to a reply in the inbox (step reply:<key>), or a mailbox's test
 * email. `detail`: the open email's longer words.
 */
const noSequence = (stepId: string, detail = false) =>
  stepId.startsWith("reply:")
    ? `Answer to a reply${detail ? ", written by hand (no sequence step)" : ""}`
    : `Test email${detail ? " (no sequence)" : ""}`;

/** Which sequence's emails: kept in the URL (?sequence_id=), so a sequence's report can link here and a reload keeps it. */
function SequencePicker(props: { sequenceId: string; onChange: (id: string | undefined) => void }) {
  return (
    <label class="inline-select">
      <span>Sequence</span>
      <select data-testid="outbox-sequence" onChange={(e) => props.onChange(e.currentTarget.value || undefined)}>
        <SequenceOptions sequenceId={props.sequenceId} all="All sequences" />
      </select>
    </label>
  );
}

export default function Outbox() {
  usePageTitle("Outbox");
  const [params, setParams] = useSearchParams();
  const routing = useIsRouting();
  const mailbox = () => str(params.mailbox) ?? "";
  const sequenceId = () => str(params.sequence_id) ?? "";
  const status = () => (FILTERS.some((f) => f.id === params.status) ? (params.status as MessageFilter) : "");
  const page = () => Math.max(1, Number(params.page) || 1);
  const selectedId = () => str(params.id);
  // A sequence or mailbox in the URL the caller can't see (another team's, removed, not shared) answers 404:
  // said above the list, with the filters left to change, instead of the whole page's error.
  const [filterError, setFilterError] = createSignal<ApiError | null>(null);
  const result = createAsync(async () => {
    try {
      const r = await getMessages({
        page: page(),
        per_page: 50,
        mailbox_id: mailbox() || undefined,
        sequence_id: sequenceId() || undefined,
        status: status() || undefined,
      });
      setFilterError(null);
      return r;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
      setFilterError(e);
      return undefined;
    }
  });
  const selected = () => result()?.messages.find((m) => m.id === selectedId());

  return (
    <div class="page page-wide">
      <PageHeader
        title="Outbox"
        description="Every email Seqflare handed to a mailbox's transport, newest first: open one for its text as sent."
        actions={
          <button type="button" class="btn btn-secondary" onClick={() => void revalidate(getMessages.key)}>
            <Icon name="refresh" size={15} /> Refresh
          </button>
        }
      />
      <div class="toolbar">
        <div class="toolbar-right">
          <label class="inline-select">
            <span>Mailbox</span>
            <select onChange={(e) => setParams({ mailbox: e.currentTarget.value || undefined, page: undefined, id: undefined })}>
              <MailboxOptions mailboxId={mailbox()} all="All mailboxes" />
            </select>
          </label>
          <SequencePicker sequenceId={sequenceId()} onChange={(id) => setParams({ sequence_id: id, page: undefined, id: undefined })} />
          <label class="inline-select">
            <span>Status</span>
            <select
              data-testid="outbox-status"
              onChange={(e) => setParams({ status: e.currentTarget.value || undefined, page: undefined, id: undefined })}
            >
              <For each={FILTERS}>
                {(f) => (
                  <option value={f.id} selected={f.id === status()}>
                    {f.label}
                  </option>
                )}
              </For>
            </select>
          </label>
          <Show when={routing()}>
            <span class="toolbar-busy" role="status">
              <span class="spinner" aria-hidden="true" /> <span class="sr-only">Loading</span>
            </span>
          </Show>
        </div>
        <Show when={result()}>{(r) => <span class="muted small">{plural(r().pagination.total_entries, "email")}</span>}</Show>
      </div>

      <Show when={filterError()}>
        {(e) => (
          <div class="outbox-filter-error" data-testid="outbox-filter-error">
            <ErrorPanel error={e()} title="Can't show these emails" />
            <button
              type="button"
              class="btn btn-secondary btn-sm"
              onClick={() => setParams({ sequence_id: undefined, mailbox: undefined, page: undefined, id: undefined })}
            >
              Show every email
            </button>
          </div>
        )}
      </Show>
      <div class="mail-split" classList={{ "mail-split-open": !!selected(), "mail-split-gone": !!filterError() }}>
        <DataFrame
          rows={result()?.messages}
          pagination={result()?.pagination}
          onPage={(p) => setParams({ page: p === 1 ? undefined : String(p), id: undefined })}
          busy={routing()}
          loading="Loading the outbox…"
          skeletonColumns={5}
          skeletonRows={8}
          cardClass="mail-list-card"
          empty={
            <EmptyState
              icon="outbox"
              title={mailbox() || sequenceId() || status() ? "No emails match these filters" : "Nothing sent yet"}
              actions={
                <A class="btn btn-secondary" href="/mailboxes">
                  <Icon name="send" size={15} /> Send a test email from a mailbox
                </A>
              }
            >
              Emails appear here the moment a mailbox sends them: sequence steps and test emails alike, with their full source.
            </EmptyState>
          }
        >
          {(messages) => (
            <ul class="mail-list" aria-label="Sent emails" data-testid="outbox-list">
              <For each={messages()}>
                {(m) => (
                  <li>
                    <button
                      type="button"
                      class="mail-row"
                      aria-current={m.id === selectedId() ? "true" : undefined}
                      onClick={() => setParams({ id: m.id === selectedId() ? undefined : m.id })}
                    >
                      <span class="mail-row-top">
                        <span class="mail-to">{m.to_email}</span>
                        <span class="mail-time">
                          {m.sent_at ? (
                            <time datetime={new Date(m.sent_at).toISOString()} title={formatFull(m.sent_at)}>
                              {formatDay(m.sent_at)}
                            </time>
                          ) : (
                            "—"
                          )}
                        </span>
                      </span>
                      <span class="mail-row-subject">{m.subject || "(no subject)"}</span>
                      <span class="mail-row-meta">
                        <StatusBadge status={m.status} />
                        <Show when={m.replied_at}>{(at) => <RepliedBadge at={at()} />}</Show>
                        <span class="muted small" data-testid="outbox-kind">
                          {m.sequence?.name ?? noSequence(m.step_id)}
                        </span>
                        <span class="muted small mail-from">from {m.mailbox?.email ?? "—"}</span>
                      </span>
                    </button>
                  </li>
                )}
              </For>
            </ul>
          )}
        </DataFrame>
        <Show
          when={selected()}
          fallback={
            <Show when={selectedId() && result()}>
              <ErrorPanel error={new Error("That email isn't on this page any more.")} title="Email not found" />
            </Show>
          }
        >
          {(m) => <MessageDetail m={m()} onClose={() => setParams({ id: undefined })} />}
        </Show>
      </div>
    </div>
  );
}
