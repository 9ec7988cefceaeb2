// Two people of one save with the same address are one contact, charged once. Before, only the team's
// existing contacts were checked by address: both people became contacts with that address (a sequence
// could email it twice) and each cost a credit.
import { describe, expect, it } from "vitest";
import { client, env, ok } from "../helpers";
import { addContactsSetup } from "../fixtures";

const COLS =
  "first_name, last_name, title, seniority, department, company, domain, industry, employees, city, country, time_zone, email, email_status, score";

/** A verified person and a second person (another id) with the same address in other case. */
async function twoWithOneAddress() {
  const p = (await env.DB.prepare(
    "SELECT id, email FROM people WHERE email_status = 'verified' AND email IS NOT NULL ORDER BY id LIMIT 1 OFFSET 40",
  ).first<{
    id: string;
    email: string;
  }>())!;
  const twin = `twin-${crypto.randomUUID()}`;
  await env.DB.prepare(
    `INSERT INTO people (id, ${COLS}) SELECT ?, ${COLS.replace("email, email_status", "upper(email), email_status")} FROM people WHERE id = ?`,
  )
    .bind(twin, p.id)
    .run();
  return { ids: [p.id, twin], email: p.email };
}

const balance = async (teamId: string) =>
  (await env.DB.prepare("SELECT credit_balance AS b FROM teams WHERE id = ?").bind(teamId).first<{ b: number }>())!.b;

describe("People: save to list, two people with one address", () => {
  it("saves one contact and charges one credit", async () => {
    const x = await addContactsSetup({ credits: 50 });
    const { ids, email } = await twoWithOneAddress();
    const r = await ok(client(x.s).api.people.save.$post({ json: { people_ids: ids, list_name: "Twins" } }));
    expect(r).toMatchObject({ saved: 1, already_saved: 1, credits_charged: 1, skipped: [] });
    expect(await balance(x.teamId)).toBe(49);
    const live = await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? AND lower(email) = lower(?) AND deleted_at IS NULL")
      .bind(x.teamId, email)
      .all<{ id: string }>();
    expect(live.results).toHaveLength(1);
    expect(r.contact_ids).toEqual([live.results[0]!.id]);
    const members = await env.DB.prepare("SELECT contact_id FROM list_members WHERE list_id = ?")
      .bind(r.list.id)
      .all<{ contact_id: string }>();
    expect(members.results.map((m) => m.contact_id)).toEqual([live.results[0]!.id]);
    // The ledger says the same: one credit for this save.
    const used = await env.DB.prepare("SELECT -sum(amount) AS n FROM credit_ledger WHERE team_id = ? AND job_id = ?")
      .bind(x.teamId, r.job_id)
      .first<{ n: number }>();
    expect(used!.n).toBe(1);
  });

  it("skips the second with the first's reason when the address is suppressed", async () => {
    const x = await addContactsSetup({ credits: 50 });
    const { ids, email } = await twoWithOneAddress();
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES ('sup-twin', ?, lower(?), 'unsubscribed', 'manual', 0)",
    )
      .bind(x.teamId, email)
      .run();
    const r = await ok(client(x.s).api.people.save.$post({ json: { people_ids: ids, list_name: "Twins" } }));
    expect(r).toMatchObject({ saved: 0, already_saved: 0, credits_charged: 0 });
    expect(r.skipped.map((k) => k.reasons)).toEqual([["suppressed"], ["suppressed"]]);
    expect(await balance(x.teamId)).toBe(50);
  });
});

describe("People: save to list, an address taken meanwhile", () => {
  it("a contact with the address made between the save's read and its write is the person's contact: no second contact, no charge", async () => {
    const x = await addContactsSetup({ credits: 50 });
    const p = (await env.DB.prepare(
      "SELECT id, email FROM people WHERE email_status = 'verified' AND email IS NOT NULL ORDER BY id LIMIT 1 OFFSET 60",
    ).first<{ id: string; email: string }>())!;
    const stage = (await env.DB.prepare("SELECT id FROM contact_stages WHERE team_id = ? LIMIT 1").bind(x.teamId).first<{ id: string }>())!
      .id;
    // Another writer (an import, another save) takes the address as the save holds its credits, after its reads.
    await env.DB.prepare(
      `CREATE TRIGGER race_same_address AFTER INSERT ON credit_ledger WHEN new.kind = 'hold' BEGIN
         INSERT INTO contacts (id, team_id, first_name, last_name, company, domain, email, email_status, score, stage_id, created_at, updated_at)
         VALUES ('racer', new.team_id, 'R', 'R', 'C', 'c.test', '${p.email.toUpperCase()}', 'verified', 50, '${stage}', 0, 0);
       END`,
    ).run();
    try {
      const r = await ok(client(x.s).api.people.save.$post({ json: { people_ids: [p.id], list_name: "Race" } }));
      expect(r).toMatchObject({ saved: 0, already_saved: 1, credits_charged: 0, skipped: [], contact_ids: ["racer"] });
      const live = await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? AND lower(email) = lower(?) AND deleted_at IS NULL")
        .bind(x.teamId, p.email)
        .all<{ id: string }>();
      expect(live.results.map((c) => c.id)).toEqual(["racer"]);
      expect(await balance(x.teamId)).toBe(50);
    } finally {
      await env.DB.prepare("DROP TRIGGER race_same_address").run();
    }
  });
});
