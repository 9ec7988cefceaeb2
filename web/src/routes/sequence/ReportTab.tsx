import { A, createAsync, useSearchParams } from "@solidjs/router";
import { createMemo, For, Show, Suspense } from "solid-js";
import { Chart } from "../../components/Chart";
import { FigureTable } from "../../components/FigureTable";
import { BarsChart, DateRange, StatsTable } from "../../components/Report";
import { Icon } from "../../components/Icon";
import { stepMeta } from "../../components/StepType";
import { TableSkeleton } from "../../components/Status";
import { notify } from "../../components/Toast";
import { Toggle } from "../../components/Toggle";
import { formatNumber } from "../../format";
import { getMailboxes } from "../../queries/mailboxes";
import { getUsersWithDisabled, userLabel } from "../../queries/users";
import { useWrite } from "../../actions";
import { chooseWinnerAction, getSequenceReport, setAutoWinnerAction } from "../../queries/reports";
import { contactsExportUrl, pct, rateText, reportExportUrl, type ReportQuery, type SequenceReport } from "../../reports";
import { reportStatus, wontSendOverlap } from "../../components/EnrollmentStatus";
import "./ReportTab.css";
import { Options } from "../../components/Options";

const statusLabel = (status: string) => reportStatus(status).label;
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const daySec = (d: string) => Date.parse(`${d}T00:00:00Z`) / 1000;

function Filters(props: { q: ReportQuery; onChange: (q: ReportQuery) => void }) {
  // Disabled users too: the runs they added stay in the report.
  const users = createAsync(() => getUsersWithDisabled());
  const mailboxes = createAsync(() => getMailboxes());
  return (
    <form class="report-filters" aria-label="Report filters" onSubmit={(e) => e.preventDefault()}>
      <DateRange from={props.q.from} to={props.q.to} onChange={(r) => props.onChange({ ...props.q, ...r })} />
      {/* Without a range the report counts the sequence's whole life: said beside the empty boxes. */}
      <Show when={!props.q.from && !props.q.to}>
        <span class="muted small" data-testid="report-range-note">
          All time
        </span>
      </Show>
      <label>
        <span>Added by</span>
        <select
          class="input-sm"
          value={props.q.added_by ?? ""}
          onChange={(e) => props.onChange({ ...props.q, added_by: e.currentTarget.value || undefined })}
        >
          <option value="">Anyone</option>
          <Options each={users()} value={props.q.added_by} id={(u) => u.id}>
            {(u) => userLabel(u)}
          </Options>
        </select>
      </label>
      <label>
        <span>Mailbox</span>
        <select
          class="input-sm"
          value={props.q.mailbox_id ?? ""}
          onChange={(e) => props.onChange({ ...props.q, mailbox_id: e.currentTarget.value || undefined })}
        >
          <option value="">All mailboxes</option>
          <Options each={mailboxes()?.mailboxes} value={props.q.mailbox_id} id={(m) => m.id}>
            {(m) => m.email}
          </Options>
        </select>
      </label>
      <Show when={props.q.from || props.q.to || props.q.added_by || props.q.mailbox_id}>
        <button type="button" class="btn btn-ghost btn-sm" onClick={() => props.onChange({})}>
          Clear filters
        </button>
      </Show>
    </form>
  );
}

/** The Outbox's URL for the emails the Emails sent card counts: the sequence's, sent or bounced, of the report's mailbox. */
function outboxHref(sequenceId: string, mailboxId: string | null) {
  const q = new URLSearchParams({ sequence_id: sequenceId, status: "sent_or_bounced" });
  if (mailboxId) q.set("mailbox", mailboxId);
  return `/outbox?${q}`;
}

/** The Replies inbox's URL for the card's replies: the sequence's, answering emails from the report's mailbox. */
function repliesHref(sequenceId: string, mailboxId: string | null) {
  const q = new URLSearchParams({ sequence_id: sequenceId });
  if (mailboxId) q.set("mailbox_id", mailboxId);
  return `/replies?${q}`;
}

/** The Replies link's words: the inbox has no day range or added-by filter, so under either it lists all of them. */
function repliesLinkText(f: SequenceReport["filters"]) {
  const wider = f.from !== null || f.to !== null || f.added_by !== null;
  if (!wider) return "Replies";
  return f.mailbox_id ? "All of this sequence's replies to this mailbox" : "All of this sequence's replies";
}

