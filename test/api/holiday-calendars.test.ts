// Built-in holiday calendars come from date-holidays: every country and its states or regions, picked
// from a listing; a code it doesn't have is a 422 naming holiday_calendar, and nothing is written.
import { describe, expect, it } from "vitest";
import { as, env, errorOf, fieldsOf, login, withKey } from "../helpers";

const WINDOWS = { "1": [["09:00", "17:00"]], "3": [["09:00", "17:00"]] };
const LISTED =
  'Not a holiday calendar: use "none", a country code such as "DE" or a state code such as "DE-BY" (GET /api/schedules/holiday-calendars lists them)';

describe("holiday calendars", () => {
  it("lists countries with their states, and gives a state's public holidays", async () => {
    const res = await withKey("demo-standard-key", "GET", "/api/schedules/holiday-calendars");
    expect(res.status).toBe(200);
    const { calendars } = (await res.json()) as { calendars: { code: string; name: string; regions: { code: string; name: string }[] }[] };
    const de = calendars.find((c) => c.code === "DE");
    expect(de).toMatchObject({ name: "Germany" });
    expect(de!.regions).toContainEqual({ code: "DE-BY", name: "Bayern" });
    expect(calendars.find((c) => c.code === "GB")!.regions.map((r) => r.code)).toContain("GB-SCT");
    expect(calendars.find((c) => c.code === "US")!.regions).toContainEqual({ code: "US-CA", name: "California" });

    const days = async (calendar: string) => {
      const r = await withKey("demo-standard-key", "GET", `/api/schedules/holidays?calendar=${calendar}&year=2027`);
      expect(r.status).toBe(200);
      return ((await r.json()) as { holidays: { date: string }[] }).holidays.map((h) => h.date);
    };
    const [de27, by27] = [await days("DE"), await days("DE-BY")];
    expect(de27).toContain("2027-10-03");
    expect(de27).not.toContain("2027-01-06");
    expect(by27).toEqual(expect.arrayContaining(["2027-10-03", "2027-01-06"]));
  });

  it("saves a schedule on a state's calendar and refuses codes it doesn't have", async () => {
    const s = await login("admin@demo.test");
    const create = (holiday_calendar: string) =>
      as(s, "POST", "/api/schedules", {
        name: `Cal ${holiday_calendar.slice(0, 20)}`,
        time_zone: "Europe/Berlin",
        windows: WINDOWS,
        holiday_calendar,
      });
    const bavaria = await create("DE-BY");
    expect(bavaria.status).toBe(201);
    const id = ((await bavaria.json()) as { schedule: { id: string; holiday_calendar: string } }).schedule.id;
    for (const bad of ["XX", "DE-XX", "de-by", "constructor", "DE-BY-AUGSBURG-XX", "Z".repeat(100_000)]) {
      const err = await errorOf(await create(bad));
      expect([bad, err.status, fieldsOf(err).map((f) => [f.field, f.message])]).toEqual([bad, 422, [["holiday_calendar", LISTED]]]);
    }
    const patch = await errorOf(await as(s, "PATCH", `/api/schedules/${id}`, { holiday_calendar: "DE-XX" }));
    expect([patch.status, fieldsOf(patch).map((f) => [f.field, f.message])]).toEqual([422, [["holiday_calendar", LISTED]]]);
    expect((await as(s, "PATCH", `/api/schedules/${id}`, { holiday_calendar: "GB-SCT" })).status).toBe(200);
    const rows = await env.DB.prepare("SELECT name, holiday_calendar FROM schedules WHERE name LIKE 'Cal %'").all<{
      name: string;
      holiday_calendar: string;
    }>();
    expect(rows.results).toEqual([{ name: "Cal DE-BY", holiday_calendar: "GB-SCT" }]);

    const q = await errorOf(await withKey("demo-standard-key", "GET", "/api/schedules/holidays?calendar=XX&year=2027"));
    expect([q.status, fieldsOf(q).map((f) => [f.field, f.message])]).toEqual([422, [["calendar", LISTED]]]);
  });
});
