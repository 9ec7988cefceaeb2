import { A, createAsync, useIsRouting, useSearchParams } from "@solidjs/router";
import { createMemo, For, Show, Suspense } from "solid-js";
import type { CreditsReport } from "../api";
import { getCredits, getLedger } from "../queries/credits";
import { Badge, type Tone } from "../components/Badge";
import { StackedBarChart, type Series } from "../components/BarChart";
import { EmptyState } from "../components/EmptyState";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { DataTable } from "../components/DataTable";
import { TableSkeleton } from "../components/Status";
import { formatDateTime, formatFull, formatNumber, formatRelative } from "../format";
import { usePageTitle } from "../title";
import { Segmented } from "../components/Segmented";

import "./Credits.css";
import { Card } from "../components/Card";
const RANGES = [7, 30, 90] as const;

/** Where credits went, by the add-contacts job's source. Unknown sources get the grey. */
const SOURCES: Series[] = [
  { key: "search", label: "Prospect search", color: "#4f46e5" },
  { key: "people", label: "People picked", color: "#0ba5ec" },
  { key: "lists", label: "Lists", color: "#12b76a" },
  { key: "contacts", label: "Contacts", color: "#f79009" },
  { key: "csv", label: "CSV import", color: "#ee46bc" },
  { key: "workflow", label: "Workflows", color: "#7a5af8" },
  { key: "save_to_list", label: "Saved to lists", color: "#15b79e" },
  { key: "api", label: "API", color: "#2e90fa" },
  { key: "retry", label: "Retries of a job", color: "#f04438" },
];
const OTHER = { label: "Other", color: "#98a1b0" };

const KIND: Record<string, { label: string; tone: Tone; hint: string }> = {
  grant: { label: "Grant", tone: "success", hint: "Credits added to the team (plan, purchase)" },
  hold: { label: "Hold", tone: "info", hint: "Reserved up front for a job's maximum spend" },
  charge: { label: "Charge", tone: "accent", hint: "Spent" },
  refund: { label: "Refund", tone: "success", hint: "What a job held and didn't use, returned" },
  adjust: { label: "Adjustment", tone: "neutral", hint: "A manual correction" },
  settled: { label: "Settled", tone: "neutral", hint: "The job's hold was settled with nothing to return or charge" },
};

/**
 * A job's settlement that moved no credits (it used exactly what it held, or overspent with the
 * balance at zero) is written as a refund or charge of 0, so the job counts as settled: it reads
 * "Settled", not "Refund 0".
 */
const kindOf = (e: { kind: string; amount: number }) =>
  e.amount === 0 && (e.kind === "refund" || e.kind === "charge") ? "settled" : e.kind;

const PROVIDERS: Record<string, string> = { pattern_finder: "Pattern finder", deep_lookup: "Deep lookup" };

/** The last `days` UTC days, oldest first: the API groups usage by UTC day. */
function lastDays(days: number) {
  const out: string[] = [];
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  for (let i = days - 1; i >= 0; i--) out.push(new Date(today - i * 86_400_000).toISOString().slice(0, 10));
  return out;
}

function Usage(props: { report: CreditsReport; days: number }) {
  const series = createMemo(() => {
    const seen = new Set(props.report.usage.map((u) => u.source));
    const known = SOURCES.filter((s) => seen.has(s.key));
    const others = [...seen].filter((k) => !SOURCES.some((s) => s.key === k));
    return [...known, ...others.map((k) => ({ key: k, label: k === "other" ? OTHER.label : k.replace(/_/g, " "), color: OTHER.color }))];
  });
  const values = createMemo(() => {
    const v: Record<string, Record<string, number>> = {};
    for (const u of props.report.usage) (v[u.day] ??= {})[u.source] = (v[u.day]?.[u.source] ?? 0) + u.credits;
    return v;
  });
  return (
    <Show
      when={props.report.usage.length > 0}
      fallback={
        <EmptyState icon="chart" title={`No credits used in the last ${props.days} days`}>
          Credits are spent when net-new contacts with a verified email are added to a sequence, and when enrichment finds a missing email.
        </EmptyState>
      }
    >
      <StackedBarChart
        days={lastDays(props.days)}
        series={series()}
        values={values()}
        unit="credits"
        label={`Credits used per day over the last ${props.days} days, by source: ${formatNumber(props.report.usage.reduce((a, u) => a + u.credits, 0))} in total`}
        tableCaption={`Credits used per day, last ${props.days} days`}
      />
    </Show>
  );
}

