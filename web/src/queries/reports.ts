import { query } from "@solidjs/router";
import { fetchHome, fetchSequenceReport, fetchTeamReport, type ReportQuery } from "../reports";

export const getSequenceReport = query((id: string, q: ReportQuery) => fetchSequenceReport(id, q), "sequenceReport");
export const getTeamReport = query((q: { from?: string; to?: string }) => fetchTeamReport(q), "teamReport");
/** The home page's day: what is due, what went out, what needs a look. */
export const getHome = query(() => fetchHome(), "home");
