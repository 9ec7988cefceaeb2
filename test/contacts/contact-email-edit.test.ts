import { describe, expect, it } from "vitest";
import { client, env, ok } from "../helpers";
import { addContactsSetup, contactEnrichmentFinds, makeContacts } from "../fixtures";

// Editing a contact's address: what was known of the old address (its status, its bounce) isn't of the new
// one, so adding the contact to a sequence judges the address the rep typed.

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
const api = (s: S) => client(s).api;
const preview = (s: S, seq: string, contactId: string, enrich = false) =>
  ok(
    api(s).sequences[":id"]["add-contacts"].preview.$post({
      param: { id: seq },
      query: {},
      json: { source: { contact_ids: [contactId] }, enrich },
    }),
  );
const row = (id: string) =>
  env.DB.prepare("SELECT email, email_status, domain, bounced_at FROM contacts WHERE id = ?")
    .bind(id)
    .first<{ email: string | null; email_status: string; domain: string | null; bounced_at: number | null }>();

describe("editing a contact's email", () => {
  it("a typed address on a contact saved without one is used as typed: no 'No email' warning, no enrichment replacing it", async () => {
    const x = await addContactsSetup();
    // Saved without an address (status unavailable), at a domain where the waterfall would find one.
    const { id } = await contactEnrichmentFinds(x.teamId);
    await ok(api(x.s).contacts[":id"].$patch({ param: { id }, json: { email: "Ada.Real@Engine.example.test" } }));
    expect(await row(id)).toMatchObject({
      email: "ada.real@engine.example.test",
      email_status: "unverified",
      domain: "engine.example.test",
    });

    const p = await preview(x.s, x.sequenceId, id, true);
    const c = p.contacts.find((r) => r.contact_id === id)!;
    expect(c.reasons).not.toContain("no_email");
    expect(c.reasons).not.toContain("enriched");
    expect(c.reasons).toContain("unverified_email");
    expect(c.email).toBe("ada.real@engine.example.test");
    expect(p.totals.enriched).toBe(0);
    expect(p.credits.maximum).toBe(0);
  });

  it("changing a verified address makes it unverified, clearing it makes it unavailable; a status given is kept", async () => {
    const x = await addContactsSetup();
    const [id] = await makeContacts(x.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET email_status = 'verified' WHERE id = ?").bind(id).run();
    const patch = (json: Record<string, unknown>) => ok(api(x.s).contacts[":id"].$patch({ param: { id: id! }, json }));
    await patch({ email: "someone.else@other.test" });
    expect(await row(id!)).toMatchObject({ email: "someone.else@other.test", email_status: "unverified" });
    expect((await preview(x.s, x.sequenceId, id!)).contacts[0]!.reasons).toContain("unverified_email");
    await patch({ email: "vouched@other.test", email_status: "verified" });
    expect(await row(id!)).toMatchObject({ email_status: "verified" });
    // The same address again (another case) changes nothing.
    await patch({ email: "VOUCHED@other.test" });
    expect(await row(id!)).toMatchObject({ email_status: "verified" });
    await patch({ email: null });
    expect(await row(id!)).toMatchObject({ email: null, email_status: "unavailable" });
    expect((await preview(x.s, x.sequenceId, id!)).contacts[0]!.reasons).toContain("no_email");
  });

  it("a domain taken from the old address follows the new one; a domain set apart stays", async () => {
    const x = await addContactsSetup();
    const created = await ok(api(x.s).contacts.$post({ json: { first_name: "A", email: "a@old.test" } }), 201);
    const id = created.contact.id;
    expect(await row(id)).toMatchObject({ domain: "old.test" });
    await ok(api(x.s).contacts[":id"].$patch({ param: { id }, json: { email: "a@new.test" } }));
    expect(await row(id)).toMatchObject({ domain: "new.test" });
    await ok(api(x.s).contacts[":id"].$patch({ param: { id }, json: { domain: "company.test" } }));
    await ok(api(x.s).contacts[":id"].$patch({ param: { id }, json: { email: "a@gmail.test" } }));
    expect(await row(id)).toMatchObject({ domain: "company.test" });
  });

  it("a bounced contact given a corrected address can be added again, and deleting it doesn't suppress the corrected address", async () => {
    const x = await addContactsSetup();
    const [id] = await makeContacts(x.teamId, 1);
    const old = (await row(id!))!.email!;
    // A bounce marks the contact and suppresses the address that bounced (as the MailboxDO does).
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET bounced_at = 1 WHERE id = ?").bind(id),
      env.DB.prepare(
        "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, ?, 'bounced', 'smtp', 1)",
      ).bind(`sup-${id}`, x.teamId, old.toLowerCase()),
    ]);
    expect((await preview(x.s, x.sequenceId, id!)).contacts[0]!.reasons).toContain("bounced");

    await ok(api(x.s).contacts[":id"].$patch({ param: { id: id! }, json: { email: "fixed@corrected.test", email_status: "verified" } }));
    expect(await row(id!)).toMatchObject({ email: "fixed@corrected.test", bounced_at: null });
    const p = await preview(x.s, x.sequenceId, id!);
    expect(p.contacts[0]!.reasons).not.toContain("bounced");
    expect(p.totals.skipped).toBe(0);

    await ok(api(x.s).contacts[":id"].$delete({ param: { id: id! } }));
    const kept = await env.DB.prepare("SELECT email, reason FROM suppressions WHERE team_id = ? ORDER BY email").bind(x.teamId).all();
    expect(kept.results).toEqual([{ email: old.toLowerCase(), reason: "bounced" }]);
    // The corrected address saves again.
    await ok(api(x.s).contacts.$post({ json: { first_name: "Back", email: "fixed@corrected.test" } }), 201);
  });
});
