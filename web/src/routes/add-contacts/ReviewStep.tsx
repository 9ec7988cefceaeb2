import { A } from "@solidjs/router";
import { createMemo, For, Show } from "solid-js";
import type { SetStoreFunction } from "solid-js/store";
import type { OutcomeFilter, Preview, WarningOverrides } from "../../api";
import { Badge } from "../../components/Badge";
import { EmailStatusBadge } from "../../components/EmailStatus";
import { EmptyState } from "../../components/EmptyState";
import { FigureTable } from "../../components/FigureTable";
import { Icon } from "../../components/Icon";
import { DataTable } from "../../components/DataTable";
import { OUTCOME_COLUMNS, OutcomeCells, OutcomeTabs } from "../../components/Outcomes";
import { Score } from "../../components/Score";
import { Toggle } from "../../components/Toggle";
import { formatNumber, plural } from "../../format";
import { isSkipReason, reasonInfo } from "../../reasons";
import type { Wizard } from "./state";
import { Card } from "../../components/Card";

/** Where each precondition is fixed. */
const PRECONDITION_LINKS: Record<string, (sequenceId: string) => { href: string; label: string }> = {
  sequence_inactive: (id) => ({ href: `/sequences/${id}`, label: "Open the sequence" }),
  sequence_archived: (id) => ({ href: `/sequences/${id}`, label: "Open the sequence" }),
  no_enabled_steps: (id) => ({ href: `/sequences/${id}`, label: "Edit steps" }),
  mailbox_not_connected: () => ({ href: "/mailboxes", label: "Go to Mailboxes" }),
  no_connected_mailbox: () => ({ href: "/mailboxes", label: "Connect a mailbox" }),
  insufficient_credits: () => ({ href: "/credits", label: "See credits" }),
};

/** "2026-11-27" (a local date in the schedule's zone) → "Fri, Nov 27", without shifting zones. */
export function formatLocalDate(ymd: string) {
  const [y, m, d] = ymd.split("-").map(Number);
  if (!y || !m || !d) return ymd;
  return new Date(y, m - 1, d).toLocaleDateString(undefined, {
    weekday: "short",
    month: "short",
    day: "numeric",
    year: y !== new Date().getFullYear() ? "numeric" : undefined,
  });
}

export function Preconditions(props: { preview: Pick<Preview, "preconditions">; sequenceId: string }) {
  return (
    <section class="alert alert-danger" role="alert" aria-labelledby="pre-title" data-testid="preconditions">
      <Icon name="alert" size={20} />
      <div class="alert-body">
        <h2 id="pre-title" class="alert-title">
          {props.preview.preconditions.length === 1
            ? "Fix this before adding contacts"
            : `Fix these ${props.preview.preconditions.length} things before adding contacts`}
        </h2>
        <ul class="alert-list">
          <For each={props.preview.preconditions}>
            {(p) => (
              <li data-code={p.code}>
                <strong>{p.message}</strong>
                <span>{p.fix}</span>
                <Show when={PRECONDITION_LINKS[p.code]?.(props.sequenceId)}>
                  {(l) => (
                    <A href={l().href} class="alert-link">
                      {l().label} <Icon name="chevronRight" size={13} />
                    </A>
                  )}
                </Show>
              </li>
            )}
          </For>
        </ul>
      </div>
    </section>
  );
}

function Totals(props: { preview: Preview }) {
  const t = () => props.preview.totals;
  const c = () => props.preview.credits;
  return (
    <dl class="review-totals" data-testid="review-totals">
      <div class="review-total review-total-success">
        <dt>Will be added</dt>
        <dd data-testid="total-enrolled">{formatNumber(t().enrolled)}</dd>
        <span class="review-total-note">of {plural(t().candidates, "contact")} selected</span>
      </div>
      <div class="review-total review-total-warning">
        <dt>Held back by warnings</dt>
        <dd data-testid="total-warned">{formatNumber(t().warned)}</dd>
        <span class="review-total-note">{t().warned ? "“Add anyway” below to include them" : "Nothing held back"}</span>
      </div>
      <div class="review-total review-total-danger">
        <dt>Skipped</dt>
        <dd data-testid="total-skipped">{formatNumber(t().skipped)}</dd>
        <span class="review-total-note">{t().skipped ? "Can't be emailed or already here" : "Nobody skipped"}</span>
      </div>
      <div class="review-total">
        <dt>Credits</dt>
        <dd data-testid="credits-exact">{formatNumber(c().exact)}</dd>
        <span class="review-total-note">
          <Show when={c().maximum > c().exact} fallback={`of ${formatNumber(c().balance)} available`}>
            up to {formatNumber(c().maximum)} · {formatNumber(c().balance)} available
          </Show>
        </span>
      </div>
    </dl>
  );
}

