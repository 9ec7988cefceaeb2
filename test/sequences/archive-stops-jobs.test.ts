// Archiving a sequence stops the jobs still adding contacts to it. Before, their later chunks went on
// saving net-new people, charging a credit each, and enrolling them into the archived sequence.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { resetClock } from "../../worker/lib/clock";
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
async function jobOfFour(offset: number) {
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
    { source: { people_ids: results.map((r) => r.id) }, mailbox_ids: x.mailboxIds, skip_validation: false, enrich: false },
    null,
    "session",
  );
  expect(job).toMatchObject({ status: "queued", total: 4, creditsHeld: 4 });
  expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(6);
  const state = async () => ({
    balance: await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId),
    contacts: await one("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId),
    enrolled: await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId),
    outcomes: await one("SELECT count(*) n FROM job_outcomes WHERE job_id = ?", job.id),
  });
  const jobRow = () =>
    env.DB.prepare("SELECT status, error, enrolled, credits_used FROM jobs WHERE id = ?")
      .bind(job.id)
      .first<{ status: string; error: string | null; enrolled: number; credits_used: number }>();
  return { x, jobId: job.id, state, jobRow };
}

describe("archiving a sequence while a job adds contacts to it", () => {
  it("stops the job after its first chunk: no more saved, charged or enrolled; the unused hold comes back", async () => {
    const { x, jobId, state, jobRow } = await jobOfFour(1020);
    await processChunk(env, jobId, 0, 2);
    expect(await state()).toEqual({ balance: 6, contacts: 2, enrolled: 2, outcomes: 2 });

    await ok(client(x.s).api.sequences[":id"].archive.$post({ param: { id: x.sequenceId } }));
    // Cancelled with the reason; it used 2 of the 4 it held, the other 2 are back.
    expect(await jobRow()).toEqual({ status: "cancelled", error: SEQUENCE_ARCHIVED, enrolled: 2, credits_used: 2 });
    expect((await state()).balance).toBe(8);

    // Its second chunk, still queued, does nothing.
    await processChunk(env, jobId, 2, 4);
    expect(await state()).toEqual({ balance: 8, contacts: 2, enrolled: 2, outcomes: 2 });
    expect((await jobRow())!.status).toBe("cancelled");
    const ledger = await one("SELECT count(*) n FROM credit_ledger WHERE job_id = ? AND ref LIKE '%:settle'", jobId);
    expect(ledger).toBe(1);
  });

  it("a chunk that finds the sequence archived (its job not stopped yet) stops the job itself", async () => {
    const { x, jobId, state, jobRow } = await jobOfFour(1030);
    await processChunk(env, jobId, 0, 2);
    // Archived by a write that stopped nothing (as if the archive's own stop had not happened).
    await env.DB.prepare("UPDATE sequences SET archived_at = 1, active = 0 WHERE id = ?").bind(x.sequenceId).run();
    await processChunk(env, jobId, 2, 4);
    expect(await state()).toEqual({ balance: 8, contacts: 2, enrolled: 2, outcomes: 2 });
    expect(await jobRow()).toEqual({ status: "cancelled", error: SEQUENCE_ARCHIVED, enrolled: 2, credits_used: 2 });
  });
});
