import { A, createAsync } from "@solidjs/router";
import { Show, Suspense } from "solid-js";
import type { SetStoreFunction } from "solid-js/store";
import { Icon } from "../../components/Icon";
import { MailboxPickList } from "../../components/MailboxPickList";
import { Spinner } from "../../components/Status";
import { browserTimeZone, formatFull, formatNumber } from "../../format";
import { getMailboxes } from "../../queries/mailboxes";
import { getMe } from "../../queries/session";
import { localInputToMs, msToLocalInput } from "../../format";
import { type Wizard } from "./state";
import { Card } from "../../components/Card";

/** Sending mailbox(es), validation, enrichment and start time: everything but the "who". */
const MAX_AHEAD_MS = 365 * 24 * 60 * 60 * 1000;

export function OptionsStep(props: { w: Wizard; setW: SetStoreFunction<Wizard> }) {
  const mailboxes = createAsync(() => getMailboxes());
  const me = createAsync(() => getMe());
  // What "rotate" uses by default: your own connected mailboxes (never a teammate's personal inbox).
  const connected = () =>
    (mailboxes()?.mailboxes ?? []).filter((m) => m.status === "connected" && m.can_send && m.user_id === me()?.user.id);
  const toggleMailbox = (id: string, on: boolean) => props.setW("mailboxIds", (ids) => (on ? [...ids, id] : ids.filter((x) => x !== id)));
  const addAtMs = () => localInputToMs(props.w.addAt);
  const addAtInPast = () => props.w.when === "at" && addAtMs() !== null && addAtMs()! <= Date.now();
  // The API schedules a start at most a year ahead.
  const addAtTooFar = () => props.w.when === "at" && addAtMs() !== null && addAtMs()! > Date.now() + MAX_AHEAD_MS;

  return (
    <div class="options-grid">
      <Card
        title="Send from"
        subtitle="Highest-scored prospects go first. By default only your own connected mailboxes are used."
        titleId="opt-mailboxes"
        class="option-card"
      >
        <div class="option-body">
          <fieldset>
            <legend class="sr-only">Mailbox choice</legend>
            <label class="radio-row">
              <input
                type="radio"
                name="mailbox-mode"
                checked={props.w.mailboxMode === "all"}
                onChange={() => props.setW("mailboxMode", "all")}
              />
              <span>
                <strong>Rotate over your own connected mailboxes</strong>
                <span class="muted small">
                  <Suspense fallback="…">
                    {formatNumber(connected().length)} connected now. Recommended: spreads the load, fastest start.
                  </Suspense>
                </span>
              </span>
            </label>
            <label class="radio-row">
              <input
                type="radio"
                name="mailbox-mode"
                checked={props.w.mailboxMode === "pick"}
                onChange={() => props.setW("mailboxMode", "pick")}
              />
              <span>
                <strong>Choose mailboxes</strong>
                <span class="muted small">One sends everything; several take turns.</span>
              </span>
            </label>
          </fieldset>
          <Show when={props.w.mailboxMode === "pick"}>
            <Suspense fallback={<Spinner label="Loading mailboxes…" />}>
              <fieldset class="mailbox-picks">
                <legend class="field-legend">Mailboxes</legend>
                <MailboxPickList mailboxes={mailboxes()?.mailboxes ?? []} selected={props.w.mailboxIds} onToggle={toggleMailbox} />
                <p class="field-help">
                  <Show
                    when={props.w.mailboxIds.length === 0}
                    fallback={
                      props.w.mailboxIds.length === 1
                        ? "Every new contact sends from this mailbox."
                        : `New contacts rotate over these ${props.w.mailboxIds.length} mailboxes.`
                    }
                  >
                    None ticked: every connected mailbox you can send from is used. Disconnected ones can't be picked;{" "}
                    <A href="/mailboxes">reconnect them on Mailboxes</A>. Only a mailbox's owner or an admin sends from it.
                  </Show>
                </p>
              </fieldset>
            </Suspense>
          </Show>
          <fieldset data-testid="rotation">
            <legend class="field-legend">When several mailboxes send</legend>
            <label class="radio-row">
              <input
                type="radio"
                name="rotation"
                checked={props.w.rotation === "capacity"}
                onChange={() => props.setW("rotation", "capacity")}
              />
              <span>
                <strong>Most remaining capacity</strong>
                <span class="muted small">
                  Each new contact goes to the mailbox with the most room left today, counting what it already has scheduled: the fastest
                  start.
                </span>
              </span>
            </label>
            <label class="radio-row">
              <input type="radio" name="rotation" checked={props.w.rotation === "even"} onChange={() => props.setW("rotation", "even")} />
              <span>
                <strong>Even split</strong>
                <span class="muted small">New contacts are dealt out in turn, so each mailbox gets the same number whatever its load.</span>
              </span>
            </label>
          </fieldset>
        </div>
      </Card>

      <Card
        title="Checks"
        subtitle="Every contact is checked before it's added. You'll see the result before anything happens."
        titleId="opt-checks"
        class="option-card"
      >
        <div class="option-body">
          <label class="check-row">
            <input
              type="checkbox"
              checked={props.w.skipValidation}
              onChange={(e) => props.setW("skipValidation", e.currentTarget.checked)}
              aria-describedby="skip-validation-help"
            />
            <span>
              <strong>Skip validation</strong>
              <span id="skip-validation-help" class="muted small">
                Add everyone a warning would hold back (unverified email, no email, active or finished in another sequence, a job change, a
                blocked stage…) without reviewing each category. Unsubscribed, bounced, Do Not Contact and suppressed addresses are still
                skipped: they are never emailed. A teammate's contact is added when the sequence takes teammates' contacts (its Overview's
                setting), and skipped when it doesn't, with or without validation.
              </span>
            </span>
          </label>
          <label class="check-row">
            <input
              type="checkbox"
              checked={props.w.enrich}
              onChange={(e) => props.setW("enrich", e.currentTarget.checked)}
              aria-describedby="enrich-help"
            />
            <span>
              <strong>Find missing emails (enrichment)</strong>
              <span id="enrich-help" class="muted small">
                Contacts without an email are looked up through the enrichment waterfall, provider by provider, until one finds it. Credits
                are charged only for emails found; the review shows the exact and the maximum cost.
              </span>
            </span>
          </label>
          <label class="check-row">
            <input
              type="checkbox"
              checked={props.w.skipSameCompany}
              onChange={(e) => props.setW("skipSameCompany", e.currentTarget.checked)}
              aria-describedby="same-company-help"
              data-testid="skip-same-company"
            />
            <span>
              <strong>One contact per company</strong>
              <span id="same-company-help" class="muted small">
                Skip a contact whose company already has someone in this sequence, or has someone earlier in this selection (the
                highest-scored is added). A company is its domain, else its name; Gmail, Outlook and other free-mail domains are no company.
                The review counts the skips.
              </span>
            </span>
          </label>
        </div>
      </Card>

      <Card title="When" subtitle="Step 1 goes out inside the sequence's sending window either way." titleId="opt-when" class="option-card">
        <div class="option-body">
          <fieldset>
            <legend class="sr-only">When to add</legend>
            <label class="radio-row">
              <input type="radio" name="when" checked={props.w.when === "now"} onChange={() => props.setW("when", "now")} />
              <span>
                <strong>Add now</strong>
                <span class="muted small">Starts as soon as you confirm.</span>
              </span>
            </label>
            <label class="radio-row">
              <input
                type="radio"
                name="when"
                checked={props.w.when === "at"}
                onChange={() => {
                  props.setW("when", "at");
                  if (!props.w.addAt) props.setW("addAt", msToLocalInput(Date.now() + 3_600_000));
                }}
              />
              <span>
                <strong>Add at a later time</strong>
                <span class="muted small">Credits are held until then; you can cancel before it starts.</span>
              </span>
            </label>
          </fieldset>
          <Show when={props.w.when === "at"}>
            <div class="field add-at">
              <label for="add-at">Start at ({browserTimeZone()})</label>
              <input
                id="add-at"
                type="datetime-local"
                value={props.w.addAt}
                min={msToLocalInput(Date.now())}
                max={msToLocalInput(Date.now() + MAX_AHEAD_MS)}
                aria-invalid={addAtInPast() || addAtTooFar()}
                aria-describedby="add-at-help"
                onChange={(e) => props.setW("addAt", e.currentTarget.value)}
              />
              <p id="add-at-help" class="field-help" classList={{ "text-warning": addAtInPast() || addAtTooFar() }}>
                <Show when={addAtMs()} fallback="Pick a date and time.">
                  {(ms) =>
                    addAtInPast()
                      ? "That time has passed: the contacts would be added right away."
                      : addAtTooFar()
                        ? "Start time can be at most a year from now."
                        : formatFull(ms())
                  }
                </Show>
              </p>
            </div>
          </Show>
        </div>
      </Card>
      <p class="muted small options-note">
        <Icon name="info" size={13} /> Nothing is added or charged until you confirm on the next step.
      </p>
    </div>
  );
}
