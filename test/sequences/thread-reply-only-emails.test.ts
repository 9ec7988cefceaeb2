// Only an email replies in a thread. A call or a task saved with thread_reply: true meant nothing to the
// engine, yet counted as a reply needing an email before it: moving or deleting that email was refused (422)
// and the editor (which shows no threading on such a step) could not clear it. The flag is refused on them
// now, and a row written before that no longer blocks the email's moves.
import { describe, expect, it } from "vitest";
import { makeSequence, makeTeam, sessionFor } from "../fixtures";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";

async function world(steps: Parameters<typeof makeSequence>[2]) {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const { sequenceId, stepIds } = await makeSequence(teamId, userId, steps, null, false);
  const rows = async () =>
    (
      await env.DB.prepare("SELECT id, type, thread_reply FROM steps WHERE sequence_id = ? ORDER BY position")
        .bind(sequenceId)
        .all<{ id: string; type: string; thread_reply: number }>()
    ).results;
  return { api, sequenceId, stepIds, rows };
}

describe("thread_reply on a step that is not an email", () => {
  it("is refused when a call is added with it or a task is changed to it; nothing is written", async () => {
    const w = await world([{ wait: 0 }, { wait: 1, type: "task" }]);
    const added = await w.api.sequences[":id"].steps.$post({ param: { id: w.sequenceId }, json: { type: "call", thread_reply: true } });
    expect(added.status).toBe(422);
    expect(fieldsOf(await errorOf(added)).map(({ field, message }) => ({ field, message }))).toEqual([
      { field: "thread_reply", message: expect.stringContaining("Only an email step") },
    ]);
    const changed = await w.api.sequences[":id"].steps[":stepId"].$patch({
      param: { id: w.sequenceId, stepId: w.stepIds[1]! },
      json: { thread_reply: true },
    });
    expect(changed.status).toBe(422);
    expect(fieldsOf(await errorOf(changed))[0]!.field).toBe("thread_reply");
    expect((await w.rows()).map((r) => [r.type, r.thread_reply])).toEqual([
      ["auto_email", 0],
      ["task", 0],
    ]);
    // An email may still reply in its thread.
    await ok(
      w.api.sequences[":id"].steps.$post({
        param: { id: w.sequenceId },
        json: { type: "auto_email", thread_reply: true, variants: [{ subject: "", body: "Following up" }] },
      }),
      201,
    );
    expect((await w.rows()).at(-1)).toMatchObject({ type: "auto_email", thread_reply: 1 });
  });

  it("stored before it was refused, it no longer blocks moving or deleting the email before it", async () => {
    const w = await world([{ wait: 0 }, { wait: 1, type: "call", threadReply: true }, { wait: 1, type: "auto_email" }]);
    const [email, call, other] = w.stepIds;
    await ok(w.api.sequences[":id"].steps.reorder.$post({ param: { id: w.sequenceId }, json: { step_ids: [call!, email!, other!] } }));
    expect((await w.rows()).map((r) => r.id)).toEqual([call, email, other]);
    await ok(w.api.sequences[":id"].steps[":stepId"].$delete({ param: { id: w.sequenceId, stepId: email! } }));
    expect((await w.rows()).map((r) => r.id)).toEqual([call, other]);
  });
});
