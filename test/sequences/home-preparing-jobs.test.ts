import { describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { client, env, ok } from "../helpers";
import { makeTeam, sessionFor } from "../fixtures";

describe("home dashboard: jobs not ended", () => {
  it("lists an add-contacts job still being prepared (a large selection being checked), as preparing", async () => {
    const { teamId, userId } = await makeTeam("Home preparing");
    const ids: Record<string, string> = {};
    for (const status of ["preparing", "running", "completed"]) {
      ids[status] = newId();
      await env.DB.prepare(
        "INSERT INTO jobs (id, team_id, user_id, kind, sequence_id, source, options, status, total, created_at) VALUES (?, ?, ?, 'contact_action', NULL, '{}', '{}', ?, 10, ?)",
      )
        .bind(ids[status], teamId, userId, status, Date.now())
        .run();
    }
    const home = (await ok(client(await sessionFor(teamId, userId)).api.reports.home.$get({ query: {} }))).home;
    expect(home.jobs.map((j) => [j.id, j.status]).sort()).toEqual(
      [
        [ids.preparing, "preparing"],
        [ids.running, "running"],
      ].sort(),
    );
  });
});
