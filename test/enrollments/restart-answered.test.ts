import { beforeEach, describe, expect, it } from "vitest";
import { sequenceStub } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import {
  DAY,
  HOUR,
  enroll,
  enrollmentsOf,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sentMessages,
  sessionFor,
  startSimulation,
} from "../fixtures";

type Api = ReturnType<typeof client>["api"];
type ActionArgs = Parameters<Api["sequences"][":id"]["enrollments"][":action"]["$post"]>[0];
const act = (api: Api, seq: string, action: ActionArgs["param"]["action"], json: ActionArgs["json"]) =>
  ok(api.sequences[":id"].enrollments[":action"].$post({ param: { id: seq, action }, json }));

/** A sequence of two emails a day apart, its contacts sent the first one. */
async function sentFirst(n: number) {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
  const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
  const cs = await makeContacts(teamId, n);
  await enroll(teamId, sequenceId, cs, [mb]);
  await runUntil(now() + HOUR);
  const rows = await enrollmentsOf(sequenceId);
  return { teamId, userId, api, sequenceId, mb, cs, idOf: (c: string) => rows.find((e) => e.contact_id === c)!.id };
}

describe("restart of a contact who answered or went elsewhere", () => {
  beforeEach(() => startSimulation());

  it("a run that ended as replied, meeting booked, not interested or moved is not restarted (blocked, with the reason) and nothing more is sent; restart_anyway restarts it", async () => {
    const { teamId, api, sequenceId, cs, idOf } = await sentFirst(4);
    const stub = sequenceStub(env, sequenceId);
    const reasons = ["replied", "meeting_booked", "not_interested", "moved"] as const;
    for (const [i, reason] of reasons.entries()) await stub.transition(sequenceId, teamId, [idOf(cs[i]!)], "finish", reason);
    const ids = cs.map(idOf);
    const sentBefore = (await sentMessages(sequenceId)).length;

    // Pausing them says why they finished, and offers no restart to those who answered.
    const paused = await act(api, sequenceId, "pause", { enrollment_ids: [ids[0]!] });
    expect(paused.results[0]!.reason).toBe("Already finished (Contact replied)");

    const r = await act(api, sequenceId, "restart", { enrollment_ids: ids });
    expect(r.outcomes).toEqual({ blocked: 4 });
    expect(r.results.map((x) => x.reason_code)).toEqual([...reasons]);
    expect(r.results[0]).toMatchObject({
      changed: false,
      outcome: "blocked",
      new_id: null,
      reason: "Contact replied: not restarted (restart anyway to email them again)",
    });
    // No new run, and nothing goes to them however long we wait.
    expect(await enrollmentsOf(sequenceId)).toHaveLength(4);
    await runUntil(now() + 3 * DAY);
    expect(await sentMessages(sequenceId)).toHaveLength(sentBefore);

    const again = await act(api, sequenceId, "restart", { enrollment_ids: [ids[0]!], restart_anyway: true });
    expect(again.outcomes).toEqual({ restarted: 1 });
    await runUntil(now() + HOUR);
    expect((await sentMessages(sequenceId)).filter((m) => m.enrollment_id === again.results[0]!.new_id)).toHaveLength(1);
  });

  it("a contact moved to another sequence and running there is not restarted here (active_elsewhere) unless restart_anyway", async () => {
    const { teamId, userId, api, sequenceId, mb, cs, idOf } = await sentFirst(2);
    const { sequenceId: other } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    // One finished here by the user, then added to the other sequence, where it is active.
    await sequenceStub(env, sequenceId).transition(sequenceId, teamId, [idOf(cs[0]!)], "finish", "marked_finished");
    await enroll(teamId, other, [cs[0]!], [mb]);
    await runUntil(now() + HOUR);
    expect((await enrollmentsOf(other))[0]!.status).toBe("active");

    const r = await act(api, sequenceId, "restart", { enrollment_ids: [idOf(cs[0]!)] });
    expect(r.results[0]).toMatchObject({
      outcome: "blocked",
      reason_code: "active_elsewhere",
      reason: expect.stringMatching(/^In another sequence now/),
    });
    expect((await enrollmentsOf(sequenceId)).filter((e) => e.contact_id === cs[0])).toHaveLength(1);
    // An open run here is restarted as before: it adds no second run.
    expect((await act(api, sequenceId, "restart", { enrollment_ids: [idOf(cs[1]!)] })).outcomes).toEqual({ restarted: 1 });

    const anyway = await act(api, sequenceId, "restart", { enrollment_ids: [idOf(cs[0]!)], restart_anyway: true });
    expect(anyway.outcomes).toEqual({ restarted: 1 });
  });
});
