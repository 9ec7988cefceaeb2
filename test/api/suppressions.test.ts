// The team's "Do not email" list (GET/POST/DELETE /suppressions): admins see, add and lift suppressed
// addresses; lifting a bounce lets the address be added again; an unsubscribe is the person's choice and is
// lifted only with an explicit confirmation.
import { beforeEach, describe, expect, it } from "vitest";
import { now, resetClock } from "../../worker/lib/clock";
import { as, client, env, errorOf, fieldsOf, ok, withKey } from "../helpers";
import { addContactsSetup, makeContacts, makeTeam, makeUser, sessionFor } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

const preview = (s: S, seq: string, contactIds: string[]) =>
  ok(
    client(s).api.sequences[":id"]["add-contacts"].preview.$post({
      param: { id: seq },
      query: {},
      json: { source: { contact_ids: contactIds } },
    }),
  );
const suppressionOf = (teamId: string, email: string) =>
  env.DB.prepare("SELECT reason, source FROM suppressions WHERE team_id = ? AND email = ?").bind(teamId, email).first();
const emailOf = async (id: string) =>
  (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(id).first<{ email: string }>())!.email;

/** A contact marked as the inbound path marks it (the contact's column and the team's suppression). */
async function markContact(teamId: string, contactId: string, what: "bounced" | "unsubscribed") {
  const email = (await emailOf(contactId)).toLowerCase();
  await env.DB.batch([
    env.DB.prepare(`UPDATE contacts SET ${what === "bounced" ? "bounced_at" : "unsubscribed_at"} = ? WHERE id = ?`).bind(now(), contactId),
    env.DB.prepare("INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, ?, ?, 'dsn', ?)").bind(
      crypto.randomUUID(),
      teamId,
      email,
      what,
      now(),
    ),
  ]);
  return email;
}

async function keyOf(s: S, kind: "master" | "standard") {
  return (await ok(client(s).api["api-keys"].$post({ json: { name: `t ${kind}`, kind } }), 201)).key;
}

beforeEach(() => resetClock());

