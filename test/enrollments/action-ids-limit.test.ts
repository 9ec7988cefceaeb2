// Up to 1,000 enrollments act in one request, a repeated id counting once (README). Before: the limit was
// applied to the list as sent, so 1,000 enrollments with one id repeated were refused (422).
import { beforeEach, describe, expect, it } from "vitest";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import { enroll, enrollmentsOf, makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor, startSimulation } from "../fixtures";

describe("enrollment_ids of an action", () => {
  beforeEach(() => startSimulation());

  it("takes 1,000 different enrollments with one repeated (acted on once each), and refuses 1,001 different ones with the limit in words", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const mb = await makeMailbox(teamId, userId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1_000), [mb]);
    const ids = (await enrollmentsOf(sequenceId)).map((e) => e.id);
    const pause = (enrollment_ids: string[]) =>
      api.sequences[":id"].enrollments[":action"].$post({ param: { id: sequenceId, action: "pause" }, json: { enrollment_ids } });

    const paused = await ok(pause([...ids, ids[0]!]));
    expect(paused.outcomes).toEqual({ paused: 1_000 });
    expect(paused.results).toHaveLength(1_000);
    expect((await enrollmentsOf(sequenceId)).filter((e) => e.status === "paused")).toHaveLength(1_000);

    const res = await pause([...ids, "one-more"]);
    expect(res.status).toBe(422);
    const err = await errorOf(res);
    expect(err.code).toBe("validation_failed");
    expect(fieldsOf(err)).toEqual([
      expect.objectContaining({
        field: "enrollment_ids",
        message: "At most 1,000 different enrollments at a time: act on a filter for more",
      }),
    ]);
    // Nothing was acted on.
    const count = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE team_id = ? AND action = 'enrollment.pause'")
      .bind(teamId)
      .first<{ n: number }>();
    expect(count!.n).toBe(1_001);
  });
});
