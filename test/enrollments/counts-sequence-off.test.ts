// A sequence turned off keeps its active rows 'active' in D1 until each one's timer fires (days); every row
// says "Sequence is inactive" (explain). Before: the Contacts tab still counted them active, "Not sent" was 0
// and the filter "Not sent because: Sequence turned off" found nobody.
import { beforeEach, describe, expect, it } from "vitest";
import { as, client, env, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation, HOUR } from "../fixtures";
import { now } from "../../worker/lib/clock";

describe("the contacts of a sequence turned off", () => {
  beforeEach(() => startSimulation());

  it("are counted and filtered as not sent because the sequence is off, as each row says, and active again once it is on", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 3 }], null);
    const mb = await makeMailbox(teamId, userId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [mb]);
    await runUntil(now() + HOUR);
    const list = (query: { status?: "active" | "not_sent" | "all"; reason?: string } = {}) =>
      ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query }));
    expect((await list()).counts).toMatchObject({ active: 3, not_sent: 0 });

    expect((await as(s, "PATCH", `/api/sequences/${sequenceId}`, { active: false })).status).toBe(200);
    // Still 'active' in D1 (their timers have not fired): what the counts read.
    const d1 = await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND status = 'active'")
      .bind(sequenceId)
      .first<{ n: number }>();
    expect(d1!.n).toBe(3);

    const all = await list();
    expect(all.enrollments.map((e) => e.reason)).toEqual(["sequence_inactive", "sequence_inactive", "sequence_inactive"]);
    expect(all.counts).toMatchObject({ all: 3, active: 0, not_sent: 3 });
    expect((await list({ status: "active" })).enrollments).toHaveLength(0);
    const off = await list({ status: "not_sent", reason: "sequence_inactive" });
    expect(off.enrollments).toHaveLength(3);
    expect(off.pagination.total_entries).toBe(3);
    expect((await list({ status: "not_sent", reason: "mailbox_disconnected" })).enrollments).toHaveLength(0);

    expect((await as(s, "PATCH", `/api/sequences/${sequenceId}`, { active: true })).status).toBe(200);
    expect((await list()).counts).toMatchObject({ active: 3, not_sent: 0 });
  });
});