describe("the Do not email list", () => {
  it("admins and master keys list, search, add and lift; members and standard keys get 403; each change is audited", async () => {
    const { teamId, userId } = await makeTeam();
    const admin = await sessionFor(teamId, userId);
    const member = await sessionFor(teamId, await makeUser(teamId, "member"));
    const standard = await keyOf(admin, "standard");
    const master = await keyOf(admin, "master");

    const added = await ok(
      client(admin).api.suppressions.$post({ json: { emails: ["Alice@Example.test", "bob@example.test", "alice@example.test"] } }),
    );
    expect(added.added).toBe(2);
    expect(added.suppressions.map((s) => [s.email, s.reason]).sort()).toEqual([
      ["alice@example.test", "manual"],
      ["bob@example.test", "manual"],
    ]);

    const listed = await ok(client(admin).api.suppressions.$get({ query: { q: "ALICE" } }));
    expect(listed.suppressions.map((s) => s.email)).toEqual(["alice@example.test"]);
    expect(listed.pagination).toMatchObject({ total_entries: 1 });
    const page2 = await ok(client(admin).api.suppressions.$get({ query: { per_page: "1", page: "2" } }));
    expect(page2.suppressions).toHaveLength(1);
    expect(page2.pagination).toMatchObject({ total_entries: 2, total_pages: 2 });

    for (const res of [
      await as(member, "GET", "/api/suppressions"),
      await as(member, "POST", "/api/suppressions", { emails: ["carol@example.test"] }),
      await as(member, "DELETE", "/api/suppressions/alice%40example.test"),
      await withKey(standard, "GET", "/api/suppressions"),
      await withKey(standard, "POST", "/api/suppressions", { emails: ["carol@example.test"] }),
      await withKey(standard, "DELETE", "/api/suppressions/alice%40example.test"),
    ])
      expect(await errorOf(res)).toMatchObject({ status: 403, code: "forbidden" });
    expect(await suppressionOf(teamId, "carol@example.test")).toBeNull();
    expect(await suppressionOf(teamId, "alice@example.test")).not.toBeNull();

    const viaKey = await withKey(master, "DELETE", "/api/suppressions/ALICE%40example.test");
    expect(viaKey.status).toBe(200);
    expect(await viaKey.json()).toMatchObject({ lifted: { email: "alice@example.test", reason: "manual" } });
    expect(await suppressionOf(teamId, "alice@example.test")).toBeNull();
    // Gone: lifting it again is 404.
    expect((await errorOf(await as(admin, "DELETE", "/api/suppressions/alice%40example.test"))).status).toBe(404);

    const audit = (
      await env.DB.prepare(
        "SELECT action, target_id FROM audit_log WHERE team_id = ? AND target_type = 'suppression' ORDER BY action, target_id",
      )
        .bind(teamId)
        .all()
    ).results;
    expect(audit).toEqual([
      { action: "suppression.add", target_id: "alice@example.test" },
      { action: "suppression.add", target_id: "bob@example.test" },
      { action: "suppression.lift", target_id: "alice@example.test" },
    ]);
  });

  it("another team's admin sees none of them and can't lift one (404)", async () => {
    const a = await makeTeam();
    const b = await makeTeam();
    const adminA = await sessionFor(a.teamId, a.userId);
    const adminB = await sessionFor(b.teamId, b.userId);
    await ok(client(adminA).api.suppressions.$post({ json: { emails: ["only-a@example.test"] } }));
    expect((await ok(client(adminB).api.suppressions.$get({ query: {} }))).suppressions).toEqual([]);
    const lift = await as(adminB, "DELETE", "/api/suppressions/only-a%40example.test");
    expect(await errorOf(lift)).toMatchObject({ status: 404, code: "not_found" });
    expect(await suppressionOf(a.teamId, "only-a@example.test")).toMatchObject({ reason: "manual" });
  });

  it("refuses an address that isn't one, naming the field", async () => {
    const { teamId, userId } = await makeTeam();
    const res = await as(await sessionFor(teamId, userId), "POST", "/api/suppressions", { emails: ["ok@example.test", "not an address"] });
    const err = await errorOf(res);
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]).toMatchObject({ field: "emails.1" });
    expect(await suppressionOf(teamId, "ok@example.test")).toBeNull();
  });

  it("a contact whose address is suppressed says so (suppressed, suppression_reason) on its profile and in the list, until lifted", async () => {
    const x = await addContactsSetup();
    const [c, plain] = await makeContacts(x.teamId, 2);
    const email = await markContact(x.teamId, c!, "bounced");
    const api = client(x.s).api;
    const one = async (id: string) => (await ok(api.contacts[":id"].$get({ param: { id } }))).contact;
    expect(await one(c!)).toMatchObject({ suppressed: true, suppression_reason: "bounced" });
    expect(await one(plain!)).toMatchObject({ suppressed: false, suppression_reason: null });
    const listed = (await ok(api.contacts.$get({ query: {} }))).contacts;
    expect(listed.find((r) => r.id === c)).toMatchObject({ suppressed: true, suppression_reason: "bounced" });
    expect(listed.find((r) => r.id === plain)).toMatchObject({ suppressed: false, suppression_reason: null });

    expect((await as(x.s, "DELETE", `/api/suppressions/${encodeURIComponent(email)}`)).status).toBe(200);
    expect(await one(c!)).toMatchObject({ suppressed: false, suppression_reason: null, bounced_at: null });
  });

  it("an address added by hand is skipped when added to a sequence", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    await ok(client(x.s).api.suppressions.$post({ json: { emails: [await emailOf(c!)] } }));
    const pv = await preview(x.s, x.sequenceId, [c!]);
    expect(pv.contacts[0]).toMatchObject({ outcome: "skipped", reasons: ["suppressed"] });
  });

  it("lifting a bounce lets the contact be added again", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    const email = await markContact(x.teamId, c!, "bounced");
    expect((await preview(x.s, x.sequenceId, [c!])).contacts[0]).toMatchObject({ outcome: "skipped", reasons: ["bounced", "suppressed"] });

    const res = await as(x.s, "DELETE", `/api/suppressions/${encodeURIComponent(email)}`);
    expect(res.status).toBe(200);
    expect(await suppressionOf(x.teamId, email)).toBeNull();
    const row = await env.DB.prepare("SELECT bounced_at FROM contacts WHERE id = ?").bind(c).first();
    expect(row).toEqual({ bounced_at: null });
    expect((await preview(x.s, x.sequenceId, [c!])).contacts[0]).toMatchObject({ outcome: "enrolled", reasons: [] });
  });

  it("lifting an unsubscribe is refused without confirm=true, and done with it", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    const email = await markContact(x.teamId, c!, "unsubscribed");

    const refused = await as(x.s, "DELETE", `/api/suppressions/${encodeURIComponent(email)}`);
    const err = await errorOf(refused);
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]).toMatchObject({ field: "confirm", message: expect.stringMatching(/unsubscribed/i) });
    expect(await suppressionOf(x.teamId, email)).toMatchObject({ reason: "unsubscribed" });
    expect((await preview(x.s, x.sequenceId, [c!])).contacts[0]).toMatchObject({ outcome: "skipped" });

    const lifted = await as(x.s, "DELETE", `/api/suppressions/${encodeURIComponent(email)}?confirm=true`);
    expect(lifted.status).toBe(200);
    expect(await suppressionOf(x.teamId, email)).toBeNull();
    expect((await preview(x.s, x.sequenceId, [c!])).contacts[0]).toMatchObject({ outcome: "enrolled" });
    const audit = await env.DB.prepare("SELECT details FROM audit_log WHERE team_id = ? AND action = 'suppression.lift'")
      .bind(x.teamId)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toEqual({ reason: "unsubscribed", confirmed: true });
  });
});
