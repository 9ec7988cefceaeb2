import { describe, expect, it } from "vitest";
import { makeTeam, sessionFor } from "../fixtures";
import { client, env, ok } from "../helpers";

// zod fills a .default() in for an absent optional key: a PATCH schema built as `.partial()` over
// defaulted fields rewrote every field the request left out. These PATCHes send one field each.

describe("a PATCH changes only the fields it sends", () => {
  it("one sequence setting changed leaves the other settings as they were", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequence } = await ok(api.sequences.$post({ json: { name: "Settings" } }), 201);
    // A new sequence starts from the defaults.
    expect(sequence.settings).toEqual({ finish_on_reply: true, allow_other_owners: true, colleague_reply: "nothing" });
    const patch = (settings: Record<string, unknown>) =>
      ok(api.sequences[":id"].$patch({ param: { id: sequence.id }, json: { settings } }));
    await patch({ finish_on_reply: false });
    await patch({ allow_other_owners: false });
    await patch({ colleague_reply: "pause" });
    const expected = { finish_on_reply: false, allow_other_owners: false, colleague_reply: "pause" };
    expect((await ok(api.sequences[":id"].$get({ param: { id: sequence.id } }))).sequence.settings).toEqual(expected);
    const row = await env.DB.prepare("SELECT settings FROM sequences WHERE id = ?").bind(sequence.id).first<{ settings: string }>();
    expect(JSON.parse(row!.settings)).toEqual(expected);
    // A rename touches no setting.
    await ok(api.sequences[":id"].$patch({ param: { id: sequence.id }, json: { name: "Renamed" } }));
    expect((await ok(api.sequences[":id"].$get({ param: { id: sequence.id } }))).sequence.settings).toEqual(expected);
  });

  it("a schedule's rename keeps its holidays, calendar, contact time zone and default", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { schedule } = await ok(
      api.schedules.$post({
        json: {
          name: "US hours",
          time_zone: "America/New_York",
          windows: { "1": [["09:00", "17:00"]] },
          holidays: ["2027-07-05"],
          holiday_calendar: "US",
          use_contact_time_zone: true,
          is_default: true,
        },
      }),
      201,
    );
    const renamed = (await ok(api.schedules[":id"].$patch({ param: { id: schedule.id }, json: { name: "EU hours" } }))).schedule;
    const kept = { holidays: ["2027-07-05"], holiday_calendar: "US", use_contact_time_zone: true, is_default: true };
    expect(renamed).toMatchObject({ name: "EU hours", ...kept });
    const row = await env.DB.prepare("SELECT holidays, holiday_calendar, use_contact_time_zone, is_default FROM schedules WHERE id = ?")
      .bind(schedule.id)
      .first<{ holidays: string; holiday_calendar: string; use_contact_time_zone: number; is_default: number }>();
    expect(row).toEqual({ holidays: '["2027-07-05"]', holiday_calendar: "US", use_contact_time_zone: 1, is_default: 1 });
    // A new schedule still gets the defaults for what it leaves out.
    const plain = (
      await ok(api.schedules.$post({ json: { name: "Plain", time_zone: "Europe/Berlin", windows: { "2": [["09:00", "12:00"]] } } }), 201)
    ).schedule;
    expect(plain).toMatchObject({ holidays: [], holiday_calendar: "none", use_contact_time_zone: false, is_default: false });
  });

  it("one import setting changed leaves its other settings (the list, the owner) as they were", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const file = new File(["Email,First name\nada@x.io,Ada\n"], "c.csv", { type: "text/csv" });
    const { import: imp } = await ok(api.imports.$post({ form: { file } }), 201);
    const patch = (settings: Record<string, unknown>) => ok(api.imports[":id"].$patch({ param: { id: imp.id }, json: { settings } }));
    await patch({ list_name: "Conference leads", owner_id: userId });
    const after = (await patch({ match: "overwrite" })).import.settings;
    expect(after).toEqual({ match: "overwrite", owner_id: userId, list_id: null, list_name: "Conference leads" });
    const row = await env.DB.prepare("SELECT settings FROM imports WHERE id = ?").bind(imp.id).first<{ settings: string }>();
    expect(JSON.parse(row!.settings)).toEqual(after);
  });
});
