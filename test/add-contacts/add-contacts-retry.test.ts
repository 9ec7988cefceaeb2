// A chunk that crashes part-way is redelivered and run again: whatever the crash point, the job's
// outcomes say what the job did (the contacts it enrolled are "enrolled", charged once), never
// "already in this sequence" because of its own earlier try.
import { runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { sequenceStub } from "../../durable-objects/engine";
import { resetClock } from "../../worker/lib/clock";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { commitAddContacts, processChunk } from "../../worker/services/add-contacts/jobs";
import { handle } from "../../worker/queue/consumer";
import type { jobOutcomes, jobs } from "../../worker/db/schema";
import { client, env, ok, type RawRow } from "../helpers";
import { crashAt } from "../crash";
import { addContactsSetup, contactEnrichmentFinds, makeContacts, waitForJob } from "../fixtures";

type AddContacts = ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"]["$post"];
type Source = Parameters<AddContacts>[0]["json"]["source"];
const addContacts = (x: Awaited<ReturnType<typeof addContactsSetup>>, json: Parameters<AddContacts>[0]["json"]) =>
  ok(client(x.s).api.sequences[":id"]["add-contacts"].$post({ param: { id: x.sequenceId }, header: {}, json }), 202);
const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

/** A committed job whose chunk the test runs itself: committed for later, then marked queued. */
async function job(x: Awaited<ReturnType<typeof addContactsSetup>>, source: Source) {
  const { job } = await addContacts(x, { source, add_at: Date.now() + 86_400_000 });
  await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job.id).run();
  return job;
}

type OutcomeRow = RawRow<typeof jobOutcomes>;

async function outcomes(jobId: string) {
  const { results } = await env.DB.prepare("SELECT outcome, reasons, credit_cost FROM job_outcomes WHERE job_id = ? ORDER BY idx")
    .bind(jobId)
    .all<Pick<OutcomeRow, "outcome" | "reasons" | "credit_cost">>();
  return results.map((r) => ({ outcome: r.outcome, reasons: JSON.parse(r.reasons), cost: r.credit_cost }));
}

