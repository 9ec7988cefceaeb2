// The daily series of a sequence report (and its CSV) has every day of the range, zeros on the quiet ones:
// a chart that skips them draws a busy week where there was a gap.
import { describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { DAILY_MAX_DAYS } from "../../worker/services/reports/sequence";
import { client } from "../helpers";
import { DAY, reportOf, world } from "./report-world";

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

describe("the daily series of a sequence report", () => {
  it("has every day of the range in the daily series and its CSV, zeros on days without emails", async () => {
    const june1 = Date.UTC(2026, 5, 1, 10);
    const w = await world([june1, june1, june1 + 3 * DAY]);
    const r = await reportOf(w.s, w.sequenceId, { from: "2026-06-01", to: "2026-06-05" });
    expect(r.daily.map((d) => [d.day, d.sent])).toEqual([
      ["2026-06-01", 2],
      ["2026-06-02", 0],
      ["2026-06-03", 0],
      ["2026-06-04", 1],
      ["2026-06-05", 0],
    ]);
    const csv = await (
      await client(w.s).api.sequences[":id"].report.export.$get({
        param: { id: w.sequenceId },
        query: { part: "daily", from: "2026-06-01", to: "2026-06-05" },
      })
    ).text();
    expect(csv.trim().split(/\r?\n/).slice(1)).toEqual([
      "2026-06-01,2,0,0,0",
      "2026-06-02,0,0,0,0",
      "2026-06-03,0,0,0,0",
      "2026-06-04,1,0,0,0",
      "2026-06-05,0,0,0,0",
    ]);

    // Without a range: from the first email's day to today, one row a day.
    const all = (await reportOf(w.s, w.sequenceId)).daily.map((d) => d.day);
    expect(all[0]).toBe("2026-06-01");
    expect(all.at(-1)).toBe(isoDay(now()));
    expect(all).toHaveLength(Math.floor(now() / DAY) - Math.floor(june1 / DAY) + 1);
    expect(all.every((d, i) => i === 0 || Date.parse(d) - Date.parse(all[i - 1]!) === DAY)).toBe(true);

    // A range that runs past today stops at today.
    const future = (await reportOf(w.s, w.sequenceId, { from: isoDay(now() - DAY), to: isoDay(now() + 5 * DAY) })).daily.map((d) => d.day);
    expect(future).toEqual([isoDay(now() - DAY), isoDay(now())]);
  });

  it("fills at most DAILY_MAX_DAYS days; an older email's day is still listed", async () => {
    const old = Date.UTC(2020, 0, 1, 10);
    const w = await world([old, Date.UTC(2026, 5, 1, 10)]);
    const days = (await reportOf(w.s, w.sequenceId)).daily;
    expect(days[0]).toMatchObject({ day: "2020-01-01", sent: 1 });
    expect(days).toHaveLength(DAILY_MAX_DAYS + 1);
    expect(days[1]!.day).toBe(isoDay(now() - (DAILY_MAX_DAYS - 1) * DAY));
    expect(days.reduce((n, d) => n + d.sent, 0)).toBe(2);
  });
});