/**
 * Information, not a hold: the sequence takes teammates' contacts, so those among the ones to be added are added;
 * a rep adding a saved list learns how many belong to someone else before they go out.
 */
function OwnedByTeammates(props: { preview: Preview }) {
  const n = () => props.preview.totals.owned_by_teammates;
  const added = () => props.preview.totals.enrolled;
  const who = () =>
    n() < added()
      ? `${formatNumber(n())} of the ${plural(added(), "contact")} to be added ${n() === 1 ? "is" : "are"}`
      : n() === 1
        ? "The contact to be added is"
        : `All ${plural(n(), "contact")} to be added are`;
  return (
    <Show when={n() > 0}>
      <p class="field-help" data-testid="owned-by-teammates">
        {who()} owned by teammates; this sequence takes teammates' contacts, so {n() === 1 ? "it" : "they"} will be added.
      </p>
    </Show>
  );
}

/** Warnings grouped by category, each with "Add anyway": the way to resolve a held-back group. */
function Warnings(props: { preview: Preview; w: Wizard; setW: SetStoreFunction<Wizard> }) {
  const set = (category: string, on: boolean) => props.setW("overrides", category as keyof WarningOverrides, on);
  return (
    <Card
      title="Warnings"
      subtitle={
        <>
          <Show
            when={!props.w.skipValidation}
            fallback="Validation is skipped: every warning below is added anyway (change it in Options)."
          >
            Contacts with a warning are held back. Turn on “Add anyway” for a category to include them.
          </Show>
        </>
      }
      titleId="warn-title"
      testId="warnings"
    >
      <Show
        when={props.preview.warnings.length > 0 || props.preview.missing_variables.length > 0}
        fallback={
          <p class="card-empty">
            <Icon name="check" size={16} /> No warnings: every contact that can be emailed will be added.
          </p>
        }
      >
        <ul class="warning-list">
          <For each={props.preview.warnings}>
            {(g) => (
              <li class="warning-row" classList={{ "warning-overridden": g.overridden }} data-category={g.category}>
                <div class="warning-text">
                  <div class="warning-head">
                    <strong>{g.label}</strong>
                    <Badge tone={g.overridden ? "success" : "warning"}>
                      {g.overridden ? `${formatNumber(g.count)} allowed` : `${formatNumber(g.held_back)} held back`}
                    </Badge>
                  </div>
                  <p class="muted small">
                    {g.fix}
                    <Show when={!g.overridden && g.count > g.held_back}>
                      {" "}
                      {formatNumber(g.count - g.held_back)} more also have another warning.
                    </Show>
                  </p>
                </div>
                <Toggle
                  label={`Add anyway: ${g.label}`}
                  checked={g.overridden}
                  disabled={props.w.skipValidation}
                  onText="Add anyway"
                  offText="Hold back"
                  size="sm"
                  testId={`override-${g.category}`}
                  onChange={(on) => set(g.category, on)}
                />
              </li>
            )}
          </For>
          <For each={props.preview.missing_variables}>
            {(m) => (
              // Not a hold: these contacts are added; the row says what their emails will do without the value.
              <li class="warning-row" data-variable={m.variable}>
                <div class="warning-text">
                  <div class="warning-head">
                    <strong>No value for {`{{${m.variable}}}`}</strong>
                    <Badge tone="warning">{`${formatNumber(m.count)} ${m.count === 1 ? "contact" : "contacts"}`}</Badge>
                  </div>
                  <p class="muted small">
                    {m.message}.
                    <Show when={m.pauses}>
                      {" "}
                      Fill it in on the contacts, or give it a fallback in the sequence editor ({`{{${m.variable}|…}}`}).
                    </Show>
                  </p>
                </div>
              </li>
            )}
          </For>
        </ul>
      </Show>
    </Card>
  );
}

