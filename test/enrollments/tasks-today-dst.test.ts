import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { client, env, ok } from "../helpers";
import { makeTeam, sessionFor, startSimulation } from "../fixtures";

// "Due today" on the Tasks page is the caller's local calendar day, midnight to midnight, also on the day
// the clocks change (23 or 25 hours long).
beforeEach(() => startSimulation());

/** Open tasks of one user due at `dues`, and what the Tasks API puts under each view in `zone` at `at`. */
async function viewsAt(at: number, zone: string, dues: Record<string, number>) {
  startSimulation(at);
  const { teamId, userId } = await makeTeam();
  const ids = new Map<string, string>();
  await env.DB.batch(
    Object.entries(dues).map(([name, due]) => {
      const id = newId();
      ids.set(id, name);
      return env.DB.prepare(
        "INSERT INTO tasks (id, team_id, assignee_id, type, note, due_at, status, created_at) VALUES (?, ?, ?, 'task', ?, ?, 'open', ?)",
      ).bind(id, teamId, userId, name, due, now());
    }),
  );
  const api = client(await sessionFor(teamId, userId)).api;
  const out: Record<string, string[]> = {};
  for (const view of ["overdue", "due_today", "upcoming"] as const) {
    const r = await ok(api.tasks.$get({ query: { view, time_zone: zone } }));
    out[view] = r.tasks.map((t) => ids.get(t.id)!);
    expect(r.counts[view]).toBe(out[view].length);
  }
  return out;
}

describe("tasks due today on a day the clocks change", () => {
  it("America/New_York, clocks forward (a 23-hour day): midnight was 05:00 UTC", async () => {
    // Sunday 14 March 2027, noon EDT. The day runs from 05:00 UTC (EST) to 04:00 UTC the next day (EDT).
    const views = await viewsAt(Date.UTC(2027, 2, 14, 16), "America/New_York", {
      "23:30 the evening before": Date.UTC(2027, 2, 14, 4, 30),
      "just after midnight": Date.UTC(2027, 2, 14, 5, 0),
      "just before the next midnight": Date.UTC(2027, 2, 15, 3, 59),
      "the next midnight": Date.UTC(2027, 2, 15, 4, 0),
    });
    expect(views).toEqual({
      overdue: ["23:30 the evening before"],
      due_today: ["just after midnight", "just before the next midnight"],
      upcoming: ["the next midnight"],
    });
  });

  it("Europe/Berlin, clocks back (a 25-hour day): midnight was 22:00 UTC the day before", async () => {
    // Sunday 31 October 2027, noon CET. The day runs from 22:00 UTC on the 30th (CEST) to 23:00 UTC on the 31st (CET).
    const views = await viewsAt(Date.UTC(2027, 9, 31, 11), "Europe/Berlin", {
      "23:30 the evening before": Date.UTC(2027, 9, 30, 21, 30),
      "00:30": Date.UTC(2027, 9, 30, 22, 30),
      "just before the next midnight": Date.UTC(2027, 9, 31, 22, 59),
      "the next midnight": Date.UTC(2027, 9, 31, 23, 0),
    });
    expect(views).toEqual({
      overdue: ["23:30 the evening before"],
      due_today: ["00:30", "just before the next midnight"],
      upcoming: ["the next midnight"],
    });
  });
});
