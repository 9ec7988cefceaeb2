// Invariant 6, "charged exactly once per net-new verified contact": two jobs (for two sequences) that
// both picked the same net-new person, run one after the other or at the same time, save that person
// once and charge once; the other job adds the saved contact at no charge (both jobs add contacts
// active in another sequence anyway, since the first job's enrollment makes them so).
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { processChunk } from "../../worker/services/add-contacts/jobs";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeSequence, waitForJob } from "../fixtures";

const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

async function people(n: number, offset: number) {
  const { results } = await env.DB.prepare(
    "SELECT id FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT ? OFFSET ?",
  )
    .bind(n, offset)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Two sequences of one team, and a job for each over the same people, committed but not run. */
async function twoJobs(offset: number) {
  const x = await addContactsSetup({ credits: 10 });
  const { sequenceId: other } = await makeSequence(x.teamId, x.userId, [{ wait: 0 }], x.scheduleId);
  const ids = await people(2, offset);
  const commit = async (seq: string) => {
    const { job } = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].$post({
        param: { id: seq },
        header: {},
        json: { source: { people_ids: ids }, overrides: { active_in_other_sequence: true }, add_at: Date.now() + 86_400_000 },
      }),
      202,
    );
    await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job.id).run();
    return job.id;
  };
  const a = await commit(x.sequenceId);
  const b = await commit(other);
  expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(6); // both hold 2
  return { x, other, a, b };
}

async function expectChargedOnce(x: { teamId: string; sequenceId: string }, other: string, a: string, b: string) {
  const [ja, jb] = [await waitForJob(a), await waitForJob(b)];
  expect([ja.enrolled, jb.enrolled]).toEqual([2, 2]);
  expect(ja.credits_used + jb.credits_used).toBe(2);
  expect(await one("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId)).toBe(2);
  expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(8);
  // Each sequence enrolled the two saved contacts (real rows, not ids of contacts that were never written).
  for (const seq of [x.sequenceId, other]) {
    expect(await one("SELECT count(*) n FROM enrollments e JOIN contacts c ON c.id = e.contact_id WHERE e.sequence_id = ?", seq)).toBe(2);
  }
}

beforeEach(() => resetClock());

describe("credits: a net-new person is charged once", () => {
  it("two jobs with the same net-new people, one after the other, charge them once", async () => {
    const { x, other, a, b } = await twoJobs(1000);
    await processChunk(env, a, 0, 2);
    await processChunk(env, b, 0, 2);
    await expectChargedOnce(x, other, a, b);
  });

  it("two jobs with the same net-new people, at the same time, charge them once", async () => {
    const { x, other, a, b } = await twoJobs(1010);
    await Promise.all([processChunk(env, a, 0, 2), processChunk(env, b, 0, 2)]);
    await expectChargedOnce(x, other, a, b);
  });
});
