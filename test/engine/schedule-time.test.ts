import { describe, expect, it } from "vitest";
import {
  addWait,
  calendarMemoSize,
  holidayCalendars,
  holidaysFor,
  isHolidayCalendar,
  inWindow,
  isHoliday,
  isValidTimeZone,
  nextWindowStart,
  validateWindows,
  windowEnd,
  type WindowSpec,
} from "../../worker/services/schedule-time";

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const WEEKDAYS_9_TO_5: WindowSpec["windows"] = {
  "1": [["09:00", "17:00"]],
  "2": [["09:00", "17:00"]],
  "3": [["09:00", "17:00"]],
  "4": [["09:00", "17:00"]],
  "5": [["09:00", "17:00"]],
};
const spec = (over: Partial<WindowSpec> = {}): WindowSpec => ({
  timeZone: "America/New_York",
  windows: WEEKDAYS_9_TO_5,
  holidays: [],
  holidayCalendar: "none",
  ...over,
});
const NY = spec();
const LONDON = spec({ timeZone: "Europe/London" });

describe("inWindow", () => {
  it("treats a window as half-open local time in the schedule's zone", () => {
    // Mon 2026-03-02, New York is UTC-5.
    expect(inWindow(at("2026-03-02T13:59:59.999Z"), NY)).toBe(false);
    expect(inWindow(at("2026-03-02T14:00:00Z"), NY)).toBe(true);
    expect(inWindow(at("2026-03-02T21:59:59Z"), NY)).toBe(true);
    expect(inWindow(at("2026-03-02T22:00:00Z"), NY)).toBe(false);
  });

  it("is closed on weekdays without windows", () => {
    expect(inWindow(at("2026-03-07T15:00:00Z"), NY)).toBe(false); // Saturday 10:00
  });

  it("uses the contact's zone when one is given", () => {
    const t = at("2026-03-02T09:30:00Z"); // 09:30 in London, 04:30 in New York
    expect(inWindow(t, NY)).toBe(false);
    expect(inWindow(t, NY, "Europe/London")).toBe(true);
    expect(inWindow(at("2026-03-02T00:30:00Z"), NY, "Asia/Tokyo")).toBe(true); // Mon 09:30 in Tokyo
  });

  it("falls back to the schedule's zone when the contact's zone is unknown, empty or null", () => {
    const t = at("2026-03-02T09:30:00Z");
    for (const z of ["Mars/Olympus_Mons", "", null, undefined]) expect(inWindow(t, NY, z)).toBe(false);
    expect(inWindow(at("2026-03-02T14:30:00Z"), NY, "Mars/Olympus_Mons")).toBe(true);
  });

  it("follows the contact's own DST dates, not the schedule's", () => {
    // Between New York's (Mar 8) and London's (Mar 29) switch, London is still on GMT.
    expect(inWindow(at("2026-03-16T09:00:00Z"), NY, "Europe/London")).toBe(true);
    expect(inWindow(at("2026-03-16T08:59:00Z"), NY, "Europe/London")).toBe(false);
    // After London's switch, 09:00 BST is 08:00 UTC.
    expect(inWindow(at("2026-03-30T08:00:00Z"), NY, "Europe/London")).toBe(true);
  });

  it("is closed all day on a holiday of the schedule's calendar", () => {
    const us = spec({ holidayCalendar: "US" });
    expect(inWindow(at("2026-11-26T15:00:00Z"), us)).toBe(false); // Thanksgiving 10:00
    expect(inWindow(at("2026-11-26T15:00:00Z"), NY)).toBe(true);
  });

  it("is closed on a custom holiday date", () => {
    expect(inWindow(at("2026-03-04T15:00:00Z"), spec({ holidays: ["2026-03-04"] }))).toBe(false);
  });
});

