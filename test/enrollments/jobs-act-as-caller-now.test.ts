// A background job acts with the rights its caller has when it acts, as a request would. Before, a
// bulk action's later pages ran on the caller as they were when it started (a disabled user or a
// revoked key went on pausing or moving contacts), and a scheduled add started whoever had committed it.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller, Env } from "../../worker/env";
import { now, setClock } from "../../worker/lib/clock";
import { startDueJobs } from "../../worker/services/add-contacts/jobs";
import { runActionPage, startActionJob } from "../../worker/services/enrollment-jobs";
import { prepareAction } from "../../worker/services/enrollments";
import { client, env, ok } from "../helpers";
import { addContactsSetup, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, startSimulation } from "../fixtures";

const statuses = async (sequenceId: string) =>
  (await env.DB.prepare("SELECT status, count(*) n FROM enrollments WHERE sequence_id = ? GROUP BY status").bind(sequenceId).all()).results;

describe("a job's caller, as they are when it acts", () => {
  beforeEach(() => startSimulation());

  it("a bulk action's page after its user was disabled stops the job; nothing more changes", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1200), [await makeMailbox(teamId, userId)]);
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };
    const d = db(env.DB);
    // The job's pages are run here, one by one (its queue messages are kept, not delivered).
    const queued: unknown[] = [];
    const quiet = { ...env, JOBS: { send: async (m: unknown) => void queued.push(m), sendBatch: async () => {} } } as unknown as Env;
    const prep = await prepareAction(d, caller, sequenceId, "pause", {});
    const job = await startActionJob(quiet, d, caller, prep, "pause", { status: "active" }, {});
    expect(queued).toHaveLength(1);
    await env.DB.prepare("UPDATE users SET disabled_at = ? WHERE id = ?").bind(now(), userId).run();
    await runActionPage(quiet, job.id, 0, d);
    const row = await env.DB.prepare("SELECT status, error FROM enrollment_action_jobs WHERE id = ?")
      .bind(job.id)
      .first<{ status: string; error: string }>();
    expect(row).toMatchObject({ status: "failed", error: expect.stringMatching(/can no longer act/) });
    expect(await statuses(sequenceId)).toEqual([{ status: "active", n: 1200 }]);
  });

  it("a scheduled add whose user was disabled before its time doesn't start, says why, and holds no credits", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const ids = await makeContacts(x.teamId, 3);
    const { job } = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].$post({
        param: { id: x.sequenceId },
        header: {},
        json: { source: { contact_ids: ids }, add_at: now() + 3_600_000 },
      }),
      202,
    );
    await env.DB.prepare("UPDATE users SET disabled_at = ? WHERE id = ?").bind(now(), x.userId).run();
    setClock(now() + 2 * 3_600_000);
    await startDueJobs(env);
    expect(await env.DB.prepare("SELECT status, error FROM jobs WHERE id = ?").bind(job.id).first()).toEqual({
      status: "failed",
      error: "Not started: the user who scheduled it was disabled or removed",
    });
    expect(await statuses(x.sequenceId)).toEqual([]);
  });
});
