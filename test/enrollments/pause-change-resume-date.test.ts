// A run paused until a date can have that date changed: pausing it again with another `until` moves its
// resume (later or earlier), audited like the pause. Before, a paused run answered "Already paused" and
// kept its first date: the only way to change it was to resume (which could send at once) and pause again.
import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { DAY, HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

type Api = ReturnType<typeof client>["api"];
type Enrollments = Api["sequences"][":id"]["enrollments"];
type ActionArgs = Parameters<Enrollments[":action"]["$post"]>[0];
const act = (api: Api, seq: string, action: ActionArgs["param"]["action"], json: ActionArgs["json"]) =>
  ok(api.sequences[":id"].enrollments[":action"].$post({ param: { id: seq, action }, json }));
const positionsSent = async (enrollmentId: string) =>
  (
    await env.DB.prepare("SELECT s.position FROM messages m JOIN steps s ON s.id = m.step_id WHERE m.enrollment_id = ? ORDER BY m.sent_at")
      .bind(enrollmentId)
      .all<{ position: number }>()
  ).results.map((r) => r.position);
const statusOf = async (id: string) =>
  (await env.DB.prepare("SELECT status FROM enrollments WHERE id = ?").bind(id).first<{ status: string }>())!.status;

describe("changing a paused run's resume date", () => {
  beforeEach(() => startSimulation());

  it("a later date: still paused past the first date, resumed (next step sent) past the new one; an earlier date resumes sooner", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const cs = await makeContacts(teamId, 2);
    await enroll(teamId, sequenceId, cs, [mb]);
    await runUntil(now() + HOUR); // step 1 to both
    const list = async () =>
      (await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: { sort: "name" } }))).enrollments;
    const [a, b] = (await list()).map((e) => e.id) as [string, string];

    // a: paused until D1, then changed to the later D2.
    const d1 = now() + 3 * DAY;
    const d2 = now() + 6 * DAY;
    expect(await act(api, sequenceId, "pause", { enrollment_ids: [a], until: d1 })).toMatchObject({ changed: [a] });
    const moved = await act(api, sequenceId, "pause", { enrollment_ids: [a], until: d2 });
    expect(moved).toMatchObject({ changed: [a], outcomes: { resume_date_changed: 1 } });
    expect((await list()).find((e) => e.id === a)).toMatchObject({ status: "paused", paused_until: d2, reason: "paused_until" });
    // b: paused until D2, then brought forward to D1.
    await act(api, sequenceId, "pause", { enrollment_ids: [b], until: d2 });
    expect(await act(api, sequenceId, "pause", { enrollment_ids: [b], until: d1 })).toMatchObject({ changed: [b] });

    // The change is audited like a pause: on the sequence and on the contact, with the new date.
    const audits = // In the order written (the simulated clock gives the four actions one instant).
      (
        await env.DB.prepare("SELECT target_type, details FROM audit_log WHERE team_id = ? AND action = 'enrollment.pause' ORDER BY rowid")
          .bind(teamId)
          .all<{ target_type: string; details: string }>()
      ).results.map((r) => ({ type: r.target_type, meta: JSON.parse(r.details) as { until?: number; enrollment_id?: string } }));
    expect(audits.filter((x) => x.type === "contact" && x.meta.enrollment_id === a).map((x) => x.meta.until)).toEqual([d1, d2]);
    expect(audits.filter((x) => x.type === "sequence").map((x) => x.meta.until)).toEqual([d1, d2, d2, d1]);

    await runUntil(d1 + HOUR);
    // Past D1: a is still paused and got nothing more; b (moved to D1) resumed and got step 2.
    expect([await statusOf(a), await positionsSent(a)]).toEqual(["paused", [1]]);
    expect(await positionsSent(b)).toEqual([1, 2]);
    await runUntil(d2 + HOUR);
    expect(await positionsSent(a)).toEqual([1, 2]);
    expect(await statusOf(a)).toBe("finished");
    // Nothing more for b at D2: its old timer went with the change.
    expect(await positionsSent(b)).toEqual([1, 2]);
  });

  it("a pause without a date, or with the date it has, changes nothing on a paused run", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const [c] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [c!], [mb]);
    await runUntil(now() + HOUR);
    const [e] = (await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: {} }))).enrollments;
    const d1 = now() + 3 * DAY;
    await act(api, sequenceId, "pause", { enrollment_ids: [e!.id], until: d1 });
    const again = await act(api, sequenceId, "pause", { enrollment_ids: [e!.id] });
    expect(again).toMatchObject({ changed: [], outcomes: { unchanged: 1 } });
    // The same date again changes nothing either, and says so.
    const same = await act(api, sequenceId, "pause", { enrollment_ids: [e!.id], until: d1 });
    expect(same).toMatchObject({ changed: [], outcomes: { unchanged: 1 } });
    expect(same.results[0]!.reason).toBe("Already paused until that date");
    await runUntil(d1 + HOUR);
    expect(await positionsSent(e!.id)).toEqual([1, 2]);
  });

  it("a run paused for out of office keeps that reason when the user moves its date; an out-of-office reply doesn't date the user's own pause", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const cs = await makeContacts(teamId, 2);
    await enroll(teamId, sequenceId, cs, [mb]);
    await runUntil(now() + HOUR);
    const list = async () =>
      (await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: { sort: "name" } }))).enrollments;
    const [a, b] = (await list()).map((e) => e.id) as [string, string];
    // a: paused by an out-of-office reply until D1 (as replies.ts pauses it); the user moves it to D2.
    const d1 = now() + 3 * DAY;
    const d2 = now() + 6 * DAY;
    expect(await engine.sequence(env, sequenceId, teamId).pause([a], "out_of_office", d1)).toEqual([a]);
    expect(await act(api, sequenceId, "pause", { enrollment_ids: [a], until: d2 })).toMatchObject({ changed: [a] });
    expect((await list()).find((e) => e.id === a)).toMatchObject({ status: "paused", paused_until: d2, reason: "out_of_office" });
    // b: paused by the user with no date; an out-of-office reply then names a return date: b stays paused, undated.
    await act(api, sequenceId, "pause", { enrollment_ids: [b] });
    expect(await engine.sequence(env, sequenceId, teamId).pause([b], "out_of_office", d1)).toEqual([]);
    expect((await list()).find((e) => e.id === b)).toMatchObject({ status: "paused", paused_until: null, reason: "paused_by_user" });

    await runUntil(d1 + HOUR);
    expect([await statusOf(a), await positionsSent(a)]).toEqual(["paused", [1]]);
    await runUntil(d2 + HOUR);
    expect(await positionsSent(a)).toEqual([1, 2]);
    expect([await statusOf(b), await positionsSent(b)]).toEqual(["paused", [1]]);
  });
});
