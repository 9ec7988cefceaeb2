// A running job one of whose chunk messages was lost (delivered chunks moved it to running, the other
// never arrived) stayed running forever, holding its credits: the cron only sent a quiet *queued*
// job's chunks again. Now a queued or running job quiet for QUIET_MS (10 minutes) continues from
// where it stopped: only its chunks without outcomes go out again, nobody is enrolled or charged
// twice, and its hold is settled once. Meanwhile the job says it is stalled, then when it resumed.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { handle } from "../../worker/queue/consumer";
import type { QueueMessage } from "../../worker/queue/messages";
import { commitAddContacts, startDueJobs } from "../../worker/services/add-contacts/jobs";
import { CHUNK_SIZE, type AddContactsRequest } from "../../worker/services/add-contacts/request";
import { addContactsSetup, makeContacts, makeList, withQueue } from "../fixtures";
import { client, env, ok } from "../helpers";

const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

/** What the cron sent for this job (the cron serves every team's jobs). */
const forJob = (sent: QueueMessage[], jobId: string) => sent.filter((m) => "jobId" in m && m.jobId === jobId);

beforeEach(() => resetClock());

async function runningJobWithALostChunk() {
  setClock(now()); // the clock stands still unless the test moves it
  const x = await addContactsSetup({ credits: 10 });
  const list = await makeList(x.teamId, x.userId, await makeContacts(x.teamId, CHUNK_SIZE + 1));
  const { results } = await env.DB.prepare(
    "SELECT id FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 2 OFFSET 700",
  ).all<{ id: string }>();
  const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
  const req: AddContactsRequest = {
    source: { list_ids: [list], people_ids: results.map((r) => r.id) },
    mailbox_ids: x.mailboxIds,
    skip_validation: false,
    enrich: false,
  };
  const sent: QueueMessage[] = [];
  const { job } = await commitAddContacts(withQueue(sent), db(env.DB), caller, x.sequenceId, req, null, "session");
  expect(job).toMatchObject({ status: "queued", total: CHUNK_SIZE + 3, creditsHeld: 2 });
  expect(sent.map((m) => m.kind === "add_contacts_chunk" && [m.from, m.to])).toEqual([
    [0, CHUNK_SIZE],
    [CHUNK_SIZE, CHUNK_SIZE + 3],
  ]);
  // Which chunk holds the two net-new people is the plan's business: deliver the one that charges
  // (so the resume must not charge again), lose the other.
  const paying = await one(
    "SELECT min(idx) n FROM job_candidates WHERE job_id = ? AND person_id IS NOT NULL AND contact_id IS NULL",
    job.id,
  );
  const delivered = sent.find((m) => m.kind === "add_contacts_chunk" && paying >= m.from && paying < m.to)!;
  const lost = sent.find((m) => m !== delivered)!;
  await handle(delivered, withQueue([]), false);
  return { x, job, delivered, lost };
}

describe("add contacts: a running job whose chunk never arrived", () => {
  it("says it is stalled, is resumed by the cron with only its missing chunk, once per quiet period, and settles once", async () => {
    const { x, job, delivered, lost } = await runningJobWithALostChunk();
    const jobRow = () =>
      env.DB.prepare(
        "SELECT status, processed, enrolled, credits_used, credits_held, progress_at, resumed_at, finished_at FROM jobs WHERE id = ?",
      )
        .bind(job.id)
        .first<Record<string, number | string | null>>();
    const t0 = now();
    const mid = (await jobRow())!;
    expect(mid).toMatchObject({ status: "running", progress_at: t0, resumed_at: null });
    expect(mid.processed).toBe(delivered.kind === "add_contacts_chunk" ? delivered.to - delivered.from : -1);
    const balance = await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId);
    const api = client(x.s).api.jobs[":id"];
    expect((await ok(api.$get({ param: { id: job.id } }))).job).toMatchObject({ status: "running", stalled: false, progress_at: t0 });

    // Within the quiet period the cron leaves it alone (its messages may be on their way).
    const sent: QueueMessage[] = [];
    setClock(t0 + 9 * 60_000);
    await startDueJobs(withQueue(sent));
    expect(forJob(sent, job.id)).toEqual([]);

    // Quiet for longer: the screen says so, and the next cron tick sends the missing chunk alone.
    setClock(t0 + 11 * 60_000);
    expect((await ok(api.$get({ param: { id: job.id } }))).job).toMatchObject({ status: "running", stalled: true, resumed_at: null });
    await startDueJobs(withQueue(sent));
    expect(forJob(sent, job.id)).toEqual([lost]);
    expect(await jobRow()).toMatchObject({ status: "running", progress_at: t0, resumed_at: t0 + 11 * 60_000 });
    expect((await ok(api.$get({ param: { id: job.id } }))).job).toMatchObject({
      status: "running",
      stalled: false,
      resumed_at: t0 + 11 * 60_000,
    });
    setClock(now() + 60_000);
    await startDueJobs(withQueue(sent));
    expect(forJob(sent, job.id), "sent again once per quiet period, not every minute").toHaveLength(1);

    // The resumed chunk finishes the job; the delivered chunk arriving late changes nothing.
    await handle(lost, withQueue([]), false);
    await handle(delivered, withQueue([]), false);
    const done = (await jobRow())!;
    expect(done).toMatchObject({ status: "completed", processed: job.total, enrolled: job.total, credits_used: 2, credits_held: 2 });
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(job.total);
    expect(await one("SELECT count(DISTINCT contact_id) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(job.total);
    expect(await one("SELECT count(*) n FROM job_outcomes WHERE job_id = ?", job.id)).toBe(job.total);
    // Charged once (at the hold), nothing returned (both credits used), one settlement row.
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(balance);
    expect(await one("SELECT count(*) n FROM credit_ledger WHERE job_id = ? AND kind <> 'hold'", job.id)).toBe(1);
    // An ended job is never resumed.
    setClock(now() + 60 * 60_000);
    await startDueJobs(withQueue(sent));
    expect(forJob(sent, job.id)).toHaveLength(1);
  });

  it("a job whose chunks all wrote their outcomes but that never ended is finished by the cron, its hold settled once", async () => {
    const { x, job, lost } = await runningJobWithALostChunk();
    // The last chunk's outcomes are in, and the process stopped before the job ended (as after a crash).
    const crashing = withQueue([]);
    crashing.DB = new Proxy(env.DB, {
      get(t, k) {
        if (k === "prepare")
          return (q: string) => {
            if (/SET processed = o\.n/.test(q)) throw new Error("crashed before the job ended");
            return t.prepare(q);
          };
        const v: unknown = Reflect.get(t, k);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    await expect(handle(lost, crashing, false, db(crashing.DB))).rejects.toThrow();
    expect(await one("SELECT count(*) n FROM job_outcomes WHERE job_id = ?", job.id)).toBe(job.total);
    expect((await env.DB.prepare("SELECT status FROM jobs WHERE id = ?").bind(job.id).first<{ status: string }>())!.status).toBe("running");
    const sent: QueueMessage[] = [];
    setClock(now() + 11 * 60_000);
    await startDueJobs(withQueue(sent));
    expect(forJob(sent, job.id), "nothing left to send").toEqual([]);
    expect(await env.DB.prepare("SELECT status, credits_used FROM jobs WHERE id = ?").bind(job.id).first()).toEqual({
      status: "completed",
      credits_used: 2,
    });
    expect(await one("SELECT count(*) n FROM credit_ledger WHERE job_id = ? AND kind <> 'hold'", job.id)).toBe(1);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(job.total);
  });
});
