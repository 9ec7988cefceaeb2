// A job whose chunks failed every retry (or that stopped part-way) can add again exactly the contacts it did not
// process, through the usual preview and commit: source { not_processed_of_job }. Read where the job keeps them
// (job_candidates, job_outcomes), so a 100,000-contact job's failures need no id list; those it added are not
// candidates again, and nobody is charged twice.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { failJob, processChunk } from "../../worker/services/add-contacts/jobs";
import { handle } from "../../worker/queue/consumer";
import { client, env, errorOf, ok } from "../helpers";
import { crashAt } from "../crash";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

type X = Awaited<ReturnType<typeof addContactsSetup>>;
type AddContacts = ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"];
type Body = Parameters<AddContacts["$post"]>[0]["json"];
const preview = (x: X, json: Body) =>
  client(x.s).api.sequences[":id"]["add-contacts"].preview.$post({ param: { id: x.sequenceId }, query: {}, json });
const commit = (x: X, json: Body) =>
  client(x.s).api.sequences[":id"]["add-contacts"].$post({ param: { id: x.sequenceId }, header: {}, json });
const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;
const rows = async <T>(sql: string, ...b: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...b)
      .all<T>()
  ).results;

/** A committed job whose chunks the test runs itself: committed for later, then marked queued. */
async function queuedJob(x: X, source: Body["source"]) {
  const { job } = await ok(commit(x, { source, add_at: Date.now() + 86_400_000 }), 202);
  await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job.id).run();
  return job;
}

async function people(n: number, offset: number) {
  return (
    await rows<{ id: string }>(
      "SELECT id FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT ? OFFSET ?",
      n,
      offset,
    )
  ).map((r) => r.id);
}

beforeEach(() => resetClock());

describe("add contacts: retry a job's contacts not processed", () => {
  it("adds only those skipped as not processed, charged once: those the job added are neither candidates nor charged again", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const fresh = await people(6, 0);
    const j = await queuedJob(x, { people_ids: fresh });
    // Chunk 0–2 enrolls its two then dies before its outcomes and is dead-lettered; chunk 2–4 is dead-lettered unrun.
    await processChunk(crashAt(env, 1), j.id, 0, 2).catch(() => {});
    await processChunk(env, j.id, 4, 6);
    await handle({ kind: "add_contacts_chunk", jobId: j.id, from: 0, to: 2 }, env, true);
    await handle({ kind: "add_contacts_chunk", jobId: j.id, from: 2, to: 4 }, env, true);
    expect(await waitForJob(j.id)).toMatchObject({ status: "completed", enrolled: 4, skipped: 2, credits_used: 4 });
    const missed = (
      await rows<{ person_id: string }>(
        "SELECT person_id FROM job_outcomes o WHERE job_id = ? AND EXISTS (SELECT 1 FROM json_each(o.reasons) WHERE value = 'not_processed') ORDER BY idx",
        j.id,
      )
    ).map((r) => r.person_id);
    expect(missed).toHaveLength(2);

    // The job's page reads how many there are without the outcomes.
    expect((await ok(client(x.s).api.jobs[":id"].$get({ param: { id: j.id } }))).job.not_processed).toBe(2);
    const body = { source: { not_processed_of_job: j.id } };
    const p = await ok(preview(x, body));
    expect(p.totals).toMatchObject({ candidates: 2, enrolled: 2, skipped: 0 });
    expect(p.credits).toMatchObject({ exact: 2, maximum: 2 });
    const { job: again } = await ok(commit(x, body), 202);
    expect(again.source).toMatchObject({ kind: "retry", retry_of: j.id });
    expect(await waitForJob(again.id)).toMatchObject({ status: "completed", total: 2, enrolled: 2, credits_used: 2 });
    const added = await rows<{ person_id: string }>(
      "SELECT c.person_id FROM job_outcomes o JOIN contacts c ON c.id = o.contact_id WHERE o.job_id = ? ORDER BY c.person_id",
      again.id,
    );
    expect(added.map((r) => r.person_id)).toEqual([...missed].sort());
    // Six people, six runs, six credits spent in all (4 + 2): the retry charged nobody the first job had.
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(6);
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(94);
    // Nothing left to retry: the second job processed them.
    expect((await ok(preview(x, { source: { not_processed_of_job: again.id } }))).totals).toMatchObject({ candidates: 0 });
  });

  it("a failed job's contacts it never reached (no outcome) are the ones added again", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 4);
    const j = await queuedJob(x, { contact_ids: ids });
    await processChunk(env, j.id, 0, 2);
    await failJob(env, j.id, "Stopped");
    const reached = (await rows<{ contact_id: string }>("SELECT contact_id FROM job_outcomes WHERE job_id = ?", j.id)).map(
      (r) => r.contact_id,
    );
    expect(reached).toHaveLength(2);
    expect((await ok(client(x.s).api.jobs[":id"].$get({ param: { id: j.id } }))).job.not_processed).toBe(2);
    const { job: again } = await ok(commit(x, { source: { not_processed_of_job: j.id } }), 202);
    await waitForJob(again.id);
    const retried = (
      await rows<{ contact_id: string }>("SELECT contact_id FROM job_outcomes WHERE job_id = ? ORDER BY contact_id", again.id)
    ).map((r) => r.contact_id);
    expect(retried).toEqual(ids.filter((id) => !reached.includes(id)).sort());
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
  });

  it("another team's job is not found, and a job still running can't be retried yet", async () => {
    const x = await addContactsSetup();
    const other = await addContactsSetup();
    const j = await queuedJob(x, { contact_ids: await makeContacts(x.teamId, 2) });
    expect(await errorOf(await preview(other, { source: { not_processed_of_job: j.id } }))).toMatchObject({
      status: 404,
      code: "not_found",
    });
    expect(await errorOf(await commit(x, { source: { not_processed_of_job: j.id } }))).toMatchObject({ status: 409, code: "conflict" });
    expect(await one("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(1);
  });
});
