// The add-contacts preview says what the job will do: a person whose contact was deleted is not previewed as
// net-new and enrolled (the job adds their deleted contact and skips it), and a contact whose address runs in
// another sequence under a twin contact is warned about like one running there itself.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
type AddContacts = ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"];
type PreviewArgs = Parameters<AddContacts["preview"]["$post"]>[0];
const preview = (s: S, seq: string, json: PreviewArgs["json"]) =>
  client(s).api.sequences[":id"]["add-contacts"].preview.$post({ param: { id: seq }, query: {}, json });
const commit = (s: S, seq: string, json: Parameters<AddContacts["$post"]>[0]["json"]) =>
  client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: seq }, header: {}, json });
const count = async (q: string, ...b: unknown[]) =>
  (
    await env.DB.prepare(q)
      .bind(...b)
      .first<{ n: number }>()
  )?.n ?? 0;
const outcomesOf = async (jobId: string) =>
  (
    await env.DB.prepare("SELECT contact_id, person_id, outcome, reasons, credit_cost FROM job_outcomes WHERE job_id = ?")
      .bind(jobId)
      .all<{ contact_id: string | null; person_id: string | null; outcome: string; reasons: string; credit_cost: number }>()
  ).results.map((r) => ({ ...r, reasons: JSON.parse(r.reasons) as string[] }));

async function person(offset: number) {
  return (await env.DB.prepare(
    "SELECT id, email FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 1 OFFSET ?",
  )
    .bind(offset)
    .first<{ id: string; email: string }>())!;
}

/** Another active sequence of the team, with `contactId` running in it. */
async function runningElsewhere(x: Awaited<ReturnType<typeof addContactsSetup>>, contactId: string) {
  const other = crypto.randomUUID();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO sequences (id, team_id, owner_id, name, active, created_at, updated_at) VALUES (?, ?, ?, 'Other', 1, 0, 0)",
    ).bind(other, x.teamId, x.userId),
    env.DB.prepare(
      "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', 0, 0)",
    ).bind(crypto.randomUUID(), x.teamId, other, contactId),
  ]);
  return other;
}

beforeEach(() => resetClock());

describe("a person whose own contact was deleted, added from People", () => {
  it("is previewed as the job adds them: their deleted contact, skipped as not found, no credit, no new contact", async () => {
    const x = await addContactsSetup({ credits: 10 });
    const p = await person(11);
    const [kept] = await makeContacts(x.teamId, 1);
    const [gone] = await makeContacts(x.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET person_id = ?, email = ?, deleted_at = 1 WHERE id = ?").bind(p.id, p.email, gone).run();

    const pv = await ok(preview(x.s, x.sequenceId, { source: { people_ids: [p.id], contact_ids: [kept!] } }));
    expect(pv.totals).toMatchObject({ candidates: 2, enrolled: 1, skipped: 1, reasons: { not_found: 1 } });
    expect(pv.credits).toMatchObject({ exact: 0, maximum: 0 });
    const shown = pv.contacts.find((c) => c.contact_id !== kept);
    expect(shown).toMatchObject({ contact_id: gone, net_new: false, outcome: "skipped", credit_cost: 0 });
    expect(shown!.reasons).toContain("not_found");
    expect(pv.reasons.not_found?.fix).toMatch(/save them to a list/);

    const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: [p.id], contact_ids: [kept!] } }), 202);
    const done = await waitForJob(job.id);
    // The job's outcomes are the preview's totals, contact by contact.
    expect(done).toMatchObject({ status: "completed", enrolled: pv.totals.enrolled, skipped: pv.totals.skipped, credits_used: 0 });
    const outcomes = await outcomesOf(job.id);
    expect(outcomes.find((o) => o.contact_id !== kept)).toMatchObject({ contact_id: gone, outcome: "skipped", reasons: shown!.reasons });
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND person_id = ?", x.teamId, p.id)).toBe(1);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND deleted_at IS NULL", x.teamId)).toBe(1);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(1);
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(10);
  });

  it("with a live contact of their address made since, is that contact (previewed and added)", async () => {
    const x = await addContactsSetup({ credits: 10 });
    const p = await person(12);
    const [gone, live] = await makeContacts(x.teamId, 2);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET person_id = ?, email = ?, deleted_at = 1 WHERE id = ?").bind(p.id, p.email, gone),
      env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(p.email, live),
    ]);
    const pv = await ok(preview(x.s, x.sequenceId, { source: { people_ids: [p.id] } }));
    expect(pv.contacts).toEqual([expect.objectContaining({ contact_id: live, outcome: "enrolled", net_new: false, credit_cost: 0 })]);
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: [p.id] } }), 202);
    expect(await waitForJob(job.id)).toMatchObject({ status: "completed", enrolled: 1, skipped: 0, credits_used: 0 });
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, live)).toBe(1);
  });
});

describe("a twin (another live contact with the address) running in another sequence", () => {
  it("warns active in another sequence in the preview, and the job holds the contact back unless overridden", async () => {
    const x = await addContactsSetup();
    const [a, b, alone] = await makeContacts(x.teamId, 3);
    await env.DB.prepare("UPDATE contacts SET email = (SELECT upper(email) FROM contacts WHERE id = ?) WHERE id = ?").bind(a, b).run();
    await runningElsewhere(x, b!);

    const pv = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [a!, alone!] } }));
    const shown = Object.fromEntries(pv.contacts.map((c) => [c.contact_id, [c.outcome, c.reasons]]));
    expect(shown).toEqual({ [a!]: ["warned", ["active_in_other_sequence"]], [alone!]: ["enrolled", []] });
    expect(pv.warnings).toEqual([expect.objectContaining({ category: "active_in_other_sequence", count: 1, held_back: 1 })]);

    const held = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [a!, alone!] } }), 202);
    expect(await waitForJob(held.job.id)).toMatchObject({ status: "completed", enrolled: 1, warned: 1 });
    expect((await outcomesOf(held.job.id)).find((o) => o.contact_id === a)).toMatchObject({
      outcome: "warned",
      reasons: ["active_in_other_sequence"],
    });
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, a)).toBe(0);

    const anyway = await ok(
      commit(x.s, x.sequenceId, { source: { contact_ids: [a!] }, overrides: { active_in_other_sequence: true } }),
      202,
    );
    expect(await waitForJob(anyway.job.id)).toMatchObject({ status: "completed", enrolled: 1, warned: 0 });
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, a)).toBe(1);
  });

  it("a deleted twin running elsewhere is no twin: no warning", async () => {
    const x = await addContactsSetup();
    const [a, b] = await makeContacts(x.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET email = (SELECT email FROM contacts WHERE id = ?), deleted_at = 1 WHERE id = ?")
      .bind(a, b)
      .run();
    await runningElsewhere(x, b!);
    const pv = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [a!] } }));
    expect(pv.contacts[0]).toMatchObject({ contact_id: a, outcome: "enrolled", reasons: [] });
  });
});
