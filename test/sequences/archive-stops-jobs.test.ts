// Archiving a sequence stops the jobs still adding contacts to it. Before, their later chunks went on
// saving net-new people, charging a credit each, and enrolling them into the archived sequence. A job
// already started is stopped by its own chunks (the rest skipped as sequence_archived), never by the
// archive: ending it there settled its hold while a chunk on its way still saved and paid for people.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { now, resetClock } from "../../worker/lib/clock";
import type { QueueMessage } from "../../worker/queue/messages";
import { commitAddContacts, processChunk, SEQUENCE_ARCHIVED } from "../../worker/services/add-contacts/jobs";
import { addContactsSetup, withQueue } from "../fixtures";
import { client, env, ok } from "../helpers";

const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

beforeEach(() => resetClock());

/** A job over four net-new verified people (a credit each), committed, its chunks not yet run. */
async function jobOfFour(offset: number, addAt?: number) {
  const x = await addContactsSetup({ credits: 10 });
  const { results } = await env.DB.prepare(
    "SELECT id FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 4 OFFSET ?",
  )
    .bind(offset)
    .all<{ id: string }>();
  const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
  const sent: QueueMessage[] = [];
  const { job } = await commitAddContacts(
    withQueue(sent),
    db(env.DB),
    caller,
    x.sequenceId,
    {
      source: { people_ids: results.map((r) => r.id) },
      mailbox_ids: x.mailboxIds,
      skip_validation: false,
      enrich: false,
      ...(addAt ? { add_at: addAt } : {}),
    },
    null,
    "session",
  );
  expect(job).toMatchObject({ status: addAt ? "scheduled" : "queued", total: 4, creditsHeld: 4 });
  expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(6);
  const state = async () => ({
    balance: await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId),
    contacts: await one("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId),
    enrolled: await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId),
    outcomes: await one("SELECT count(*) n FROM job_outcomes WHERE job_id = ?", job.id),
  });
  const jobRow = () =>
    env.DB.prepare("SELECT status, error, enrolled, skipped, credits_used FROM jobs WHERE id = ?")
      .bind(job.id)
      .first<{ status: string; error: string | null; enrolled: number; skipped: number; credits_used: number }>();
  const settlements = () => one("SELECT count(*) n FROM credit_ledger WHERE job_id = ? AND ref LIKE '%:settle'", job.id);
  const archive = () => ok(client(x.s).api.sequences[":id"].archive.$post({ param: { id: x.sequenceId } }));
  return { x, jobId: job.id, state, jobRow, settlements, archive };
}

/** The reasons of the job's outcomes, in order. */
const reasonsOf = async (jobId: string) =>
  (
    await env.DB.prepare("SELECT outcome, reasons FROM job_outcomes WHERE job_id = ? ORDER BY idx")
      .bind(jobId)
      .all<{ outcome: string; reasons: string }>()
  ).results.map((r) => [r.outcome, JSON.parse(r.reasons) as string[]]);

/**
 * A Db whose batch writing a chunk's outcomes first runs `before` (once): the chunk has passed its
 * archived check, saved its people and enrolled them, and not yet written what it did.
 */
function beforeOutcomes(before: () => Promise<unknown>) {
  let armed = false;
  let done = false;
  const real = env.DB;
  const d1 = new Proxy(real, {
    get(t, k) {
      if (k === "prepare")
        return (q: string) => {
          if (!done && q.includes("INTO job_outcomes")) armed = true;
          return t.prepare(q);
        };
      if (k === "batch")
        return async (stmts: D1PreparedStatement[]) => {
          if (armed) {
            armed = false;
            done = true;
            await before();
          }
          return t.batch(stmts);
        };
      const v = Reflect.get(t, k) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return db(d1);
}

describe("archiving a sequence while a job adds contacts to it", () => {
  it("a started job is left to its chunks: the rest are skipped as sequence_archived, the hold settled once", async () => {
    const { jobId, state, jobRow, settlements, archive } = await jobOfFour(1020);
    await processChunk(env, jobId, 0, 2);
    expect(await state()).toEqual({ balance: 6, contacts: 2, enrolled: 2, outcomes: 2 });

    // The archive does not end a job whose chunks may be running (it would settle before they write).
    await archive();
    expect((await jobRow())!.status).toBe("running");
    expect((await state()).balance).toBe(6);

    // Its second chunk saves, charges and enrolls nobody: it skips its range, and the job ends with it.
    await processChunk(env, jobId, 2, 4);
    expect(await state()).toEqual({ balance: 8, contacts: 2, enrolled: 2, outcomes: 4 });
    expect(await jobRow()).toEqual({ status: "completed", error: null, enrolled: 2, skipped: 2, credits_used: 2 });
    expect((await reasonsOf(jobId)).slice(2)).toEqual([
      ["skipped", ["sequence_archived"]],
      ["skipped", ["sequence_archived"]],
    ]);
    expect(await settlements()).toBe(1);

    // Delivered again: nothing more.
    await processChunk(env, jobId, 2, 4);
    expect((await state()).balance).toBe(8);
    expect(await settlements()).toBe(1);
  });

  it("a chunk past its archived check when the archive lands: what it saved is charged, the hold settled once", async () => {
    const { jobId, state, jobRow, settlements, archive } = await jobOfFour(1040);
    // The first chunk saves and enrolls its two net-new people; the archive runs before it writes its outcomes.
    await processChunk(env, jobId, 0, 2, beforeOutcomes(archive));
    expect(await one("SELECT archived_at IS NOT NULL n FROM sequences WHERE id = (SELECT sequence_id FROM jobs WHERE id = ?)", jobId)).toBe(
      1,
    );
    expect((await state()).contacts).toBe(2);
    expect(await settlements()).toBe(0);

    await processChunk(env, jobId, 2, 4);
    // Two net-new contacts saved, two credits charged: 10 - 2; the other two held are back.
    expect(await state()).toMatchObject({ balance: 8, contacts: 2, outcomes: 4 });
    expect(await jobRow()).toEqual({ status: "completed", error: null, enrolled: 2, skipped: 2, credits_used: 2 });
    expect(await settlements()).toBe(1);
    expect(await one("SELECT -sum(amount) n FROM credit_ledger WHERE job_id = ?", jobId)).toBe(2);
  });

  it("a scheduled job is stopped by the archive, its whole hold returned", async () => {
    const { state, jobRow, settlements, archive } = await jobOfFour(1050, now() + 86_400_000);
    await archive();
    expect(await jobRow()).toEqual({ status: "cancelled", error: SEQUENCE_ARCHIVED, enrolled: 0, skipped: 0, credits_used: 0 });
    expect(await state()).toEqual({ balance: 10, contacts: 0, enrolled: 0, outcomes: 0 });
    expect(await settlements()).toBe(1);
  });

  it("a chunk that finds the sequence archived (written without the archive) skips its range and ends the job", async () => {
    const { x, jobId, state, jobRow, settlements } = await jobOfFour(1030);
    await processChunk(env, jobId, 0, 2);
    await env.DB.prepare("UPDATE sequences SET archived_at = 1, active = 0 WHERE id = ?").bind(x.sequenceId).run();
    await processChunk(env, jobId, 2, 4);
    expect(await state()).toEqual({ balance: 8, contacts: 2, enrolled: 2, outcomes: 4 });
    expect(await jobRow()).toEqual({ status: "completed", error: null, enrolled: 2, skipped: 2, credits_used: 2 });
    expect(await settlements()).toBe(1);
  });
});
