// One contact per company (skip_same_company; Apollo's sequence_same_company_in_same_campaign: false): a contact whose
// company already has someone open in the sequence, or a colleague earlier in the same add, is skipped as
// same_company, the same way in the preview and in the job (the candidate query decides it for both). Apollo's
// false answered 422 before, so every add from a client that always sends it failed.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { now, resetClock } from "../../worker/lib/clock";
import { candidatePage, stageCandidatesSql } from "../../worker/services/add-contacts/candidates";
import { processChunk } from "../../worker/services/add-contacts/jobs";
import { call, client, env, ok } from "../helpers";
import { DAY, addContactsSetup, enroll, makeContacts, waitForJob } from "../fixtures";
import { masterKey } from "../apollo/apollo-key";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
type AddContacts = ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"];
type Req = Parameters<AddContacts["$post"]>[0]["json"];
const preview = (s: S, seq: string, json: Req) =>
  client(s).api.sequences[":id"]["add-contacts"].preview.$post({ param: { id: seq }, query: {}, json });
const commit = (s: S, seq: string, json: Req) =>
  client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: seq }, header: {}, json });

const enrolledContacts = async (sequenceId: string) =>
  (
    await env.DB.prepare("SELECT contact_id FROM enrollments WHERE sequence_id = ? ORDER BY contact_id")
      .bind(sequenceId)
      .all<{ contact_id: string }>()
  ).results.map((r) => r.contact_id);

/** Sets each contact's company and domain (null: none). */
async function companies(rows: [string, string | null, string | null][]) {
  for (const [id, company, domain] of rows)
    await env.DB.prepare("UPDATE contacts SET company = ?, domain = ? WHERE id = ?").bind(company, domain, id).run();
}

/** What the preview shows per contact, and what the job did: both must say the same. */
async function previewAndJob(s: S, sequenceId: string, req: Req) {
  const pv = await ok(preview(s, sequenceId, req));
  const shown = Object.fromEntries(pv.contacts.map((c) => [c.contact_id, [c.outcome, c.reasons]]));
  const { job } = await ok(commit(s, sequenceId, req), 202);
  await waitForJob(job.id);
  const rows = (
    await env.DB.prepare("SELECT contact_id, outcome, reasons FROM job_outcomes WHERE job_id = ?")
      .bind(job.id)
      .all<{ contact_id: string; outcome: string; reasons: string }>()
  ).results;
  const done = Object.fromEntries(rows.map((r) => [r.contact_id, [r.outcome, JSON.parse(r.reasons)]]));
  return { pv, shown, done };
}

beforeEach(() => resetClock());