function Skipped(props: { preview: Preview }) {
  const rows = createMemo(() =>
    Object.entries(props.preview.totals.reasons)
      .filter(([code, n]) => isSkipReason(code) && n > 0)
      .sort((a, b) => b[1] - a[1]),
  );
  return (
    <Card
      title="Skipped"
      subtitle="Never added: the rules that keep your domain and your prospects safe, and One contact per company when it is on."
      titleId="skip-title"
      testId="skipped-reasons"
    >
      <Show
        when={rows().length > 0}
        fallback={
          <p class="card-empty">
            <Icon name="check" size={16} /> Nobody is skipped.
          </p>
        }
      >
        <ul class="reason-list">
          <For each={rows()}>
            {([code, n]) => (
              <li>
                <span class="reason-count tabular">{formatNumber(n)}</span>
                <span>
                  <strong>{reasonInfo(code, props.preview.reasons).label}</strong>
                  <span class="muted small">{reasonInfo(code, props.preview.reasons).fix}</span>
                </span>
              </li>
            )}
          </For>
        </ul>
        <Show when={rows().reduce((n, [, k]) => n + k, 0) > props.preview.totals.skipped}>
          <p class="field-help" data-testid="several-reasons">
            A contact can have several reasons ({formatNumber(props.preview.totals.with_several_reasons)} here have more than one), so these
            counts add up to more than the {formatNumber(props.preview.totals.skipped)} skipped.
          </p>
        </Show>
      </Show>
    </Card>
  );
}

function Credits(props: { preview: Preview }) {
  const c = () => props.preview.credits;
  return (
    <Card
      title="Credits"
      subtitle="1 credit per net-new contact saved with a verified email, plus enrichment when it finds an email. Charged once."
      titleId="credit-title"
      testId="review-credits"
    >
      <dl class="kv">
        <div>
          <dt>This batch costs</dt>
          <dd>
            <strong data-testid="credits-exact-detail">{plural(c().exact, "credit")}</strong>
          </dd>
        </div>
        <div>
          <dt>Held while it runs</dt>
          <dd>
            {plural(c().maximum, "credit")}
            <Show when={c().maximum > c().exact}>
              <span class="muted small"> · the most it could cost; unused credits are returned</span>
            </Show>
          </dd>
        </div>
        <div>
          <dt>Your balance</dt>
          <dd>
            {formatNumber(c().balance)}
            <span class="muted small"> → {formatNumber(Math.max(0, c().balance - c().exact))} after</span>
          </dd>
        </div>
      </dl>
      <Show when={c().fits !== null}>
        <p class="card-callout card-callout-danger">
          <Icon name="alert" size={15} />
          <span>
            Not enough credits for the maximum. Your balance covers the first <strong>{formatNumber(c().fits ?? 0)}</strong>{" "}
            {c().fits === 1 ? "contact" : "contacts"} of this batch.
          </span>
        </p>
      </Show>
    </Card>
  );
}

function Capacity(props: { preview: Preview }) {
  const rows = () => [...props.preview.mailboxes].sort((a, b) => b.assigned - a.assigned);
  const busiest = createMemo(() => {
    const used = props.preview.mailboxes.filter((m) => m.assigned > 0);
    if (!used.length) return null;
    if (used.some((m) => m.all_step1_by === null)) return "never" as const;
    return used
      .map((m) => m.all_step1_by!)
      .sort()
      .at(-1)!;
  });
  return (
    <Card
      title="Capacity forecast"
      subtitle={
        <>
          <Show when={busiest()} fallback="Nobody new to send to.">
            {(b) => (
              <Show
                when={b() !== "never"}
                fallback="Some mailboxes can't reach everyone within a year at their limits: add mailboxes or raise limits."
              >
                <span data-testid="step1-by">
                  Everyone new gets step 1 by <strong>{formatLocalDate(b() as string)}</strong>
                </span>
                , at the mailboxes' limits and the schedule's windows.
              </Show>
            )}
          </Show>
        </>
      }
      titleId="cap-title"
      flush
      testId="capacity-forecast"
    >
      <FigureTable
        caption="Mailbox assignment and capacity"
        class="table-compact"
        wrapClass="table-wrap-free"
        nameLabel="Mailbox"
        rows={rows()}
        name={(m) => <span class="small cell-nowrap">{m.email}</span>}
        rowClass={(m) => (m.assigned === 0 ? "row-muted-soft" : undefined)}
        columns={[
          { label: "New", value: (m) => <strong>{formatNumber(m.assigned)}</strong> },
          { label: "Already queued", value: (m) => formatNumber(m.pending) },
          { label: "Left today", value: (m) => formatNumber(m.remaining_today) },
          { label: "Step 1 / day", value: (m) => formatNumber(m.step1_per_day) },
          {
            label: "Everyone by",
            text: true,
            value: (m) => (
              <span class="cell-nowrap small">
                <Show when={m.all_step1_by} fallback={<span class="reason reason-warning">Over a year</span>}>
                  {(d) => (
                    <>
                      {formatLocalDate(d())}
                      <Show when={m.days_needed}>{(n) => <span class="muted"> · {plural(n(), "day")}</span>}</Show>
                    </>
                  )}
                </Show>
              </span>
            ),
          },
        ]}
      />
    </Card>
  );
}