function Waterfall(props: { report: CreditsReport }) {
  return (
    <div class="table-wrap table-wrap-free">
      <table class="table" data-testid="waterfall-table">
        <caption class="sr-only">Enrichment waterfall: providers in the order they are asked</caption>
        <thead>
          <tr>
            <th scope="col" class="num">
              #
            </th>
            <th scope="col">Provider</th>
            <th scope="col" class="num">
              Cost per email found
            </th>
            <th scope="col" class="num">
              Lookups
            </th>
            <th scope="col" class="num">
              Found
            </th>
            <th scope="col">Hit rate</th>
            <th scope="col" class="num">
              Credits
            </th>
          </tr>
        </thead>
        <tbody>
          <For each={[...props.report.waterfall].sort((a, b) => a.position - b.position)}>
            {(p) => {
              const rate = () => (p.attempts ? p.successes / p.attempts : null);
              return (
                <tr>
                  <td class="num tabular muted">{p.position}</td>
                  <td class="cell-strong">{PROVIDERS[p.provider] ?? p.provider}</td>
                  <td class="num tabular">{formatNumber(p.cost)}</td>
                  <td class="num tabular">{formatNumber(p.attempts)}</td>
                  <td class="num tabular">{formatNumber(p.successes)}</td>
                  <td>
                    <Show when={rate() !== null} fallback={<span class="muted">—</span>}>
                      <span class="rate">
                        <span class="progress progress-sm" aria-hidden="true">
                          <span style={{ width: `${Math.round(rate()! * 100)}%` }} />
                        </span>
                        <span class="tabular">{Math.round(rate()! * 100)}%</span>
                      </span>
                    </Show>
                  </td>
                  <td class="num tabular">{formatNumber(p.credits)}</td>
                </tr>
              );
            }}
          </For>
        </tbody>
      </table>
    </div>
  );
}

function Ledger() {
  const [params] = useSearchParams();
  const routing = useIsRouting();
  const page = () => Math.max(1, Number(params.page) || 1);
  const ledger = createAsync(() => getLedger(page()));
  return (
    <DataTable
      caption="Credit ledger, newest first"
      testId="ledger-table"
      loading="Loading the ledger…"
      skeletonRows={6}
      flush
      wrapClass="table-wrap-free"
      columns={[
        { label: "When" },
        { label: "Kind" },
        { label: "Amount", class: "num" },
        { label: "Balance after", class: "num" },
        { label: "Note" },
      ]}
      rows={ledger()?.entries}
      pagination={ledger()?.pagination}
      busy={routing()}
      empty={<p class="muted small ledger-empty">No credits granted, held or spent yet.</p>}
    >
      {(e) => (
        <>
          <td class="cell-nowrap">
            <time datetime={new Date(e.created_at).toISOString()} title={formatFull(e.created_at)}>
              {formatDateTime(e.created_at)}
            </time>
            <div class="muted small">{formatRelative(e.created_at)}</div>
          </td>
          <td>
            <Badge tone={KIND[kindOf(e)]?.tone ?? "neutral"} title={KIND[kindOf(e)]?.hint}>
              {KIND[kindOf(e)]?.label ?? e.kind}
            </Badge>
          </td>
          <td class="num tabular amount" classList={{ "amount-plus": e.amount > 0, "amount-minus": e.amount < 0 }}>
            {e.amount > 0 ? "+" : e.amount < 0 ? "−" : ""}
            {formatNumber(Math.abs(e.amount))}
          </td>
          <td class="num tabular">{formatNumber(e.balance_after)}</td>
          <td>
            <div>{e.note || <span class="muted">—</span>}</div>
            <div class="muted small">
              {[e.source, e.provider && (PROVIDERS[e.provider] ?? e.provider)].filter(Boolean).join(" · ")}
              <Show when={e.job_visible && e.job_id}>
                {(id) => (
                  <>
                    {" · "}
                    <A href={`/jobs/${id()}`}>View job</A>
                  </>
                )}
              </Show>
            </div>
          </td>
        </>
      )}
    </DataTable>
  );
}

