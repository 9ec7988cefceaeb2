import { api, data } from "./api";

/** Reads and writes of the reports (worker/routes/reports.ts) through the one typed client. */

export type ReportQuery = { from?: string; to?: string; added_by?: string; mailbox_id?: string };
const clean = (q: ReportQuery) => Object.fromEntries(Object.entries(q).filter(([, v]) => v)) as ReportQuery;

export async function fetchSequenceReport(id: string, q: ReportQuery) {
  return (await data(api.sequences[":id"].report.$get({ param: { id }, query: clean(q) }))).report;
}
export type SequenceReport = Awaited<ReturnType<typeof fetchSequenceReport>>;

export async function setAutoWinner(id: string, enabled: boolean) {
  return data(api.sequences[":id"]["ab-tests"]["auto-winner"].$put({ param: { id }, json: { enabled } }));
}

export async function chooseWinner(id: string, stepId: string, variantId: string) {
  return (
    await data(
      api.sequences[":id"]["ab-tests"][":step_id"].winner.$post({ param: { id, step_id: stepId }, json: { variant_id: variantId } }),
    )
  ).ab_test;
}

export async function fetchTeamReport(q: { from?: string; to?: string }) {
  return (await data(api.reports.team.$get({ query: clean(q) }))).report;
}

export type TeamReportData = Awaited<ReturnType<typeof fetchTeamReport>>;

export async function fetchHome() {
  // The browser's IANA zone, as the Tasks page sends it: the same "today" on both, right across DST.
  return (await data(api.reports.home.$get({ query: { time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone } }))).home;
}

/** Export links: plain downloads (same-origin cookie), so the browser streams the file. */
export const reportExportUrl = (id: string, part: string, q: ReportQuery) =>
  `/api/sequences/${encodeURIComponent(id)}/report/export?${new URLSearchParams({ ...clean(q), part })}`;
export const contactsExportUrl = (id: string) => `/api/sequences/${encodeURIComponent(id)}/contacts/export`;
export const teamExportUrl = (by: "users" | "sequences", q: { from?: string; to?: string }) =>
  `/api/reports/team/export?${new URLSearchParams({ ...clean(q), by })}`;

export const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
/**
 * A rate over `of` (what it was drawn from): "—" when there was nothing to draw it from, never a made-up 0%.
 * Every rate has one decimal, as pct's default that Home's bounce alert shows: no screen's own precision
 * (the reports' bounce rates said 2.69% where Home said 2.7%).
 */
export const rateText = (x: number, of: number, limit?: number) =>
  of > 0 ? pct(x, limit === undefined ? 1 : digitsBeside(x, limit)) : "—";

/**
 * Enough decimals that a rate beside its limit reads on its own side of it: 2.04% against a 2% limit is red
 * ("over the 2% limit") and would read "2.0%" at one decimal, 1.96% is not and would read the same.
 */
function digitsBeside(x: number, limit: number) {
  let digits = 1;
  while (digits < 4 && x !== limit && pct(x, digits) === pct(limit, digits)) digits++;
  return digits;
}
