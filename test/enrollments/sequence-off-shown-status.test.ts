// The runs of a sequence turned off (still 'active' in D1 until their timers fire) have one word on every
// screen: waiting because the sequence is off (shownStatus). Before: the report counted them held (with the
// runs the engine really held), the Contacts tab badged them Active, and no filter of the tab held them.
import { beforeEach, describe, expect, it } from "vitest";
import { as, client, env, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation, HOUR } from "../fixtures";
import { now } from "../../worker/lib/clock";

describe("the runs of a sequence turned off", () => {
  beforeEach(() => startSimulation());

  it("are waiting (sequence off) in the report, on each row and in the tab's counts alike, apart from the held ones", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 3 }], null);
    const mb = await makeMailbox(teamId, userId);
    const contacts = await makeContacts(teamId, 5);
    await enroll(teamId, sequenceId, contacts, [mb]);
    await runUntil(now() + HOUR);
    // Two runs the engine held (as for a contact later put on Do Not Contact), three still active.
    await env.DB.prepare(`UPDATE enrollments SET status = 'held', reason = 'do_not_contact' WHERE sequence_id = ? AND contact_id IN (?, ?)`)
      .bind(sequenceId, contacts[0], contacts[1])
      .run();
    expect((await as(s, "PATCH", `/api/sequences/${sequenceId}`, { active: false })).status).toBe(200);

    const report = (await ok(api.sequences[":id"].report.$get({ param: { id: sequenceId }, query: {} }))).report;
    const reported = Object.fromEntries(report.statuses.filter((x) => x.contacts > 0).map((x) => [x.status, x.contacts]));
    expect(reported).toEqual({ waiting_sequence_off: 3, held: 2 });

    const list = (status: "all" | "active" | "held" | "waiting_sequence_off") =>
      ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: { status } }));
    const all = await list("all");
    // Each row's shown status, counted, is the report's statuses.
    const byRow: Record<string, number> = {};
    for (const e of all.enrollments) byRow[e.shown_status] = (byRow[e.shown_status] ?? 0) + 1;
    expect(byRow).toEqual(reported);
    // Still 'active' in D1 and said so as such: the shown status is the view's, not a write.
    expect(all.enrollments.filter((e) => e.status === "active").map((e) => e.shown_status)).toEqual(Array(3).fill("waiting_sequence_off"));
    // The chips count the same: none active, the held ones held, the rest waiting for the sequence.
    expect(all.counts).toMatchObject({ all: 5, active: 0, held: 2, waiting_sequence_off: 3 });
    expect((await list("active")).enrollments).toHaveLength(0);
    const waiting = await list("waiting_sequence_off");
    expect(waiting.pagination.total_entries).toBe(3);
    expect(new Set(waiting.enrollments.map((e) => e.contact.id))).toEqual(new Set(contacts.slice(2)));
    expect((await list("held")).enrollments.map((e) => e.shown_status)).toEqual(["held", "held"]);

    // On again: they are active on every screen, and no run waits for the sequence.
    expect((await as(s, "PATCH", `/api/sequences/${sequenceId}`, { active: true })).status).toBe(200);
    const on = (await ok(api.sequences[":id"].report.$get({ param: { id: sequenceId }, query: {} }))).report;
    expect(Object.fromEntries(on.statuses.filter((x) => x.contacts > 0).map((x) => [x.status, x.contacts]))).toEqual({
      active: 3,
      held: 2,
    });
    const back = await list("all");
    expect(back.counts).toMatchObject({ active: 3, held: 2, waiting_sequence_off: 0 });
    expect(back.enrollments.filter((e) => e.status === "active").map((e) => e.shown_status)).toEqual(Array(3).fill("active"));
  });
});
