// Credits under crashes and races (invariant 6): a job that ends (completed, failed, cancelled,
// aborted) changes its status and settles its hold in one D1 batch, so a crash between any two writes
// never leaves an ended job holding credits; a cron sweep settles any ended job whose settlement is
// missing; the balance never goes negative, even when contacts turn out dearer than the hold or when
// commits race for the last credits.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { runCron } from "../../worker/cron";
import { cancelJob, failJob, processChunk, startDueJobs } from "../../worker/services/add-contacts/jobs";
import type { jobs } from "../../worker/db/schema";
import { client, env, errorOf, ok, type RawRow, type Session } from "../helpers";
import { crashAt } from "../crash";
import { addContactsSetup, waitForJob } from "../fixtures";

type AddContacts = Parameters<ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"]["$post"]>[0]["json"];
/** Commits an add-contacts request through the typed client (the raw answer: some tests expect refusals). */
const commit = (s: Session, sequenceId: string, json: AddContacts) =>
  client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: sequenceId }, header: {}, json });
const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;
const balance = (teamId: string) => one("SELECT credit_balance n FROM teams WHERE id = ?", teamId);
const ledgerSum = (teamId: string) => one("SELECT coalesce(sum(amount), 0) n FROM credit_ledger WHERE team_id = ?", teamId);
const settlements = (jobId: string) => one("SELECT count(*) n FROM credit_ledger WHERE job_id = ? AND kind <> 'hold'", jobId);

/** Verified people nobody saved yet, distinct per test by offset. */
async function people(status: string, n: number, offset: number) {
  const { results } = await env.DB.prepare("SELECT id FROM people WHERE email_status = ? ORDER BY id LIMIT ? OFFSET ?")
    .bind(status, n, offset)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** A job that holds `n` credits and has not run: committed for later, so no queue message exists. */
async function heldJob(n: number, offset: number, credits = 10) {
  const x = await addContactsSetup({ credits });
  const ids = await people("verified", n, offset);
  const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: ids }, add_at: Date.now() + 86_400_000 }), 202);
  expect(job).toMatchObject({ status: "scheduled", credits_held: n });
  expect(await balance(x.teamId)).toBe(credits - n);
  return { x, job, credits };
}

/** The invariant after any crash: an ended job has given back what it held; a live one still holds it. */
async function expectHoldAccounted(teamId: string, jobId: string, credits: number) {
  const j = (await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(jobId).first<RawRow<typeof jobs>>())!;
  const ended = ["completed", "failed", "cancelled"].includes(j.status);
  expect({ status: j.status, balance: await balance(teamId) }).toEqual({
    status: j.status,
    balance: ended ? credits - j.credits_used : credits - j.credits_held,
  });
  expect(await balance(teamId)).toBe(credits + (await ledgerSum(teamId)));
}

beforeEach(() => resetClock());

