// A person whose address the team already has as a contact (made by CSV import, the API or by hand,
// so with no person_id) is that contact everywhere: search shows them saved, and adding them to a
// sequence adds that contact (no credit, no second contact, no second enrollment).
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { resetClock } from "../../worker/lib/clock";
import { processChunk } from "../../worker/services/add-contacts/jobs";
import { buildPeopleWhere } from "../../worker/services/people-search";
import { client, env, ok } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

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

async function person(offset: number) {
  return (await env.DB.prepare(
    "SELECT id, email, company FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 1 OFFSET ?",
  )
    .bind(offset)
    .first<{ id: string; email: string; company: string }>())!;
}

/** A contact with the person's address, made through the API (no person_id), its case changed. */
async function contactByAddress(s: S, email: string) {
  const r = await ok(
    client(s).api.contacts.$post({
      json: { first_name: "Known", last_name: "ByAddress", email: email.toUpperCase(), email_status: "verified" },
    }),
    201,
  );
  return r.contact.id;
}

beforeEach(() => resetClock());

describe("a person the team has as a contact by address", () => {
  it("is already in the sequence in the preview, costs nothing and makes no second contact; search shows them saved as that contact", async () => {
    const x = await addContactsSetup({ credits: 10 });
    const p = await person(7);
    const contactId = await contactByAddress(x.s, p.email);
    const first = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [contactId] } }), 202);
    expect(await waitForJob(first.job.id)).toMatchObject({ status: "completed", enrolled: 1 });

    const pv = await ok(preview(x.s, x.sequenceId, { source: { people_ids: [p.id] } }));
    expect(pv.contacts).toHaveLength(1);
    expect(pv.contacts[0]).toMatchObject({
      contact_id: contactId,
      net_new: false,
      outcome: "skipped",
      reasons: ["already_in_sequence"],
      credit_cost: 0,
    });
    expect(pv.credits).toMatchObject({ exact: 0, maximum: 0 });

    const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: [p.id] } }), 202);
    expect(await waitForJob(job.id)).toMatchObject({ status: "completed", enrolled: 0, skipped: 1, credits_used: 0 });
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId)).toBe(1);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(1);
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(10);

    const search = (saved: "any" | "saved" | "net_new") =>
      ok(client(x.s).api.people.search.$post({ json: { companies: [p.company], saved, per_page: 100 } }));
    const any = await search("any");
    const row = any.people.find((r) => r.id === p.id);
    expect(row).toMatchObject({ contact_id: contactId, email: p.email });
    expect((await search("saved")).people.map((r) => r.id)).toEqual([p.id]);
    expect((await search("net_new")).people.map((r) => r.id)).not.toContain(p.id);
    expect((await search("saved")).pagination.total_entries).toBe(1);
  });

  it("is that contact when the address was added after the job was planned: the chunk enrolls it, charging nothing", async () => {
    const x = await addContactsSetup({ credits: 10 });
    const p = await person(8);
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: [p.id] }, add_at: Date.now() + 86_400_000 }), 202);
    const contactId = await contactByAddress(x.s, p.email);
    await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job.id).run();
    await processChunk(env, job.id, 0, 1, db(env.DB));
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId)).toBe(1);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, contactId)).toBe(1);
    expect(await count("SELECT coalesce(sum(credit_cost), 0) n FROM job_outcomes WHERE job_id = ?", job.id)).toBe(0);
  });

  it("is found through the contacts' indexes: one probe by person, one by address, never a walk over the team's contacts", async () => {
    const x = await addContactsSetup();
    const { where, params } = buildPeopleWhere({ saved: "net_new", companies: ["Acme"] }, x.teamId);
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN SELECT p.id FROM people p WHERE ${where}`)
        .bind(...params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    expect(plan.join("\n")).toMatch(/SEARCH c USING (COVERING )?INDEX contacts_team_person_uq/);
    expect(plan.join("\n")).toMatch(/SEARCH c USING (COVERING )?INDEX contacts_team_email_idx/);
    expect(plan.filter((d) => /SCAN c\b/.test(d))).toEqual([]);
  });
});