describe("skip_same_company", () => {
  it("two colleagues in one add: the first in priority order is added, the second skipped, in the preview and the job", async () => {
    const x = await addContactsSetup();
    const [a, b, c] = await makeContacts(x.teamId, 3, { score: (i) => 90 - i * 10 });
    // a and b share the domain (their names differ: the domain wins); c is another company.
    await companies([
      [a!, "Acme Inc", "acme.com"],
      [b!, "ACME", "Acme.com"],
      [c!, "Globex", "globex.com"],
    ]);
    const req: Req = { source: { contact_ids: [b!, c!, a!] }, skip_same_company: true };
    const { pv, shown, done } = await previewAndJob(x.s, x.sequenceId, req);
    const want = { [a!]: ["enrolled", []], [b!]: ["skipped", ["same_company"]], [c!]: ["enrolled", []] };
    expect(shown).toEqual(want);
    expect(done).toEqual(want);
    expect(pv.totals).toMatchObject({ enrolled: 2, skipped: 1, reasons: { same_company: 1 } });
    expect(pv.reasons.same_company?.label).toBe("Someone of their company is in this sequence");
    expect(await enrolledContacts(x.sequenceId)).toEqual([a!, c!].sort());
  });

  it("a colleague already open in the sequence: the contact is skipped (company by name, any case, when no domain)", async () => {
    const x = await addContactsSetup();
    const [a, b, c] = await makeContacts(x.teamId, 3);
    await companies([
      [a!, "Initech", null],
      [b!, " initech ", null],
      [c!, "Umbrella", null],
    ]);
    await enroll(x.teamId, x.sequenceId, [a!], x.mailboxIds);
    const { shown, done } = await previewAndJob(x.s, x.sequenceId, { source: { contact_ids: [b!, c!] }, skip_same_company: true });
    const want = { [b!]: ["skipped", ["same_company"]], [c!]: ["enrolled", []] };
    expect(shown).toEqual(want);
    expect(done).toEqual(want);
    expect(await enrolledContacts(x.sequenceId)).toEqual([a!, c!].sort());
  });

  it("free-mail domains are no company: two gmail.com contacts without a company are both added", async () => {
    const x = await addContactsSetup();
    const [a, b, c] = await makeContacts(x.teamId, 3);
    await companies([
      [a!, null, "gmail.com"],
      [b!, "", "GMAIL.com"],
      [c!, null, null],
    ]);
    await enroll(x.teamId, x.sequenceId, [c!], x.mailboxIds);
    const { shown, done } = await previewAndJob(x.s, x.sequenceId, { source: { contact_ids: [a!, b!] }, skip_same_company: true });
    const want = { [a!]: ["enrolled", []], [b!]: ["enrolled", []] };
    expect(shown).toEqual(want);
    expect(done).toEqual(want);
  });

  it("a colleague certain to be skipped or held back never comes first: the next one of the company is added", async () => {
    const x = await addContactsSetup();
    const [a, b, c, d] = await makeContacts(x.teamId, 4, { score: (i) => 90 - i * 10 });
    // a (Acme's top score) is suppressed, c (Globex's) has no email and the add doesn't override no_email.
    await companies([
      [a!, "Acme", "acme.com"],
      [b!, "Acme", "acme.com"],
      [c!, "Globex", "globex.com"],
      [d!, "Globex", "globex.com"],
    ]);
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) SELECT 'sup-' || id, team_id, lower(email), 'manual', 'manual', 0 FROM contacts WHERE id = ?",
    )
      .bind(a)
      .run();
    await env.DB.prepare("UPDATE contacts SET email = NULL WHERE id = ?").bind(c).run();
    const { shown, done } = await previewAndJob(x.s, x.sequenceId, { source: { contact_ids: [a!, b!, c!, d!] }, skip_same_company: true });
    const want = {
      [a!]: ["skipped", ["suppressed"]],
      [b!]: ["enrolled", []],
      [c!]: ["warned", ["no_email"]],
      [d!]: ["enrolled", []],
    };
    expect(shown).toEqual(want);
    expect(done).toEqual(want);
    expect(await enrolledContacts(x.sequenceId)).toEqual([b!, d!].sort());
  });

  it("a colleague another add enrolled after this job was staged: this job's contact is skipped as the chunk runs", async () => {
    const x = await addContactsSetup();
    const [a, b] = await makeContacts(x.teamId, 2);
    await companies([
      [a!, "Acme", "acme.com"],
      [b!, "Acme", "acme.com"],
    ]);
    // Job A is staged while Acme is absent from the sequence (its candidate carries no same-company bit)...
    const first = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [a!] }, skip_same_company: true, add_at: now() + DAY }), 202);
    const staged = await env.DB.prepare("SELECT duplicate FROM job_candidates WHERE job_id = ?")
      .bind(first.job.id)
      .first<{ duplicate: number }>();
    expect(staged!.duplicate).toBe(0);
    // ...then job B adds a colleague and enrolls them.
    const second = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [b!] }, skip_same_company: true }), 202);
    expect(await waitForJob(second.job.id)).toMatchObject({ status: "completed", enrolled: 1 });
    // Job A runs now and reads the sequence as it is.
    await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(first.job.id).run();
    await processChunk(env, first.job.id, 0, 1, db(env.DB));
    expect(await waitForJob(first.job.id)).toMatchObject({ status: "completed", enrolled: 0, skipped: 1 });
    const out = await env.DB.prepare("SELECT contact_id, outcome, reasons FROM job_outcomes WHERE job_id = ?")
      .bind(first.job.id)
      .first<{ contact_id: string; outcome: string; reasons: string }>();
    expect({ ...out, reasons: JSON.parse(out!.reasons) }).toEqual({ contact_id: a, outcome: "skipped", reasons: ["same_company"] });
    expect(await enrolledContacts(x.sequenceId)).toEqual([b!]);
  });

  it("off (the default): colleagues are all added", async () => {
    const x = await addContactsSetup();
    const [a, b] = await makeContacts(x.teamId, 2);
    await companies([
      [a!, "Acme", "acme.com"],
      [b!, "Acme", "acme.com"],
    ]);
    const { done } = await previewAndJob(x.s, x.sequenceId, { source: { contact_ids: [a!, b!] } });
    expect(done).toEqual({ [a!]: ["enrolled", []], [b!]: ["enrolled", []] });
  });

  it("decides 10,000 candidates in one statement (bound JSON, under D1's 100 parameters)", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 10_000);
    // makeContacts' contacts all work at Acme: one is first, the others are its colleagues.
    const page = await candidatePage(db(env.DB), x.teamId, { contact_ids: ids }, null, 10_000, {
      sequenceId: x.sequenceId,
      skipSameCompany: true,
    });
    expect(page.length).toBe(10_000);
    expect(page.filter((r) => (r.duplicate & 2) !== 0).length).toBe(9_999);
    expect(page[0]!.duplicate & 2).toBe(0);
    // A large job stages its candidates with the same query: the same contact is the one kept.
    await db(env.DB).run(
      stageCandidatesSql("job-same-co", x.teamId, { contact_ids: ids }, { sequenceId: x.sequenceId, skipSameCompany: true }),
    );
    const staged = (
      await env.DB.prepare("SELECT contact_id, duplicate FROM job_candidates WHERE job_id = 'job-same-co' ORDER BY idx").all<{
        contact_id: string;
        duplicate: number;
      }>()
    ).results;
    expect(staged.map((r) => [r.contact_id, r.duplicate])).toEqual(page.map((r) => [r.contact_id, r.duplicate]));
  });
});

