// Contacts enrolled into a sequence after it was archived (a job's chunk on its way when the archive
// landed): the run is finished at once, saying the sequence was archived. Before, it was held as
// "sequence inactive" with no timer, forever: it counted as open, so other sequences warned "active in
// another sequence", and unarchiving and turning the sequence on started only these contacts.
import { beforeEach, describe, expect, it } from "vitest";
import { engine, sequenceStub } from "../../durable-objects/engine";
import { newId } from "../../worker/lib/ids";
import { client, env, ok } from "../helpers";
import { DAY, SIM_START, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

describe("enrolling into an archived sequence", () => {
  beforeEach(() => startSimulation());

  it("finishes the run at once with the reason, and a later unarchive and turn-on does not start it", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const mailboxId = await makeMailbox(teamId, userId);
    const [contactId] = await makeContacts(teamId, 1);
    await ok(api.sequences[":id"].archive.$post({ param: { id: sequenceId } }));
    // The chunk that was on its way.
    const res = await engine
      .sequence(env, sequenceId, teamId)
      .enroll([{ enrollmentId: newId(), contactId: contactId!, mailboxId, score: 50, timeZone: null }]);
    expect(res.enrolled).toEqual([contactId]);
    const row = () =>
      env.DB.prepare("SELECT status, reason, finished_at FROM enrollments WHERE sequence_id = ?")
        .bind(sequenceId)
        .first<{ status: string; reason: string; finished_at: number | null }>();
    expect(await row()).toEqual({ status: "finished", reason: "sequence_archived", finished_at: SIM_START });
    // Nothing left to run: no timer, so no alarm comes for it.
    expect((await sequenceStub(env, sequenceId).inspect()).timers).toEqual([]);

    await ok(api.sequences[":id"].unarchive.$post({ param: { id: sequenceId } }));
    await ok(api.sequences[":id"].$patch({ param: { id: sequenceId }, json: { active: true } }));
    await runUntil(SIM_START + DAY);
    expect(await row()).toMatchObject({ status: "finished", reason: "sequence_archived" });
    const sent = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>();
    expect(sent!.n).toBe(0);
  });

  it("a restart in an archived sequence starts no new run, and says why", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 2 }], null);
    const mailboxId = await makeMailbox(teamId, userId);
    const [contactId] = await makeContacts(teamId, 1);
    const enrollmentId = newId();
    const seq = engine.sequence(env, sequenceId, teamId);
    await seq.enroll([{ enrollmentId, contactId: contactId!, mailboxId, score: 50, timeZone: null }]);
    await ok(api.sequences[":id"].archive.$post({ param: { id: sequenceId } }));
    expect(await seq.restart([enrollmentId], null, userId)).toEqual([
      { id: enrollmentId, outcome: "blocked", newId: null, reason: "sequence_archived" },
    ]);
    const rows = await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?").bind(sequenceId).all();
    expect(rows.results).toEqual([{ status: "finished", reason: "sequence_archived" }]);
  });
});
