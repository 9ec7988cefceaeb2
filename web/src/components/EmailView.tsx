import { Show, Suspense, type JSX } from "solid-js";
import { Spinner } from "./Status";
import "./EmailView.css";

/** One header line of an email beside From, To and Subject: when it goes out, its Message-ID, its thread. */
export function EmailHeader(props: { name: string; testId?: string | undefined; children: JSX.Element }) {
  return (
    <div>
      <dt>{props.name}</dt>
      <dd data-testid={props.testId}>{props.children}</dd>
    </div>
  );
}

/**
 * An email as it will be or was sent, drawn the one way every screen draws one (a step's preview, a scheduled
 * email, the Outbox): From, To, Subject and the screen's own header lines, what the screen says of it (badges,
 * a refusal, a note), then its plain-text body with its line breaks. The body is read under its own Suspense:
 * a body still loading (the Outbox reads the text as sent from the message's source) leaves the headers in place.
 * Test ids: `testId` on the whole, `testId`-to, -subject, -body and -body-note on its parts.
 */
export function EmailView(props: {
  testId: string;
  /** The sending mailbox; null when it was deleted since. */
  from: { email: string; name?: string | null } | null;
  to: JSX.Element;
  /** Left out where the screen heads with the subject itself (the Outbox). */
  subject?: string;
  /** More header lines (EmailHeader), after the subject. */
  headers?: JSX.Element;
  /** Badges of the email (variant, same thread...): a row that takes no room when it has none. */
  badges?: JSX.Element;
  /** What the screen says of the email, between its headers and its body. */
  children?: JSX.Element;
  body: string;
  /** Said of the body, above it (what it leaves out, where that is so). */
  bodyNote?: string | null | false;
  /** The screen's buttons for this email, under its body. */
  actions?: JSX.Element;
}) {
  const part = (name: string) => `${props.testId}-${name}`;
  return (
    <div class="email-view" data-testid={props.testId}>
      <dl class="email-headers">
        <EmailHeader name="From">
          <Show when={props.from} fallback={<span class="muted">deleted mailbox</span>}>
            {(f) => (f().name ? `${f().name} <${f().email}>` : f().email)}
          </Show>
        </EmailHeader>
        <EmailHeader name="To" testId={part("to")}>
          {props.to}
        </EmailHeader>
        {/* Checked without reading it: reading markup passed as a prop builds it. */}
        {"subject" in props && (
          <div class="email-subject">
            <dt>Subject</dt>
            <dd data-testid={part("subject")}>{props.subject}</dd>
          </div>
        )}
        {props.headers}
      </dl>
      {"badges" in props && <div class="email-badges">{props.badges}</div>}
      {props.children}
      <Suspense fallback={<Spinner label="Loading the email's text…" />}>
        <Show when={props.bodyNote}>
          {(note) => (
            <p class="field-help" data-testid={part("body-note")}>
              {note()}
            </p>
          )}
        </Show>
        <div class="email-body" data-testid={part("body")}>
          {props.body}
        </div>
      </Suspense>
      {props.actions}
    </div>
  );
}