/** /credits: balance, holds, usage by day and source, the enrichment waterfall, and the ledger. */
export default function Credits() {
  usePageTitle("Credits");
  const [params, setParams] = useSearchParams();
  const days = () => (RANGES.includes(Number(params.days) as (typeof RANGES)[number]) ? Number(params.days) : 30);
  const report = createAsync(() => getCredits(days()));
  const used = () => report()?.usage.reduce((a, u) => a + u.credits, 0) ?? 0;
  const added = () => report()?.usage.reduce((a, u) => a + u.contacts, 0) ?? 0;

  return (
    <div class="page">
      <PageHeader
        title="Credits"
        description="Credits pay for net-new contacts with a verified email (one each, charged once) and for emails found by enrichment."
      />
      <Suspense fallback={<TableSkeleton columns={4} rows={2} label="Loading credits…" />}>
        <Show when={report()}>
          {(r) => (
            <>
              <div class="stat-row stat-row-3">
                <div class="stat-card">
                  <span class="stat-icon" aria-hidden="true">
                    <Icon name="credits" size={20} />
                  </span>
                  <div>
                    <span class="stat-label">Available balance</span>
                    <span class="stat-value" data-testid="credits-balance">
                      {formatNumber(r().balance)}
                    </span>
                    <span class="stat-note">ready to spend</span>
                    {/* Nothing in the app sells or grants credits: say who can add them, and how. */}
                    <span class="stat-note" data-testid="credits-top-up">
                      To add credits, whoever runs this Seqflare runs{" "}
                      <code>npm run credits:grant -- --email you@example.com --credits N</code>
                    </span>
                  </div>
                </div>
                <div class="stat-card">
                  <span class="stat-icon stat-icon-info" aria-hidden="true">
                    <Icon name="clock" size={20} />
                  </span>
                  <div>
                    <span class="stat-label">Held by running jobs</span>
                    <span class="stat-value" data-testid="credits-held">
                      {formatNumber(r().held)}
                    </span>
                    <span class="stat-note">{r().held ? "unused holds are returned when jobs finish" : "no job is holding credits"}</span>
                  </div>
                </div>
                <div class="stat-card">
                  <span class="stat-icon stat-icon-muted" aria-hidden="true">
                    <Icon name="chart" size={20} />
                  </span>
                  <div>
                    <span class="stat-label">Used, last {days()} days</span>
                    <span class="stat-value">{formatNumber(used())}</span>
                    <span class="stat-note">over {formatNumber(added())} contacts added</span>
                  </div>
                </div>
              </div>

              <Card
                title="Usage by day"
                subtitle="Credits charged per day (UTC), as the ledger shows them: a job counts on the day it settles, by where its contacts came from."
                titleId="usage-title"
                actions={
                  <Segmented
                    label="Period"
                    options={RANGES.map((n) => ({ value: n, label: `${n} days` }))}
                    value={days()}
                    onChange={(n) => setParams({ days: n === 30 ? undefined : String(n) }, { replace: true })}
                  />
                }
              >
                <div class="card-body">
                  <Usage report={r()} days={days()} />
                </div>
              </Card>

              <Card
                title="Enrichment waterfall"
                subtitle={
                  <>
                    Missing emails are looked up provider by provider, cheapest first, until one finds it. A provider is paid only when it
                    finds an email. Last {days()} days.
                  </>
                }
                titleId="waterfall-title"
                flush
              >
                <Waterfall report={r()} />
              </Card>
            </>
          )}
        </Show>
      </Suspense>

      <Card
        title="Ledger"
        subtitle="Every grant, hold, charge and refund, newest first. Holds cover a job's maximum spend; what it didn't use comes back as a refund."
        titleId="ledger-title"
        flush
      >
        <Ledger />
      </Card>
    </div>
  );
}
