// A move of more than 1,000 contacts runs as a job (202). Before: the target's preconditions were first
// checked by the job's first page, which threw the same 422 on each of its retries (about nine minutes),
// and the job then read "failed after retries"; with 1,000 or fewer the user got the 422 at once.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import type { QueueMessage } from "../../worker/queue/messages";
import { prepareAction } from "../../worker/services/enrollments";
import { runActionPage, startActionJob } from "../../worker/services/enrollment-jobs";
import { client, env, errorOf } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, makeUser, sessionFor, startSimulation, withQueue } from "../fixtures";

const rows = async (q: string, ...b: unknown[]) =>
  (
    await env.DB.prepare(q)
      .bind(...b)
      .all<Record<string, unknown>>()
  ).results;

async function setup(n: number) {
  const { teamId, userId } = await makeTeam();
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
  const { sequenceId: target } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
  await env.DB.prepare("UPDATE sequences SET name = 'Target' WHERE id = ?").bind(target).run();
  const mb = await makeMailbox(teamId, userId);
  await enroll(teamId, sequenceId, await makeContacts(teamId, n), [mb]);
  return { teamId, userId, sequenceId, target, mb };
}

describe("a move the target can't take", () => {
  beforeEach(() => startSimulation());

  it("of more than 1,000 contacts answers 422 at once with the target's reason, and starts no job", async () => {
    const x = await setup(1_001);
    // A member who may edit both sequences but has no mailbox of their own to send from in the target.
    const member = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    await env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'edit')")
      .bind(x.target, member, x.teamId)
      .run();
    const api = client(await sessionFor(x.teamId, member)).api;
    const res = await api.sequences[":id"].enrollments[":action"].$post({
      param: { id: x.sequenceId, action: "move" },
      json: { filter: { status: "active" }, to_sequence_id: x.target },
    });
    expect(res.status).toBe(422);
    const err = await errorOf(res);
    expect(err.code).toBe("no_connected_mailbox");
    expect(err.message).toBe("Can't move to “Target”: you have no connected mailbox of your own");
    expect(await rows("SELECT id FROM enrollment_action_jobs WHERE sequence_id = ?", x.sequenceId)).toHaveLength(0);
    expect(await rows("SELECT id FROM jobs WHERE sequence_id = ?", x.target)).toHaveLength(0);
    expect(await rows("SELECT id FROM enrollments WHERE sequence_id = ? AND status = 'active'", x.sequenceId)).toHaveLength(1_001);
  });

  it("turned off after the job started: the page stops the job with the target's reason instead of retrying, and nobody leaves", async () => {
    const x = await setup(1_001);
    const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
    const sent: QueueMessage[] = [];
    const e = withQueue(sent);
    const d = db(env.DB);
    const p = { to_sequence_id: x.target, mailbox_ids: [x.mb] };
    const job = await startActionJob(
      e,
      d,
      caller,
      await prepareAction(d, caller, x.sequenceId, "move", p),
      "move",
      { status: "active" },
      p,
    );
    await env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(x.target).run();

    // The page resolves (no retry) and the job says why it stopped.
    await runActionPage(e, job.id, 0, d);
    const [after] = await rows("SELECT status, error, processed FROM enrollment_action_jobs WHERE id = ?", job.id);
    expect(after).toEqual({ status: "failed", error: "Can't move to “Target”: this sequence is inactive", processed: 0 });
    expect(sent.filter((m) => m.kind === "enrollment_action_page" && m.from > 0)).toHaveLength(0);
    expect(await rows("SELECT id FROM jobs WHERE sequence_id = ?", x.target)).toHaveLength(0);
    expect(await rows("SELECT id FROM enrollments WHERE sequence_id = ? AND status = 'active'", x.sequenceId)).toHaveLength(1_001);
  });
});