describe("nextWindowStart", () => {
  it("returns t itself when t is inside a window", () => {
    const t = at("2026-03-02T15:17:23.456Z");
    expect(nextWindowStart(t, NY)).toBe(t);
  });

  it("returns the same day's opening when t is before it", () => {
    expect(iso(nextWindowStart(at("2026-03-02T11:00:00Z"), NY))).toBe("2026-03-02T14:00:00.000Z");
  });

  it("skips the weekend from Friday evening to Monday 09:00", () => {
    expect(iso(nextWindowStart(at("2026-02-27T22:30:00Z"), NY))).toBe("2026-03-02T14:00:00.000Z");
  });

  it("opens at 09:00 local on both sides of New York's spring-forward (2026-03-08)", () => {
    expect(iso(nextWindowStart(at("2026-03-06T12:00:00Z"), NY))).toBe("2026-03-06T14:00:00.000Z"); // EST
    expect(iso(nextWindowStart(at("2026-03-06T22:00:00Z"), NY))).toBe("2026-03-09T13:00:00.000Z"); // EDT
  });

  it("opens at 09:00 local on both sides of New York's fall-back (2026-11-01)", () => {
    expect(iso(nextWindowStart(at("2026-10-30T12:00:00Z"), NY))).toBe("2026-10-30T13:00:00.000Z"); // EDT
    expect(iso(nextWindowStart(at("2026-10-30T21:00:00Z"), NY))).toBe("2026-11-02T14:00:00.000Z"); // EST
  });

  it("opens at 09:00 local on both sides of London's changes (2026-03-29 and 2026-10-25)", () => {
    expect(iso(nextWindowStart(at("2026-03-27T17:00:00Z"), LONDON))).toBe("2026-03-30T08:00:00.000Z"); // BST
    expect(iso(nextWindowStart(at("2026-10-23T16:00:00Z"), LONDON))).toBe("2026-10-26T09:00:00.000Z"); // GMT
    const sundays = spec({ timeZone: "Europe/London", windows: { "7": [["09:00", "17:00"]] } });
    expect(iso(nextWindowStart(at("2026-03-29T00:00:00Z"), sundays))).toBe("2026-03-29T08:00:00.000Z");
    expect(iso(nextWindowStart(at("2026-10-25T00:00:00Z"), sundays))).toBe("2026-10-25T09:00:00.000Z");
  });

  it("starts a window whose local start doesn't exist (02:30 on spring-forward day) at 03:00 EDT", () => {
    const s = spec({ windows: { "7": [["02:30", "04:00"]] } });
    expect(iso(nextWindowStart(at("2026-03-08T00:00:00Z"), s))).toBe("2026-03-08T07:00:00.000Z");
    expect(inWindow(at("2026-03-08T06:59:59Z"), s)).toBe(false); // 01:59:59 EST
    expect(iso(windowEnd(at("2026-03-08T07:00:00Z"), s))).toBe("2026-03-08T08:00:00.000Z"); // 04:00 EDT
    // The next Sunday is an ordinary day again: 02:30 EDT.
    expect(iso(nextWindowStart(at("2026-03-08T09:00:00Z"), s))).toBe("2026-03-15T06:30:00.000Z");
  });

  it("skips a window that lies entirely inside the spring-forward gap", () => {
    const s = spec({ windows: { "7": [["02:00", "02:30"]] } });
    expect(iso(nextWindowStart(at("2026-03-08T00:00:00Z"), s))).toBe("2026-03-15T06:00:00.000Z");
  });

  it("opens in both occurrences of the repeated hour on fall-back day", () => {
    const s = spec({ windows: { "7": [["01:00", "01:45"]] } });
    expect(iso(nextWindowStart(at("2026-11-01T04:00:00Z"), s))).toBe("2026-11-01T05:00:00.000Z"); // 01:00 EDT
    expect(iso(windowEnd(at("2026-11-01T05:10:00Z"), s))).toBe("2026-11-01T05:45:00.000Z");
    expect(iso(nextWindowStart(at("2026-11-01T05:50:00Z"), s))).toBe("2026-11-01T06:00:00.000Z"); // 01:00 EST
    expect(iso(windowEnd(at("2026-11-01T06:10:00Z"), s))).toBe("2026-11-01T06:45:00.000Z");
  });

  it("skips holidays of the calendar (Thanksgiving) and custom dates", () => {
    const us = spec({ holidayCalendar: "US" });
    expect(iso(nextWindowStart(at("2026-11-25T23:00:00Z"), us))).toBe("2026-11-27T14:00:00.000Z");
    const custom = spec({ holidays: ["2026-03-02", "2026-03-03"] });
    expect(iso(nextWindowStart(at("2026-02-28T12:00:00Z"), custom))).toBe("2026-03-04T14:00:00.000Z");
  });

  it("finds the window in the contact's zone", () => {
    // Tokyo has no DST: Monday 09:00 JST is Sunday 24:00 UTC.
    expect(iso(nextWindowStart(at("2026-03-06T12:00:00Z"), NY, "Asia/Tokyo"))).toBe("2026-03-09T00:00:00.000Z");
  });

  it("returns null when there are no windows", () => {
    expect(nextWindowStart(at("2026-03-02T15:00:00Z"), spec({ windows: {} }))).toBeNull();
    expect(nextWindowStart(at("2026-03-02T15:00:00Z"), spec({ windows: { "1": [], "2": [] } }))).toBeNull();
    expect(nextWindowStart(at("2026-03-02T15:00:00Z"), spec({ windows: { "1": [["17:00", "09:00"]] } }))).toBeNull();
  });

  it("returns null when every day with a window is a holiday for 400 days", () => {
    // Only Mondays, and every Monday of the next 400 days is a custom holiday.
    const mondays = Array.from({ length: 60 }, (_, i) =>
      new Date(at("2026-03-02T00:00:00Z") + i * 7 * 86_400_000).toISOString().slice(0, 10),
    );
    expect(nextWindowStart(at("2026-03-01T12:00:00Z"), spec({ windows: { "1": [["09:00", "17:00"]] }, holidays: mondays }))).toBeNull();
  });
});