async function people(n: number, offset: number) {
  // No recent job change, so nothing warns: every one is added.
  const { results } = await env.DB.prepare(
    "SELECT id FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT ? OFFSET ?",
  )
    .bind(n, offset)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

beforeEach(() => resetClock());

describe("add contacts: a retried chunk reports what the job did", () => {
  it("a chunk that crashed after enrolling and before its outcomes reports its contacts enrolled, not already in the sequence", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 5);
    const j = await job(x, { contact_ids: ids });
    // Writes of the chunk: contacts/enrichments (none here), then the outcomes with the progress (0), ...
    const crash = crashAt(env, 0);
    await expect(processChunk(crash, j.id, 0, 5)).rejects.toThrow(/simulated crash/);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(5);
    expect(await one("SELECT count(*) n FROM job_outcomes WHERE job_id = ?", j.id)).toBe(0);
    await processChunk(env, j.id, 0, 5); // the redelivery
    expect(await outcomes(j.id)).toEqual(Array(5).fill({ outcome: "enrolled", reasons: [], cost: 0 }));
    expect(await waitForJob(j.id)).toMatchObject({ status: "completed", enrolled: 5, skipped: 0 });
  });

  it("whatever write the chunk crashes at, the retry enrolls each contact once, charges each net-new person once and reports all enrolled", async () => {
    for (let k = 0; k < 6; k++) {
      const x = await addContactsSetup({ credits: 100 });
      const saved = await makeContacts(x.teamId, 3);
      const fresh = await people(2, 800 + k * 2);
      const j = await job(x, { contact_ids: saved, people_ids: fresh });
      expect(j.credits_held).toBe(2);
      await processChunk(crashAt(env, k), j.id, 0, 5).catch(() => {});
      await processChunk(env, j.id, 0, 5);
      const done = await waitForJob(j.id);
      expect({
        k,
        ...(await outcomes(j.id)).reduce((a, o) => ({ ...a, [o.outcome]: (a[o.outcome] ?? 0) + 1 }), {} as Record<string, number>),
      }).toEqual({ k, enrolled: 5 });
      expect(done).toMatchObject({ status: "completed", enrolled: 5, skipped: 0, credits_used: 2 });
      expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(5);
      expect(await one("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId)).toBe(5);
      expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(98);
    }
  });

  it("a chunk that found a saved contact's address, then failed before enrolling it, still charges that enrichment on the retry", async () => {
    const x = await addContactsSetup({ credits: 100 });
    // A saved contact without an address, at a domain where the built-in waterfall finds one.
    const { id } = await contactEnrichmentFinds(x.teamId);
    const { job: j } = await addContacts(x, { source: { contact_ids: [id] }, add_at: Date.now() + 86_400_000, enrich: true });
    await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(j.id).run();
    // The first try writes the address with its enrichment, then the SequenceDO is out of reach.
    const proto = await runInDurableObject(
      sequenceStub(env, x.sequenceId),
      (o: object) => Object.getPrototypeOf(o) as Record<string, unknown>,
    );
    const enroll = proto.enroll;
    proto.enroll = async () => {
      throw new Error("SequenceDO out of reach");
    };
    try {
      await expect(processChunk(env, j.id, 0, 1)).rejects.toThrow(/out of reach/);
    } finally {
      proto.enroll = enroll;
    }
    const paid = await one("SELECT sum(cost) n FROM enrichments WHERE job_id = ? AND success = 1", j.id);
    expect(paid).toBeGreaterThan(0);
    expect(await one("SELECT count(*) n FROM contacts WHERE id = ? AND email IS NOT NULL", id)).toBe(1);
    await processChunk(env, j.id, 0, 1); // the redelivery
    expect(await outcomes(j.id)).toEqual([{ outcome: "enrolled", reasons: ["enriched"], cost: paid }]);
    expect(await waitForJob(j.id)).toMatchObject({ status: "completed", enrolled: 1, credits_used: paid });
  });

  it("a chunk that failed every retry doesn't end the job under the other chunks: its contacts are 'not processed', the rest charged as usual", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const fresh = await people(6, 900);
    const j = await job(x, { people_ids: fresh });
    expect(j.credits_held).toBe(6);
    // Chunk 0–2's last try got as far as enrolling its first two people, then died before its outcomes;
    // its message is dead-lettered. Chunk 2–4 is not run yet, chunk 4–6 later.
    await processChunk(crashAt(env, 1), j.id, 0, 2).catch(() => {});
    expect(await one("SELECT count(*) n FROM job_outcomes WHERE job_id = ?", j.id)).toBe(0);
    expect(await one("SELECT count(*) n FROM enrollments WHERE job_id = ?", j.id)).toBe(2);
    await processChunk(env, j.id, 4, 6);
    await handle({ kind: "add_contacts_chunk", jobId: j.id, from: 0, to: 2 }, env, true);
    await handle({ kind: "add_contacts_chunk", jobId: j.id, from: 2, to: 4 }, env, true);
    const done = await waitForJob(j.id);
    // What the job did, charged once: the two the dead chunk enrolled, and the last chunk's two; never the two it didn't reach.
    expect((await outcomes(j.id)).map((o) => [o.outcome, o.reasons, o.cost])).toEqual([
      ["enrolled", [], 1],
      ["enrolled", [], 1],
      ["skipped", ["not_processed"], 0],
      ["skipped", ["not_processed"], 0],
      ["enrolled", [], 1],
      ["enrolled", [], 1],
    ]);
    expect(done).toMatchObject({ status: "completed", processed: 6, enrolled: 4, skipped: 2, credits_used: 4 });
    // Each failed range is named (the first one's contacts were all added by its last try).
    expect(done.error).toBe("Contacts 1–2 failed after retries; Contacts 3–4 failed after retries");
    // The hold is settled once, to what was used.
    expect(await one("SELECT -sum(amount) n FROM credit_ledger WHERE team_id = ?", x.teamId)).toBe(4);
  });

  it("a chunk delivered twice at once and again later counts its contacts and credits once in the job's progress", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const saved = await makeContacts(x.teamId, 2);
    const fresh = await people(2, 840);
    const j = await job(x, { contact_ids: saved, people_ids: fresh });
    const progress = () =>
      env.DB.prepare("SELECT status, processed, enrolled, skipped, credits_used FROM jobs WHERE id = ?")
        .bind(j.id)
        .first<Pick<RawRow<typeof jobs>, "status" | "processed" | "enrolled" | "skipped" | "credits_used">>();
    const charged = () => one("SELECT coalesce(sum(credit_cost), 0) n FROM job_outcomes WHERE job_id = ?", j.id);
    await Promise.all([processChunk(env, j.id, 0, 2), processChunk(env, j.id, 0, 2)]);
    await processChunk(env, j.id, 0, 2);
    // Still running (half the candidates): the running tallies, not a recount at the end, say 2.
    expect(await progress()).toMatchObject({ status: "running", processed: 2, enrolled: 2, skipped: 0, credits_used: await charged() });
    await processChunk(env, j.id, 2, 4);
    await processChunk(env, j.id, 2, 4);
    expect(await progress()).toMatchObject({ status: "completed", processed: 4, enrolled: 4, credits_used: 2 });
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(98);
  });

  it("a commit cut short right after writing its job leaves no job without its candidates; the retried request's job adds them all", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 4);
    const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
    const req = {
      source: { contact_ids: ids },
      mailbox_ids: x.mailboxIds,
      skip_validation: false,
      enrich: false,
      add_at: Date.now() + 60_000,
    };
    // Write 0: the job (and its hold); write 1 was its candidates, on their own.
    const crash = crashAt(env, 1);
    await commitAddContacts(crash, db(crash.DB), caller, x.sequenceId, req, "key-cut-short", "session").catch(() => {});
    const { job } = await commitAddContacts(env, db(env.DB), caller, x.sequenceId, req, "key-cut-short", "session");
    expect(job.total).toBe(4);
    expect(await one("SELECT count(*) n FROM job_candidates WHERE job_id = ?", job.id)).toBe(4);
    await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job.id).run();
    await processChunk(env, job.id, 0, 4);
    expect(await waitForJob(job.id)).toMatchObject({ status: "completed", enrolled: 4 });
  });

  it("a contact the job enrolled stays reported enrolled even if it opted out before the retry (the send-time check stops its emails)", async () => {
    const x = await addContactsSetup();
    const [a, b] = await makeContacts(x.teamId, 2);
    const j = await job(x, { contact_ids: [a!, b!] });
    await processChunk(crashAt(env, 0), j.id, 0, 2).catch(() => {});
    await env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1 WHERE id = ?").bind(a).run();
    await processChunk(env, j.id, 0, 2);
    expect((await outcomes(j.id)).map((o) => o.outcome)).toEqual(["enrolled", "enrolled"]);
  });

  it("contacts the job enrolled stay reported enrolled even if they were deleted before the retry", async () => {
    const x = await addContactsSetup();
    const [a, b] = await makeContacts(x.teamId, 2);
    const j = await job(x, { contact_ids: [a!, b!] });
    await expect(processChunk(crashAt(env, 0), j.id, 0, 2)).rejects.toThrow(/simulated crash/);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(2);
    // Both gone: the retry finds neither contact (nor their enrollments) through the facts.
    await env.DB.prepare("UPDATE contacts SET deleted_at = 1 WHERE id IN (?, ?)").bind(a, b).run();
    await processChunk(env, j.id, 0, 2);
    expect((await outcomes(j.id)).map((o) => o.outcome)).toEqual(["enrolled", "enrolled"]);
  });

  it("a person the job saved and enrolled stays reported enrolled and charged even if their email went unverified before the retry", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const [p] = await people(1, 860);
    const j = await job(x, { people_ids: [p!] });
    // The second write is the outcomes: the contact is saved and enrolled by then.
    await expect(processChunk(crashAt(env, 1), j.id, 0, 1)).rejects.toThrow(/simulated crash/);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(1);
    await env.DB.prepare("UPDATE people SET email_status = 'unverified' WHERE id = ?").bind(p).run();
    try {
      await processChunk(env, j.id, 0, 1);
      expect(await outcomes(j.id)).toEqual([{ outcome: "enrolled", reasons: ["unverified_email"], cost: 1 }]);
    } finally {
      // The people are shared fixtures: the others of this file pick theirs by offset among the verified ones.
      await env.DB.prepare("UPDATE people SET email_status = 'verified' WHERE id = ?").bind(p).run();
    }
  });

  it("a contact another request enrolled meanwhile is still skipped as already in this sequence", async () => {
    const x = await addContactsSetup();
    const [a, b] = await makeContacts(x.teamId, 2);
    const j = await job(x, { contact_ids: [a!, b!] });
    const other = await addContacts(x, { source: { contact_ids: [a!] } });
    await waitForJob(other.job.id);
    await processChunk(env, j.id, 0, 2);
    const got = await env.DB.prepare("SELECT contact_id, outcome, reasons FROM job_outcomes WHERE job_id = ?")
      .bind(j.id)
      .all<Pick<OutcomeRow, "contact_id" | "outcome" | "reasons">>();
    const by = Object.fromEntries(got.results.map((r) => [r.contact_id, [r.outcome, JSON.parse(r.reasons)]]));
    expect(by[a!]).toEqual(["skipped", ["already_in_sequence"]]);
    expect(by[b!]).toEqual(["enrolled", []]);
  });
});
