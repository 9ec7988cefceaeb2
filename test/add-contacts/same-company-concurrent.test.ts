// Two adds of one sequence at the same moment, each with a contact of Acme and one contact per company asked:
// each job's chunk read the sequence before either had enrolled, so both enrolled. Exactly one may.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { engine } from "../../durable-objects/engine";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
type AddContacts = ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"];
type Req = Parameters<AddContacts["$post"]>[0]["json"];
const commit = (s: S, seq: string, json: Req) =>
  client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: seq }, header: {}, json });

beforeEach(() => resetClock());

describe("skip_same_company: two adds at once", () => {
  it("two jobs, one Acme contact each: exactly one is enrolled, the other job reports it skipped as same_company", async () => {
    const x = await addContactsSetup();
    const [a, b] = await makeContacts(x.teamId, 2);
    await env.DB.prepare(
      "UPDATE contacts SET company = 'Acme', domain = CASE id WHEN ? THEN 'acme.com' ELSE 'www.acme.com' END WHERE id IN (?, ?)",
    )
      .bind(a, a, b)
      .run();
    const [first, second] = await Promise.all([
      ok(commit(x.s, x.sequenceId, { source: { contact_ids: [a!] }, skip_same_company: true }), 202),
      ok(commit(x.s, x.sequenceId, { source: { contact_ids: [b!] }, skip_same_company: true }), 202),
    ]);
    await Promise.all([waitForJob(first.job.id), waitForJob(second.job.id)]);
    const outcomes = (
      await env.DB.prepare("SELECT job_id, contact_id, outcome, reasons FROM job_outcomes WHERE job_id IN (?, ?)")
        .bind(first.job.id, second.job.id)
        .all<{ job_id: string; contact_id: string; outcome: string; reasons: string }>()
    ).results;
    expect(outcomes.length).toBe(2);
    const enrolled = outcomes.filter((o) => o.outcome === "enrolled");
    const skipped = outcomes.filter((o) => o.outcome === "skipped");
    expect(enrolled.length).toBe(1);
    expect(skipped.map((o) => JSON.parse(o.reasons))).toEqual([["same_company"]]);
    const open = (
      await env.DB.prepare("SELECT contact_id FROM enrollments WHERE sequence_id = ? AND status IN ('scheduled','active','paused','held')")
        .bind(x.sequenceId)
        .all<{ contact_id: string }>()
    ).results.map((r) => r.contact_id);
    expect(open).toEqual([enrolled[0]!.contact_id]);
    // Each job's totals agree with its outcome.
    const jobs = await Promise.all([waitForJob(first.job.id), waitForJob(second.job.id)]);
    expect(jobs.map((j) => j.enrolled).sort()).toEqual([0, 1]);
  });

  it("the SequenceDO: two enroll calls at once with one Acme contact each enroll exactly one; a finished colleague doesn't count", async () => {
    const x = await addContactsSetup();
    const [a, b, c, d] = await makeContacts(x.teamId, 4);
    await env.DB.prepare("UPDATE contacts SET domain = 'acme.com' WHERE id IN (?, ?, ?)").bind(a, b, c).run();
    await env.DB.prepare("UPDATE contacts SET domain = 'globex.com' WHERE id = ?").bind(d).run();
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    const item = (id: string, company: string | null) => ({
      enrollmentId: `e-${id}`,
      contactId: id,
      mailboxId: x.mailboxIds[0]!,
      score: 1,
      timeZone: null,
      company,
    });
    const [one, two] = await Promise.all([seq.enroll([item(a!, "d:acme.com")]), seq.enroll([item(b!, "d:acme.com")])]);
    expect([...one.enrolled, ...two.enrolled]).toHaveLength(1);
    const [winner] = [...one.enrolled, ...two.enrolled];
    const loser = winner === a ? b : a;
    expect([...one.sameCompany, ...two.sameCompany]).toEqual([loser]);
    // Once the colleague's run is finished, the company is free again; within one call the first one wins.
    await seq.finish([`e-${winner}`]);
    const three = await seq.enroll([item(c!, "d:acme.com"), item(loser!, "d:acme.com"), item(d!, "d:globex.com")]);
    expect(three).toMatchObject({ enrolled: [c, d], sameCompany: [loser] });
    const open = (
      await env.DB.prepare(
        "SELECT contact_id FROM enrollments WHERE sequence_id = ? AND status IN ('active','paused','held') ORDER BY contact_id",
      )
        .bind(x.sequenceId)
        .all<{ contact_id: string }>()
    ).results.map((r) => r.contact_id);
    expect(open).toEqual([c!, d!].sort());
  });
});
