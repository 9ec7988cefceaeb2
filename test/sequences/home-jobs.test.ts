import { describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { client, env, ok } from "../helpers";
import { makeTeam, makeUser, sessionFor } from "../fixtures";

/** A running job of `userId` (no sequence: a bulk action over contacts). */
const job = async (teamId: string, userId: string) => {
  const id = newId();
  await env.DB.prepare(
    "INSERT INTO jobs (id, team_id, user_id, kind, sequence_id, source, options, status, total, created_at) VALUES (?, ?, ?, 'contact_action', NULL, '{}', '{}', 'running', 10, ?)",
  )
    .bind(id, teamId, userId, Date.now())
    .run();
  return id;
};

describe("home dashboard: running jobs", () => {
  it("shows a member their own jobs without a sequence, not another member's", async () => {
    const { teamId, userId: admin } = await makeTeam("Home jobs");
    const member = await makeUser(teamId, "member");
    const otherMember = await makeUser(teamId, "member");
    const mine = await job(teamId, member);
    const theirs = await job(teamId, otherMember);
    const home = async (userId: string) => (await ok(client(await sessionFor(teamId, userId)).api.reports.home.$get({ query: {} }))).home;
    expect((await home(member)).jobs.map((j) => j.id)).toEqual([mine]);
    expect((await home(admin)).jobs.map((j) => j.id).sort()).toEqual([mine, theirs].sort());
  });
});