function ContactsTable(props: {
  preview: Preview;
  outcome: OutcomeFilter;
  onOutcome: (o: OutcomeFilter) => void;
  onPage: (p: number) => void;
  busy: boolean;
}) {
  const t = () => props.preview.totals;
  const mailboxEmail = (id: string) => props.preview.mailboxes.find((m) => m.mailbox_id === id)?.email;
  return (
    <Card title="Contact by contact" subtitle="What happens to each one, and why." titleId="review-contacts-title" flush>
      <OutcomeTabs
        label="Filter contacts by outcome"
        counts={{ all: t().candidates, enrolled: t().enrolled, warned: t().warned, skipped: t().skipped }}
        enrolled="Will be added"
        selected={props.outcome}
        onSelect={props.onOutcome}
        busy={props.busy}
      >
        <DataTable
          flush
          caption="Contacts and their outcomes"
          columns={[{ label: "Contact" }, { label: "Email" }, { label: "Score", class: "num" }, ...OUTCOME_COLUMNS]}
          rows={props.preview.contacts}
          pagination={props.preview.pagination}
          onPage={props.onPage}
          busy={props.busy}
          testId="review-table"
          wrapClass="table-wrap-free"
          empty={
            <EmptyState icon="contacts" title="Nobody here">
              No contact of this selection has this outcome.
            </EmptyState>
          }
        >
          {(c) => (
            <>
              <td>
                <div class="person-name">
                  <span class="cell-strong">{c.name || "(no name)"}</span>
                  <Show when={c.net_new}>
                    <Badge tone="info" title="Not yet a contact of your team: saved when added">
                      Net new
                    </Badge>
                  </Show>
                </div>
                <div class="muted small cell-clip-wide">{c.company ?? ""}</div>
              </td>
              <td>
                <div class="email-text small" title={c.email ?? undefined}>
                  {c.email ?? <span class="muted">No email</span>}
                </div>
                <EmailStatusBadge status={c.email_status} />
              </td>
              <td class="num">
                <Score value={c.score} />
              </td>
              <OutcomeCells row={c} reasons={props.preview.reasons} enrolled="Will be added" mailboxEmail={mailboxEmail} />
            </>
          )}
        </DataTable>
      </OutcomeTabs>
    </Card>
  );
}

/** The dry run, laid out to decide on: blockers first, then totals, warnings to resolve, cost and timing. */
export function ReviewStep(props: {
  preview: Preview;
  sequenceId: string;
  w: Wizard;
  setW: SetStoreFunction<Wizard>;
  outcome: OutcomeFilter;
  onOutcome: (o: OutcomeFilter) => void;
  onPage: (p: number) => void;
  busy: boolean;
}) {
  return (
    <div class="stack review" aria-busy={props.busy}>
      <Show when={props.preview.preconditions.length > 0}>
        <Preconditions preview={props.preview} sequenceId={props.sequenceId} />
      </Show>
      <Totals preview={props.preview} />
      <OwnedByTeammates preview={props.preview} />
      <div class="review-grid">
        <div class="stack">
          <Warnings preview={props.preview} w={props.w} setW={props.setW} />
          <Skipped preview={props.preview} />
        </div>
        <div class="stack">
          <Credits preview={props.preview} />
        </div>
      </div>
      <Capacity preview={props.preview} />
      <ContactsTable preview={props.preview} outcome={props.outcome} onOutcome={props.onOutcome} onPage={props.onPage} busy={props.busy} />
    </div>
  );
}
