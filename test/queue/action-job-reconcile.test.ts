// A bulk enrollment action (a job over a filter) left "running" with nothing queued (its first page's
// send failed after the job was committed, or a later page's hand-on was lost) is found and repaired
// (invariant 10): the cron sends the page of its first pending row once it has been quiet for
// ACTION_JOB_QUIET_MS, and every enrollment is acted on once.
import { beforeEach, describe, expect, it } from "vitest";
import { runCron } from "../../worker/cron";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { advanceClock } from "../../worker/lib/clock";
import { handle } from "../../worker/queue/consumer";
import type { QueueMessage } from "../../worker/queue/messages";
import { ACTION_JOB_QUIET_MS, startActionJob } from "../../worker/services/enrollment-jobs";
import { prepareAction } from "../../worker/services/enrollments";
import { env } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, startSimulation, withQueue } from "../fixtures";

const tick = { scheduledTime: 0, cron: "* * * * *", noRetry() {} } as ScheduledController;

/** Delivers what was sent, and what that sends, until the queue is empty. */
async function drain(sent: QueueMessage[]) {
  for (let m = sent.shift(); m; m = sent.shift()) await handle(m, withQueue(sent), false);
}

describe("bulk enrollment actions: a page message that was lost", () => {
  beforeEach(() => startSimulation());

  it("is sent again by the cron after the quiet period, once, and the job completes acting on each enrollment once", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1200), [await makeMailbox(teamId, userId)]);
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };
    const d = db(env.DB);
    const prep = await prepareAction(d, caller, sequenceId, "pause", {});

    // The job is committed, then its first page's send fails.
    const sent: QueueMessage[] = [];
    await expect(startActionJob(withQueue(sent, { left: 1 }), d, caller, prep, "pause", { status: "active" }, {})).rejects.toThrow(
      /queue unavailable/,
    );
    const jobId = (await env.DB.prepare("SELECT id FROM enrollment_action_jobs WHERE sequence_id = ?")
      .bind(sequenceId)
      .first<{ id: string }>())!.id;
    await runCron(tick, withQueue(sent));
    expect(sent, "a running job is left alone while its page may still be on its way").toEqual([]);

    advanceClock(ACTION_JOB_QUIET_MS + 60_000);
    await runCron(tick, withQueue(sent));
    expect(sent).toEqual([{ kind: "enrollment_action_page", jobId, from: 0 }]);
    await runCron(tick, withQueue(sent));
    expect(sent, "sent again once per quiet period, not every minute").toHaveLength(1);

    // The first page runs; its hand-on to the second page is lost too.
    await handle(sent.shift()!, withQueue([]), false);
    // The lost original's copy reaches the dead-letter queue late: its page is done, so the job goes on.
    await handle({ kind: "enrollment_action_page", jobId, from: 0 }, withQueue([]), true);
    expect(await env.DB.prepare("SELECT status, processed FROM enrollment_action_jobs WHERE id = ?").bind(jobId).first()).toEqual({
      status: "running",
      processed: 1000,
    });
    await runCron(tick, withQueue(sent));
    expect(sent, "the page that just ran moved the job's heartbeat").toEqual([]);
    advanceClock(ACTION_JOB_QUIET_MS + 60_000);
    await runCron(tick, withQueue(sent));
    expect(sent).toEqual([{ kind: "enrollment_action_page", jobId, from: 1000 }]);
    await drain(sent);

    expect(
      await env.DB.prepare("SELECT status, total, processed, changed, outcome_counts FROM enrollment_action_jobs WHERE id = ?")
        .bind(jobId)
        .first(),
    ).toEqual({ status: "completed", total: 1200, processed: 1200, changed: 1200, outcome_counts: JSON.stringify({ paused: 1200 }) });
    expect(
      (await env.DB.prepare("SELECT status, count(*) n FROM enrollments WHERE sequence_id = ? GROUP BY status").bind(sequenceId).all())
        .results,
    ).toEqual([{ status: "paused", n: 1200 }]);
  });
});
