import { action } from "@solidjs/router";
import { createSignal, For, Show } from "solid-js";
import { useWrite } from "../../actions";
import { api, data } from "../../api";
import { FieldError } from "../../components/FieldError";
import { FormProblems } from "../../forms";
import { formatFull } from "../../format";
import type { Reply, ReplyText } from "../../queries/replies";

/**
 * The answer, sent with an Idempotency-Key made for its text: a double click, or a retry after a timeout,
 * is the same request, and the API sends it once (a 409 "already sent" then means it went out: reload).
 */
function sendAnswer(id: string, body: string, key: string) {
  return data(api.replies[":id"].reply.$post({ param: { id }, json: { body } }, { headers: { "idempotency-key": key } }));
}

/** A write: the reply's text (and its thread of answers) is read again after it. */
export const sendAnswerAction = action(sendAnswer, "answerReply");

type Sent = Awaited<ReturnType<typeof sendAnswer>>["sent"];

/** The answers already sent to it, under their email: the thread as the person sees it. */
export function AnswerThread(props: { answers: ReplyText["answers"] }) {
  return (
    <Show when={props.answers.length}>
      <ol class="reply-answers" data-testid="reply-answers" aria-label="Your answers">
        <For each={[...props.answers].reverse()}>
          {(a) => (
            <li class="reply-answer" data-testid="reply-answer">
              <p class="muted small">
                You answered {a.sent_at ? formatFull(a.sent_at) : ""}
                {a.mailbox ? ` from ${a.mailbox}` : ""}
                {a.status === "sent" ? "" : ` (${a.status === "unknown" ? "delivery unknown" : a.status})`}
              </p>
              <pre class="reply-full">{a.body}</pre>
            </li>
          )}
        </For>
      </ol>
    </Show>
  );
}

/**
 * Answering the reply where it is read: a plain-text box, sent now (not in the sequence's sending window)
 * from the mailbox the reply came to, under the person's email with their text quoted. A rep who may not
 * answer from that mailbox (or a reply nobody should answer: a bounce, a request to be removed) sees why.
 */
export function Answer(props: { r: Reply }) {
  const [body, setBody] = createSignal("");
  // One key per text: Send again after a failure (a 500, a dropped connection) with the same text is the
  // same request, sent at most once; changed text is a new answer under a new key (an old key would be told
  // "already sent"); after a success the same text sent again on purpose is another answer.
  let keyed: { text: string; key: string } | null = null;
  const keyFor = (text: string) => {
    if (keyed?.text !== text) keyed = { text, key: crypto.randomUUID() };
    return keyed.key;
  };
  const [sent, setSent] = createSignal<Sent | null>(null);
  const send = useWrite(sendAnswerAction, { form: "reply-answer-form" });
  const submit = async () => {
    if (!body().trim() || send.pending()) return;
    const res = await send.run(props.r.id, body(), keyFor(body()));
    if (!res) return;
    setSent(res.sent);
    setBody("");
    keyed = null;
  };
  return (
    <section class="reply-answer-box" data-testid="reply-answer-box" aria-label="Answer">
      <Show
        when={props.r.answer.can}
        fallback={
          <p class="muted" data-testid="reply-answer-why">
            You can't answer it here: {props.r.answer.why}
          </p>
        }
      >
        <Show when={sent()}>
          {(s) => (
            <p class="reply-answer-sent" role="status" data-testid="reply-answer-sent">
              {s().status === "sent" ? "Sent" : s().status === "unknown" ? "Handed to the server (delivery unknown)" : "Bounced"}{" "}
              {formatFull(s().sent_at)} from {s().mailbox.email}
            </p>
          )}
        </Show>
        <form
          id="reply-answer-form"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <label for="reply-answer-body" class="reply-answer-label">
            Answer {props.r.contact?.name || props.r.from_email}
          </label>
          <textarea
            id="reply-answer-body"
            name="body"
            class="input"
            rows={5}
            maxlength={20000}
            data-testid="reply-answer-body"
            value={body()}
            onInput={(e) => setBody(e.currentTarget.value)}
            aria-invalid={send.errors.invalid("body")}
            aria-describedby="reply-answer-help reply-answer-error"
          />
          <FieldError id="reply-answer-error" form={send.errors} name={["body", "to"]} />
          <p id="reply-answer-help" class="field-help">
            Sent now from {props.r.answer.from?.email}, not in the sequence's sending window, with the mailbox's signature and their email
            quoted below. It counts toward the mailbox's daily limit.
          </p>
          <FormProblems form={send.errors} />
          <button type="submit" class="btn btn-primary btn-sm" data-testid="reply-answer-send" disabled={send.pending() || !body().trim()}>
            {send.pending() ? "Sending…" : "Send"}
          </button>
        </form>
      </Show>
    </section>
  );
}
