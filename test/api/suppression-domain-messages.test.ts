// An address refused only because its domain is on the Do not email list (`@example.com`) is told so: the
// CSV import and the test email said "This address is on your team's suppression list", naming an address
// that was never on it. An address's own entry keeps its own words.
import { describe, expect, it } from "vitest";
import { DEMO } from "../../worker/seed/demo";
import { client, env, errorOf, fieldsOf, login, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

const DOMAIN_WORDS = "Every address at @blocked.test is on your team's Do not email list (a blocked domain)";

describe("refusals for an address at a blocked domain name the domain", () => {
  it("POST /contacts: 422 on email with the domain's words, and no contact is saved", async () => {
    const { s, teamId } = await addContactsSetup();
    const api = client(s).api;
    await ok(api.suppressions.$post({ json: { domain: "blocked.test", emails: ["own@elsewhere.test"] } }));

    const err = await errorOf(await api.contacts.$post({ json: { first_name: "Ada", email: "Ada@Blocked.test" } }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]).toMatchObject({ field: "email", code: "suppressed", message: `${DOMAIN_WORDS}: it is not saved` });
    // The address's own entry keeps the reason's words.
    const own = await errorOf(await api.contacts.$post({ json: { first_name: "Own", email: "own@elsewhere.test" } }));
    expect(fieldsOf(own)[0]).toMatchObject({
      field: "email",
      message: expect.stringMatching(/^This address is on your team's suppression list/),
    });
    const saved = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE team_id = ?").bind(teamId).first<{ n: number }>();
    expect(saved!.n).toBe(0);
  });

  it("a CSV row: not imported, its reason names the domain; an address's own entry keeps its words", async () => {
    const { s, teamId } = await addContactsSetup();
    const api = client(s).api;
    await ok(api.suppressions.$post({ json: { domain: "blocked.test", emails: ["own@elsewhere.test"] } }));
    const csv = "Email,First name\nada@blocked.test,Ada\nown@elsewhere.test,Own\nbo@sub.blocked.test,Bo\n";
    const imp = (await ok(api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201)).import;
    expect(await savedImport(s, imp.id)).toMatchObject({ status: "ready", created: 1, failed: 2 });
    const rows = await env.DB.prepare("SELECT row, outcome, column, value, reason FROM import_rows WHERE import_id = ? ORDER BY row")
      .bind(imp.id)
      .all();
    // Rows are counted as the file's lines: the header is row 1.
    expect(rows.results).toEqual([
      { row: 2, outcome: "error", column: "email", value: "ada@blocked.test", reason: `${DOMAIN_WORDS}: not imported` },
      {
        row: 3,
        outcome: "error",
        column: "email",
        value: "own@elsewhere.test",
        reason: "This address is on your team's suppression list: not imported again",
      },
      { row: 4, outcome: "created", column: null, value: null, reason: null },
    ]);
    const saved = await env.DB.prepare("SELECT email FROM contacts WHERE team_id = ?").bind(teamId).all();
    expect(saved.results).toEqual([{ email: "bo@sub.blocked.test" }]);
  });

  it("a test email to a colleague at a blocked domain: 422 on to with the domain's words, nothing sent", async () => {
    const api = client(await login("admin@demo.test")).api;
    const mb = (
      await ok(api.mailboxes.$post({ json: { email: `t-${crypto.randomUUID().slice(0, 8)}@demo.test`, sender_name: "Alex" } }), 201)
    ).mailbox;
    // The demo team's own domain, blocked for this test only (the seeded team is shared by the file's tests).
    await ok(api.suppressions.$post({ json: { domain: "demo.test" } }));
    try {
      const err = await errorOf(await api.mailboxes[":id"].test.$post({ param: { id: mb.id }, json: { to: mb.email } }));
      expect(err).toMatchObject({ status: 422 });
      expect(fieldsOf(err)[0]).toMatchObject({
        field: "to",
        code: "suppressed",
        reason: "manual",
        message:
          "Every address at @demo.test is on your team's Do not email list (a blocked domain): no email is sent to it, a test included",
      });
      expect((await ok(api.messages.$get({ query: { mailbox_id: mb.id } }))).messages).toHaveLength(0);
    } finally {
      await env.DB.prepare("DELETE FROM suppressions WHERE team_id = ? AND email = '@demo.test'").bind(DEMO.team).run();
    }
  });
});
