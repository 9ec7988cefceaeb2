// The task queue filtered by kind of work and by sequence, as an Outreach or Apollo user works it: only
// the calls, only one sequence's tasks. The tabs' counts are those of the filtered queue. A sequence the
// caller may not see answers 404, as the other sequence filters do.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { client, errorOf, fieldsOf, ok } from "../helpers";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

beforeEach(() => startSimulation());

describe("filtering the task queue", () => {
  it("by type (LinkedIn's three steps as one) and by sequence, with counts of the filtered queue", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const calls = await makeSequence(teamId, userId, [{ type: "call", wait: 0 }, { wait: 1 }], null);
    const linked = await makeSequence(teamId, userId, [{ type: "linkedin_view", wait: 0 }, { wait: 1 }], null);
    const todo = await makeSequence(teamId, userId, [{ type: "task", wait: 0 }, { wait: 1 }], null);
    const [a, b, c, d] = (await makeContacts(teamId, 4)) as [string, string, string, string];
    await enroll(teamId, calls.sequenceId, [a, b], [mb]);
    await enroll(teamId, linked.sequenceId, [c], [mb]);
    await enroll(teamId, todo.sequenceId, [d], [mb]);
    await runUntil(now() + HOUR);

    const list = (query: Record<string, string>) => ok(api.tasks.$get({ query: { view: "open", assignee: "all", ...query } }));
    const all = await list({});
    expect(all.tasks).toHaveLength(4);
    expect(all.counts.open).toBe(4);

    const onlyCalls = await list({ type: "call" });
    expect(onlyCalls.tasks.map((t) => t.type)).toEqual(["call", "call"]);
    expect(onlyCalls.counts).toMatchObject({ open: 2, due_today: 2 });
    expect(onlyCalls.pagination.total_entries).toBe(2);

    const onlyLinkedIn = await list({ type: "linkedin" });
    expect(onlyLinkedIn.tasks.map((t) => [t.type, t.contact?.id])).toEqual([["linkedin_view", c]]);
    expect(onlyLinkedIn.counts.open).toBe(1);

    const none = await list({ type: "manual_email" });
    expect(none.tasks).toEqual([]);
    expect(none.counts).toMatchObject({ open: 0, due_today: 0, overdue: 0, upcoming: 0 });

    const oneSequence = await list({ sequence_id: todo.sequenceId });
    expect(oneSequence.tasks.map((t) => [t.sequence?.id, t.contact?.id])).toEqual([[todo.sequenceId, d]]);
    expect(oneSequence.counts.open).toBe(1);
    // Both at once: the sequence's tasks of that type.
    expect((await list({ sequence_id: calls.sequenceId, type: "task" })).tasks).toEqual([]);
    expect((await list({ sequence_id: calls.sequenceId, type: "call" })).tasks).toHaveLength(2);
  });

  it("answers 404 for another team's sequence and 422 for a type it doesn't know", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const other = await makeTeam();
    const theirs = await makeSequence(other.teamId, other.userId, [{ type: "call", wait: 0 }], null);
    const foreign = await errorOf(await api.tasks.$get({ query: { sequence_id: theirs.sequenceId } }));
    expect(foreign.status).toBe(404);
    const bad = await errorOf(await api.tasks.$get({ query: { type: "email" as never } }));
    expect(bad.status).toBe(422);
    expect(fieldsOf(bad).map((f) => f.field)).toEqual(["type"]);
  });
});