describe("credits: ending a job and settling its hold are one transaction", () => {
  it("a crash at any write while failing a job never leaves it failed with its hold kept", async () => {
    for (let k = 0; k < 4; k++) {
      const { x, job, credits } = await heldJob(3, 600 + k * 3);
      await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job.id).run();
      await failJob(crashAt(env, k), job.id, "Chunk failed after retries").catch(() => {});
      await expectHoldAccounted(x.teamId, job.id, credits);
      // The retry (the dead-letter message again) finishes the work, once.
      await failJob(env, job.id, "Chunk failed after retries");
      await failJob(env, job.id, "Chunk failed after retries");
      expect(await one("SELECT count(*) n FROM jobs WHERE id = ? AND status = 'failed'", job.id)).toBe(1);
      expect(await balance(x.teamId)).toBe(credits);
      expect(await settlements(job.id)).toBe(1);
    }
  });

  it("a crash at any write while cancelling a scheduled job never leaves it cancelled with its hold kept", async () => {
    for (let k = 0; k < 3; k++) {
      const { x, job, credits } = await heldJob(2, 620 + k * 2);
      await cancelJob(crashAt(env, k), x.teamId, job.id).catch(() => {});
      await expectHoldAccounted(x.teamId, job.id, credits);
    }
  });

  it("a crash at any write while aborting an interrupted commit never leaves it failed with its hold kept", async () => {
    for (let k = 0; k < 3; k++) {
      const { x, job, credits } = await heldJob(2, 640 + k * 2);
      await env.DB.prepare(
        "UPDATE jobs SET status = 'preparing', created_at = created_at - 3600000, run_at = created_at - 3600000 WHERE id = ?",
      )
        .bind(job.id)
        .run();
      await startDueJobs(crashAt(env, k)).catch(() => {});
      await expectHoldAccounted(x.teamId, job.id, credits);
      await startDueJobs(env);
      expect(await one("SELECT count(*) n FROM jobs WHERE id = ? AND status = 'failed'", job.id)).toBe(1);
      expect(await balance(x.teamId)).toBe(credits);
      expect(await settlements(job.id)).toBe(1);
    }
  });

  it("the cron sweep settles an ended job whose settlement is missing, exactly once", async () => {
    const { x, job, credits } = await heldJob(3, 660);
    // What an older crash left behind: the status changed, the hold never came back.
    await env.DB.prepare("UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ?").bind(Date.now(), job.id).run();
    expect(await balance(x.teamId)).toBe(credits - 3);
    const controller = { scheduledTime: Date.now(), cron: "* * * * *", noRetry() {} } as ScheduledController;
    await runCron(controller, env);
    await runCron(controller, env);
    expect(await balance(x.teamId)).toBe(credits);
    expect(await settlements(job.id)).toBe(1);
    expect(await balance(x.teamId)).toBe(credits + (await ledgerSum(x.teamId)));
    // A job that already gave its hold back is left alone.
    await cancelJob(env, x.teamId, job.id);
    expect(await balance(x.teamId)).toBe(credits);
  });
});

describe("credits: the balance never goes negative", () => {
  it("contacts that turn out dearer than the hold never take the balance below zero", async () => {
    // Balance 1: one verified person (max 1) and one unverified one added anyway (max 0) are covered.
    const x = await addContactsSetup({ credits: 1 });
    const [verified] = await people("verified", 1, 680);
    const [unverified] = await people("unverified", 1, 0);
    const { job } = await ok(
      commit(x.s, x.sequenceId, {
        source: { people_ids: [verified!, unverified!] },
        overrides: { unverified_email: true },
        add_at: Date.now() + 86_400_000,
      }),
      202,
    );
    expect(job.credits_held).toBe(1);
    expect(await balance(x.teamId)).toBe(0);
    // Before the chunk runs, the shared database verifies the second address: it now costs 1 too.
    await env.DB.prepare("UPDATE people SET email_status = 'verified' WHERE id = ?").bind(unverified).run();
    try {
      await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job.id).run();
      await processChunk(env, job.id, 0, 2);
      const done = await waitForJob(job.id);
      expect(done.status).toBe("completed");
      expect(await balance(x.teamId)).toBeGreaterThanOrEqual(0);
      expect(await balance(x.teamId)).toBe(1 + (await ledgerSum(x.teamId)));
      const rows = await env.DB.prepare("SELECT balance_after FROM credit_ledger WHERE team_id = ?")
        .bind(x.teamId)
        .all<{ balance_after: number }>();
      expect(rows.results.every((r) => r.balance_after >= 0)).toBe(true);
    } finally {
      await env.DB.prepare("UPDATE people SET email_status = 'unverified' WHERE id = ?").bind(unverified).run();
    }
  });

  it("concurrent commits racing for the last credits: only those the balance covers are taken", async () => {
    const x = await addContactsSetup({ credits: 3 });
    const ids = await people("verified", 6, 700);
    const answers = await Promise.all(ids.map((id) => commit(x.s, x.sequenceId, { source: { people_ids: [id] } })));
    const accepted = answers.filter((r) => r.status === 202);
    const refused = answers.filter((r) => r.status !== 202);
    expect(accepted).toHaveLength(3);
    for (const r of refused) expect(await errorOf(r)).toMatchObject({ status: 422, code: "insufficient_credits" });
    for (const r of accepted) expect((await waitForJob((await ok(Promise.resolve(r), 202)).job.id)).status).toBe("completed");
    expect(await balance(x.teamId)).toBe(0);
    expect(await balance(x.teamId)).toBe(3 + (await ledgerSum(x.teamId)));
    expect(await one("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(3);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(3);
  });
});