describe("windowEnd", () => {
  it("returns the local end of the window containing t", () => {
    expect(iso(windowEnd(at("2026-03-02T15:00:00Z"), NY))).toBe("2026-03-02T22:00:00.000Z");
  });

  it("returns null outside every window", () => {
    expect(windowEnd(at("2026-03-02T22:00:00Z"), NY)).toBeNull();
    expect(windowEnd(at("2026-03-07T15:00:00Z"), NY)).toBeNull();
  });

  it("treats touching intervals as one window", () => {
    const s = spec({
      windows: {
        "1": [
          ["12:00", "17:00"],
          ["09:00", "12:00"],
        ],
      },
    });
    expect(iso(windowEnd(at("2026-03-02T15:00:00Z"), s))).toBe("2026-03-02T22:00:00.000Z");
  });

  it("ends a 24:00 window at the next local midnight", () => {
    const s = spec({ windows: { "1": [["20:00", "24:00"]] } });
    expect(inWindow(at("2026-03-03T04:59:59Z"), s)).toBe(true); // Mon 23:59:59 EST
    expect(iso(windowEnd(at("2026-03-03T02:00:00Z"), s))).toBe("2026-03-03T05:00:00.000Z");
  });

  it("uses the contact's zone", () => {
    expect(iso(windowEnd(at("2026-03-02T10:00:00Z"), NY, "Europe/London"))).toBe("2026-03-02T17:00:00.000Z");
  });
});