/** The Outbox link's words: the card's emails, or all of the sequence's when the report narrows by what the Outbox can't. */
function outboxLinkText(f: SequenceReport["filters"]) {
  const wider = f.from !== null || f.to !== null || f.added_by !== null;
  if (!wider) return "Emails in the Outbox";
  return f.mailbox_id ? "All of this sequence's emails from this mailbox" : "All of this sequence's emails";
}

function Kpis(props: { r: SequenceReport; sequenceId: string }) {
  const t = () => props.r.totals;
  const bounceOver = () => t().bounce_rate > props.r.thresholds.bounce_rate_max;
  return (
    <div class="report-kpis">
      <div class="stat-card">
        <div>
          <span class="stat-label">Contacts</span>
          <span class="stat-value">{formatNumber(t().contacts)}</span>
          <span class="stat-note">
            {formatNumber(t().unsubscribed)} unsubscribed
            {/* With a range the contacts are those the range's emails and tasks went to, by their status now. */}
            {props.r.filters.from !== null || props.r.filters.to !== null ? " · with emails or tasks in the range" : ""}
          </span>
        </div>
      </div>
      <div class="stat-card">
        <div>
          <span class="stat-label">Emails sent</span>
          <span class="stat-value" data-testid="report-sent">
            {formatNumber(t().sent)}
          </span>
          <span class="stat-note">{formatNumber(t().tasks_done)} tasks done</span>
          {/* The Outbox filtered to this sequence, to what this card counts (every email that went out, bounced ones
              included) and to the report's mailbox. The Outbox has no day range or added-by filter: under either the
              link says it lists all of the sequence's emails, not the card's. */}
          <A href={outboxHref(props.sequenceId, props.r.filters.mailbox_id)} class="stat-note" data-testid="sequence-outbox-link">
            {outboxLinkText(props.r.filters)}
          </A>
        </div>
      </div>
      <div class="stat-card">
        <div>
          <span class="stat-label">Reply rate</span>
          <span class="stat-value" data-testid="report-reply-rate">
            {rateText(t().reply_rate, t().sent - t().bounced)}
          </span>
          <span class="stat-note">
            {formatNumber(t().replied)} replies · {formatNumber(t().positive_replies)} positive · {formatNumber(t().out_of_office)} out of
            office
            {/* Replies count on the day the email they answer went out, whenever they came (so the rate is over the same emails). */}
            {props.r.filters.from !== null || props.r.filters.to !== null ? ", to emails sent in the range" : ""}
          </span>
          {/* The inbox filtered to this sequence and the report's mailbox: each reply with what decided it, to read or
              correct. The inbox lists by when replies came, not by when the email they answer went out (the card's
              range): under a range or added-by filter the link says it lists all of them. */}
          <A href={repliesHref(props.sequenceId, props.r.filters.mailbox_id)} class="stat-note" data-testid="sequence-replies-link">
            {repliesLinkText(props.r.filters)}
          </A>
        </div>
      </div>
      <div class="stat-card">
        <div>
          <span class="stat-label">Meetings</span>
          <span class="stat-value" data-testid="report-meetings">
            {formatNumber(t().meetings)}
          </span>
          <span class="stat-note">
            {props.r.filters.from !== null || props.r.filters.to !== null ? "booked in the range" : "booked, all time"}
          </span>
        </div>
      </div>
      <div class="stat-card" classList={{ "kpi-danger": bounceOver() }}>
        <div>
          <span class="stat-label">Bounce rate</span>
          <span class="stat-value" data-testid="report-bounce-rate">
            {rateText(t().bounce_rate, t().sent, props.r.thresholds.bounce_rate_max)}
          </span>
          <span class="stat-note" data-testid="report-bounce-note">
            {/* Nothing sent is neither under nor over the limit. */}
            {formatNumber(t().bounced)} bounced ·{" "}
            {!t().sent
              ? `keep it under ${pct(props.r.thresholds.bounce_rate_max, 0)}`
              : bounceOver()
                ? `over the ${pct(props.r.thresholds.bounce_rate_max, 0)} limit`
                : t().bounce_rate === props.r.thresholds.bounce_rate_max
                  ? `at the ${pct(props.r.thresholds.bounce_rate_max, 0)} limit`
                  : `under the ${pct(props.r.thresholds.bounce_rate_max, 0)} limit`}
          </span>
        </div>
      </div>
    </div>
  );
}

