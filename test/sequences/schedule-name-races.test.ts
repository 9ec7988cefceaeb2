// Two schedules created (or renamed) to one name at once both passed the name check read before either
// wrote; the team's unique index refused the second write, which answered 500. It answers 422 on name.
import { describe, expect, it } from "vitest";
import { makeTeam, sessionFor } from "../fixtures";
import { as, env, errorOf } from "../helpers";

const hours = { time_zone: "Europe/Berlin", windows: { "1": [["09:00", "17:00"]] } };
const named = async (teamId: string, name: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM schedules WHERE team_id = ? AND name = ?").bind(teamId, name).first<{ n: number }>())!.n;

describe("one schedule name, two requests at once", () => {
  it("creates: one is made, the others answer 422 on name, none 500", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const answers = await Promise.all(Array.from({ length: 4 }, () => as(s, "POST", "/api/schedules", { name: "Twins", ...hours })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 422, 422, 422]);
    for (const a of answers.filter((a) => a.status === 422))
      expect(await errorOf(a)).toMatchObject({
        code: "validation_failed",
        details: { fields: [{ field: "name", message: "Pick another name" }] },
      });
    expect(await named(teamId, "Twins")).toBe(1);
  });

  it("renames: one is renamed, the other answers 422 on name and keeps its name", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const ids: string[] = [];
    for (const name of ["One", "Two"])
      ids.push(((await (await as(s, "POST", "/api/schedules", { name, ...hours })).json()) as { schedule: { id: string } }).schedule.id);
    const answers = await Promise.all(ids.map((id) => as(s, "PATCH", `/api/schedules/${id}`, { name: "Same" })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 422]);
    expect(await named(teamId, "Same")).toBe(1);
    expect((await named(teamId, "One")) + (await named(teamId, "Two"))).toBe(1);
  });
});
