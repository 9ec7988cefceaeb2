import { describe, expect, it } from "vitest";
import { as, client, env, errorOf, ok } from "../helpers";
import { addContactsSetup, makeTeam, sessionFor } from "../fixtures";

const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;
const balance = async (teamId: string) =>
  (await env.DB.prepare("SELECT credit_balance AS b FROM teams WHERE id = ?").bind(teamId).first<{ b: number }>())!.b;
const people = async (status: string, n: number, offset = 0) =>
  (
    await env.DB.prepare("SELECT id, email FROM people WHERE email_status = ? AND email IS NOT NULL ORDER BY id LIMIT ? OFFSET ?")
      .bind(status, n, offset)
      .all<{ id: string; email: string }>()
  ).results;

describe("People: save to list (no sequence)", () => {
  it("saves net-new people as contacts in a new list, charging 1 credit per verified one, skipping a suppressed address with its reason", async () => {
    const x = await addContactsSetup({ credits: 50 });
    const verified = await people("verified", 3);
    const [unverified] = await people("unverified", 1);
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES ('sup1', ?, lower(?), 'unsubscribed', 'manual', 0)",
    )
      .bind(x.teamId, verified[2]!.email)
      .run();
    const api = client(x.s).api;
    const r = await ok(
      api.people.save.$post({ json: { people_ids: [...verified.map((p) => p.id), unverified!.id], list_name: "Conference leads" } }),
    );
    expect(r).toMatchObject({
      list: { name: "Conference leads" },
      saved: 3,
      already_saved: 0,
      credits_charged: 2,
      skipped: [{ person_id: verified[2]!.id, reasons: ["suppressed"] }],
    });
    expect(await balance(x.teamId)).toBe(48);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND person_id IS NOT NULL", x.teamId)).toBe(3);
    expect(await count("SELECT count(*) n FROM list_members WHERE list_id = ?", r.list.id)).toBe(3);
    // The ledger tells the same story: what was held, less what came back, is what was charged.
    expect(await count("SELECT -sum(amount) n FROM credit_ledger WHERE team_id = ? AND job_id = ?", x.teamId, r.job_id)).toBe(2);
    // Net-new addresses are revealed once saved: the search now shows them whole.
    const search = await ok(api.people.search.$post({ json: { q: "", per_page: 100, saved: "saved" } }));
    expect(search.people.map((p) => p.email)).toContain(verified[0]!.email);
  });

  it("charges once: a retry with the same Idempotency-Key replays, and saving the same people again (to another list) costs nothing", async () => {
    const x = await addContactsSetup({ credits: 50 });
    const verified = await people("verified", 2, 10);
    const body = { people_ids: verified.map((p) => p.id), list_name: "First" };
    // Raw requests on purpose: the replay is about the exact Idempotency-Key header and the answer's replay header.
    const first: unknown = await (await as(x.s, "POST", "/api/people/save", body, { "idempotency-key": "save-1" })).json();
    const replay = await as(x.s, "POST", "/api/people/save", body, { "idempotency-key": "save-1" });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.json()).toEqual(first);
    // Two requests at once for the same people, to another list: the people are saved once.
    const api = client(x.s).api;
    const again = await Promise.all(
      [1, 2].map(() => ok(api.people.save.$post({ json: { people_ids: verified.map((p) => p.id), list_name: "Second" } }))),
    );
    expect(first).toMatchObject({ saved: 2, credits_charged: 2 });
    for (const a of again) expect(a).toMatchObject({ saved: 0, already_saved: 2, credits_charged: 0 });
    expect(await balance(x.teamId)).toBe(48);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId)).toBe(2);
    expect(await count("SELECT count(*) n FROM list_members WHERE list_id = ?", again[0]!.list.id)).toBe(2);
  });

  it("a save whose credit hold is refused (another save took the balance first) reveals nothing, refunds nothing and says why", async () => {
    const x = await addContactsSetup({ credits: 2 });
    const verified = await people("verified", 2, 40);
    // Between this save's balance check and its write, another spends the 2 credits.
    const d1 = Object.getPrototypeOf(env.DB) as { batch: (this: D1Database, s: D1PreparedStatement[]) => Promise<unknown> };
    const batch = d1.batch;
    d1.batch = async function (this: D1Database, stmts) {
      if (stmts.some((x) => /'save_to_list'/.test((x as { statement?: string }).statement ?? ""))) {
        d1.batch = batch;
        await env.DB.prepare("UPDATE teams SET credit_balance = 0 WHERE id = ?").bind(x.teamId).run();
      }
      return batch.call(this, stmts);
    };
    let r;
    try {
      r = await ok(client(x.s).api.people.save.$post({ json: { people_ids: verified.map((p) => p.id), list_name: "Raced" } }));
    } finally {
      d1.batch = batch;
    }
    expect(r).toMatchObject({ saved: 0, credits_charged: 0 });
    expect(r.skipped.map((k) => k.reasons)).toEqual([["insufficient_credits"], ["insufficient_credits"]]);
    expect(await balance(x.teamId)).toBe(0);
    expect(await count("SELECT count(*) n FROM credit_ledger WHERE team_id = ? AND kind = 'refund'", x.teamId)).toBe(0);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND person_id IS NOT NULL", x.teamId)).toBe(0);
  });

  it("a saved person who unsubscribed and was deleted is skipped when saved again, and stays deleted (the suppression outlives them)", async () => {
    const x = await addContactsSetup({ credits: 50 });
    const [p] = await people("verified", 1, 60);
    const api = client(x.s).api;
    const first = await ok(api.people.save.$post({ json: { people_ids: [p!.id], list_name: "First" } }));
    const contactId = first.contact_ids[0]!;
    await env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1 WHERE id = ?").bind(contactId).run();
    await ok(api.contacts[":id"].$delete({ param: { id: contactId } }));
    const again = await ok(api.people.save.$post({ json: { people_ids: [p!.id], list_name: "Again" } }));
    expect(again).toMatchObject({
      saved: 0,
      already_saved: 0,
      credits_charged: 0,
      skipped: [{ person_id: p!.id, reasons: ["suppressed"] }],
    });
    expect(await count("SELECT count(*) n FROM contacts WHERE id = ? AND deleted_at IS NOT NULL", contactId)).toBe(1);
  });

  it("a person whose email the team already has as a contact joins the list as that contact, at no charge", async () => {
    const x = await addContactsSetup({ credits: 50 });
    const [p] = await people("verified", 1, 20);
    const api = client(x.s).api;
    const existing = (
      await ok(
        api.contacts.$post({
          json: { first_name: "Known", last_name: "Already", email: p!.email.toUpperCase(), email_status: "verified" },
        }),
        201,
      )
    ).contact;
    const list = (await ok(api.lists.$post({ json: { name: "Known people" } }), 201)).list;
    const r = await ok(api.people.save.$post({ json: { people_ids: [p!.id], list_id: list.id } }));
    expect(r).toMatchObject({ saved: 0, already_saved: 1, credits_charged: 0, contact_ids: [existing.id] });
    expect(await balance(x.teamId)).toBe(50);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId)).toBe(1);
  });

  it("a person whose own contact was deleted, and whose address a live contact now has, joins as that live contact: the deleted one stays deleted", async () => {
    const x = await addContactsSetup({ credits: 50 });
    const [p] = await people("verified", 1, 30);
    const api = client(x.s).api;
    // Saved once (their own contact), then deleted; then the address comes back through a CSV or the API.
    const first = await ok(api.people.save.$post({ json: { people_ids: [p!.id], list_name: "First" } }));
    const own = first.contact_ids[0]!;
    expect((await as(x.s, "DELETE", `/api/contacts/${own}`)).status).toBe(200);
    const live = (
      await ok(api.contacts.$post({ json: { first_name: "Came", last_name: "Back", email: p!.email, email_status: "verified" } }), 201)
    ).contact;
    const r = await ok(api.people.save.$post({ json: { people_ids: [p!.id], list_name: "Second" } }));
    expect(r).toMatchObject({ saved: 0, already_saved: 1, credits_charged: 0, contact_ids: [live.id] });
    expect(await count("SELECT count(*) n FROM contacts WHERE id = ? AND deleted_at IS NOT NULL", own)).toBe(1);
    expect(
      await count(
        "SELECT count(*) n FROM contacts WHERE team_id = ? AND deleted_at IS NULL AND lower(email) = lower(?)",
        x.teamId,
        p!.email,
      ),
    ).toBe(1);
  });

  it("refuses before writing anything: another team's list is 404, a list and a name at once is 422, a balance short of the maximum is 422", async () => {
    const x = await addContactsSetup({ credits: 1 });
    const verified = await people("verified", 2, 30);
    const rival = await makeTeam("Rival");
    const theirs = (await ok(client(await sessionFor(rival.teamId, rival.userId)).api.lists.$post({ json: { name: "Theirs" } }), 201)).list;
    const save = client(x.s).api.people.save;
    expect((await errorOf(await save.$post({ json: { people_ids: [verified[0]!.id], list_id: theirs.id } }))).status).toBe(404);
    const both = await errorOf(await save.$post({ json: { people_ids: [verified[0]!.id], list_id: theirs.id, list_name: "x" } }));
    expect(both.status).toBe(422);
    const short = await errorOf(await save.$post({ json: { people_ids: verified.map((p) => p.id), list_name: "Too dear" } }));
    expect(short).toMatchObject({ status: 422, code: "insufficient_credits" });
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await balance(x.teamId)).toBe(1);
  });
});
