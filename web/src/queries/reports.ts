import { action, query } from "@solidjs/router";
import { chooseWinner, fetchHome, fetchSequenceReport, fetchTeamReport, setAutoWinner, type ReportQuery } from "../reports";

export const getSequenceReport = query((id: string, q: ReportQuery) => fetchSequenceReport(id, q), "sequenceReport");
export const getTeamReport = query((q: { from?: string; to?: string }) => fetchTeamReport(q), "teamReport");
/** The home page's day: what is due, what went out, what needs a look. */
export const getHome = query(() => fetchHome(), "home");

// A/B tests (the report's section): the winner picked automatically once significant, or by hand.
export const setAutoWinnerAction = action(setAutoWinner, "setAutoWinner");
export const chooseWinnerAction = action(chooseWinner, "chooseWinner");