describe("addWait", () => {
  it("adds minutes and hours as elapsed time, even across DST", () => {
    expect(iso(addWait(at("2026-03-02T15:00:00Z"), 90, "minutes", false, NY))).toBe("2026-03-02T16:30:00.000Z");
    expect(iso(addWait(at("2026-03-07T14:00:00Z"), 24, "hours", false, NY))).toBe("2026-03-08T14:00:00.000Z");
  });

  it("adds calendar days at the same local time across spring-forward (a 23-hour day)", () => {
    expect(iso(addWait(at("2026-03-07T14:00:00Z"), 1, "days", false, NY))).toBe("2026-03-08T13:00:00.000Z");
    expect(iso(addWait(at("2026-03-06T14:00:00Z"), 3, "days", false, NY))).toBe("2026-03-09T13:00:00.000Z");
  });

  it("adds calendar days at the same local time across fall-back (a 25-hour day)", () => {
    expect(iso(addWait(at("2026-10-31T13:00:00Z"), 1, "days", false, NY))).toBe("2026-11-01T14:00:00.000Z");
    expect(iso(addWait(at("2026-10-24T08:00:00Z"), 2, "days", false, LONDON))).toBe("2026-10-26T09:00:00.000Z");
  });

  it("lands on the first valid instant when the local time doesn't exist on the target day", () => {
    // Sat 02:30 EST + 1 day: 02:30 on Mar 8 is skipped, so 03:00 EDT.
    expect(iso(addWait(at("2026-03-07T07:30:00Z"), 1, "days", false, NY))).toBe("2026-03-08T07:00:00.000Z");
  });

  it("keeps seconds and milliseconds of the local time", () => {
    expect(iso(addWait(at("2026-03-02T15:04:05.678Z"), 7, "days", false, NY))).toBe("2026-03-09T14:04:05.678Z");
  });

  it("counts business days over a weekend", () => {
    const fri = at("2026-03-13T14:00:00Z"); // Fri 10:00 EDT
    expect(iso(addWait(fri, 1, "days", true, NY))).toBe("2026-03-16T14:00:00.000Z"); // Mon
    expect(iso(addWait(fri, 5, "days", true, NY))).toBe("2026-03-20T14:00:00.000Z"); // Fri
    expect(iso(addWait(fri, 6, "days", true, NY))).toBe("2026-03-23T14:00:00.000Z"); // Mon
  });

  it("counts the first business day after a weekend start", () => {
    expect(iso(addWait(at("2026-03-14T14:00:00Z"), 1, "days", true, NY))).toBe("2026-03-16T14:00:00.000Z"); // Sat → Mon
  });

  it("skips calendar holidays and custom holidays when counting business days", () => {
    const us = spec({ holidayCalendar: "US" });
    // Thu Jul 2 2026 + 1: Fri Jul 3 is Independence Day observed, then the weekend.
    expect(iso(addWait(at("2026-07-02T14:00:00Z"), 1, "days", true, us))).toBe("2026-07-06T14:00:00.000Z");
    // Wed Nov 25 + 1: Thanksgiving Thursday is skipped.
    expect(iso(addWait(at("2026-11-25T15:00:00Z"), 1, "days", true, us))).toBe("2026-11-27T15:00:00.000Z");
    const custom = spec({ holidays: ["2026-03-16"] });
    expect(iso(addWait(at("2026-03-13T14:00:00Z"), 1, "days", true, custom))).toBe("2026-03-17T14:00:00.000Z");
  });

  it("counts plain days straight through weekends and holidays", () => {
    const us = spec({ holidayCalendar: "US" });
    expect(iso(addWait(at("2026-07-02T14:00:00Z"), 2, "days", false, us))).toBe("2026-07-04T14:00:00.000Z");
  });

  it("returns t for a zero wait", () => {
    const t = at("2026-03-14T14:00:00Z");
    expect(addWait(t, 0, "days", true, NY)).toBe(t);
    expect(addWait(t, 0, "minutes", false, NY)).toBe(t);
  });

  it("refuses negative waits and fractional days", () => {
    expect(() => addWait(0, -1, "hours", false, NY)).toThrow(RangeError);
    expect(() => addWait(0, 1.5, "days", false, NY)).toThrow(RangeError);
    expect(() => addWait(0, Number.NaN, "minutes", false, NY)).toThrow(RangeError);
  });
});