describe("Apollo sequence_same_company_in_same_campaign", () => {
  const add = (key: string, sequenceId: string, body: Record<string, unknown>) =>
    call(`/apollo/api/v1/emailer_campaigns/${sequenceId}/add_contact_ids`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  type Answer = { contacts: { id: string }[]; skipped_contact_ids: Record<string, string> };

  it("false: colleagues after the first are left out and listed with the reason", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [a, b, c] = await makeContacts(x.teamId, 3, { score: (i) => 90 - i * 10 });
    await companies([
      [a!, "Acme", "acme.com"],
      [b!, "Acme", "acme.com"],
      [c!, "Globex", null],
    ]);
    const res = await add(key, x.sequenceId, { contact_ids: [a, b, c], sequence_same_company_in_same_campaign: false });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as Answer;
    expect(body.contacts.map((r) => r.id).sort()).toEqual([a!, c!].sort());
    expect(body.skipped_contact_ids).toEqual({ [b!]: "contacts_with_same_company_in_campaign" });
    expect(await enrolledContacts(x.sequenceId)).toEqual([a!, c!].sort());
  });

  it("true: no rule, every colleague is added", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [a, b] = await makeContacts(x.teamId, 2);
    await companies([
      [a!, "Acme", "acme.com"],
      [b!, "Acme", "acme.com"],
    ]);
    const res = await add(key, x.sequenceId, { contact_ids: [a, b], sequence_same_company_in_same_campaign: true });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as Answer;
    expect(body.skipped_contact_ids).toEqual({});
    expect(await enrolledContacts(x.sequenceId)).toEqual([a!, b!].sort());
  });
});