function AbTests(props: { r: SequenceReport; sequenceId: string; canEdit: boolean }) {
  const auto = useWrite(setAutoWinnerAction, {
    done: (res, _, next) =>
      next
        ? res?.switched_steps.length
          ? "Automatic winner on: a significant test was decided now"
          : "Automatic winner on: the winner takes over once a test passes p < 0.001"
        : "Automatic winner off",
    failed: (_, next) => `Couldn't turn the automatic winner ${next ? "on" : "off"}`,
  });
  const winner = useWrite(chooseWinnerAction, { failed: () => "Couldn't choose the winner" });
  const busy = auto.pending;
  const toggleAuto = (next: boolean) => auto.run(props.sequenceId, next);
  const pick = async (stepId: string, variantId: string, label: string) => {
    if (!confirm(`Send only variant ${label} from now on? The other variants of this step are turned off.`)) return;
    if (await winner.run(props.sequenceId, stepId, variantId)) notify(`Variant ${label} is the winner: new emails use it`);
  };
  return (
    <section class="card report-section" aria-labelledby="ab-title" data-testid="ab-tests">
      <div class="report-section-head">
        <h2 id="ab-title" class="card-title">
          A/B tests
        </h2>
        <Toggle
          checked={props.r.auto_winner}
          onChange={(v) => void toggleAuto(v)}
          label="Pick the winner automatically once clearly significant (p < 0.001)"
          showLabel
          disabled={!props.canEdit}
          busy={busy()}
          size="sm"
        />
      </div>
      <p class="muted small">
        Reply rate of each variant with its 95% confidence interval (Wilson). Two variants differ significantly when the test's p-value is
        under 0.05 (Fisher's exact test while replies are few, else the two-proportion z-test) and the leading variant has at least 10
        replies. The automatic winner checks every minute, so it waits for p &lt; 0.001: checking often at 0.05 would crown noise.
      </p>
      <For each={props.r.ab_tests}>
        {(t) => (
          <div class="ab-test">
            <h3 class="ab-step">Step {t.position}</h3>
            <FigureTable
              caption={`A/B test of step ${t.position}`}
              nameLabel="Variant"
              rows={t.variants}
              name={(v) => (
                <>
                  {v.label}
                  <Show when={t.winner_id === v.id}>
                    {" "}
                    <span class="badge badge-success">Winner</span>
                  </Show>
                  <Show when={!v.enabled && t.winner_id !== v.id}>
                    {" "}
                    <span class="badge">Off</span>
                  </Show>
                </>
              )}
              columns={[
                { label: "Delivered", value: (v) => formatNumber(v.sent) },
                { label: "Replies", value: (v) => formatNumber(v.replies) },
                { label: "Reply rate", value: (v) => rateText(v.reply_rate, v.sent) },
                {
                  label: "95% confidence interval",
                  text: true,
                  value: (v) => (
                    <>
                      <span class="ci" aria-hidden="true">
                        <span
                          class="ci-bar"
                          style={{ left: `${v.ci_low * 100 * 2.5}%`, width: `${Math.max(0.5, (v.ci_high - v.ci_low) * 100 * 2.5)}%` }}
                        />
                        <span class="ci-dot" style={{ left: `${Math.min(100, v.reply_rate * 100 * 2.5)}%` }} />
                      </span>
                      <span class="small">
                        {pct(v.ci_low)} – {pct(v.ci_high)}
                      </span>
                    </>
                  ),
                },
                {
                  label: "Actions",
                  srOnly: true,
                  text: true,
                  value: (v) => (
                    <Show when={props.canEdit && v.enabled && t.variants.filter((x) => x.enabled).length > 1}>
                      <button type="button" class="btn btn-ghost btn-sm" onClick={() => void pick(t.step_id, v.id, v.label)}>
                        Make winner
                      </button>
                    </Show>
                  ),
                },
              ]}
            />
            <p class="ab-verdict" classList={{ "ab-significant": t.significant }} data-testid="ab-verdict">
              <Icon name={t.significant ? "check" : "info"} size={15} /> {t.verdict}
              <Show when={t.p_value !== null && !t.significant}>
                {" "}
                <span class="muted">({t.p_value! < 0.001 ? "p < 0.001" : `p = ${t.p_value!.toFixed(3)}`})</span>
              </Show>
              <Show when={props.r.auto_winner && t.significant && !t.auto_pick && !t.winner_id}>
                {" "}
                <span class="muted">The automatic winner waits for p &lt; 0.001.</span>
              </Show>
            </p>
          </div>
        )}
      </For>
    </section>
  );
}

export function ReportTab(props: { sequenceId: string; canEdit: boolean }) {
  const [params, setParams] = useSearchParams();
  const q = (): ReportQuery => ({
    from: params.from as string | undefined,
    to: params.to as string | undefined,
    added_by: params.added_by as string | undefined,
    mailbox_id: params.mailbox_id as string | undefined,
  });
  const report = createAsync(() => getSequenceReport(props.sequenceId, q()));
  const setQ = (n: ReportQuery) => setParams({ from: n.from, to: n.to, added_by: n.added_by, mailbox_id: n.mailbox_id }, { replace: true });

  return (
    <div class="report">
      <div class="report-toolbar">
        <Filters q={q()} onChange={setQ} />
        <div class="report-exports">
          <span class="muted small">Export CSV:</span>
          <For
            each={
              [
                ["steps", "Steps"],
                ["mailboxes", "Mailboxes"],
                ["daily", "Daily"],
                ["statuses", "Statuses"],
                ["ab_tests", "A/B tests"],
              ] as const
            }
          >
            {([part, label]) => (
              <a class="btn btn-ghost btn-sm" href={reportExportUrl(props.sequenceId, part, q())} download="">
                {label}
              </a>
            )}
          </For>
          <a class="btn btn-secondary btn-sm" href={contactsExportUrl(props.sequenceId)} download="">
            <Icon name="download" size={14} /> Contacts
          </a>
        </div>
      </div>
      <Suspense fallback={<TableSkeleton columns={4} rows={4} label="Loading the report…" />}>
        <Show when={report()}>{(r) => <ReportBody r={r()} sequenceId={props.sequenceId} canEdit={props.canEdit} />}</Show>
      </Suspense>
    </div>
  );
}

function ReportBody(props: { r: SequenceReport; sequenceId: string; canEdit: boolean }) {
  const r = () => props.r;
  const x = createMemo(() => r().daily.map((d) => daySec(d.day)));
  const days = () => r().daily.map((d) => d.day);
  // A day with nothing delivered (or nothing sent) has no rate: null, which uPlot leaves as a gap, not 0%.
  const rates = createMemo(() =>
    r().daily.map((d) => ({
      reply: d.sent - d.bounced > 0 ? d.replied / (d.sent - d.bounced) : null,
      bounce: d.sent ? d.bounced / d.sent : null,
    })),
  );
  const th = () => r().thresholds;
  const statuses = () => r().statuses.filter((s) => s.contacts > 0 || ["active", "finished", "paused"].includes(s.status));
  // "Won't be sent" overlaps the statuses, as the Contacts tab's chips do: its bars don't add up to the contacts.
  const wontSend = () => r().statuses.find((s) => s.status === "wont_send")?.contacts ?? 0;
  const stepNames = () => r().steps.map((s) => (s.deleted ? "Deleted steps" : `${s.position}. ${stepMeta(s.type ?? "").label}`));
  // The funnel is of the steps there are: deleted ones have no place in it (their row is in the table).
  const funnel = () => r().steps.filter((s) => !s.deleted);
  return (
    <div class="report-body" data-testid="sequence-report">
      <Kpis r={r()} sequenceId={props.sequenceId} />
      <div class="notice notice-muted report-note">
        <Icon name="info" size={16} />
        <p>
          {th().note} {r().tracking.note}
        </p>
      </div>
      <Show
        when={r().daily.some((d) => d.sent > 0)}
        fallback={<p class="muted">No emails sent {r().filters.from || r().filters.to ? "in this period" : "yet"}.</p>}
      >
        <div class="report-grid">
          <section class="card report-section">
            <Chart
              testId="chart-daily"
              title="Emails per day"
              summary={`${formatNumber(r().totals.sent)} emails over ${r().daily.length} days, ${formatNumber(r().totals.replied)} replies, ${formatNumber(r().totals.bounced)} bounces.`}
              x={x()}
              series={[
                { label: "Sent", color: "#4f46e5", values: r().daily.map((d) => d.sent) },
                { label: "Replies", color: "#067647", values: r().daily.map((d) => d.replied) },
                { label: "Bounces", color: "#d92d20", values: r().daily.map((d) => d.bounced) },
              ]}
              table={[
                { label: "Day", values: days() },
                { label: "Sent", values: r().daily.map((d) => d.sent) },
                { label: "Replies", values: r().daily.map((d) => d.replied) },
                { label: "Out of office", values: r().daily.map((d) => d.out_of_office) },
                { label: "Bounces", values: r().daily.map((d) => d.bounced) },
              ]}
            />
          </section>
          <section class="card report-section">
            <Chart
              testId="chart-rates"
              title="Reply and bounce rate per day"
              percent
              summary={`Reply rate ${pct(r().totals.reply_rate)}, bounce rate ${pct(r().totals.bounce_rate)}. Stay under ${pct(th().bounce_rate_max, 0)} bounces and ${pct(th().spam_rate_max, 1)} spam complaints (aim for ${pct(th().spam_rate_target, 1)}).`}
              x={x()}
              series={[
                { label: "Reply rate", color: "#067647", values: rates().map((v) => v.reply) },
                { label: "Bounce rate", color: "#d92d20", values: rates().map((v) => v.bounce) },
                {
                  label: `Bounce limit ${pct(th().bounce_rate_max, 0)}`,
                  color: "#b54708",
                  dash: true,
                  values: x().map(() => th().bounce_rate_max),
                },
                {
                  label: `Spam complaint limit ${pct(th().spam_rate_max, 1)}`,
                  color: "#98a1b0",
                  dash: true,
                  values: x().map(() => th().spam_rate_max),
                },
              ]}
              table={[
                { label: "Day", values: days() },
                { label: "Reply rate", values: r().daily.map((d) => rateText(d.replied / (d.sent - d.bounced), d.sent - d.bounced)) },
                { label: "Bounce rate", values: r().daily.map((d) => rateText(d.bounced / d.sent, d.sent)) },
              ]}
            />
          </section>
        </div>
      </Show>
      <div class="report-grid">
        <BarsChart
          testId="chart-funnel"
          title="Funnel per step"
          summary={funnel()
            .map((s) => `Step ${s.position}: ${s.reached} reached, ${s.sent} sent, ${s.replied} replied`)
            .join("; ")}
          rows={funnel()}
          category={(s) => `Step ${s.position}`}
          tableLabel="Step"
          tableCategory={(_, i) => stepNames()[i]!}
          series={[
            { label: "Reached", color: "#c7d2fe", value: (s) => s.reached ?? 0 },
            { label: "Sent", color: "#4f46e5", value: (s) => s.sent },
            { label: "Replied", color: "#067647", value: (s) => s.replied },
          ]}
        />
        <BarsChart
          testId="chart-status"
          title="Contacts by status"
          summary={
            statuses()
              .map((s) => `${statusLabel(s.status)}: ${s.contacts}`)
              .join(", ") + (wontSend() ? `. ${capitalize(wontSendOverlap(formatNumber(wontSend())))}.` : "")
          }
          rows={statuses()}
          category={(s) => statusLabel(s.status)}
          tableLabel="Status"
          series={[{ label: "Contacts", color: "#4f46e5", value: (s) => s.contacts }]}
        />
      </div>
      <StatsTable
        title="Steps"
        id="report-steps"
        nameLabel="Step"
        rows={r().steps}
        name={(s, i) => (
          <>
            {stepNames()[i]}
            <Show when={!s.enabled && !s.deleted}>
              {" "}
              <span class="badge">Off</span>
            </Show>
          </>
        )}
        columns={[
          { label: "Reached", value: (s) => (s.reached === null ? "—" : formatNumber(s.reached)) },
          { label: "Sent", value: (s) => formatNumber(s.sent) },
          { label: "Replied", value: (s) => formatNumber(s.replied) },
          { label: "Reply rate", value: (s) => rateText(s.reply_rate, s.sent - s.bounced) },
          { label: "Bounced", value: (s) => formatNumber(s.bounced) },
          {
            label: "Bounce rate",
            value: (s) => rateText(s.bounce_rate, s.sent, th().bounce_rate_max),
            over: (s) => s.bounce_rate > th().bounce_rate_max,
          },
          { label: "Unsubscribed", value: (s) => formatNumber(s.unsubscribed) },
          { label: "Tasks done", value: (s) => formatNumber(s.tasks_done) },
        ]}
      />
      <Show when={r().mailboxes.length > 0}>
        <StatsTable
          title="Mailboxes"
          id="report-mailboxes"
          nameLabel="Mailbox"
          rows={r().mailboxes}
          name={(m) => m.email}
          columns={[
            { label: "Sent", value: (m) => formatNumber(m.sent) },
            { label: "Replies", value: (m) => formatNumber(m.replied) },
            { label: "Reply rate", value: (m) => rateText(m.reply_rate, m.sent - m.bounced) },
            { label: "Bounced", value: (m) => formatNumber(m.bounced) },
            {
              label: "Bounce rate",
              value: (m) => rateText(m.bounce_rate, m.sent, th().bounce_rate_max),
              over: (m) => m.bounce_rate > th().bounce_rate_max,
            },
          ]}
        />
      </Show>
      <Show when={r().ab_tests.length > 0}>
        <AbTests r={r()} sequenceId={props.sequenceId} canEdit={props.canEdit} />
      </Show>
    </div>
  );
}