describe("holidays", () => {
  const us = spec({ holidayCalendar: "US" });
  const gb = spec({ holidayCalendar: "GB", timeZone: "Europe/London" });

  it("keeps no memo of a string that can't be a calendar: a request's long strings can't grow the isolate's memory", () => {
    isHolidayCalendar("DE-BY");
    const before = calendarMemoSize();
    for (let i = 0; i < 50; i++) expect(isHolidayCalendar(`${"Z".repeat(5_000)}${i}`)).toBe(false);
    expect(calendarMemoSize()).toBe(before);
    expect(isHolidayCalendar("DE-BY")).toBe(true);
  });

  it("lists the US federal holidays of 2026 with July 4 (a Saturday) observed on Friday July 3", () => {
    expect(holidaysFor("US", 2026)).toEqual([
      { date: "2026-01-01", name: "New Year's Day" },
      { date: "2026-01-19", name: "Martin Luther King Jr. Day" },
      { date: "2026-02-16", name: "Washington's Birthday" },
      { date: "2026-05-25", name: "Memorial Day" },
      { date: "2026-06-19", name: "Juneteenth" },
      { date: "2026-07-03", name: "Independence Day (substitute day)" },
      { date: "2026-07-04", name: "Independence Day" },
      { date: "2026-09-07", name: "Labor Day" },
      { date: "2026-10-12", name: "Columbus Day" },
      { date: "2026-11-11", name: "Veterans Day" },
      { date: "2026-11-26", name: "Thanksgiving Day" },
      { date: "2026-12-25", name: "Christmas Day" },
    ]);
  });

  it("observes a Sunday US holiday on the Monday and a Saturday New Year's Day in the year before", () => {
    expect(isHoliday("2027-07-05", us)).toBe(true); // July 4 2027 is a Sunday
    expect(holidaysFor("US", 2021)).toContainEqual({ date: "2021-12-31", name: "New Year's Day (substitute day)" });
    expect(holidaysFor("US", 2022)).not.toContainEqual(expect.objectContaining({ date: "2021-12-31" }));
  });

  it("knows Thanksgiving 2026 is November 26 and not the day after", () => {
    expect(isHoliday("2026-11-26", us)).toBe(true);
    expect(isHoliday("2026-11-27", us)).toBe(false);
  });

  it("lists England & Wales bank holidays of 2026 with Boxing Day (a Saturday) substituted on Monday", () => {
    expect(holidaysFor("GB", 2026)).toEqual([
      { date: "2026-01-01", name: "New Year's Day" },
      { date: "2026-04-03", name: "Good Friday" },
      { date: "2026-04-06", name: "Easter Monday" },
      { date: "2026-05-04", name: "Early May bank holiday" },
      { date: "2026-05-25", name: "Spring bank holiday" },
      { date: "2026-08-31", name: "Summer bank holiday" },
      { date: "2026-12-25", name: "Christmas Day" },
      { date: "2026-12-26", name: "Boxing Day" },
      { date: "2026-12-28", name: "Boxing Day (substitute day)" },
    ]);
  });

  it("computes Easter Monday by the Gregorian algorithm across years", () => {
    for (const d of ["2024-04-01", "2025-04-21", "2026-04-06", "2027-03-29", "2038-04-26"]) expect(isHoliday(d, gb)).toBe(true);
    expect(isHoliday("2026-04-05", gb)).toBe(false); // Easter Sunday itself is not a bank holiday
  });

  it("moves Christmas to Tuesday when it falls on Sunday and Boxing Day keeps Monday (2022)", () => {
    expect(holidaysFor("GB", 2022).slice(-3)).toEqual([
      { date: "2022-12-25", name: "Christmas Day" },
      { date: "2022-12-26", name: "Boxing Day" },
      { date: "2022-12-27", name: "Christmas Day (substitute day)" },
    ]);
  });

  it("substitutes Monday for a weekend New Year's Day in England", () => {
    expect(isHoliday("2022-01-03", gb)).toBe(true); // Jan 1 2022 was a Saturday
    expect(isHoliday("2023-01-02", gb)).toBe(true); // Jan 1 2023 was a Sunday
  });

  it("combines custom dates with the calendar and ignores calendars it doesn't know", () => {
    expect(isHoliday("2026-03-17", spec({ holidayCalendar: "US", holidays: ["2026-03-17"] }))).toBe(true);
    expect(isHoliday("2026-11-26", spec({ holidayCalendar: "none" }))).toBe(false);
    expect(isHoliday("2026-11-26", spec({ holidayCalendar: "XX" }))).toBe(false);
    expect(isHoliday("not-a-date", us)).toBe(false);
    expect(holidaysFor("none", 2026)).toEqual([]);
  });

  // The dates "US" and "GB" gave when they were hand-written rules (US federal holidays, observed on
  // the Friday before or Monday after; England & Wales bank holidays with substitute days): schedules
  // saved with them keep skipping the same days now that the calendars come from date-holidays.
  const BEFORE: Record<string, Record<number, string[]>> = {
    US: {
      2024: ["01-01", "01-15", "02-19", "05-27", "06-19", "07-04", "09-02", "10-14", "11-11", "11-28", "12-25"],
      2025: ["01-01", "01-20", "02-17", "05-26", "06-19", "07-04", "09-01", "10-13", "11-11", "11-27", "12-25"],
      2026: ["01-01", "01-19", "02-16", "05-25", "06-19", "07-03", "07-04", "09-07", "10-12", "11-11", "11-26", "12-25"],
      2027: [
        "01-01",
        "01-18",
        "02-15",
        "05-31",
        "06-18",
        "06-19",
        "07-04",
        "07-05",
        "09-06",
        "10-11",
        "11-11",
        "11-25",
        "12-24",
        "12-25",
        "12-31",
      ],
      2028: ["01-01", "01-17", "02-21", "05-29", "06-19", "07-04", "09-04", "10-09", "11-10", "11-11", "11-23", "12-25"],
      2029: ["01-01", "01-15", "02-19", "05-28", "06-19", "07-04", "09-03", "10-08", "11-11", "11-12", "11-22", "12-25"],
      2030: ["01-01", "01-21", "02-18", "05-27", "06-19", "07-04", "09-02", "10-14", "11-11", "11-28", "12-25"],
    },
    GB: {
      2024: ["01-01", "03-29", "04-01", "05-06", "05-27", "08-26", "12-25", "12-26"],
      2025: ["01-01", "04-18", "04-21", "05-05", "05-26", "08-25", "12-25", "12-26"],
      2026: ["01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-26", "12-28"],
      2027: ["01-01", "03-26", "03-29", "05-03", "05-31", "08-30", "12-25", "12-26", "12-27", "12-28"],
      2028: ["01-01", "01-03", "04-14", "04-17", "05-01", "05-29", "08-28", "12-25", "12-26"],
      2029: ["01-01", "03-30", "04-02", "05-07", "05-28", "08-27", "12-25", "12-26"],
      2030: ["01-01", "04-19", "04-22", "05-06", "05-27", "08-26", "12-25", "12-26"],
    },
  };

  it("gives stored US and GB schedules the days the hand-written rules gave, 2024-2030", () => {
    for (const [calendar, years] of Object.entries(BEFORE))
      for (const [year, days] of Object.entries(years))
        expect([calendar, year, [...new Set(holidaysFor(calendar, Number(year)).map((h) => h.date.slice(5)))]]).toEqual([
          calendar,
          year,
          days,
        ]);
  });

  it("skips German Unity Day in Germany and Epiphany only in Bavaria (2027)", () => {
    const berlin = { timeZone: "Europe/Berlin", windows: WEEKDAYS_9_TO_5, holidays: [] };
    const de = { ...berlin, holidayCalendar: "DE" },
      by = { ...berlin, holidayCalendar: "DE-BY" };
    // Friday 1 October 2027 17:00 Berlin: Monday 4 October is next (Sunday the 3rd is a holiday anyway,
    // so ask on the date itself too). Wednesday 6 January 2027 is Epiphany in Bavaria.
    expect(isHoliday("2027-10-03", de)).toBe(true);
    expect(isHoliday("2027-10-03", by)).toBe(true);
    expect(isHoliday("2027-01-06", de)).toBe(false);
    expect(isHoliday("2027-01-06", by)).toBe(true);
    expect(iso(nextWindowStart(at("2027-01-05T17:00:00Z"), de))).toBe("2027-01-06T08:00:00.000Z");
    expect(iso(nextWindowStart(at("2027-01-05T17:00:00Z"), by))).toBe("2027-01-07T08:00:00.000Z");
    expect(holidaysFor("DE", 2027)).toContainEqual({ date: "2027-10-03", name: expect.any(String) });
  });

  it("lists every country with its states, and knows which codes a schedule may name", () => {
    const list = holidayCalendars();
    expect(list.length).toBeGreaterThan(150);
    const de = list.find((c) => c.code === "DE")!;
    expect(de.regions).toContainEqual({ code: "DE-BY", name: expect.any(String) });
    for (const code of ["US-CA", "AU-NSW", "CA-ON", "GB-SCT", "IN-KA", "FR"]) {
      const [country] = code.split("-");
      expect(
        list
          .find((c) => c.code === country)!
          .regions.map((r) => r.code)
          .concat(country!),
      ).toContain(code);
    }
    expect(list.find((c) => c.code === "GB")!.whole).toBe("England & Wales");
    expect(de.whole).toBe("All of Germany");
    for (const code of ["none", "US", "GB", "DE", "DE-BY", "GB-SCT"]) expect([code, isHolidayCalendar(code)]).toEqual([code, true]);
    for (const code of ["", "XX", "DE-XX", "DE-BY-A-B", "de", "US-", "constructor", "US-toString"])
      expect([code, isHolidayCalendar(code)]).toEqual([code, false]);
  });
});

