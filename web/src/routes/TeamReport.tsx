import { createAsync, useSearchParams } from "@solidjs/router";
import { For, Show, Suspense } from "solid-js";
import { Chart } from "../components/Chart";
import { TableSkeleton } from "../components/Status";
import { formatNumber } from "../format";
import { pct, teamExportUrl, type TeamReportData } from "../reports";
import { getTeamReport } from "../queries/reports";
import "./sequence/ReportTab.css";

/** The team report: per user and per sequence, what was added, sent, replied, booked and bounced over a date range. */
export default function TeamReport() {
  const [params, setParams] = useSearchParams();
  const q = () => ({ from: (params.from as string | undefined) || undefined, to: (params.to as string | undefined) || undefined });
  const report = createAsync(() => getTeamReport(q()));
  return (
    <div class="page report">
      <header class="page-header">
        <h1 class="page-title">Team report</h1>
      </header>
      <div class="report-toolbar">
        <form class="report-filters" aria-label="Date range" onSubmit={(e) => e.preventDefault()}>
          <label>
            <span>From</span>
            <input
              type="date"
              class="input-sm"
              value={q().from ?? ""}
              onChange={(e) => setParams({ from: e.currentTarget.value || undefined }, { replace: true })}
            />
          </label>
          <label>
            <span>To</span>
            <input
              type="date"
              class="input-sm"
              value={q().to ?? ""}
              onChange={(e) => setParams({ to: e.currentTarget.value || undefined }, { replace: true })}
            />
          </label>
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

function Table(props: { title: string; id: string; rows: { name: string; row: Row }[]; max: number }) {
  return (
    <section class="card card-flush" aria-labelledby={`${props.id}-title`}>
      <div class="card-header">
        <h2 id={`${props.id}-title`} class="card-title">
          {props.title}
        </h2>
      </div>
      <div class="table-wrap">
        <table class="table" data-testid={props.id}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" class="num">
                Added
              </th>
              <th scope="col" class="num">
                Sent
              </th>
              <th scope="col" class="num">
                Replies
              </th>
              <th scope="col" class="num">
                Reply rate
              </th>
              <th scope="col" class="num">
                Meetings
              </th>
              <th scope="col" class="num">
                Bounced
              </th>
              <th scope="col" class="num">
                Bounce rate
              </th>
            </tr>
          </thead>
          <tbody>
            <For each={props.rows}>
              {(x) => (
                <tr>
                  <th scope="row">{x.name}</th>
                  <td class="num">{formatNumber(x.row.added)}</td>
                  <td class="num">{formatNumber(x.row.sent)}</td>
                  <td class="num">{formatNumber(x.row.replies)}</td>
                  <td class="num">{x.row.sent ? pct(x.row.reply_rate) : "—"}</td>
                  <td class="num">{formatNumber(x.row.meetings)}</td>
                  <td class="num">{formatNumber(x.row.bounced)}</td>
                  <td class="num" classList={{ "text-danger": x.row.bounce_rate > props.max }}>
                    {x.row.sent ? pct(x.row.bounce_rate, 2) : "—"}
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </section>
  );
}

function TeamBody(props: { r: TeamReportData }) {
  const users = () => props.r.users;
  return (
    <div class="report-body">
      <section class="card report-section">
        <Chart
          testId="chart-team"
          title="Emails and replies per user"
          summary={users()
            .map((u) => `${u.name}: ${u.sent} sent, ${u.replies} replies, ${u.meetings} meetings`)
            .join("; ")}
          x={users().map((_, i) => i)}
          categories={users().map((u) => u.name)}
          series={[
            { label: "Sent", color: "#c7d2fe", bars: true, values: users().map((u) => u.sent) },
            { label: "Replies", color: "#4f46e5", bars: true, values: users().map((u) => u.replies) },
            { label: "Meetings", color: "#067647", bars: true, values: users().map((u) => u.meetings) },
          ]}
          table={[
            { label: "User", values: users().map((u) => u.name) },
            { label: "Sent", values: users().map((u) => u.sent) },
            { label: "Replies", values: users().map((u) => u.replies) },
            { label: "Meetings", values: users().map((u) => u.meetings) },
          ]}
        />
      </section>
      <Table
        title="Per user"
        id="team-users"
        max={props.r.thresholds.bounce_rate_max}
        rows={users().map((u) => ({ name: u.name, row: u }))}
      />
      <Table
        title="Per sequence"
        id="team-sequences"
        max={props.r.thresholds.bounce_rate_max}
        rows={props.r.sequences.map((s) => ({ name: s.name, row: s }))}
      />
      <p class="muted small">
        Emails count for the owner of the mailbox that sent them; added contacts for the user who added them. Meetings: contacts who replied
        and are now in a succeeded stage (such as Interested).
      </p>
    </div>
  );
}
