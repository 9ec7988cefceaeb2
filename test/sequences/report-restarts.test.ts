import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import {
  HOUR,
  enroll,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  makeUser,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

describe("restarted contacts in the reports", () => {
  beforeEach(() => startSimulation());

  it("a restarted contact counts once: not twice in Contacts, not as Finished, not as Added by whoever restarted it", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const contacts = await makeContacts(teamId, 4);
    await enroll(teamId, sequenceId, contacts, [mb]);
    // The fixture enrolls straight through the object; the add-contacts pipeline records who added them.
    await env.DB.prepare("UPDATE enrollments SET added_by = ? WHERE sequence_id = ?").bind(userId, sequenceId).run();
    await runUntil(now() + HOUR);
    // Another admin restarts two of the four from step 1.
    const other = await makeUser(teamId, "admin");
    const api = client(await sessionFor(teamId, other)).api;
    const runs = (
      await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ? ORDER BY contact_id").bind(sequenceId).all<{ id: string }>()
    ).results.map((r) => r.id);
    const r = await ok(
      api.sequences[":id"].enrollments[":action"].$post({
        param: { id: sequenceId, action: "restart" },
        json: { enrollment_ids: runs.slice(0, 2) },
      }),
    );
    expect(r.outcomes).toEqual({ restarted: 2 });
    // Six runs of four contacts now.
    expect(
      (await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n,
    ).toBe(6);

    const report = (await ok(api.sequences[":id"].report.$get({ param: { id: sequenceId }, query: {} }))).report;
    expect(report.totals.contacts).toBe(4);
    const status = (s: string) => report.statuses.find((x) => x.status === s)!.contacts;
    expect(status("active")).toBe(4);
    expect(status("finished")).toBe(0);
    expect(report.steps[0]).toMatchObject({ position: 1, reached: 4, sent: 4 });

    // "Added by" is whoever added a contact's first run: the restarter added no one, and the first
    // adder's four contacts are counted with their latest runs (all active), not their old finished ones.
    const byOther = (await ok(api.sequences[":id"].report.$get({ param: { id: sequenceId }, query: { added_by: other } }))).report;
    expect(byOther.totals.contacts).toBe(0);
    expect(byOther.statuses.every((s) => s.contacts === 0)).toBe(true);
    const byFirst = (await ok(api.sequences[":id"].report.$get({ param: { id: sequenceId }, query: { added_by: userId } }))).report;
    expect(byFirst.totals.contacts).toBe(4);
    expect(byFirst.statuses.find((x) => x.status === "active")!.contacts).toBe(4);
    expect(byFirst.statuses.find((x) => x.status === "finished")!.contacts).toBe(0);
    expect(byFirst.totals.sent).toBe(report.totals.sent);

    const team = (await ok(api.reports.team.$get({ query: {} }))).report;
    expect(team.users.find((u) => u.user_id === other)!.added).toBe(0);
    expect(team.sequences.find((s) => s.sequence_id === sequenceId)!.added).toBe(4);
  });
});