describe("validateWindows", () => {
  it("accepts ordinary, touching and 24:00-ending windows", () => {
    expect(
      validateWindows({
        "1": [
          ["09:00", "12:00"],
          ["12:00", "17:00"],
        ],
        "6": [["20:00", "24:00"]],
        "7": [],
      }),
    ).toEqual([]);
  });

  it("refuses a window spanning midnight, naming the weekday", () => {
    expect(validateWindows({ "5": [["22:00", "02:00"]] })).toEqual([
      "Friday: window 22:00–02:00 must end after it starts (a window cannot span midnight: end it at 24:00 and start the next day at 00:00)",
    ]);
  });

  it("refuses empty and overlapping windows", () => {
    expect(validateWindows({ "2": [["09:00", "09:00"]] })).toHaveLength(1);
    expect(
      validateWindows({
        "2": [
          ["13:00", "17:00"],
          ["09:00", "13:30"],
        ],
      }),
    ).toEqual(["Tuesday: windows 09:00–13:30 and 13:00–17:00 overlap"]);
  });

  it("refuses malformed times", () => {
    expect(validateWindows({ "3": [["9:00", "25:00"]], "4": [["24:00", "24:00"]] } as never)).toEqual([
      'Wednesday: start "9:00" is not a time HH:MM between 00:00 and 23:59',
      'Wednesday: end "25:00" is not a time HH:MM between 00:00 and 24:00',
      'Thursday: start "24:00" is not a time HH:MM between 00:00 and 23:59',
    ]);
    expect(validateWindows({ "1": [["09:00"]] } as never)).toEqual(['Monday: each window must be a ["HH:MM", "HH:MM"] pair']);
  });

  it("refuses weekday keys outside 1-7", () => {
    expect(validateWindows({ "0": [], "8": [], mon: [] })).toEqual([
      '"0" is not a weekday (use 1 = Monday … 7 = Sunday)',
      '"8" is not a weekday (use 1 = Monday … 7 = Sunday)',
      '"mon" is not a weekday (use 1 = Monday … 7 = Sunday)',
    ]);
  });
});

describe("isValidTimeZone", () => {
  it("accepts IANA zones and rejects unknown names", () => {
    for (const z of ["America/New_York", "Europe/London", "Asia/Kolkata", "UTC"]) expect(isValidTimeZone(z)).toBe(true);
    for (const z of ["Mars/Olympus_Mons", "", "New York"]) expect(isValidTimeZone(z)).toBe(false);
  });
});
