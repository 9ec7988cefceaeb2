import { createAsync, useSearchParams } from "@solidjs/router";
import { Show, Suspense } from "solid-js";
import { BarsChart, DateRange, StatsTable, type StatColumn } from "../components/Report";
import { TableSkeleton } from "../components/Status";
import { formatNumber } from "../format";
import { rateText, teamExportUrl, type TeamReportData } from "../reports";
import { getTeamReport } from "../queries/reports";
import { usePageTitle } from "../title";

const DAY_MS = 86_400_000;

/** The team report: per user and per sequence, what was added, sent, replied, booked and bounced over a date range. */
export default function TeamReport() {
  usePageTitle("Team report");
  const [params, setParams] = useSearchParams();
  const q = () => ({ from: (params.from as string | undefined) || undefined, to: (params.to as string | undefined) || undefined });
  const report = createAsync(() => getTeamReport(q()));
  // The boxes show the days the figures cover: without a range in the URL, the server's default
  // (the last 30 days, its `from` and its exclusive `to`), not two empty boxes.
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const shown = () => {
    const r = report();
    return { from: q().from ?? (r ? day(r.from) : undefined), to: q().to ?? (r ? day(r.to - DAY_MS) : undefined) };
  };
  return (
    <div class="page report">
      <header class="page-header">
        <h1 class="page-title">Team report</h1>
      </header>
      <div class="report-toolbar">
        <form class="report-filters" aria-label="Date range" onSubmit={(e) => e.preventDefault()}>
          <DateRange from={shown().from} to={shown().to} onChange={(r) => setParams({ from: r.from, to: r.to }, { replace: true })} />
          <span class="muted small">{q().from || q().to ? "" : "The last 30 days"}</span>
        </form>
        <div class="report-exports">
          <span class="muted small">Export CSV:</span>
          <a class="btn btn-ghost btn-sm" href={teamExportUrl("users", q())} download="">
            Per user
          </a>
          <a class="btn btn-ghost btn-sm" href={teamExportUrl("sequences", q())} download="">
            Per sequence
          </a>
        </div>
      </div>
      <Suspense fallback={<TableSkeleton columns={6} rows={4} label="Loading the team report…" />}>
        <Show when={report()}>{(r) => <TeamBody r={r()} />}</Show>
      </Suspense>
    </div>
  );
}

type Row = TeamReportData["users"][number] | TeamReportData["sequences"][number];

/** The figures of a user or a sequence over the range; a bounce rate over the limit is red. */
const columns = (max: number): StatColumn<Row>[] => [
  { label: "Added", value: (r) => formatNumber(r.added) },
  { label: "Sent", value: (r) => formatNumber(r.sent) },
  { label: "Replies", value: (r) => formatNumber(r.replies) },
  { label: "Reply rate", value: (r) => rateText(r.reply_rate, r.sent - r.bounced) },
  { label: "Positive replies", value: (r) => formatNumber(r.positive_replies) },
  { label: "Meetings", value: (r) => formatNumber(r.meetings) },
  { label: "Unsubscribed", value: (r) => formatNumber(r.unsubscribed) },
  { label: "Bounced", value: (r) => formatNumber(r.bounced) },
  { label: "Bounce rate", value: (r) => rateText(r.bounce_rate, r.sent, max), over: (r) => r.bounce_rate > max },
];

function TeamBody(props: { r: TeamReportData }) {
  const users = () => props.r.users;
  return (
    <div class="report-body">
      <Show when={!props.r.all_sequences}>
        <p class="muted small" data-testid="team-scope-note">
          Only the sequences you own or that are shared with you count here, and meetings booked outside any sequence: an admin sees the
          whole team's.
        </p>
      </Show>
      <BarsChart
        testId="chart-team"
        title="Emails and replies per user"
        summary={users()
          .map((u) => `${u.name}: ${u.sent} sent, ${u.replies} replies, ${u.meetings} meetings`)
          .join("; ")}
        rows={users()}
        category={(u) => u.name}
        tableLabel="User"
        series={[
          { label: "Sent", color: "#c7d2fe", value: (u) => u.sent },
          { label: "Replies", color: "#4f46e5", value: (u) => u.replies },
          { label: "Meetings", color: "#067647", value: (u) => u.meetings },
        ]}
      />
      <StatsTable
        title="Per user"
        id="team-users"
        nameLabel="Name"
        name={(u) => u.name}
        rows={users()}
        columns={columns(props.r.thresholds.bounce_rate_max)}
      />
      <StatsTable
        title="Per sequence"
        id="team-sequences"
        nameLabel="Name"
        name={(s) => s.name}
        rows={props.r.sequences}
        columns={columns(props.r.thresholds.bounce_rate_max)}
      />
      <p class="muted small" data-testid="team-report-notes">
        Emails count for the owner of the mailbox that sent them; added contacts for the user who added them. Replies and positive replies
        count on the day the email they answer was sent, whenever the reply came. Positive replies: contacts who replied to an email sent in
        the range and are now in a succeeded stage (such as Interested). Meetings: meetings booked in the range. A user's are the meetings
        they booked, in a sequence or outside any (one the scheduling tool booked counts for the owner of the mailbox that emailed the
        contact); a sequence's are those its runs led to: the run the booking ended, or the last email sent to the contact before it.
        Unsubscribed: emails the person opted out from, by its link or a reply.
      </p>
    </div>
  );
}
